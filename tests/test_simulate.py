"""The Monte Carlo engine against closed forms, against squigglepy, and its invariants."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deliberation.engine.draws import DrawCache
from deliberation.engine.estimates import item_models, lognormal_mean, lognormal_parameters
from deliberation.engine.simulate import BASELINE, Simulation, simulate
from deliberation.review.model import Review
from deliberation.review.template import Template

from .strategies import analysis_reviews, review_from


def run(review: Review, template: Template, samples: int = 20_000, seed: int = 0,
        **options: Any) -> Simulation:
    return simulate(review, template, samples=samples, rng=np.random.default_rng(seed), **options)


def within(value: float, expected: float, standard_error: float, k: float = 4.0) -> bool:
    return abs(value - expected) <= k * standard_error


# --------------------------------------------------------------------------- closed forms


def test_mean_of_a_certain_lognormal_benefit_is_exp_mu_plus_half_sigma_squared(
    template: Template,
) -> None:
    review = review_from([("a", "benefit")], [("a", "ana", 1, [10, 1000])])
    net = run(review, template, samples=200_000).net_of(BASELINE).astype(np.float64)
    mu, sigma = lognormal_parameters(10, 1000)
    expected = math.exp(mu + sigma**2 / 2)
    assert within(net.mean(), expected, net.std() / math.sqrt(len(net)))


def test_point_likelihood_gives_exactly_a_bernoulli(template: Template) -> None:
    review = review_from(
        [("a", "benefit"), ("never", "harm"), ("always", "harm")],
        [("a", "ana", 0.3, 10), ("never", "ana", 0, 1000), ("always", "ana", 1, 1)],
    )
    net = run(review, template, samples=100_000).net_of(BASELINE)
    # every sample is exactly 10 - 1 (a happened) or -1 (it did not): nothing else
    assert set(np.unique(net).tolist()) == {9.0, -1.0}
    share = float(np.mean(net == 9))
    assert within(share, 0.3, math.sqrt(0.3 * 0.7 / len(net)))


def test_likelihood_factor_scales_expected_harm_by_the_factors_mean(template: Template) -> None:
    review = review_from(
        [("h", "harm")], [("h", "ana", 0.5, 100)],
        mitigations=[{"id": "m", "targets": ["h"], "likelihood_factor": [0.2, 0.8]}],
        variants=[("open", []), ("mitigated", ["m"])],
    )
    simulation = run(review, template, samples=200_000)
    mitigated = simulation.net_of("mitigated").astype(np.float64)
    factor_mean = lognormal_mean(*lognormal_parameters(0.2, 0.8))
    expected = -100 * 0.5 * factor_mean
    assert within(mitigated.mean(), expected, mitigated.std() / math.sqrt(len(mitigated)))
    # the unmitigated variant is E = -50 on the very same draws
    base = simulation.net_of("open").astype(np.float64)
    assert within(base.mean(), -50, base.std() / math.sqrt(len(base)))


def test_impact_factor_scales_expected_harm_by_the_factors_mean(template: Template) -> None:
    review = review_from(
        [("h", "harm")], [("h", "ana", 1, [100, 1000])],
        mitigations=[{"id": "m", "targets": ["h"], "impact_factor": [0.1, 0.5]}],
        variants=[("mitigated", ["m"])],
    )
    net = run(review, template, samples=200_000).net_of("mitigated").astype(np.float64)
    expected = -lognormal_mean(*lognormal_parameters(100, 1000)) * lognormal_mean(
        *lognormal_parameters(0.1, 0.5)
    )
    assert within(net.mean(), expected, net.std() / math.sqrt(len(net)))


def test_mitigated_likelihood_is_clipped_to_one(template: Template) -> None:
    review = review_from(
        [("h", "harm")], [("h", "ana", 0.8, 1)],
        mitigations=[{"id": "m", "targets": ["h"], "likelihood_factor": 2}],
        variants=[("worse", ["m"])],
    )
    net = run(review, template, samples=10_000).net_of("worse")
    assert np.all(net == -1)  # 0.8 x 2 is certain, not "160%"


def test_a_zero_factor_removes_the_item(template: Template) -> None:
    review = review_from(
        [("h", "harm")], [("h", "ana", [0.2, 0.9], [10, 100])],
        mitigations=[{"id": "m", "targets": ["h"], "likelihood_factor": 0}],
        variants=[("removed", ["m"])],
    )
    assert np.all(run(review, template, samples=5_000).net_of("removed") == 0)


def test_linear_pool_draws_each_participant_equally_often(template: Template) -> None:
    review = review_from([("a", "benefit")], [("a", "ana", 1, 10), ("a", "ben", 1, 1000)])
    net = run(review, template, samples=100_000).net_of(BASELINE)
    assert set(np.unique(net).tolist()) == {10.0, 1000.0}
    share = float(np.mean(net == 10))
    assert within(share, 0.5, math.sqrt(0.25 / len(net)))


def test_linear_pool_keeps_a_participants_likelihood_and_impact_together(
    template: Template,
) -> None:
    review = review_from([("a", "benefit")], [("a", "ana", 1, 10), ("a", "ben", 0, 1000)])
    net = run(review, template, samples=20_000).net_of(BASELINE)
    # ben says it never happens, so his impact never shows up
    assert set(np.unique(net).tolist()) == {0.0, 10.0}


def test_linear_pool_draws_one_participant_per_sample_for_all_items(
    template: Template,
) -> None:
    # ana is certain both harms happen, ben that neither does; only both together reach
    # the extremely bad threshold (-5000). One participant per sample: exactly half the
    # samples are ana's world (-6000) and half ben's (0), never a mix (-3000).
    review = review_from(
        [("h1", "harm"), ("h2", "harm")],
        [("h1", "ana", 1, 3000), ("h2", "ana", 1, 3000),
         ("h1", "ben", 0, 3000), ("h2", "ben", 0, 3000)],
    )
    samples = 100_000
    net = run(review, template, samples=samples).net_of(BASELINE)
    assert set(np.unique(net).tolist()) == {-6000.0, 0.0}
    extreme_bad = float(np.mean(net <= -5000))
    assert within(extreme_bad, 0.5, math.sqrt(0.25 / samples))


def test_linear_pool_item_a_participant_skipped_uses_those_who_estimated_it(
    template: Template,
) -> None:
    # cy estimated only h1: in cy's samples h2 is ana's or ben's estimate, half each.
    review = review_from(
        [("h1", "harm"), ("h2", "harm")],
        [("h1", "ana", 1, 3000), ("h2", "ana", 1, 3000),
         ("h1", "ben", 0, 3000), ("h2", "ben", 0, 3000), ("h1", "cy", 1, 1)],
    )
    samples = 120_000
    net = run(review, template, samples=samples).net_of(BASELINE)
    assert set(np.unique(net).tolist()) == {-6000.0, 0.0, -1.0, -3001.0}
    for value, share in ((-6000.0, 1 / 3), (0.0, 1 / 3), (-1.0, 1 / 6), (-3001.0, 1 / 6)):
        observed = float(np.mean(net == value))
        assert within(observed, share, math.sqrt(share * (1 - share) / samples))


def test_float64_accumulation_makes_cancelling_terms_order_free(template: Template) -> None:
    # 1e8 - 1e8 + 1 (each exact in float32): a float32 sum in id order keeps the 1 only
    # when it comes last (1e8 + 1 rounds to 1e8); accumulated in float64 it is always 1.
    for names in (("a", "b", "c"), ("c", "b", "a"), ("b", "c", "a")):
        big_benefit, big_harm, small = names
        review = review_from(
            [(big_benefit, "benefit"), (big_harm, "harm"), (small, "benefit")],
            [(big_benefit, "ana", 1, 1e8), (big_harm, "ana", 1, 1e8),
             (small, "ana", 1, 1)],
        )
        net = run(review, template, samples=1_000).net_of(BASELINE)
        assert set(np.unique(net).tolist()) == {1.0}


def test_geometric_pool_uses_the_geometric_mean_of_odds(template: Template) -> None:
    review = review_from([("a", "benefit")], [("a", "ana", 0.1, 1), ("a", "ben", 0.5, 1)])
    samples = 100_000
    geometric = float(run(review, template, samples=samples, pool="geometric").net_of(
        BASELINE).mean())
    linear = float(run(review, template, samples=samples).net_of(BASELINE).mean())
    odds = math.sqrt(1 / 9)
    expected_geometric = odds / (1 + odds)  # 0.25
    assert within(geometric, expected_geometric, math.sqrt(0.25 * 0.75 / samples))
    assert within(linear, 0.3, math.sqrt(0.3 * 0.7 / samples))


def test_logit_normal_likelihood_mean_against_quadrature(template: Template) -> None:
    review = review_from([("a", "benefit")], [("a", "ana", [0.05, 0.5], 1)])
    samples = 200_000
    share = float(run(review, template, samples=samples).net_of(BASELINE).mean())
    # E[p] of the logit-normal, by quadrature written out here (not the library's)
    low, high = math.log(0.05 / 0.95), math.log(0.5 / 0.5)
    mu, sigma = (low + high) / 2, (high - low) / 3.2897
    grid = np.linspace(-10, 10, 200_001)
    density = np.exp(-grid**2 / 2) / math.sqrt(2 * math.pi)
    expected = float(np.trapezoid(density / (1 + np.exp(-(mu + sigma * grid))), grid))
    assert within(share, expected, math.sqrt(expected * (1 - expected) / samples))


# --------------------------------------------------------------------------- peer


def test_percentiles_agree_with_squigglepys_reading_of_a_to_b(template: Template) -> None:
    squigglepy = pytest.importorskip("squigglepy")
    samples = 200_000
    squigglepy.set_seed(5)
    theirs = np.asarray(squigglepy.sample(squigglepy.lognorm(20, 4000), n=samples))
    review = review_from([("a", "benefit")], [("a", "ana", 1, [20, 4000])])
    ours = run(review, template, samples=samples).net_of(BASELINE).astype(np.float64)
    for quantile in (0.05, 0.25, 0.5, 0.75, 0.95):
        expected = float(np.quantile(theirs, quantile))
        # a quantile's Monte Carlo error, from the density at it, is far below 3% here
        assert float(np.quantile(ours, quantile)) == pytest.approx(expected, rel=0.03)


# --------------------------------------------------------------------------- coverage


def test_true_mean_lies_within_three_standard_errors_in_98_percent_of_seeds(
    template: Template,
) -> None:
    review = review_from(
        [("b", "benefit"), ("h", "harm"), ("c", "harm")],
        [("b", "ana", 0.6, [100, 400]), ("h", "ana", 0.3, [50, 500]),
         ("c", "ana", 1, [20, 60]), ("c", "ben", 0.5, [40, 80])],
    )

    def mean(low: float, high: float) -> float:
        return lognormal_mean(*lognormal_parameters(low, high))

    # c: a linear pool of ana (certain, 20 to 60) and ben (0.5, 40 to 80)
    truth = 0.6 * mean(100, 400) - 0.3 * mean(50, 500) - 0.5 * (mean(20, 60) + 0.5 * mean(40, 80))
    samples, covered = 2_000, 0
    for seed in range(200):
        net = run(review, template, samples=samples, seed=seed).net_of(BASELINE).astype(np.float64)
        standard_error = net.std(ddof=1) / math.sqrt(samples)
        covered += abs(net.mean() - truth) <= 3 * standard_error
    assert covered >= 196


# --------------------------------------------------------------------------- invariants


def _permuted(review: Review) -> Review:
    data = review.model_dump(mode="json", by_alias=True)
    data["items"].reverse()
    data["estimates"].reverse()
    data["participants"].reverse()
    data["mitigations"].reverse()
    return type(review).model_validate(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(review=analysis_reviews(), seed=st.integers(0, 2**32))
def test_same_seed_same_numbers_and_order_does_not_matter(
    template: Template, review: Review, seed: int
) -> None:
    first = run(review, template, samples=600, seed=seed)
    again = run(review, template, samples=600, seed=seed)
    reordered = run(_permuted(review), template, samples=600, seed=seed)
    for variant in first.variants:
        assert np.array_equal(first.net_of(variant), again.net_of(variant))
        assert np.array_equal(first.net_of(variant), reordered.net_of(variant))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(review=analysis_reviews(), chunk=st.integers(2, 500))
def test_chunk_size_changes_no_number(template: Template, review: Review, chunk: int) -> None:
    whole = run(review, template, samples=700, seed=3)
    chunked = run(review, template, samples=700, seed=3, chunk=chunk)
    assert np.array_equal(whole.net, chunked.net)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(review=analysis_reviews(), seed=st.integers(0, 1000))
def test_no_nan_or_infinity_anywhere(template: Template, review: Review, seed: int) -> None:
    simulation = run(review, template, samples=300, seed=seed)
    assert np.all(np.isfinite(simulation.net))
    for tallies in simulation.tallies.values():
        for tally in tallies.values():
            assert math.isfinite(tally.contribution)
    for swing in simulation.swings:
        assert all(math.isfinite(v) for v in swing.mean_shift.values())
        assert math.isfinite(swing.value)


@st.composite
def harm_mitigations(draw: Any) -> tuple[Review, Review]:
    review = draw(analysis_reviews())
    harms = [i.id for i in review.items if i.kind == "harm"] or [review.items[0].id]
    data = review.model_dump(mode="json", by_alias=True)
    for item in data["items"]:
        item["kind"] = "harm" if item["id"] in harms else item["kind"]
    data["mitigations"].append({
        "id": "zz-test-mitigation", "title": "Point factors at most 1",
        "targets": draw(st.lists(st.sampled_from(harms), min_size=1, unique=True)),
        "likelihood_factor": draw(st.floats(0, 1)),
        "impact_factor": draw(st.floats(0, 1)),
    })
    data["variants"] = [
        {"id": "without", "title": "Without", "mitigations": []},
        {"id": "with", "title": "With", "mitigations": ["zz-test-mitigation"]},
    ]
    return review, type(review).model_validate(data)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=harm_mitigations(), seed=st.integers(0, 1000))
def test_a_mitigation_with_factors_at_most_one_never_makes_a_harm_worse(
    template: Template, pair: tuple[Review, Review], seed: int
) -> None:
    _, review = pair
    simulation = run(review, template, samples=800, seed=seed)
    without, with_ = simulation.net_of("without"), simulation.net_of("with")
    # common random numbers: sample by sample, not only on average
    assert np.all(with_ >= without)
    bad = simulation.extreme_bad
    assert np.count_nonzero(with_ <= bad) <= np.count_nonzero(without <= bad)


@example(low=0.3, high=0.9)
@given(low=st.floats(0.05, 1), high=st.floats(0.05, 1))
@settings(max_examples=20, deadline=None)
def test_interval_factors_below_one_lower_expected_harm(
    template: Template, low: float, high: float
) -> None:
    low, high = min(low, high), max(low, high)
    review = review_from(
        [("h", "harm")], [("h", "ana", 1, [10, 100])],
        mitigations=[{"id": "m", "targets": ["h"], "impact_factor": [low, high]}],
        variants=[("without", []), ("with", ["m"])],
    )
    simulation = run(review, template, samples=4_000)
    assert simulation.net_of("with").mean() >= simulation.net_of("without").mean()


def test_editing_one_item_leaves_the_others_draws_alone(template: Template) -> None:
    before = review_from(
        [("a", "benefit"), ("b", "harm")],
        [("a", "ana", [0.2, 0.6], [10, 100]), ("b", "ana", [0.1, 0.3], [5, 50])],
    )
    after = review_from(
        [("a", "benefit"), ("b", "harm")],
        [("a", "ana", [0.2, 0.6], [10, 100]), ("b", "ana", [0.1, 0.5], [5, 500])],
    )
    tally = {key: run(r, template, samples=3_000).tallies["a"][frozenset()]
             for key, r in (("before", before), ("after", after))}
    assert tally["before"].happened == tally["after"].happened
    assert tally["before"].contribution == tally["after"].contribution


def test_cache_gives_the_same_numbers_and_keeps_one_review(template: Template) -> None:
    first = review_from(
        [("a", "benefit"), ("b", "harm")],
        [("a", "ana", [0.2, 0.6], [10, 100]), ("b", "ana", [0.1, 0.3], [5, 50])],
        mitigations=[{"id": "m", "targets": ["b"], "likelihood_factor": [0.2, 0.5]}],
        variants=[("open", []), ("closed", ["m"])],
    )
    second = review_from(
        [("a", "benefit"), ("b", "harm")],
        [("a", "ana", [0.2, 0.6], [10, 100]), ("b", "ana", [0.1, 0.3], [5, 5000])],
        mitigations=[{"id": "m", "targets": ["b"], "likelihood_factor": [0.2, 0.5]}],
        variants=[("open", []), ("closed", ["m"])],
    )
    cache = DrawCache()
    run(first, template, samples=4_000, cache=cache)
    size = len(cache)
    cached = run(second, template, samples=4_000, cache=cache)
    fresh = run(second, template, samples=4_000)
    assert np.array_equal(cached.net, fresh.net)
    assert len(cache) == size  # the edited item replaced its old entry


def test_unestimated_items_are_excluded_and_reported(template: Template) -> None:
    review = review_from([("a", "benefit"), ("ghost", "harm")], [("a", "ana", 1, 10)])
    simulation = run(review, template, samples=1_000)
    assert simulation.unestimated == ["ghost"]
    assert np.all(simulation.net_of(BASELINE) == 10)


def test_progress_reports_every_chunk_up_to_the_total(template: Template) -> None:
    review = review_from([("a", "benefit")], [("a", "ana", 0.5, 10)])
    calls: list[tuple[int, int]] = []
    run(review, template, samples=10_000, chunk=3_000,
        progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3_000, 10_000), (6_000, 10_000), (9_000, 10_000), (10_000, 10_000)]


def test_too_few_samples_is_refused(template: Template) -> None:
    review = review_from([("a", "benefit")], [("a", "ana", 0.5, 10)])
    with pytest.raises(ValueError, match="samples"):
        run(review, template, samples=1)


def test_geometric_pool_keeps_a_tail_inside_the_participants_own(template: Template) -> None:
    # ana "likely, minor", ben "rare, catastrophic": alone they give P(extremely bad)
    # 0 and about 0.4% (5000 and beyond is extremely bad). Pooling likelihood and impact
    # separately would pair a middling likelihood with a middling-large impact and report
    # a tail above both; by odds of each size the pool stays within them.
    ana = ("a", "ana", [0.5, 0.9], [1, 10])
    ben = ("a", "ben", [0.002, 0.01], [3_000, 30_000])
    samples = 200_000

    def p_bad(estimates: list[tuple[str, str, Any, Any]], pool: str) -> float:
        review = review_from([("a", "harm")], estimates)
        net = run(review, template, samples=samples, pool=pool).net_of(BASELINE)
        return float(np.mean(net <= -5000))

    alone = [p_bad([ana], "linear"), p_bad([ben], "linear")]
    pooled = p_bad([ana, ben], "geometric")
    assert alone[0] == 0.0
    assert alone[1] > 0.002
    noise = 4 * math.sqrt(max(alone[1], 1 / samples) / samples)
    assert min(alone) - noise <= pooled <= max(alone) + noise


def test_geometric_pool_mean_matches_the_pooled_distribution(template: Template) -> None:
    # The simulated harm's mean is the pooled likelihood times the tabulated impact's
    # mean (both computed without the simulator).
    review = review_from([("a", "harm")], [("a", "ana", [0.2, 0.4], [10, 100]),
                                           ("a", "ben", [0.05, 0.1], [50, 5000])])
    (model,) = item_models(review, template, pool="geometric")
    (pooled,) = model.components
    expected = -pooled.likelihood_mean * pooled.impact_mean
    net = run(review, template, samples=400_000, pool="geometric").net_of(BASELINE)
    assert within(float(net.mean()), expected, float(net.std()) / math.sqrt(net.size))
