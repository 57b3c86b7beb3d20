"""The geometric pool against its definition, computed without the engine.

docs/design.md defines the pool on the events a decision reads: for participant i,
P_i(x) = E[p_i] S_i(x) is their chance that the item happens with an impact of at least x
(E[p_i] the mean of their logit-normal likelihood, S_i their lognormal impact's survival
function); the pool's P(x) has odds (prod_i P_i(x) / (1 - P_i(x)))^(1/n). Here P(x) is
computed from that sentence alone (Gauss-Hermite for E[p_i], the normal's survival for
S_i, quadrature for the mean) and the engine's simulated harm is held to it: how often the
item happens (P(0+)), the mean harm (the integral of P(x) over x > 0), and its tail at
several sizes (P(harm >= x) = P(x)), each within four standard errors of the sampling.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit, logit, ndtr

from deliberation.engine.simulate import BASELINE, simulate
from deliberation.review.template import Template

from .strategies import review_from

Z90 = 3.2897  # the 5th to 95th percentile of a standard normal
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
WEIGHTS = WEIGHTS / WEIGHTS.sum()
SAMPLES = 400_000

# three participants who overlap only in part, one with a point likelihood
PEOPLE = (
    ("ana", [0.2, 0.6], [10, 1_000]),
    ("ben", [0.05, 0.15], [100, 20_000]),
    ("cho", 0.3, [30, 300]),
)


def _mean_likelihood(likelihood: Any) -> float:
    if not isinstance(likelihood, list):
        return float(likelihood)
    low, high = logit(likelihood[0]), logit(likelihood[1])
    mu, sigma = (low + high) / 2, (high - low) / Z90
    return float(np.sum(WEIGHTS * expit(mu + sigma * NODES)))


def _at_least(x: float) -> float:
    """The pool's P(x): the chance the item happens with an impact of at least x."""
    odds = 1.0
    for _, likelihood, (low, high) in PEOPLE:
        mu, sigma = (math.log(low) + math.log(high)) / 2, (math.log(high) - math.log(low)) / Z90
        p = _mean_likelihood(likelihood) * float(ndtr(-(math.log(x) - mu) / sigma))
        odds *= p / (1 - p)
    pooled = odds ** (1 / len(PEOPLE))
    return float(pooled / (1 + pooled))


@pytest.fixture(scope="module")
def harm(template: Template) -> np.ndarray[Any, Any]:
    review = review_from([("a", "harm")], [("a", who, likelihood, impact)
                                           for who, likelihood, impact in PEOPLE])
    simulation = simulate(review, template, samples=SAMPLES, rng=np.random.default_rng(7),
                          pool="geometric", sensitivity=False)
    return -simulation.net_of(BASELINE).astype(np.float64)


def _binomial_within(observed: float, p: float, k: float = 4.0) -> None:
    se = math.sqrt(p * (1 - p) / SAMPLES)
    assert abs(observed - p) <= k * se, (observed, p, se)


def test_the_item_happens_with_the_pooled_odds_of_the_mean_likelihoods(
        harm: np.ndarray[Any, Any]) -> None:
    odds = math.prod(_mean_likelihood(lk) / (1 - _mean_likelihood(lk)) for _, lk, _ in PEOPLE)
    pooled = odds ** (1 / len(PEOPLE))
    happens = pooled / (1 + pooled)
    assert abs(_at_least(1e-9) - happens) < 1e-6  # P(0+), from the other side
    _binomial_within(float(np.mean(harm > 0)), happens)


@pytest.mark.parametrize("x", [20.0, 100.0, 300.0, 1_000.0, 3_000.0])
def test_the_tail_at_each_size_is_the_pooled_chance(harm: np.ndarray[Any, Any],
                                                     x: float) -> None:
    _binomial_within(float(np.mean(harm >= x)), _at_least(x))


def test_the_mean_harm_is_the_integral_of_the_pooled_chance(
        harm: np.ndarray[Any, Any]) -> None:
    # E[harm] = integral over x > 0 of P(harm >= x), taken in log x
    mean, error = integrate.quad(lambda t: _at_least(math.exp(t)) * math.exp(t), -25, 25,
                                 limit=400)
    assert error < 1e-6 * mean
    se = float(harm.std()) / math.sqrt(SAMPLES)
    assert abs(float(harm.mean()) - mean) <= 4 * se, (float(harm.mean()), mean, se)
