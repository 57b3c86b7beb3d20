"""An independent float64 reference of the review model, written from docs/design.md.

It shares no code with ``deliberation.engine``: it reads a review through
``deliberation.review`` (latest-round estimates, labels resolved by the template) and
redraws everything with numpy's own generators in float64:

* impacts and mitigation factors: lognormal from a 90% interval, mu = (ln l + ln h) / 2,
  sigma = (ln h - ln l) / 3.2897; equal ends are a point (a factor of 0 removes);
* likelihoods: logit-normal from the interval's logits (ends clipped to
  [1e-6, 1 - 1e-6]); a point is used exactly, 0 and 1 included;
* a mitigation multiplies the likelihood (clipped to [0, 1]) and the impact of what it
  targets, by one factor draw per mitigation per sample shared by all its targets;
  every set of mitigations is computed from the same draws; net = benefits - harms;
* linear pool: one participant per sample for every item; an item that participant
  did not estimate uses one of those who did, picked uniformly.

Besides the plain Monte Carlo it keeps, per sample, the conditional mean and variance
of every item given the sample's participant and factor draws (the likelihood and
impact integrated out exactly, Gauss-Hermite for a likelihood a factor pushes past 1).
Averaged over samples they give the true mean and the *true* variance of the net value
(of a difference, of an item's contribution) with little noise, so the engine's means
are judged against the standard error they should have, even when a few samples carry
most of the variance (impacts spanning several decades).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from deliberation.review.opening import resolve_impact, resolve_likelihood

Z90 = 3.2897
FLOOR = 1e-6
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
WEIGHTS = WEIGHTS / WEIGHTS.sum()
Array = npt.NDArray[np.float64]


def lognormal(low: float, high: float) -> tuple[float, float]:
    if low == high:
        return (math.log(low) if low > 0 else -math.inf, 0.0)
    return ((math.log(low) + math.log(high)) / 2, (math.log(high) - math.log(low)) / Z90)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Component:
    participant: str
    point: float | None  # a point likelihood, used exactly
    mu: float  # logit-normal likelihood
    sigma: float
    impact_mu: float
    impact_sigma: float

    @property
    def mean_p(self) -> float:
        if self.point is not None:
            return self.point
        return float(np.dot(WEIGHTS, 1 / (1 + np.exp(-(self.mu + self.sigma * NODES)))))

    @property
    def impact_moments(self) -> tuple[float, float]:
        """E[M] and E[M^2] of the lognormal impact."""
        mu, s = self.impact_mu, self.impact_sigma
        return math.exp(mu + s * s / 2), math.exp(2 * mu + 2 * s * s)

    def q(self, factor: Array) -> Array:
        """E[min(p * F, 1)] over the likelihood, for each sample's factor F."""
        if self.point is not None:
            return np.minimum(self.point * factor, 1.0)
        result = factor * self.mean_p  # exact where F <= 1, since p <= 1
        over = np.flatnonzero(factor > 1)
        if len(over):
            p = 1 / (1 + np.exp(-(self.mu + self.sigma * NODES)))
            result[over] = np.minimum(np.outer(factor[over], p), 1.0) @ WEIGHTS
        return result


def component(participant: str, likelihood: Any, impact: Any, template: Any) -> Component:
    low, high = resolve_likelihood(likelihood, template)
    impact_low, impact_high = resolve_impact(impact, template)
    impact_mu, impact_sigma = lognormal(impact_low, impact_high)
    if low == high:
        return Component(participant, low, 0.0, 0.0, impact_mu, impact_sigma)
    low, high = (min(max(v, FLOOR), 1 - FLOOR) for v in (low, high))
    mu = (_logit(low) + _logit(high)) / 2
    return Component(participant, None, mu, (_logit(high) - _logit(low)) / Z90,
                     impact_mu, impact_sigma)


def _factor(value: Any) -> tuple[float, float]:
    if isinstance(value, tuple | list):
        return lognormal(float(value[0]), float(value[1]))
    return lognormal(float(value), float(value))


@dataclass
class Model:
    items: list[tuple[str, float, list[Component]]]  # id, sign, components
    participants: list[str]
    mitigations: dict[str, tuple[tuple[float, float], tuple[float, float], set[str]]]
    variants: list[tuple[str, frozenset[str]]]
    bad: float
    good: float
    catastrophe: float | None = None  # a size of total harm (benefits left out)


def _catastrophe(review: Any, template: Any) -> float | None:
    """The review's catastrophe threshold, else the template's (None: neither sets one)."""
    for owner in (review.thresholds, template.thresholds):
        value = getattr(owner, "catastrophe", None) if owner is not None else None
        if value is not None:
            return float(value)
    return None


def model_of(review: Any, template: Any) -> Model:
    by_item: dict[str, list[Component]] = {}
    for e in review.latest_estimates():
        by_item.setdefault(e.item, []).append(component(e.participant, e.likelihood,
                                                        e.impact, template))
    items = [(i.id, 1.0 if i.kind == "benefit" else -1.0, by_item[i.id])
             for i in review.items if i.id in by_item]
    participants = sorted({c.participant for _, _, cs in items for c in cs})
    mitigations = {m.id: (_factor(m.likelihood_factor), _factor(m.impact_factor),
                          set(m.targets)) for m in review.mitigations}
    variants = ([(v.id, frozenset(v.mitigations)) for v in review.variants]
                or [("baseline", frozenset())])
    thresholds = review.thresholds if review.thresholds is not None else template.thresholds
    return Model(items, participants, mitigations, variants,
                 float(thresholds.extreme_bad), float(thresholds.extreme_good),
                 _catastrophe(review, template))


@dataclass
class SetDraws:
    """One set of mitigations: the net value per sample, and per sample its conditional
    mean and variance given the participant and factor draws."""

    net: Array
    mean: Array
    var: Array
    harm: Array  # the harms' total alone
    items: dict[str, tuple[Array, Array, Array, Array, Array]] = field(default_factory=dict)
    # per item: happened (bool), contribution (unsigned), E[X | .], E[X^2 | .],
    # P(happens | .)
    keys: dict[str, frozenset[str]] = field(default_factory=dict)
    factors: dict[str, tuple[Array, Array]] = field(default_factory=dict)  # F, G per item


@dataclass
class Reference:
    model: Model
    samples: int
    sets: dict[frozenset[str], SetDraws]
    weights: dict[str, Array]  # per item: (samples, components) pick probabilities

    def of(self, mitigations: frozenset[str]) -> SetDraws:
        return self.sets[mitigations]


def simulate(model: Model, samples: int, seed: int) -> Reference:
    rng = np.random.default_rng(seed)
    sets = {frozenset()} | {s for _, s in model.variants} | {
        frozenset({m}) for m in model.mitigations}
    factors = {}
    for m_id, (lf, imf, _) in model.mitigations.items():
        factors[m_id] = tuple(np.exp(mu + s * rng.standard_normal(samples)) if s > 0
                              else np.full(samples, math.exp(mu) if math.isfinite(mu) else 0.0)
                              for mu, s in (lf, imf))
    count = len(model.participants)
    picked = rng.integers(0, count, samples) if count else np.zeros(samples, np.intp)
    per_set = {s: SetDraws(np.zeros(samples), np.zeros(samples), np.zeros(samples),
                           np.zeros(samples)) for s in sets}
    weights = {}
    for item_id, sign, components in model.items:
        k = len(components)
        position = {c.participant: j for j, c in enumerate(components)}
        lookup = np.array([position.get(p, -1) for p in model.participants], np.intp)
        index = lookup[picked] if count else np.zeros(samples, np.intp)
        missing = index < 0
        index = np.where(missing, rng.integers(0, k, samples), index)
        w = np.zeros((samples, k))
        w[np.arange(samples), np.where(missing, 0, index)] = 1.0
        w[missing] = 1.0 / k
        weights[item_id] = w
        u = rng.random(samples)
        z_likelihood, z_impact = rng.standard_normal(samples), rng.standard_normal(samples)
        p = np.empty(samples)
        impact = np.empty(samples)
        for j, c in enumerate(components):
            rows = index == j
            p[rows] = (c.point if c.point is not None
                       else 1 / (1 + np.exp(-(c.mu + c.sigma * z_likelihood[rows]))))
            impact[rows] = np.exp(c.impact_mu + c.impact_sigma * z_impact[rows])
        for s, draws in per_set.items():
            key = frozenset(m for m in s if item_id in model.mitigations[m][2])
            f = np.ones(samples)
            g = np.ones(samples)
            for m in sorted(key):
                f = f * factors[m][0]
                g = g * factors[m][1]
            happened = u < p * f
            contribution = np.where(happened, impact * g, 0.0)
            draws.net += sign * contribution
            if sign < 0:
                draws.harm += contribution
            ex = np.zeros(samples)
            ex2 = np.zeros(samples)
            eh = np.zeros(samples)
            for j, c in enumerate(components):
                q = c.q(f)
                m1, m2 = c.impact_moments
                eh += w[:, j] * q
                ex += w[:, j] * q * m1 * g
                ex2 += w[:, j] * q * m2 * g * g
            draws.mean += sign * ex
            draws.var += ex2 - ex * ex
            draws.items[item_id] = (happened, contribution, ex, ex2, eh)
            draws.keys[item_id] = key
            draws.factors[item_id] = (f, g)
    return Reference(model, samples, per_set, weights)


def difference_moments(reference: Reference, base: frozenset[str], other: frozenset[str]
                       ) -> tuple[Array, Array]:
    """Per sample: E[other - base | .] and Var(other - base | .)."""
    a, b = reference.of(base), reference.of(other)
    mean = b.mean - a.mean
    var = np.zeros(reference.samples)
    for item_id, _, components in reference.model.items:
        if a.keys[item_id] == b.keys[item_id]:
            continue
        fa, ga = a.factors[item_id]
        fb, gb = b.factors[item_id]
        fmin = np.minimum(fa, fb)
        w = reference.weights[item_id]
        d1 = b.items[item_id][2] - a.items[item_id][2]
        d2 = np.zeros(reference.samples)
        for j, c in enumerate(components):
            m2 = c.impact_moments[1]
            d2 += w[:, j] * m2 * (c.q(fa) * ga * ga + c.q(fb) * gb * gb
                                  - 2 * c.q(fmin) * ga * gb)
        var += d2 - d1 * d1
    return mean, var


def true_mean_and_sd(mean: Array, var: Array) -> tuple[float, float, float]:
    """(true mean, true sd of one sample, standard error of the true mean's estimate)."""
    m = float(mean.mean())
    second = float((var + mean * mean).mean())
    sd = math.sqrt(max(second - m * m, 0.0))
    return m, sd, float(mean.std(ddof=1)) / math.sqrt(len(mean))


def _partial(power: int, mu: Array, sigma: float, bound: Array, *, above: bool) -> Array:
    """E[Y^power; Y >= bound] (``above``) or E[Y^power; Y <= bound] for
    ln Y ~ Normal(mu, sigma) (sigma 0: Y = exp(mu) exactly; mu = -inf: Y = 0)."""
    if sigma == 0:
        y = np.exp(mu)
        return np.where(y >= bound if above else y <= bound, y**power, 0.0)
    full = np.exp(power * mu + power * power * sigma * sigma / 2)
    positive = bound > 0
    with np.errstate(divide="ignore"):
        log_bound = np.log(np.where(positive, bound, 1.0))
    d = (mu + power * sigma * sigma - log_bound) / sigma
    if above:
        return np.where(positive, full * ndtr(d), full)
    return np.where(positive, full * ndtr(-d), 0.0)


def tail_moments(reference: Reference, mitigations: frozenset[str], item: str
                 ) -> tuple[Array, Array, Array, Array]:
    """Per sample, given its participant, its factors and every *other* item's draws
    (the item is independent of them given those): P(extremely bad), P(the item happened
    and extremely bad), E[X; extremely bad] and E[X^2; extremely bad], X the item's
    unsigned contribution, the item's likelihood and impact integrated out exactly."""
    draws = reference.of(mitigations)
    sign, components = next((s, cs) for i, s, cs in reference.model.items if i == item)
    _, contribution, *_ = draws.items[item]
    rest = draws.net - sign * contribution
    threshold = reference.model.bad
    # a harm makes the sample bad when X >= rest - threshold; a benefit when X <= threshold - rest
    bound = rest - threshold if sign < 0 else threshold - rest
    above = sign < 0
    f, g = draws.factors[item]
    with np.errstate(divide="ignore"):
        log_g = np.log(g)
    w = reference.weights[item]
    results = [np.zeros(reference.samples) for _ in range(4)]
    not_happened_bad = (bound <= 0) if above else (bound >= 0)
    for j, c in enumerate(components):
        q = c.q(f)
        mu = c.impact_mu + log_g
        zero, first, second = (_partial(k, mu, c.impact_sigma, bound, above=above)
                               for k in (0, 1, 2))
        results[0] += w[:, j] * ((1 - q) * not_happened_bad + q * zero)
        results[1] += w[:, j] * q * zero
        results[2] += w[:, j] * q * first
        results[3] += w[:, j] * q * second
    return results[0], results[1], results[2], results[3]


def ratio(numerator: Array, denominator: Array) -> tuple[float, float]:
    """mean(numerator) / mean(denominator) over samples, and its standard error."""
    bottom = float(denominator.mean())
    value = float(numerator.mean()) / bottom
    spread = float((numerator - value * denominator).std(ddof=1))
    return value, spread / (bottom * math.sqrt(len(numerator)))
