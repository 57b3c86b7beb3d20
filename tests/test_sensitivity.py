"""Sensitivity: item and mitigation-factor swings, and flips judged with standard errors.

The swung numbers are checked against an independent computation: the review rewritten
with the swung estimate (or factor) as a point, simulated outright with the same seed
(the same draws: a point keeps the item's, or the mitigation's, random stream), and
the lead and its standard error taken from the per-sample differences themselves.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from deliberation.engine.analysis import analyze, summarize
from deliberation.engine.estimates import lognormal_mean, lognormal_parameters
from deliberation.engine.results import Analysis, Sensitivity
from deliberation.engine.simulate import simulate
from deliberation.readout import flips
from deliberation.readout.report import format_report
from deliberation.record.render import render_sensitivity
from deliberation.review.model import Review
from deliberation.review.template import Template

from .strategies import review_from

SEEDS = range(50)


def entry(analysis: Analysis, item: str, quantity: str) -> Sensitivity:
    return next(s for s in analysis.sensitivity if (s.item, s.quantity) == (item, quantity))


def swung(review: Review, entry: Sensitivity, end: str) -> Review:
    """The review with the swung estimate or factor written as a point."""
    value = entry.low if end == "low" else entry.high
    data = review.model_dump(mode="json", by_alias=True)
    if entry.subject == "item":
        for estimate in data["estimates"]:
            if estimate["item"] == entry.item:
                estimate[entry.quantity] = value
    else:
        for mitigation in data["mitigations"]:
            if mitigation["id"] == entry.item:
                mitigation[entry.quantity] = value
    return Review.model_validate(data)


def outright(review: Review, template: Template, seed: int, samples: int) -> dict[str, Any]:
    simulation = simulate(review, template, samples=samples, rng=np.random.default_rng(seed),
                          sensitivity=False)
    return {name: simulation.net_of(name).astype(np.float64) for name in simulation.variants}


def lead_of(nets: dict[str, Any], first: str, second: str) -> tuple[float, float]:
    difference = nets[first] - nets[second]
    return float(difference.mean()), float(difference.std(ddof=1) / math.sqrt(len(difference)))


# --------------------------------------------------------------------------- reviews


MISUSE = 0.5 * lognormal_mean(*lognormal_parameters(1000, 3000))  # about 916
IMPACT_FACTOR = lognormal_mean(*lognormal_parameters(0.9, 1.0))  # about 0.95


def hinging_on_a_factor(filter_factor: Any = (0.05, 0.95), research_kept: float = 0.5) -> Review:
    """Open weights against an API: the API costs a share of the research benefit (1,000)
    and its filter cuts a misuse harm worth about 916 on average by 1 - factor x 0.95, so
    with half the research lost the choice hinges on the filter's likelihood factor: the
    API is better below about 0.48, open above."""
    return review_from(
        [("research", "benefit"), ("misuse", "harm")],
        [("research", "ana", 1, 1000), ("misuse", "ana", 0.5, [1000, 3000])],
        mitigations=[
            {"id": "api-only", "targets": ["research"], "likelihood_factor": research_kept},
            {"id": "filter", "targets": ["misuse"], "likelihood_factor": list(filter_factor),
             "impact_factor": [0.9, 1.0]},
        ],
        variants=[("open", []), ("api", ["api-only", "filter"])],
    )


def three_variants() -> Review:
    return review_from(
        [("art", "benefit"), ("research", "benefit"), ("fakes", "harm")],
        [
            ("art", "ana", [0.6, 0.9], [2000, 8000]),
            ("research", "ana", [0.3, 0.7], [500, 6000]),
            ("fakes", "ana", [0.05, 0.3], [3000, 30000]),
        ],
        mitigations=[
            {"id": "filter", "targets": ["fakes"], "likelihood_factor": [0.2, 0.5],
             "impact_factor": [0.5, 0.9]},
            {"id": "api-only", "targets": ["fakes", "research"],
             "likelihood_factor": [0.5, 0.8], "impact_factor": [0.3, 0.6]},
        ],
        variants=[("open", []), ("filtered", ["filter"]), ("api", ["filter", "api-only"])],
    )


# --------------------------------------------------------------------------- the numbers


@pytest.mark.parametrize("seed", [1, 2])
def test_swung_leads_and_means_equal_the_swung_review_simulated_outright(
    template: Template, seed: int
) -> None:
    review, samples = three_variants(), 20_000
    analysis = analyze(review, template, samples=samples, seed=seed)
    leader = analysis.preferred
    checked = 0
    for sensitivity in analysis.sensitivity:
        for end in ("low", "high"):
            nets = outright(swung(review, sensitivity, end), template, seed, samples)
            rival = getattr(sensitivity, f"rival_{end}")
            lead, lead_se = lead_of(nets, leader, rival)
            assert getattr(sensitivity, f"lead_{end}") == pytest.approx(lead, rel=1e-4, abs=1e-3)
            assert getattr(sensitivity, f"lead_{end}_se") == pytest.approx(lead_se, rel=1e-3)
            # the rival is the variant closest to overtaking, in standard errors
            others = [v for v in nets if v != leader]
            assert rival == min(others, key=lambda v: np.divide(*lead_of(nets, leader, v)))
            effect = sensitivity.variants[analysis.chosen]
            assert getattr(effect, f"mean_{end}") == pytest.approx(
                float(nets[analysis.chosen].mean()), rel=1e-5, abs=1e-3)
            bad = float(np.mean(nets[analysis.chosen] <= analysis.extreme_bad))
            assert getattr(effect, f"p_extreme_bad_{end}") == pytest.approx(bad, abs=1.5e-4)
            checked += 1
    # 3 items x 2 quantities, 2 mitigations x 2 factors, both ends
    assert checked == 2 * (6 + 4)


def test_a_mitigation_factor_is_swung_in_every_variant_that_uses_it(template: Template) -> None:
    analysis = analyze(three_variants(), template, samples=20_000, seed=3)
    factors = {(s.item, s.quantity): s for s in analysis.sensitivity if s.subject == "mitigation"}
    assert set(factors) == {(m, q) for m in ("filter", "api-only")
                            for q in ("likelihood_factor", "impact_factor")}
    api_likelihood = factors[("api-only", "likelihood_factor")]
    assert (api_likelihood.low, api_likelihood.high) == (0.5, 0.8)
    assert api_likelihood.title == "Mitigation api-only"
    # open uses no mitigation: its numbers do not move; a likelier harm lowers the others
    open_effect = api_likelihood.variants["open"]
    assert open_effect.mean_low == open_effect.mean_high == analysis.variants["open"].mean
    filtered = api_likelihood.variants["filtered"]
    assert filtered.mean_low == filtered.mean_high  # filtered does not use api-only
    api = api_likelihood.variants["api"]
    assert api.mean_low != api.mean_high  # (test_swung_leads_... checks the numbers)


def test_a_point_factor_is_not_swung(template: Template) -> None:
    analysis = analyze(hinging_on_a_factor(), template, samples=2_000, seed=0)
    swung_factors = {(s.item, s.quantity) for s in analysis.sensitivity
                     if s.subject == "mitigation"}
    assert swung_factors == {("filter", "likelihood_factor"), ("filter", "impact_factor")}


def test_chunking_changes_no_lead_beyond_rounding(gated_template: Template) -> None:
    review = three_variants()
    results = []
    for chunk in (None, 997):
        simulation = simulate(review, gated_template, samples=6_000,
                              rng=np.random.default_rng(4), chunk=chunk)
        results.append(summarize(simulation, review, gated_template, seed=4).sensitivity)
    for whole, chunked in zip(*results, strict=True):
        assert (whole.item, whole.quantity) == (chunked.item, chunked.quantity)
        for name in ("lead_low", "lead_low_se", "lead_high", "lead_high_se"):
            assert getattr(whole, name) == pytest.approx(getattr(chunked, name), rel=1e-4)
        assert whole.gate_flips == chunked.gate_flips


# --------------------------------------------------------------------------- flips


def test_a_choice_that_hinges_on_one_mitigation_factor_is_flagged(template: Template) -> None:
    review = hinging_on_a_factor()
    analysis = analyze(review, template, samples=20_000, seed=5)
    assert analysis.preferred == "api"  # the factor's mean is about 0.3
    factor = entry(analysis, "filter", "likelihood_factor")
    # at 0.95 the filter cuts 10% of the harm (about 90) for 500 of research: open leads
    assert factor.preferred_high == "open"
    assert factor.rival_high == "open"
    assert factor.lead_high is not None
    assert factor.lead_high_se is not None
    expected = MISUSE * (1 - 0.95 * IMPACT_FACTOR) - 500
    assert factor.lead_high == pytest.approx(expected, abs=4 * factor.lead_high_se)
    assert factor.lead_high / factor.lead_high_se < -50
    assert factor.preferred_flip == "flips"
    assert factor.flips_preferred
    # nothing else moves the choice: research and misuse are points or far from it
    others = [s for s in analysis.sensitivity if s is not factor and s.preferred_flip]
    assert [(s.item, s.quantity) for s in others] == [("misuse", "impact")]


def test_no_false_flips_when_the_lead_is_far_from_zero(template: Template) -> None:
    """Every swing leaves the API far ahead (by 260 or more, some 17 standard errors at
    4,000 samples); over 50 seeds none is flagged "flips" (nor, as measured, "may flip")."""
    review = hinging_on_a_factor(filter_factor=(0.02, 0.2), research_kept=0.8)
    flagged = []
    for seed in SEEDS:
        analysis = analyze(review, template, samples=4_000, seed=seed)
        assert analysis.preferred == "api"
        flagged += [(seed, s.item, s.quantity, s.preferred_flip)
                    for s in analysis.sensitivity if s.preferred_flip]
    assert flagged == []


def test_a_true_flip_is_flagged_on_every_seed(template: Template) -> None:
    review = hinging_on_a_factor()
    for seed in SEEDS:
        analysis = analyze(review, template, samples=4_000, seed=seed)
        assert entry(analysis, "filter", "likelihood_factor").preferred_flip == "flips", seed


def near_tie() -> Review:
    """Research (impact 100 to 3,000) only in the open release; the API removes a harm
    worth 0.101 x 1,000 = 101 on average. Swung to its low end (100) research trails the
    harm by 1: the API then leads by 1, with a standard error of about 2.13 at 20,000
    samples (z about -0.47 for open)."""
    return review_from(
        [("research", "benefit"), ("misuse", "harm")],
        [("research", "ana", 1, [100, 3000]), ("misuse", "ana", 0.101, 1000)],
        mitigations=[{"id": "api-only", "targets": ["research", "misuse"],
                      "likelihood_factor": 0}],
        variants=[("open", []), ("api", ["api-only"])],
    )


def test_a_near_tie_may_flip_and_seldom_flips(template: Template) -> None:
    """The swung lead is truly -1 at about 2.13 standard errors (z about -0.47): the sign
    is right on 68% of seeds, beyond 1.96 standard errors on 7%. Measured on these 50
    seeds: "may flip" on 32 (64%), "flips" on none, neither on 18; on 200 seeds 62%, 9%
    and 29%. The point comparison used before called it a flip on 32 of the 50 (71% of
    200) and never said it was unsure. The bounds below allow for other draws: at the
    true rates, fewer than 25 "may flip" or more than 9 "flips" happen under 1% of
    the time."""
    flags = []
    for seed in SEEDS:
        analysis = analyze(near_tie(), template, samples=20_000, seed=seed)
        assert analysis.preferred == "open"
        research = entry(analysis, "research", "impact")
        assert research.lead_low_se == pytest.approx(1000 * math.sqrt(0.101 * 0.899 / 20_000),
                                                     rel=0.05)
        flags.append(research.preferred_flip)
    assert flags.count("may flip") >= 25
    assert flags.count("flips") <= 9


def test_a_gate_flip_is_judged_on_the_swung_interval(gated_template: Template) -> None:
    review = review_from(
        [("h", "harm"), ("b", "benefit")],
        [("h", "ana", [0.01, 0.2], 6000), ("b", "ana", 1, 100)],
    )
    analysis = analyze(review, gated_template, samples=20_000, seed=9)
    flip = entry(analysis, "h", "likelihood").gate_flips["tail"]
    # at 20% the tail (<= 5%) fails far beyond its interval; at 1% it passes
    assert flip.flag == "flips"
    assert flip.low <= flip.estimate <= flip.high
    tail = next(gate for gate in analysis.gates if gate.rule == "tail")
    assert (flip.low > 0.05) if tail.passes else (flip.high <= 0.05)
    assert "tail" in entry(analysis, "h", "likelihood").flips_gates


def test_a_gate_near_its_limit_may_flip_and_seldom_flips(gated_template: Template) -> None:
    """P(extremely bad) at the impact's high end is truly 5.1%, against a 5% limit: at
    20,000 samples its 95% interval (about 4.8-5.4%) holds the limit on most seeds, so
    the gate "may flip" (the estimate is across, 74% of seeds) and seldom "flips" (the
    whole interval across, 9%); measured on these 20 seeds: 14, 1 and 5 with neither.
    Every flag obeys its definition."""
    review = review_from(
        [("h", "harm"), ("b", "benefit")],
        [("h", "ana", 0.051, [1000, 6000]), ("b", "ana", 1, 100)],
    )
    flags = []
    for seed in range(20):
        analysis = analyze(review, gated_template, samples=20_000, seed=seed)
        assert next(gate for gate in analysis.gates if gate.rule == "tail").passes
        flip = entry(analysis, "h", "impact").gate_flips.get("tail")
        flags.append(None if flip is None else flip.flag)
        if flip is not None:
            assert flip.end == "high"
            assert flip.estimate > 0.05
            assert (flip.low > 0.05) == (flip.flag == "flips")
    assert flags.count("may flip") >= 8
    assert flags.count("flips") <= 6


def test_the_positive_mean_gate_uses_the_swung_mean_and_its_error(
    gated_template: Template,
) -> None:
    review = review_from(
        [("h", "harm"), ("b", "benefit")],
        [("h", "ana", [0.05, 0.4], [900, 1100]), ("b", "ana", 1, [100, 200])],
    )
    analysis = analyze(review, gated_template, samples=20_000, seed=11)
    likelihood = entry(analysis, "h", "likelihood")
    flip = likelihood.gate_flips["positive"]
    nets = outright(swung(review, likelihood, flip.end), gated_template, 11, 20_000)["baseline"]
    mean, se = float(nets.mean()), float(nets.std(ddof=1) / math.sqrt(len(nets)))
    assert flip.estimate == pytest.approx(mean, rel=1e-4)
    assert flip.high - flip.estimate == pytest.approx(1.959963984540054 * se, rel=1e-3)
    # at 5% the harm costs 50 (mean about +100), at 40% it costs 400 (about -250): the
    # mean of about -20 fails, and the low end flips it beyond its interval
    assert not next(gate for gate in analysis.gates if gate.rule == "positive").passes
    assert flip.flag == "flips"
    assert flip.end == "low"


# --------------------------------------------------------------------------- views


def test_the_json_carries_each_lead_its_error_and_the_flag(template: Template) -> None:
    analysis = analyze(hinging_on_a_factor(), template, samples=4_000, seed=6)
    rows = {(row["item"], row["quantity"]): row for row in analysis.to_json()["sensitivity"]}
    factor = rows[("filter", "likelihood_factor")]
    assert factor["subject"] == "mitigation"
    assert factor["preferred_flip"] == "flips"
    assert factor["flips_preferred"] is True
    assert factor["rival_high"] == "open"
    assert factor["lead_high"] < 0 < factor["lead_high_se"]
    assert factor["lead_low"] > 0
    assert rows[("research", "impact")]["preferred_flip"] is None
    assert Analysis.from_json(analysis.to_json()) == analysis


def test_every_view_shows_a_flagged_factor_swing_beyond_the_top_rows(
    template: Template,
) -> None:
    review = hinging_on_a_factor()
    analysis = analyze(review, template, samples=4_000, seed=7)
    factor = entry(analysis, "filter", "likelihood_factor")
    assert factor in flips.shown(analysis.sensitivity, 0)
    assert entry(analysis, "filter", "impact_factor") not in flips.shown(analysis.sensitivity, 0)
    said = flips.preferred_text(factor, analysis.preferred)
    assert said is not None
    assert said.startswith("flips the preferred option to open (it leads by ")
    report = format_report(analysis, review)
    line = next(line for line in report.splitlines() if "filter likelihood factor" in line)
    assert "×0.05 … ×0.95" in line
    assert said in line
    html = render_sensitivity(review, analysis.to_json(), limit=0)
    assert "Mitigation filter (likelihood factor)" in html
    assert said in html
    assert "status-fail" in html


def test_a_near_tie_is_said_to_be_within_noise(template: Template) -> None:
    for seed in range(20):  # the first seed on which it may flip (62% of seeds do)
        analysis = analyze(near_tie(), template, samples=20_000, seed=seed)
        research = entry(analysis, "research", "impact")
        if research.preferred_flip == "may flip":
            break
    else:
        pytest.fail("the near tie said 'may flip' on none of 20 seeds")
    said = flips.preferred_text(research, analysis.preferred)
    assert said is not None
    assert said.startswith("may flip the preferred option to api (it leads by ")
    assert said.endswith(": within noise)")


def test_a_record_made_before_the_flags_still_reads() -> None:
    old = {"item": "h", "quantity": "likelihood", "flips_preferred": True,
           "flips_gates": ["tail"], "preferred_low": "open", "preferred_high": "api"}
    assert flips.preferred_flip(old) == "flips"
    assert flips.gate_flips(old) == {"tail": "flips"}
    assert flips.preferred_text(old, "open") == "flips the preferred option to api"
    assert flips.gate_texts(old) == ["flips gate tail"]
    steady = {**old, "flips_preferred": False, "flips_gates": []}
    assert not flips.flagged(steady)


def test_sums_beyond_float_range_give_no_verdict_never_a_false_one(
    gated_template: Template,
) -> None:
    """Impacts reaching 1e14 (within validation's 8 decades) overflow the float32 sums
    of products: the swings then carry no standard error and no flag, rather than a
    zero error that would make every sign change a "flips"."""
    review = review_from(
        [("b", "benefit"), ("h", "harm")],
        [("b", "ana", [0.1, 0.9], [1e6, 1e14]), ("h", "ana", [0.1, 0.5], [1e6, 1e14])],
        mitigations=[{"id": "m", "targets": ["h"], "likelihood_factor": [0.1, 0.9],
                      "impact_factor": [0.5, 1]}],
        variants=[("open", []), ("api", ["m"])],
    )
    analysis = analyze(review, gated_template, samples=5_000, seed=1)
    for sensitivity in analysis.sensitivity:
        for end in ("low", "high"):
            se = getattr(sensitivity, f"lead_{end}_se")
            assert se is None or se > 0
        if sensitivity.lead_low_se is None and sensitivity.lead_high_se is None:
            assert sensitivity.preferred_flip is None
    assert Analysis.from_json(analysis.to_json()) == analysis
