"""Metrics, comparisons, sensitivity and disagreement, checked against closed forms."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deliberation.engine.analysis import analyze
from deliberation.engine.draws import DrawCache
from deliberation.engine.estimates import lognormal_mean, lognormal_parameters
from deliberation.engine.results import Analysis
from deliberation.review.model import Review
from deliberation.review.template import Template
from deliberation.review.templates import load_template_file

from .conftest import MINIMAL_TEMPLATE as TEMPLATE_FILE
from .strategies import analysis_reviews, review_from

CONTRACT = (
    "mean", "mean_se", "p5", "p50", "p95", "p_extreme_bad", "p_extreme_bad_se",
    "p_extreme_good", "p_extreme_good_se",
)


def three_variants() -> Review:
    return review_from(
        [("art", "benefit"), ("research", "benefit"), ("fakes", "harm"), ("ghost", "harm")],
        [
            ("art", "ana", [0.6, 0.9], [2000, 8000]),
            ("art", "ben", 0.8, [1000, 4000]),
            ("research", "ana", [0.3, 0.7], [500, 6000]),
            ("fakes", "ana", [0.05, 0.3], [3000, 30000]),
            ("fakes", "ben", [0.2, 0.5], [1000, 10000]),
        ],
        mitigations=[
            {"id": "filter", "targets": ["fakes"], "likelihood_factor": [0.2, 0.5]},
            {"id": "api-only", "targets": ["fakes", "research"], "likelihood_factor": [0.5, 0.8],
             "impact_factor": [0.3, 0.6]},
        ],
        variants=[("open", []), ("filtered", ["filter"]), ("api", ["filter", "api-only"])],
    )


def test_variant_summary_keeps_the_contract_names(template: Template) -> None:
    analysis = analyze(three_variants(), template, samples=5_000, seed=1)
    assert list(analysis.variants) == ["open", "filtered", "api"]
    data = analysis.to_json()
    assert data["samples"] == 5_000
    assert data["seed"] == 1
    for summary in data["variants"].values():
        for name in CONTRACT:
            assert isinstance(summary[name], float)
    for summary in analysis.variants.values():
        assert summary.p5 <= summary.p50 <= summary.p95


def test_a_review_without_variants_reports_baseline(template: Template) -> None:
    review = review_from([("a", "benefit")], [("a", "ana", 0.5, 10)])
    assert list(analyze(review, template, samples=1_000).variants) == ["baseline"]


def test_tail_probabilities_against_a_closed_form(template: Template) -> None:
    # one harm of 6000 (beyond -5000) with chance 0.2, one benefit of 7000 with chance 0.5
    review = review_from(
        [("h", "harm"), ("b", "benefit")], [("h", "ana", 0.2, 6000), ("b", "ana", 0.5, 7000)]
    )
    samples = 40_000
    summary = analyze(review, template, samples=samples, seed=2).variants["baseline"]
    p_bad = 0.2 * 0.5  # harm without benefit: -6000; with it, +1000
    p_good = 0.5 * 0.8
    assert abs(summary.p_extreme_bad - p_bad) < 4 * math.sqrt(p_bad * (1 - p_bad) / samples)
    assert abs(summary.p_extreme_good - p_good) < 4 * math.sqrt(p_good * (1 - p_good) / samples)
    assert summary.p_extreme_bad_se == pytest.approx(
        math.sqrt(summary.p_extreme_bad * (1 - summary.p_extreme_bad) / samples)
    )
    assert summary.mean == pytest.approx(0.5 * 7000 - 0.2 * 6000, abs=4 * summary.mean_se)
    # outcomes -6000 (10%), 0 (40%), 1000 (10%), 7000 (40%)
    assert (summary.p5, summary.p95) == (-6000, 7000)


def test_review_thresholds_override_the_templates(template: Template) -> None:
    review = review_from([("h", "harm")], [("h", "ana", 1, 100)], thresholds=(-50, 50))
    summary = analyze(review, template, samples=1_000).variants["baseline"]
    assert summary.p_extreme_bad == 1.0  # -100 <= -50; against the template's -5000 it is 0
    assert analyze(review_from([("h", "harm")], [("h", "ana", 1, 100)]), template,
                   samples=1_000).variants["baseline"].p_extreme_bad == 0.0


def test_comparison_of_removing_a_harm_against_closed_form(template: Template) -> None:
    review = review_from(
        [("h", "harm")], [("h", "ana", 0.25, [5000, 50000])],
        mitigations=[{"id": "gone", "targets": ["h"], "likelihood_factor": 0}],
        variants=[("open", []), ("closed", ["gone"])],
    )
    samples = 100_000
    analysis = analyze(review, template, samples=samples, seed=4)
    (difference,) = analysis.comparisons
    assert (difference.base, difference.other) == ("open", "closed")
    expected = 0.25 * lognormal_mean(*lognormal_parameters(5000, 50000))
    assert difference.mean == pytest.approx(expected, abs=4 * difference.mean_se)
    # the harm is beyond the threshold nearly always it happens: P(bad) drops by ~P(happens)
    p_beyond = analysis.variants["open"].p_extreme_bad
    assert difference.p_extreme_bad_change == pytest.approx(-p_beyond)
    assert difference.p_better == pytest.approx(0.25, abs=4 * math.sqrt(0.25 * 0.75 / samples))
    assert difference.p_worse == 0.0
    # paired standard error of a change that is -1 w.p. q, else 0
    q = p_beyond
    assert difference.p_extreme_bad_change_se == pytest.approx(
        math.sqrt(q * (1 - q) / samples), rel=1e-3
    )


def test_each_mitigation_is_measured_on_its_own(template: Template) -> None:
    analysis = analyze(three_variants(), template, samples=20_000, seed=5)
    effects = {e.mitigation: e for e in analysis.mitigation_effects}
    assert set(effects) == {"filter", "api-only"}
    assert effects["filter"].variants == ["filtered", "api"]
    # the filter only lowers a harm's chance: never worse on any draw
    assert effects["filter"].difference.p_worse == 0.0
    assert effects["filter"].difference.mean > 0
    # filtered differs from open by exactly the filter on its own (same draws)
    open_to_filtered = next(c for c in analysis.comparisons if c.other == "filtered")
    assert open_to_filtered.mean == pytest.approx(effects["filter"].difference.mean, rel=1e-6)


def test_item_contributions_add_up_and_explain_the_bad_tail(template: Template) -> None:
    review = review_from(
        [("h", "harm"), ("b", "benefit")], [("h", "ana", 0.3, 9000), ("b", "ana", 0.6, 1000)]
    )
    analysis = analyze(review, template, samples=20_000, seed=6)
    summary = analysis.variants["baseline"]
    effects = {item.item: item.variants["baseline"] for item in analysis.items}
    total = sum(effect.mean_contribution for effect in effects.values())
    assert total == pytest.approx(summary.mean, rel=1e-6)
    # the only way to be extremely bad is for the harm to happen
    assert effects["h"].p_happened_given_extreme_bad == 1.0
    assert effects["h"].mean_impact_if_happens == pytest.approx(9000)
    assert effects["h"].mean_contribution_given_extreme_bad == pytest.approx(-9000)


def test_sensitivity_swings_to_the_pooled_interval_ends(template: Template) -> None:
    review = review_from(
        [("b", "benefit"), ("h", "harm")],
        [("b", "ana", 1, [100, 10000]), ("h", "ana", [0.1, 0.4], 50)],
    )
    analysis = analyze(review, template, samples=20_000, seed=7)
    entries = {(s.item, s.quantity): s for s in analysis.sensitivity}
    impact = entries[("b", "impact")]
    assert (impact.low, impact.high) == pytest.approx((100, 10000), rel=1e-4)
    h_effect = next(i for i in analysis.items if i.item == "h").variants["baseline"]
    # with b's impact fixed at 100, the mean is 100 plus h's (unchanged) contribution
    assert impact.mean_low == pytest.approx(100 + h_effect.mean_contribution, rel=1e-4)
    assert impact.mean_high == pytest.approx(10000 + h_effect.mean_contribution, rel=1e-4)
    likelihood = entries[("h", "likelihood")]
    assert (likelihood.low, likelihood.high) == pytest.approx((0.1, 0.4), rel=1e-4)
    assert likelihood.mean_low > likelihood.mean_high  # a likelier harm lowers the mean
    assert analysis.sensitivity[0].item == "b"
    assert analysis.sensitivity[0].rank_mean == 1


def test_sensitivity_flags_a_swing_that_flips_the_preferred_variant(template: Template) -> None:
    review = review_from(
        [("research", "benefit"), ("misuse", "harm")],
        [("research", "ana", 1, [100, 3000]), ("misuse", "ana", 1, 500)],
        mitigations=[{"id": "api-only", "targets": ["research", "misuse"],
                      "likelihood_factor": 0}],
        variants=[("open", []), ("api", ["api-only"])],
    )
    analysis = analyze(review, template, samples=20_000, seed=8)
    entry = next(s for s in analysis.sensitivity if (s.item, s.quantity) == ("research", "impact"))
    # research worth 100 (< misuse 500): api is better; worth 3000: open is better
    assert entry.preferred_low == "api"
    assert entry.preferred_high == "open"
    assert entry.flips_preferred
    steady = next(
        s for s in analysis.sensitivity if (s.item, s.quantity) == ("misuse", "likelihood")
    )
    assert not steady.flips_preferred


def test_sensitivity_flags_a_gate_it_would_flip(gated_template: Template) -> None:
    review = review_from(
        [("h", "harm"), ("b", "benefit")],
        [("h", "ana", [0.01, 0.2], 6000), ("b", "ana", 1, 100)],
    )
    analysis = analyze(review, gated_template, samples=20_000, seed=9)
    gates = {gate.rule: gate for gate in analysis.gates}
    assert set(gates) == {"tail", "positive"}
    entry = next(s for s in analysis.sensitivity if (s.item, s.quantity) == ("h", "likelihood"))
    # at 1% the tail gate (<= 5%) passes, at 20% it fails: whichever it is now, one end flips it
    assert "tail" in entry.flips_gates
    steady = next(s for s in analysis.sensitivity if (s.item, s.quantity) == ("b", "impact"))
    assert "tail" not in steady.flips_gates


def test_disagreement_in_orders_of_magnitude(template: Template) -> None:
    review = review_from(
        [("calm", "harm"), ("split", "harm"), ("solo", "harm")],
        [
            ("calm", "ana", 0.1, 100), ("calm", "ben", 0.1, 100),
            ("split", "ana", 0.1, 10), ("split", "ben", 0.1, 1000),
            ("solo", "ana", 0.5, 10),
        ],
    )
    disagreement = analyze(review, template, samples=1_000).disagreement
    assert [d.item for d in disagreement] == ["split", "calm", "solo"]
    assert disagreement[0].orders_of_magnitude == pytest.approx(2.0)
    assert disagreement[0].impact_spread == pytest.approx(math.log(100) / 2)
    assert disagreement[0].likelihood_spread == pytest.approx(0.0)
    assert disagreement[1].orders_of_magnitude == pytest.approx(0.0)
    assert [p.participant for p in disagreement[0].participants] == ["ana", "ben"]
    assert disagreement[0].participants[1].expected_value == pytest.approx(100)


def test_unestimated_items_are_listed(template: Template) -> None:
    analysis = analyze(three_variants(), template, samples=1_000)
    assert analysis.unestimated == ["ghost"]
    assert "ghost" not in {item.item for item in analysis.items}


def test_preferred_is_the_highest_mean_and_chosen_the_decision(template: Template) -> None:
    review = three_variants()
    analysis = analyze(review, template, samples=5_000)
    means = {name: s.mean for name, s in analysis.variants.items()}
    assert analysis.preferred == max(means, key=lambda name: means[name])
    assert analysis.chosen == analysis.preferred
    data = review.model_dump(mode="json", by_alias=True)
    data["decision"] = {"outcome": "approve", "variant": "open"}
    decided = analyze(type(review).model_validate(data), template, samples=5_000)
    assert decided.chosen == "open"


def test_json_round_trip_is_exact_and_deterministic(template: Template) -> None:
    analysis = analyze(three_variants(), template, samples=5_000, seed=11)
    data = analysis.to_json()
    text = json.dumps(data, allow_nan=False)
    assert Analysis.from_json(json.loads(text)) == analysis
    assert analyze(three_variants(), template, samples=5_000, seed=11).to_json() == data
    assert analyze(three_variants(), template, samples=5_000, seed=12).to_json() != data


def test_cached_recompute_equals_a_fresh_analysis(template: Template) -> None:
    cache = DrawCache()
    review = three_variants()
    analyze(review, template, samples=4_000, cache=cache)
    data = review.model_dump(mode="json", by_alias=True)
    data["estimates"][0]["impact"] = [3000, 9000]
    edited = type(review).model_validate(data)
    assert analyze(edited, template, samples=4_000, cache=cache) == analyze(
        edited, template, samples=4_000
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(review=analysis_reviews(), seed=st.integers(0, 10_000),
       pool=st.sampled_from(["linear", "geometric"]))
@example(  # a subnormal point likelihood: its logit (-744) overflowed exp in the median
    review=review_from([("a", "benefit")], [("a", "a", 5e-324, 1.0)]), seed=0, pool="linear"
)
def test_no_nan_in_any_analysis(template: Template, review: Review, seed: int, pool: str) -> None:
    analysis = analyze(review, template, samples=400, seed=seed, pool=pool)  # type: ignore[arg-type]
    json.dumps(analysis.to_json(), allow_nan=False)  # raises on NaN or infinity
    for summary in analysis.variants.values():
        assert 0 <= summary.p_extreme_bad <= 1
        assert summary.mean_se >= 0


def test_a_factor_interval_too_wide_for_its_mean_is_noted(template: Template) -> None:
    review = review_from(
        [("h", "harm")], [("h", "ana", 1, 100)],
        mitigations=[{"id": "vague", "targets": ["h"], "impact_factor": [1e-6, 1]},
                     {"id": "fine", "targets": ["h"], "impact_factor": [0.2, 0.9]}],
        variants=[("open", []), ("vague", ["vague"])],
    )
    analysis = analyze(review, template, samples=2_000)
    assert len(analysis.notes) == 1
    assert "'vague'" in analysis.notes[0]
    assert "above 1" in analysis.notes[0]


def test_to_frame_holds_the_same_numbers_as_the_analysis() -> None:
    review = three_variants()
    analysis = analyze(review, load_template_file(TEMPLATE_FILE), samples=4_000, seed=3)
    frame = analysis.to_frame()
    assert list(frame.index) == list(analysis.variants)
    for key, summary in analysis.variants.items():
        assert frame.loc[key, "p_extreme_bad"] == summary.p_extreme_bad
        assert frame.loc[key, "p_extreme_bad_high"] == summary.p_extreme_bad_high
        assert frame.loc[key, "mean"] == summary.mean
    assert frame["chosen"].sum() == 1
    assert frame.loc[analysis.chosen, "chosen"]
    comparisons = analysis.comparisons_frame()
    assert len(comparisons) == len(analysis.comparisons) + len(analysis.mitigation_effects)
    first = analysis.comparisons[0]
    row = comparisons[(comparisons["base"] == first.base) & (comparisons["other"] == first.other)]
    assert row["mean"].item() == first.mean


def test_geometric_pool_says_which_items_it_left_to_the_linear_pool(template: Template) -> None:
    review = review_from([("a", "harm"), ("b", "harm")],
                         [("a", "ana", 0.0, 10), ("a", "ben", 0.5, 1000),
                          ("b", "ana", 0.2, 10), ("b", "ben", 0.5, 1000)])
    geometric = analyze(review, template, samples=2_000, pool="geometric")
    (note,) = [n for n in geometric.notes if "pooled linearly" in n]
    assert "'a'" in note
    assert "ana (0)" in note
    linear = analyze(review, template, samples=2_000)
    assert not [n for n in linear.notes if "pooled linearly" in n]
