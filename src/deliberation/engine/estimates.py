"""Estimates to distributions: what a ``[low, high]`` 90% interval means as numbers.

Every range a participant types is a 90% interval (5th and 95th percentile), read the
way Squiggle and Guesstimate read ``low to high``:

* **Impacts and mitigation factors** (positive magnitudes) are lognormal with
  ``mu = (ln low + ln high) / 2`` and ``sigma = (ln high - ln low) / 3.2897``.
  3.2897 is twice the standard normal's 95th percentile (2 x 1.644854): a 90% interval
  spans that many standard deviations. Equal ends are a point.
* **Likelihoods** are probabilities, so they must stay inside [0, 1]. We use the
  logit-normal: ``logit(p)`` is normal with the interval's logits as its 5th and 95th
  percentiles. An end of exactly 0 or 1 has no logit, and an end closer to them than
  one in a million (``PROBABILITY_FLOOR``) would be distorted by any floor, so review
  validation refuses such intervals with the reason (``review.quantities.check_quantity``);
  the clip to ``[1e-6, 1 - 1e-6]`` here only guards unvalidated callers. A single
  number (or equal ends) is a constant probability and is used exactly, 0 and 1
  included.

Labels of the template's scales are resolved to intervals first
(:func:`deliberation.templates.resolve_likelihood`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..review.opening import resolve_impact, resolve_likelihood
from ..review.quantities import PROBABILITY_FLOOR
from ..review.template import Template

# Twice the 95th percentile of the standard normal: the width of a 90% interval in
# standard deviations (Squiggle's constant for `a to b`).
Z90 = 3.2897

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
    # A geometric pool's impact: log quantiles at Z_GRID (None: lognormal(mu, sigma)).
    impact_table: tuple[float, ...] | None = None

    @property
    def likelihood_mean(self) -> float:
        return logit_normal_mean(self.likelihood_mu, self.likelihood_sigma)

    @property
    def impact_mean(self) -> float:
        if self.impact_table is not None:
            density = np.exp(-Z_GRID**2 / 2) / math.sqrt(2 * math.pi)
            return float(np.trapezoid(density * np.exp(np.array(self.impact_table)), Z_GRID))
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


# Normal scores at which a geometric pool's impact quantiles are tabulated: the engine
# turns an impact's standard normal draw into the impact by interpolating here (Box-Muller
# normals reach 8.6; np.interp holds the end values beyond the grid).
Z_GRID = np.linspace(-8.6, 8.6, 345)
_LOG_GRID_POINTS = 1500


def _log_survival(log_x: npt.NDArray[np.float64], c: Component) -> npt.NDArray[np.float64]:
    """log P(impact >= x | the item happens) for one participant, at x = exp(log_x)."""
    if c.impact_sigma == 0:
        with np.errstate(divide="ignore"):
            return np.log((log_x <= c.impact_mu).astype(np.float64))
    scores = (log_x - c.impact_mu) / (c.impact_sigma * math.sqrt(2))
    with np.errstate(divide="ignore"):
        return np.log(0.5 * np.asarray(_ERFC(scores), dtype=np.float64))


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _solve_logit_mu(mean: float, sigma: float) -> float:
    """The mu of logit-normal(mu, sigma) whose mean is ``mean`` (0 < mean < 1)."""
    if sigma == 0:
        return logit(mean)
    low, high = logit(mean) - 10 * sigma - 10, logit(mean) + 10 * sigma + 10
    for _ in range(80):
        middle = (low + high) / 2
        if logit_normal_mean(middle, sigma) < mean:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def certainties(components: tuple[Component, ...]) -> list[tuple[str, float]]:
    """Participants whose likelihood is a stated certainty (a point 0 or 1)."""
    return [
        (c.participant, c.likelihood[0]) for c in components
        if c.likelihood_sigma == 0 and c.likelihood[0] in (0.0, 1.0)
    ]


@functools.lru_cache(maxsize=4096)  # components are immutable; an edit makes new ones
def geometric_pool(item_id: str, components: tuple[Component, ...]) -> Component:
    """Pool participants by the geometric mean of odds of every event "the item happens
    with an impact of at least x", so each participant's likelihood stays with their
    impact (docs/design.md, "How participants are pooled").

    For participant i, P_i(x) = E[p_i] * S_i(x), with S_i their impact's survival
    function. The pool's P(x) has odds prod_i (P_i(x) / (1 - P_i(x)))^(1/n): at x -> 0
    the geometric mean of the odds of the likelihoods; above it a likelihood is never
    paired with an impact nobody stated with it. The pooled item happens with
    probability P(0+) (a logit-normal with the participants' mean spread, its mu solved
    so the mean is P(0+)), and its impact given that it happens has the survival
    function P(x) / P(0+), tabulated as log quantiles at ``Z_GRID``. A single
    participant is returned as is; callers pool items with a stated 0 or 1 linearly
    (:func:`certainties`).
    """
    if len(components) == 1:
        return components[0]
    if certainties(components):
        raise ValueError(f"item {item_id!r}: a stated likelihood of 0 or 1 cannot be pooled "
                         "by odds")
    count = len(components)
    means = [c.likelihood_mean for c in components]
    happen_logit = sum(logit(m) for m in means) / count
    happens = expit(happen_logit)
    likelihood_sigma = sum(c.likelihood_sigma for c in components) / count
    likelihood_mu = _solve_logit_mu(happens, likelihood_sigma)
    z = Z90 / 2
    likelihood = (
        (happens, happens) if likelihood_sigma == 0 else
        (expit(likelihood_mu - z * likelihood_sigma), expit(likelihood_mu + z * likelihood_sigma))
    )
    impact_mu, impact_sigma, impact, table = _pooled_impact(components, means, happen_logit)
    return Component(
        f"pooled({item_id})", likelihood, impact, likelihood_mu, likelihood_sigma,
        impact_mu, impact_sigma, table,
    )


def _pooled_impact(
    components: tuple[Component, ...], means: list[float], happen_logit: float
) -> tuple[float, float, tuple[float, float], tuple[float, ...] | None]:
    """(median log, sigma-like spread, 90% interval, log quantiles at Z_GRID) of the
    geometric pool's impact given that the item happens."""
    points = {c.impact for c in components if c.impact_sigma == 0}
    if all(c.impact_sigma == 0 for c in components) and len(points) == 1:
        (value, _), = points
        return (math.log(value) if value > 0 else -math.inf, 0.0, (value, value), None)
    lows = [c.impact_mu - 9 * c.impact_sigma for c in components if math.isfinite(c.impact_mu)]
    highs = [c.impact_mu + 9 * c.impact_sigma for c in components if math.isfinite(c.impact_mu)]
    grid = np.linspace(min(lows) - 1, max(highs) + 1, _LOG_GRID_POINTS)
    steps = [c.impact_mu for c in components if c.impact_sigma == 0 and math.isfinite(c.impact_mu)]
    grid = np.unique(np.concatenate([grid, steps, np.nextafter(steps, np.inf)]))
    log_odds = np.zeros_like(grid)
    for c, mean in zip(components, means, strict=True):
        log_p = math.log(mean) + _log_survival(grid, c)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds += log_p - np.log1p(-np.exp(log_p))
    log_odds /= len(components)
    # P(x) / P(0+), through logs: expit(log_odds) / expit(happen_logit)
    with np.errstate(over="ignore", under="ignore"):
        survival = np.exp(-np.logaddexp(0.0, -log_odds) + np.logaddexp(0.0, -happen_logit))
    survival = np.minimum(np.nan_to_num(survival, nan=0.0), 1.0)
    survival[0] = 1.0
    # keep it non-increasing against rounding, then invert: S(q) = Phi(-z)
    survival = np.minimum.accumulate(survival)
    # below the last size every participant reaches for sure, nothing happens: start
    # there, so the lowest quantiles are that size and not the grid's end
    start = int(np.flatnonzero(survival >= 1.0)[-1])
    grid, survival = grid[start:], survival[start:]
    targets = np.array([normal_cdf(-score) for score in Z_GRID])
    table = np.interp(targets, survival[::-1], grid[::-1])
    median = float(np.interp(0.5, survival[::-1], grid[::-1]))
    low, high = (float(np.interp(normal_cdf(-s), survival[::-1], grid[::-1]))
                 for s in (-Z90 / 2, Z90 / 2))
    return median, (high - low) / Z90, (math.exp(low), math.exp(high)), tuple(
        float(v) for v in table)


def item_models(review: Any, template: Template, *, pool: Pool = "linear") -> list[ItemModel]:
    """Every estimated item of the review, with each participant's latest-round estimate.

    Components are ordered by participant id, so the order estimates were typed in
    never changes a number. Items nobody estimated are left out (see
    ``review.unestimated_items()``). Under the geometric pool an item where someone
    states a likelihood of exactly 0 or 1 keeps its components, so it is pooled
    linearly: odds cannot weigh a certainty (it would veto every other view), and the
    analysis says so (:func:`certainties`).
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
        if pool == "geometric" and not certainties(components):
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
    if len(components) == 1 and components[0].impact_table is not None:
        pooled = components[0]
        return pooled.likelihood if quantity == "likelihood" else pooled.impact
    if quantity == "likelihood":
        mus = [c.likelihood_mu for c in components]
        sigmas = [c.likelihood_sigma for c in components]
        low, high = mixture_quantile(0.05, mus, sigmas), mixture_quantile(0.95, mus, sigmas)
        return (expit(low), expit(high))
    mus = [c.impact_mu for c in components]
    sigmas = [c.impact_sigma for c in components]
    low, high = mixture_quantile(0.05, mus, sigmas), mixture_quantile(0.95, mus, sigmas)
    return (math.exp(low) if low > -math.inf else 0.0, math.exp(high))
