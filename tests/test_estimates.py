"""Ranges to distributions: checked against closed forms and numpy's own sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deliberation.engine.estimates import (
    PROBABILITY_FLOOR,
    Z90,
    geometric_pool,
    item_models,
    logit_normal_mean,
    logit_normal_parameters,
    lognormal_mean,
    lognormal_parameters,
    pooled_interval,
)
from deliberation.review.template import Template

from .strategies import review_from

Z95 = 1.6448536269514722  # the standard normal's 95th percentile


def test_z90_is_twice_the_95th_percentile() -> None:
    assert pytest.approx(2 * Z95, abs=1e-4) == Z90


@pytest.mark.parametrize(("low", "high"), [(10, 1000), (0.5, 2), (3000, 30000), (1, 1e6)])
def test_lognormal_interval_ends_are_its_5th_and_95th_percentiles(low: float, high: float) -> None:
    mu, sigma = lognormal_parameters(low, high)
    assert mu == pytest.approx((math.log(low) + math.log(high)) / 2)
    assert math.exp(mu - Z95 * sigma) == pytest.approx(low, rel=1e-4)
    assert math.exp(mu + Z95 * sigma) == pytest.approx(high, rel=1e-4)


def test_equal_ends_are_a_point_and_zero_a_removal() -> None:
    assert lognormal_parameters(7, 7) == (math.log(7), 0.0)
    mu, sigma = lognormal_parameters(0, 0)
    assert (mu, sigma) == (-math.inf, 0.0)
    assert lognormal_mean(mu, sigma) == 0.0


def test_lognormal_mean_matches_numpy_sampling() -> None:
    mu, sigma = lognormal_parameters(10, 1000)
    draws = np.random.default_rng(1).lognormal(mu, sigma, 2_000_000)
    standard_error = draws.std() / math.sqrt(len(draws))
    assert abs(draws.mean() - lognormal_mean(mu, sigma)) < 4 * standard_error


def test_likelihood_interval_is_logit_normal_with_those_percentiles() -> None:
    mu, sigma = logit_normal_parameters(0.05, 0.2)
    expit = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert expit(mu - Z95 * sigma) == pytest.approx(0.05, rel=1e-4)
    assert expit(mu + Z95 * sigma) == pytest.approx(0.2, rel=1e-4)


def test_likelihood_ends_of_0_and_1_are_clipped_before_the_logit() -> None:
    mu, sigma = logit_normal_parameters(0, 1)
    floor = math.log(PROBABILITY_FLOOR / (1 - PROBABILITY_FLOOR))
    assert mu == pytest.approx(0, abs=1e-9)
    assert sigma == pytest.approx(-2 * floor / Z90)


def test_point_likelihoods_keep_exact_0_and_1() -> None:
    assert logit_normal_parameters(0, 0) == (-math.inf, 0.0)
    assert logit_normal_parameters(1, 1) == (math.inf, 0.0)
    assert logit_normal_mean(-math.inf, 0) == 0.0
    assert logit_normal_mean(math.inf, 0) == 1.0


def test_logit_normal_mean_matches_sampling() -> None:
    mu, sigma = logit_normal_parameters(0.01, 0.6)
    draws = 1 / (1 + np.exp(-np.random.default_rng(2).normal(mu, sigma, 2_000_000)))
    standard_error = draws.std() / math.sqrt(len(draws))
    assert abs(draws.mean() - logit_normal_mean(mu, sigma)) < 4 * standard_error


def test_labels_resolve_through_the_template(template: Template) -> None:
    review = review_from([("a", "harm")], [("a", "ana", "unlikely", "major")])
    (model,) = item_models(review, template)
    component = model.components[0]
    assert component.likelihood == (0.01, 0.1)
    assert component.impact == (1000.0, 10000.0)
    assert model.sign == -1.0


def test_latest_round_only_and_participants_in_id_order(template: Template) -> None:
    review = review_from(
        [("a", "benefit")],
        [("a", "zoe", 0.5, 10), ("a", "ana", 0.2, 20)],
    )
    data = review.model_dump(mode="json", by_alias=True)
    data["estimates"].append(
        {"item": "a", "participant": "zoe", "round": 2, "likelihood": 0.9, "impact": 30}
    )
    review = type(review).model_validate(data)
    (model,) = item_models(review, template)
    assert [c.participant for c in model.components] == ["ana", "zoe"]
    assert model.components[1].likelihood == (0.9, 0.9)


def test_unestimated_items_have_no_model(template: Template) -> None:
    review = review_from([("a", "benefit"), ("b", "harm")], [("a", "ana", 0.5, 10)])
    assert [m.id for m in item_models(review, template)] == ["a"]


def test_geometric_pool_takes_the_geometric_mean_of_odds(template: Template) -> None:
    # Points: ana "10% chance, impact 10", ben "50% chance, impact 1000". The event "it
    # happens" has pooled odds sqrt(1/9 * 1) = 1/3, so 25%; "impact above 10" has ana's
    # odds 0, so it never does: the pooled harm is 10 with probability 25%, and ben's
    # 50% is never paired with ana's impact or ana's 10% with his.
    review = review_from([("a", "harm")], [("a", "ana", 0.1, 10), ("a", "ben", 0.5, 1000)])
    (model,) = item_models(review, template, pool="geometric")
    (pooled,) = model.components
    odds = math.exp(pooled.likelihood_mu)
    assert odds == pytest.approx(math.sqrt((0.1 / 0.9) * 1.0))
    assert pooled.likelihood == pytest.approx((0.25, 0.25))
    assert pooled.impact_table is not None
    assert np.exp(pooled.impact_table) == pytest.approx(10, rel=1e-6)
    assert pooled.impact_mean == pytest.approx(10, rel=1e-6)


def _pooled_survival(x: float, participants: list[tuple[float, float, float]]) -> float:
    """P(impact >= x | happens) of the geometric pool, from its definition: the odds of
    each participant's P(happens and impact >= x), geometrically averaged, over the same
    at x = 0. ``participants`` are (likelihood, impact mu, impact sigma)."""
    def odds_mean(values: list[float]) -> float:
        log = sum(math.log(v / (1 - v)) for v in values) / len(values)
        return 1 / (1 + math.exp(-log))
    tails = [p * 0.5 * math.erfc((math.log(x) - mu) / (sigma * math.sqrt(2)))
             for p, mu, sigma in participants]
    return odds_mean(tails) / odds_mean([p for p, _, _ in participants])


def test_geometric_pool_impact_follows_the_pooled_odds_of_each_size(template: Template) -> None:
    # "likely, minor" against "rare, catastrophic": the pooled impact quantiles are
    # those of the closed form above, at every tabulated normal score.
    estimates = [("a", "ana", 0.7, [1, 10]), ("a", "ben", 0.005, [5_000, 50_000])]
    review = review_from([("a", "harm")], estimates)
    (model,) = item_models(review, template, pool="geometric")
    (pooled,) = model.components
    participants = [(0.7, *lognormal_parameters(1, 10)), (0.005, *lognormal_parameters(5e3, 5e4))]
    assert pooled.impact_table is not None
    for score in (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0):
        quantile = math.exp(float(np.interp(score, np.linspace(-8.6, 8.6, 345),
                                            pooled.impact_table)))
        expected = 0.5 * math.erfc(score / math.sqrt(2))  # P(Z > score)
        assert _pooled_survival(quantile, participants) == pytest.approx(expected, rel=0.02)
    # the pooled chance it happens is the geometric mean of the odds of 70% and 0.5%
    odds = math.sqrt(0.7 / 0.3 * 0.005 / 0.995)
    assert pooled.likelihood[0] == pytest.approx(odds / (1 + odds))


def test_geometric_pool_leaves_a_stated_certainty_to_the_linear_pool(
    template: Template,
) -> None:
    review = review_from([("a", "harm")], [("a", "ana", 0.0, 10), ("a", "ben", 0.5, 1000)])
    (model,) = item_models(review, template, pool="geometric")
    assert [c.participant for c in model.components] == ["ana", "ben"]
    with pytest.raises(ValueError, match="0 or 1"):
        geometric_pool("a", model.components)


def test_geometric_pool_keeps_a_single_participant_as_is(template: Template) -> None:
    review = review_from([("a", "harm")], [("a", "ana", [0.1, 0.3], [10, 100])])
    (linear,) = item_models(review, template)
    assert geometric_pool("a", linear.components) == linear.components[0]


def test_pooled_interval_of_one_participant_is_their_interval(template: Template) -> None:
    review = review_from([("a", "harm")], [("a", "ana", [0.1, 0.3], [10, 100])])
    (model,) = item_models(review, template)
    assert pooled_interval(model, "likelihood") == pytest.approx((0.1, 0.3), rel=1e-5)
    assert pooled_interval(model, "impact") == pytest.approx((10, 100), rel=1e-5)


def test_pooled_interval_of_a_mixture_matches_sampling(template: Template) -> None:
    review = review_from(
        [("a", "harm")], [("a", "ana", [0.01, 0.05], [10, 100]), ("a", "ben", 0.5, [500, 5000])]
    )
    (model,) = item_models(review, template)
    rng = np.random.default_rng(3)
    count = 400_000
    pick = rng.integers(0, 2, count)
    mu = np.array([c.impact_mu for c in model.components])[pick]
    sigma = np.array([c.impact_sigma for c in model.components])[pick]
    impacts = np.exp(mu + sigma * rng.standard_normal(count))
    low, high = pooled_interval(model, "impact")
    assert low == pytest.approx(np.quantile(impacts, 0.05), rel=0.03)
    assert high == pytest.approx(np.quantile(impacts, 0.95), rel=0.03)
    # half the mass is the point 0.5: the 95th percentile of the likelihood is exactly it
    assert pooled_interval(model, "likelihood")[1] == pytest.approx(0.5, rel=1e-9)


def test_unknown_pool_is_refused(template: Template) -> None:
    review = review_from([("a", "harm")], [("a", "ana", 0.1, 10)])
    with pytest.raises(ValueError, match="pool"):
        item_models(review, template, pool="arithmetic")  # type: ignore[arg-type]
