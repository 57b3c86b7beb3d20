"""Correlated harms (review.drivers): the Gaussian copula against closed forms.

Each item's own distribution must be exactly what it was, the stated rank correlation
must be the one simulated, strength 1 must make two items behave as one and strength
0 as independent ones, and streams stay keyed (order, chunking, the cache).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from scipy.stats import multivariate_normal, spearmanr

from deliberation.engine.copula import copula_rho, normal_cdf, normal_quantile
from deliberation.engine.draws import DrawCache
from deliberation.engine.estimates import logit_normal_parameters
from deliberation.engine.simulate import BASELINE, Simulation, simulate
from deliberation.errors import ReviewInvalid
from deliberation.review.drivers import STRENGTHS, rank_correlation
from deliberation.review.model import Review, parse_review, review_to_data
from deliberation.review.template import Template

from .strategies import review_from

STANDARD = NormalDist()


def with_drivers(review: Review, drivers: list[dict[str, Any]]) -> Review:
    data = review_to_data(review)
    data["drivers"] = [{"title": f"Driver {d['id']}", **d} for d in drivers]
    return parse_review(data)


def run(review: Review, template: Template, samples: int = 50_000, seed: int = 0,
        **options: Any) -> Simulation:
    return simulate(review, template, samples=samples, rng=np.random.default_rng(seed),
                    sensitivity=False, **options)


def draws_of(cache: DrawCache, item_id: str) -> Any:
    """An item's per-sample draws, from a single-chunk run's cache."""
    (draws,) = [d for key, d in cache.items.items() if key[2].id == item_id]
    return draws


def cached_run(review: Review, template: Template, samples: int = 50_000,
               seed: int = 0) -> tuple[Simulation, DrawCache]:
    cache = DrawCache()
    simulation = run(review, template, samples=samples, seed=seed, chunk=samples, cache=cache)
    return simulation, cache


def binomial_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


TWO_HARMS = [("leak-fakes", "harm"), ("leak-fraud", "harm")]


def two_harms(likelihood: Any, impact: Any = 3000, *, strength: Any = None,
              extra: bool = False) -> Review:
    items = [*TWO_HARMS, *([("tutoring", "benefit")] if extra else [])]
    estimates = [(i, "ana", likelihood, impact) for i, _ in TWO_HARMS]
    if extra:
        estimates.append(("tutoring", "ana", [0.3, 0.8], [100, 5000]))
    review = review_from(items, estimates)
    if strength is None:
        return review
    return with_drivers(review, [{"id": "weights-leak", "items": [i for i, _ in TWO_HARMS],
                                  "strength": strength}])


# --------------------------------------------------------------------------- the copula


def test_normal_cdf_and_quantile_match_the_standard_library() -> None:
    z = np.linspace(-9, 9, 3601)
    # erfc, not NormalDist.cdf, which computes 1 + erf and loses the lower tail
    expected = np.array([0.5 * math.erfc(-value / math.sqrt(2)) for value in z])
    assert np.all(np.abs(normal_cdf(z) - expected) <= 1.2e-7 * expected + 1e-300)
    u = np.concatenate([np.logspace(-17, -1, 400), np.linspace(0.02, 0.98, 400),
                        1 - np.logspace(-15, -1, 400)])
    expected = np.array([STANDARD.inv_cdf(value) for value in u])
    assert np.max(np.abs(normal_quantile(u) - expected)) < 1e-7


def test_strength_words_are_rank_correlations_and_rho_is_two_sine_pi_r_over_six() -> None:
    assert [rank_correlation(w) for w in ("weak", "moderate", "strong")] == [0.3, 0.6, 0.9]
    assert STRENGTHS == {"weak": 0.3, "moderate": 0.6, "strong": 0.9}
    assert copula_rho(0) == 0
    assert copula_rho(1) == pytest.approx(1, abs=1e-15)
    # Spearman's rho of a bivariate normal with correlation rho is (6/pi) asin(rho/2):
    for r in (0.3, 0.6, 0.9):
        assert 6 / math.pi * math.asin(copula_rho(r) / 2) == pytest.approx(r)


# --------------------------------------------------------------------------- closed forms


def test_strength_one_makes_two_items_happen_together_with_p_both_equal_p(
    template: Template,
) -> None:
    p, samples = 0.2, 100_000
    simulation = run(two_harms(p, strength=1), template, samples=samples)
    net = simulation.net_of(BASELINE)
    # both or neither: never one harm alone
    assert set(np.unique(net).tolist()) <= {0.0, -6000.0}
    both = float(np.mean(net == -6000))
    assert abs(both - p) <= 4 * binomial_se(p, samples)
    # independent, P(both) would be p^2 = 0.04: far outside the interval above


def test_strength_one_tail_equals_a_single_item_of_double_impact(template: Template) -> None:
    samples = 100_000
    likelihood, impact = [0.05, 0.3], [1000, 4000]
    # identical estimates, strength 1: the same likelihood draw and the same happen/not
    # draw, so the pair is one item whose impact is the sum of two independent impacts
    paired = run(two_harms(likelihood, impact, strength=1), template,
                 samples=samples).net_of(BASELINE).astype(np.float64)
    one = review_from([("leak", "harm")], [("leak", "ana", likelihood, impact)])
    single = run(one, template, samples=samples, seed=1).net_of(BASELINE).astype(np.float64)
    # as often as the single item (a harm happens iff its net is below 0)
    p_single = float(np.mean(single < 0))
    assert abs(float(np.mean(paired < 0)) - p_single) <= 4 * math.sqrt(2) * binomial_se(
        p_single, samples)
    # point impacts: two items of 3000 are exactly one of 6000
    point = run(two_harms(likelihood, 3000, strength=1), template, samples=samples)
    double = run(review_from([("leak", "harm")], [("leak", "ana", likelihood, 6000)]),
                 template, samples=samples, seed=1)
    for simulation_net in (point.net_of(BASELINE), double.net_of(BASELINE)):
        assert set(np.unique(simulation_net).tolist()) <= {0.0, -6000.0}
    p_bad = float(np.mean(point.net_of(BASELINE) <= -5000))
    p_bad_single = float(np.mean(double.net_of(BASELINE) <= -5000))
    assert abs(p_bad - p_bad_single) <= 4 * math.sqrt(2) * binomial_se(p_bad_single, samples)
    # impacts stay independent, so with uncertain impacts the pair is one item whose
    # impact is the sum of two; its tail is still far fatter than independent items'
    independent = run(two_harms(likelihood, impact), template, samples=samples)
    assert float(np.mean(paired <= -5000)) > 3 * float(
        np.mean(independent.net_of(BASELINE) <= -5000))


@pytest.mark.parametrize("r", [0.3, 0.6, 0.9])
def test_p_both_matches_the_bivariate_normal_closed_form(template: Template, r: float) -> None:
    p, samples = 0.1, 200_000
    _, cache = cached_run(two_harms(p, strength=r), template, samples=samples)
    first, second = (draws_of(cache, i).by_key[frozenset()][3] for i, _ in TWO_HARMS)
    both = float(np.mean(first & second))
    threshold = STANDARD.inv_cdf(p)
    rho = 2 * math.sin(math.pi * r / 6)
    expected = float(multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(
        [threshold, threshold]))
    assert abs(both - expected) <= 4 * binomial_se(expected, samples)


@pytest.mark.parametrize("strength", ["weak", "moderate", "strong", 0.45])
def test_rank_correlation_of_latent_uniforms_and_likelihoods_is_the_stated_one(
    template: Template, strength: Any,
) -> None:
    samples = 50_000
    _, cache = cached_run(two_harms([0.05, 0.4], [100, 1000], strength=strength), template,
                          samples=samples)
    first, second = (draws_of(cache, i) for i, _ in TWO_HARMS)
    stated = rank_correlation(strength)
    # the standard error of Spearman's rho is at most about 1 / sqrt(n - 1)
    tolerance = 4 / math.sqrt(samples - 1)
    assert abs(spearmanr(first.uniform, second.uniform)[0] - stated) <= tolerance
    assert abs(spearmanr(first.likelihood, second.likelihood)[0] - stated) <= tolerance
    # impacts are not tied by a driver
    assert abs(spearmanr(first.impact, second.impact)[0]) <= tolerance


@pytest.mark.parametrize("strength", [0.3, "strong", 1])
def test_each_items_own_distribution_is_unchanged_at_any_strength(
    template: Template, strength: Any,
) -> None:
    samples = 100_000
    likelihood, impact = [0.05, 0.4], [100, 1000]
    _, cache = cached_run(two_harms(likelihood, impact, strength=strength), template,
                          samples=samples)
    _, alone = cached_run(two_harms(likelihood, impact), template, samples=samples)
    mu, sigma = logit_normal_parameters(*likelihood)
    for item_id, _ in TWO_HARMS:
        draws = draws_of(cache, item_id)
        # the latent uniform is uniform; the likelihood's percentiles are its closed form
        for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99):
            se = 4 * binomial_se(q, samples)
            assert abs(np.mean(draws.uniform < q) - q) <= se
            z = STANDARD.inv_cdf(q)
            percentile = 1 / (1 + math.exp(-(mu + sigma * z)))
            assert abs(np.mean(draws.likelihood < percentile) - q) <= se
        # P(happens) as the independent item's (different uniforms, same law)
        happened = draws.by_key[frozenset()][3].mean()
        reference = draws_of(alone, item_id).by_key[frozenset()][3].mean()
        assert abs(happened - reference) <= 4 * math.sqrt(2) * binomial_se(reference, samples)
        # the impact draws are the item's own, exactly
        assert np.array_equal(draws.impact, draws_of(alone, item_id).impact)


def test_strength_zero_gives_the_numbers_of_the_review_without_the_driver(
    template: Template,
) -> None:
    samples = 50_000
    review = two_harms([0.05, 0.4], [100, 1000], extra=True)
    without = run(review, template, samples=samples).net_of(BASELINE)
    at_zero = run(two_harms([0.05, 0.4], [100, 1000], strength=0, extra=True), template,
                  samples=samples).net_of(BASELINE)
    # rho = 0 rebuilds each uniform as Phi(Phi^-1(u)): equal to within 1.2e-7 relative
    differs = np.flatnonzero(without != at_zero)
    assert len(differs) <= samples // 1000
    assert abs(float(at_zero.mean()) - float(without.mean())) <= 1e-3 * float(np.std(without))


def test_items_outside_any_driver_draw_exactly_as_without_drivers(template: Template) -> None:
    samples = 20_000
    plain, plain_cache = cached_run(two_harms(0.2, extra=True), template, samples=samples)
    tied, tied_cache = cached_run(two_harms(0.2, strength="strong", extra=True), template,
                                  samples=samples)
    free, tied_free = draws_of(plain_cache, "tutoring"), draws_of(tied_cache, "tutoring")
    for name in ("uniform", "likelihood", "impact"):
        assert np.array_equal(getattr(free, name), getattr(tied_free, name))
    (own,), (own_tied,) = plain.tallies["tutoring"].values(), tied.tallies["tutoring"].values()
    assert (own.happened, own.contribution) == (own_tied.happened, own_tied.contribution)


# --------------------------------------------------------------------------- keyed streams


def test_reordering_items_or_a_drivers_list_changes_no_number(template: Template) -> None:
    review = two_harms([0.05, 0.4], [100, 1000], strength=0.7, extra=True)
    data = review_to_data(review)
    data["items"] = list(reversed(data["items"]))
    data["estimates"] = list(reversed(data["estimates"]))
    data["drivers"][0]["items"] = list(reversed(data["drivers"][0]["items"]))
    reordered = parse_review(data)
    assert np.array_equal(run(review, template).net, run(reordered, template).net)


def test_renaming_items_or_the_driver_changes_nothing_beyond_noise(template: Template) -> None:
    samples = 100_000
    review = two_harms(0.1, 3000, strength="strong")
    data = review_to_data(review)
    data["drivers"][0]["id"] = "open-weights"
    renamed_driver = parse_review(data)
    others = review_from([("fakes", "harm"), ("fraud", "harm")],
                         [("fakes", "ana", 0.1, 3000), ("fraud", "ana", 0.1, 3000)])
    renamed_items = with_drivers(others, [{"id": "weights-leak", "items": ["fakes", "fraud"],
                                           "strength": "strong"}])
    reference = float(np.mean(run(review, template, samples=samples).net_of(BASELINE) <= -5000))
    for variant in (renamed_driver, renamed_items):
        p_bad = float(np.mean(run(variant, template, samples=samples).net_of(BASELINE) <= -5000))
        assert p_bad != reference or variant is renamed_driver  # other streams, other draws
        assert abs(p_bad - reference) <= 4 * math.sqrt(2) * binomial_se(reference, samples)


def test_chunking_changes_no_number(template: Template) -> None:
    review = two_harms([0.05, 0.4], [100, 1000], strength="moderate", extra=True)
    whole = run(review, template, samples=5000, chunk=5000)
    chunked = run(review, template, samples=5000, chunk=1024)
    assert np.array_equal(whole.net, chunked.net)


def test_the_draw_cache_is_right_after_a_driver_is_edited(template: Template) -> None:
    samples = 5000
    weak = two_harms([0.05, 0.4], [100, 1000], strength="weak", extra=True)
    cache = DrawCache()
    run(weak, template, samples=samples, chunk=samples, cache=cache)
    data = review_to_data(weak)
    edits: list[dict[str, Any] | None] = [
        {**data["drivers"][0], "strength": 1},
        {**data["drivers"][0], "items": ["leak-fakes", "tutoring"]},
        None,  # the driver deleted
    ]
    for edit in edits:
        changed = dict(data, drivers=[] if edit is None else [edit])
        edited = parse_review(changed)
        served = run(edited, template, samples=samples, chunk=samples, cache=cache)
        fresh = run(edited, template, samples=samples, chunk=samples)
        assert np.array_equal(served.net, fresh.net)
    # an edit of an item outside the driver: the driver's items come from the cache
    run(weak, template, samples=samples, chunk=samples, cache=cache)
    data["estimates"][-1]["impact"] = [200, 5000]
    edited = parse_review(data)
    served = run(edited, template, samples=samples, chunk=samples, cache=cache)
    assert np.array_equal(served.net, run(edited, template, samples=samples).net)


def test_a_linear_pool_of_participants_keeps_the_driver(template: Template) -> None:
    samples = 100_000
    review = review_from(
        TWO_HARMS,
        [("leak-fakes", "ana", 0.2, 3000), ("leak-fraud", "ana", 0.2, 3000),
         ("leak-fakes", "ben", 0.1, 3000), ("leak-fraud", "ben", 0.1, 3000)],
    )
    tied = with_drivers(review, [{"id": "weights-leak", "items": ["leak-fakes", "leak-fraud"],
                                  "strength": 1}])
    net = run(tied, template, samples=samples).net_of(BASELINE)
    # each sample is one participant's view, and in it the two happen together
    assert set(np.unique(net).tolist()) <= {0.0, -6000.0}
    assert abs(float(np.mean(net < 0)) - 0.15) <= 4 * binomial_se(0.15, samples)


# --------------------------------------------------------------------------- the file


def test_drivers_round_trip_and_bad_ones_are_refused_in_one_line() -> None:
    review = two_harms(0.1, strength=0.25)
    assert review_to_data(review)["drivers"] == [{
        "id": "weights-leak", "title": "Driver weights-leak",
        "items": ["leak-fakes", "leak-fraud"], "strength": 0.25}]
    data = review_to_data(review)
    for strength, expected in ((-0.1, "between 0 and 1"), ("very", "'weak', 'moderate'"),
                               (float("nan"), "finite")):
        data["drivers"][0]["strength"] = strength
        with pytest.raises(ReviewInvalid) as raised:
            parse_review(data)
        assert "drivers[0].strength" in str(raised.value)
        assert expected in str(raised.value)
        assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("drivers", "expected"), [
    ([{"id": "leak", "items": ["leak-fakes", "leak-fakes"], "strength": 1}],
     "drivers[0].items: expected at least 2 different items' ids, got "
     "['leak-fakes', 'leak-fakes']"),
    ([{"id": "leak", "items": ["leak-fakes", "leak-fraud", "leak-fakes"], "strength": 1}],
     "drivers[0].items[2]: item 'leak-fakes' is listed twice in this driver"),
    ([{"id": "leak", "items": ["leak-fakes", "leak-fraud"], "strength": 1},
      {"id": "leak", "items": ["tutoring", "other"], "strength": 1}],
     "drivers[1].id: id 'leak' is used twice; ids must be unique"),
])
def test_a_driver_names_distinct_items_and_has_its_own_id(
    drivers: list[dict[str, Any]], expected: str,
) -> None:
    review = review_from([*TWO_HARMS, ("tutoring", "benefit"), ("other", "harm")], [])
    with pytest.raises(ReviewInvalid) as raised:
        with_drivers(review, drivers)
    assert str(raised.value) == expected
