"""Estimates to distributions: what a ``[low, high]`` 90% interval means as numbers.

Every range a participant types is a 90% interval (5th and 95th percentile), read the
way Squiggle and Guesstimate read ``low to high``:

* **Impacts and mitigation factors** (positive magnitudes) are lognormal with
  ``mu = (ln low + ln high) / 2`` and ``sigma = (ln high - ln low) / 3.2897``.
  3.2897 is twice the standard normal's 95th percentile (2 x 1.644854): a 90% interval
  spans that many standard deviations. Equal ends are a point.
* **Likelihoods** are probabilities, so they must stay inside [0, 1]. We use the
  logit-normal: ``logit(p)`` is normal with the interval's logits as its 5th and 95th
  percentiles. An end of exactly 0 or 1 has no logit, so the interval is first clipped
  to ``[1e-6, 1 - 1e-6]`` (``PROBABILITY_FLOOR``); a one-in-a-million floor is below
  anything a review can tell apart. A single number (or equal ends) is a constant
  probability and is used exactly, 0 and 1 included.

Labels of the template's scales are resolved to intervals first
(:func:`deliberation.templates.resolve_likelihood`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..review.opening import resolve_impact, resolve_likelihood
from ..review.template import Template

# Twice the 95th percentile of the standard normal: the width of a 90% interval in
# standard deviations (Squiggle's constant for `a to b`).
Z90 = 3.2897
PROBABILITY_FLOOR = 1e-6

Pool = Literal["linear", "geometric"]


def lognormal_parameters(low: float, high: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal whose 5th/95th percentiles are ``low``/``high``.

    A point (``low == high``) has sigma 0; a point 0 (a factor that removes an item)
    has mu = -inf, so ``exp(mu)`` is exactly 0.
    """
    if low == high:
        return (math.log(low) if low > 0 else -math.inf, 0.0)
    if low <= 0:
        raise ValueError(f"a lognormal interval needs positive ends, got [{low}, {high}]")
    log_low, log_high = math.log(low), math.log(high)
    return ((log_low + log_high) / 2, (log_high - log_low) / Z90)


def logit(probability: float) -> float:
    """log(p / (1 - p)), with -inf and +inf for 0 and 1."""
    if probability <= 0:
        return -math.inf
    if probability >= 1:
        return math.inf
    return math.log(probability / (1 - probability))


def expit(value: float) -> float:
    if value >= 0:
        return 1 / (1 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1 + exp)


def logit_normal_parameters(low: float, high: float) -> tuple[float, float]:
    """(mu, sigma) of logit(p) for the likelihood interval ``[low, high]``.

    A point keeps its exact logit (±inf for 0 and 1) and sigma 0; an interval is clipped
    to ``[PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR]`` before taking logits.
    """
    if low == high:
        return (logit(low), 0.0)
    low = min(max(low, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR)
    high = min(max(high, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR)
    logit_low, logit_high = logit(low), logit(high)
    return ((logit_low + logit_high) / 2, (logit_high - logit_low) / Z90)


# Gauss-Hermite nodes for expectations over a standard normal (probabilists' weights).
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def logit_normal_mean(mu: float, sigma: float) -> float:
    """E[p] for logit(p) ~ Normal(mu, sigma), by 64-point Gauss-Hermite quadrature."""
    if sigma == 0 or not math.isfinite(mu):
        return expit(mu)
    values = 1 / (1 + np.exp(-(mu + sigma * _NODES)))
    return float(np.dot(_WEIGHTS, values))


def lognormal_mean(mu: float, sigma: float) -> float:
    """E[x] for ln(x) ~ Normal(mu, sigma): exp(mu + sigma^2 / 2)."""
    return math.exp(mu + sigma * sigma / 2) if math.isfinite(mu) else 0.0


def normal_cdf(value: float) -> float:
    return 0.5 * (1 + math.erf(value / math.sqrt(2)))


@dataclass(frozen=True)
class Component:
    """One participant's (latest-round) estimate of one item, as distribution parameters.

    ``likelihood_mu``/``likelihood_sigma`` are of logit(p), ``impact_mu``/``impact_sigma``
    of ln(impact). ``likelihood`` and ``impact`` keep the numeric 90% intervals entered.
    """

    participant: str
    likelihood: tuple[float, float]
    impact: tuple[float, float]
    likelihood_mu: float
    likelihood_sigma: float
    impact_mu: float
    impact_sigma: float

    @property
    def likelihood_mean(self) -> float:
        return logit_normal_mean(self.likelihood_mu, self.likelihood_sigma)

    @property
    def impact_mean(self) -> float:
        return lognormal_mean(self.impact_mu, self.impact_sigma)


@dataclass(frozen=True)
class ItemModel:
    """An estimated item: its sign in the net value and its pooled components."""

    id: str
    kind: Literal["benefit", "harm"]
    components: tuple[Component, ...]

    @property
    def sign(self) -> float:
        return 1.0 if self.kind == "benefit" else -1.0


def component(participant: str, likelihood: Any, impact: Any, template: Template) -> Component:
    """Resolve one estimate's labels and read its intervals as distributions."""
    likelihood_interval = resolve_likelihood(likelihood, template)
    impact_interval = resolve_impact(impact, template)
    likelihood_mu, likelihood_sigma = logit_normal_parameters(*likelihood_interval)
    impact_mu, impact_sigma = lognormal_parameters(*impact_interval)
    return Component(
        participant, likelihood_interval, impact_interval,
        likelihood_mu, likelihood_sigma, impact_mu, impact_sigma,
    )


def geometric_pool(item_id: str, components: tuple[Component, ...]) -> Component:
    """Pool participants by averaging their percentiles in logit (likelihood) and log
    (impact) space.

    For likelihoods that is the geometric mean of the odds of each percentile (the
    pooled median's odds are the geometric mean of the participants' median odds);
    for impacts the geometric mean of each percentile. Point likelihoods of exactly 0
    or 1 are clipped to ``[PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR]`` here, since one
    certain participant would otherwise veto everyone else.
    """
    if len(components) == 1:
        return components[0]
    floor = logit(PROBABILITY_FLOOR)
    likelihood_mus = [min(max(c.likelihood_mu, floor), -floor) for c in components]
    likelihood_mu = sum(likelihood_mus) / len(components)
    likelihood_sigma = sum(c.likelihood_sigma for c in components) / len(components)
    impact_mu = sum(c.impact_mu for c in components) / len(components)
    impact_sigma = sum(c.impact_sigma for c in components) / len(components)
    z = Z90 / 2
    likelihood = (
        expit(likelihood_mu - z * likelihood_sigma), expit(likelihood_mu + z * likelihood_sigma)
    )
    impact = (math.exp(impact_mu - z * impact_sigma), math.exp(impact_mu + z * impact_sigma))
    return Component(
        f"pooled({item_id})", likelihood, impact,
        likelihood_mu, likelihood_sigma, impact_mu, impact_sigma,
    )


def item_models(review: Any, template: Template, *, pool: Pool = "linear") -> list[ItemModel]:
    """Every estimated item of the review, with each participant's latest-round estimate.

    Components are ordered by participant id, so the order estimates were typed in
    never changes a number. Items nobody estimated are left out (see
    ``review.unestimated_items()``).
    """
    if pool not in ("linear", "geometric"):
        raise ValueError(f"pool: expected 'linear' or 'geometric', got {pool!r}")
    by_item: dict[str, list[Component]] = {}
    for estimate in review.latest_estimates():
        by_item.setdefault(estimate.item, []).append(
            component(estimate.participant, estimate.likelihood, estimate.impact, template)
        )
    models = []
    for item in review.items:
        components = tuple(sorted(by_item.get(item.id, []), key=lambda c: c.participant))
        if not components:
            continue
        if pool == "geometric":
            components = (geometric_pool(item.id, components),)
        models.append(ItemModel(item.id, item.kind, components))
    return models


def factor_parameters(value: Any) -> tuple[float, float]:
    """(mu, sigma) of ln(factor) for a mitigation factor: a point or a 90% interval."""
    if isinstance(value, tuple | list):
        return lognormal_parameters(float(value[0]), float(value[1]))
    return lognormal_parameters(float(value), float(value))


def _mixture_cdf(value: float, mus: list[float], sigmas: list[float]) -> float:
    total = 0.0
    for mu, sigma in zip(mus, sigmas, strict=True):
        if sigma == 0:
            total += 1.0 if value >= mu else 0.0
        else:
            total += normal_cdf((value - mu) / sigma)
    return total / len(mus)


def mixture_quantile(quantile: float, mus: list[float], sigmas: list[float]) -> float:
    """The ``quantile`` of an equal-weight mixture of normals (sigma 0: a point mass).

    Returns ±inf when point masses at ±inf (a likelihood of exactly 0 or 1) carry it.
    """
    finite = [
        (mu, sigma) for mu, sigma in zip(mus, sigmas, strict=True) if math.isfinite(mu)
    ]
    if not finite:
        ordered = sorted(mus)
        return ordered[min(len(ordered) - 1, math.ceil(quantile * len(ordered)) - 1)]
    low = min(mu - 10 * sigma for mu, sigma in finite) - 1
    high = max(mu + 10 * sigma for mu, sigma in finite) + 1
    if _mixture_cdf(low, mus, sigmas) >= quantile:
        return -math.inf if min(mus) == -math.inf else low
    if _mixture_cdf(high, mus, sigmas) < quantile:
        return math.inf
    for _ in range(60):
        middle = (low + high) / 2
        if _mixture_cdf(middle, mus, sigmas) >= quantile:
            high = middle
        else:
            low = middle
    return high


@functools.lru_cache(maxsize=8192)  # items are immutable; an edit makes a new one
def pooled_interval(
    model: ItemModel, quantity: Literal["likelihood", "impact"]
) -> tuple[float, float]:
    """The 5th and 95th percentile of the item's pooled likelihood or impact.

    For the linear pool this is the mixture of the participants' distributions, so it
    is at least as wide as the widest participant's interval when they disagree.
    """
    components = model.components
    if quantity == "likelihood":
        mus = [c.likelihood_mu for c in components]
        sigmas = [c.likelihood_sigma for c in components]
        low, high = mixture_quantile(0.05, mus, sigmas), mixture_quantile(0.95, mus, sigmas)
        return (expit(low), expit(high))
    mus = [c.impact_mu for c in components]
    sigmas = [c.impact_sigma for c in components]
    low, high = mixture_quantile(0.05, mus, sigmas), mixture_quantile(0.95, mus, sigmas)
    return (math.exp(low) if low > -math.inf else 0.0, math.exp(high))
