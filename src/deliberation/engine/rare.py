"""Rare tails by importance sampling: a small gate decided without drawing to the cap.

A ``max-p-extreme-bad`` or ``max-p-catastrophe`` gate whose limit is small (at most
:data:`RARE_LIMIT`) and whose true value is near it needs millions of plain samples:
the event is seen a few hundred times in a million. Here the same model is sampled
with the items' *occurrences* tilted towards the event, and each sample carries the
likelihood ratio that undoes the tilt, so the weighted mean is unbiased for the plain
probability.

**What is tilted.** Each sample draws every quantity as the plain simulation does
(``engine.draws``' samplers: the participant under the linear pool, each item's
likelihood and impact, each mitigation's factors, each driver's normals), so the
chosen variant's chance that item i happens in that sample is c_i (its likelihood
times its mitigations' likelihood factor, clipped to [0, 1]). Plain Monte Carlo then
draws o_i ~ Bernoulli(c_i). Here o_i ~ Bernoulli(q_i) with the exponential tilt

    q_i = c_i e^θ_i / (1 - c_i + c_i e^θ_i)

and the sample's weight is the ratio of the two probabilities of the o drawn,

    w = Π_i (c_i / q_i)^o_i ((1 - c_i) / (1 - q_i))^(1 - o_i)
      = exp(Σ_i log1p(c_i expm1(θ_i)) - Σ_i θ_i o_i),

so E_q[w 1(event)] = P(event) exactly, whatever the θ_i (the rest of the sample is
drawn from its own distribution and cancels). Occurrences are drawn from streams of
their own (keyed by the item's id), not from the item's happen/not uniform.

An item's uncertain likelihood and impact are read from two standard normals (its
logit-normal likelihood, its lognormal impact, or the geometric pool's table). Their
means *can* be shifted too, by γ_i and δ_i (``_ItemSampler.draw``'s ``shift``): a
normal drawn as z ~ N(δ, 1) multiplies the weight by φ(z) / φ(z - δ) =
exp(-δ z + δ²/2), so a tail made by one common harm's large impact is reached too.
That is **off** (:data:`SHIFT_NORM` = 0): those factors make the weights lognormal
with variance Σ δ², whose sample variance is too small in most runs, and on the
shipped example the interval's upper end fell below the truth on 2.0% of 1,000 runs
of 20,000 tilted samples at the looks' 99.375% (one side should be 0.31%; 4% of 300
runs at 80,000), a false pass; capping Σ δ² at 0.25 still gave 1% of 500. With
occurrences alone it was 0 of 600. Participants (the linear pool's pick),
mitigation factors and drivers' normals are drawn untilted; a tail made by them (or,
with the shifts off, by large impacts) gains little, and the pilot's gain says so.

**Drivers.** An item tied to a driver (``engine.copula``) happens when
Φ(√ρ z_d + √(1-ρ) z_own) < c, so given the driver's normal z_d it happens with the
conditional chance Φ((Φ⁻¹(c) - √ρ z_d) / √(1-ρ)), independently of the other items.
That conditional chance is what is tilted (the driver itself is drawn untilted, and
its likelihood normal moves the drawn likelihoods as in the plain run), so correlated
reviews use importance sampling too.

**Choosing θ** (cross-entropy, multilevel). A pilot of :data:`PILOT` samples at the
current θ (starting at 0) ranks the samples by a score (harm total for a catastrophe,
minus net value for extremely bad); its elite are the samples in the event if at
least :data:`MIN_ELITE` of them are, else the top :data:`ELITE` of the scores (only
those strictly above the level when ties at it would make the elite much larger; when
every score is alike, harms' θ go up by one and benefits' down by one). Each
θ_i is then the root of Σ_elite w (q_i(θ_i) - o_i) = 0 (the weighted elite's rate of
item i, matched under the tilt), found by bisection, and each shift the elite's
weighted mean of its normal (the cross-entropy solution for a normal's mean, scaled
down to a total length of at most :data:`SHIFT_NORM`); all smoothed with the
previous round's and kept in [0, :data:`THETA_MAX`] (shifts: [0, :data:`SHIFT_MAX`])
for harms (a harm is only ever tilted towards happening, likelier and larger) and in
[-THETA_MAX, 0] for benefits of an extremely bad event (a benefit only the other
way; benefits do not enter a catastrophe, so stay untilted). A point estimate has no
normal to shift. Once the event itself was the elite twice, θ is fixed. A pilot
that never reaches the event in :data:`MAX_PILOTS` rounds gives up, so does one
whose elite's level stops rising before it gets there (the tilt no longer moves the
tail), and so does one whose last round shows a gain (effective samples per tilted
sample, below) under :data:`MIN_GAIN`: when the tail comes from what is not tilted,
the tilt buys nothing, and the gate is decided by plain samples as before. Every
pilot and batch draws from streams keyed by (seed, gate, round), so the same seed
gives the same θ and the same verdict.

**The interval** (:mod:`.weights`). On n tilted samples the estimate is
m = Σ w 1(event) / n and its standard error s from the sample variance of
w 1(event). A normal interval m ± z s is wrong near zero (it is symmetric, and s is 0
when no sample hits), so the look uses Wilson's score interval at the *effective*
sample size n_eff = m (1 - m) / s² (the number of plain samples whose binomial error
equals s) with m n_eff hits: with w ≡ 1 it is the plain Wilson interval, and it keeps
Wilson's asymmetry when the effective hits are few. s² is read cautiously: the sample
variance plus :data:`VARIANCE_MARGIN` of its own standard errors (from the fourth
moment of w 1(event)), since skewed weights make it too small in most runs. The look
is only trusted when at least :data:`MIN_HITS` tilted samples hit the event and no
single sample carries more than :data:`MAX_SHARE` of the sum (a weight that large
says the tilt missed part of the event, and its variance is not yet seen);
otherwise its interval is [0, 1]: that look decides nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..review.template import Template
from .copula import Coupling, DriverSampler, couplings, normal_cdf, normal_quantile
from .draws import (
    _DRIVER,
    ParticipantSampler,
    _Arena,
    _ItemSampler,
    _MitigationSampler,
    _product,
    _stream,
)
from .estimates import ItemModel, Pool, item_models
from .thresholds import catastrophe_of, thresholds_of
from .weights import MAX_SHARE, MIN_HITS, VARIANCE_MARGIN, Weighted

Wide = npt.NDArray[np.float64]
Kind = Literal["max-p-extreme-bad", "max-p-catastrophe"]
KINDS: tuple[Kind, ...] = ("max-p-extreme-bad", "max-p-catastrophe")

RARE_LIMIT = 0.005  # gates with a limit at most this are decided by importance sampling
PILOT = 10_000  # samples per cross-entropy round
MAX_PILOTS = 8
ELITE = 0.1  # the share of a round's samples that lead it towards the event
MIN_ELITE = 100  # event samples needed for the event itself to be the elite
THETA_MAX = 10.0
SHIFT_MAX = 4.0  # the largest shift of a likelihood or impact normal's mean
# the largest length of all the normals' shifts together (see _fit); 0: not shifted.
# Off: with shifts the weights' tail is too heavy for the interval (module docstring).
SHIFT_NORM = 0.0
SMOOTHING = 0.7  # weight of a round's θ against the previous one
MIN_GAIN = 2.0  # effective samples per tilted sample the pilot must show, else plain
_RARE_STREAM = 0x4A7  # spawn key of the importance sampling's streams
_OCCURRENCE = 7  # namespace of the items' tilted occurrence streams (draws uses 0-3)
CHUNK_ITEM_SAMPLES = 1 << 21
__all__ = ["MAX_SHARE", "MIN_HITS", "VARIANCE_MARGIN", "Block", "Model", "Weighted",
           "cross_entropy", "eligible", "entropy_of", "weighted"]


def eligible(kind: str, limit: float | None) -> bool:
    """Whether a gate of rule ``kind`` and ``limit`` is one importance sampling decides."""
    return kind in KINDS and limit is not None and 0 < float(limit) <= RARE_LIMIT


@dataclass
class Block:
    """One run of tilted samples: the event, log weights, and (pilots) what θ needs."""

    event: npt.NDArray[np.bool_]
    log_weight: Wide
    score: Wide
    chance: Wide | None = None  # (samples, items) c_i
    happened: npt.NDArray[np.bool_] | None = None  # (samples, items) o_i
    normals: Wide | None = None  # (samples, items, 2) the shifted likelihood, impact normals


def conditional_chance(chance: Wide, coupling: Coupling, driver_normal: Wide) -> Wide:
    """P(the item happens | the driver's happen/not normal), for drawn chances ``chance``."""
    inner = np.clip(chance, 2.0**-60, 1 - 2.0**-53)
    threshold = normal_quantile(inner)
    if coupling.own == 0:
        given = (driver_normal * coupling.shared < threshold).astype(np.float64)
    else:
        given = normal_cdf((threshold - coupling.shared * driver_normal) / coupling.own)
    return np.where(chance <= 0, 0.0, np.where(chance >= 1, 1.0, given))


def tilted(chance: Wide, theta: float) -> Wide:
    """q = c e^θ / (1 - c + c e^θ)."""
    if theta == 0:
        return chance
    result: Wide = chance * math.exp(theta) / (1 + chance * math.expm1(theta))
    return result


class Model:
    """What sampling the chosen variant needs: its items, mitigations and thresholds."""

    def __init__(self, review: Any, template: Template, *, pool: Pool, variant: str) -> None:
        self.models: list[ItemModel] = sorted(item_models(review, template, pool=pool),
                                              key=lambda model: model.id)
        mitigations = {m.id: m for m in review.mitigations}
        chosen: frozenset[str] = frozenset()
        for v in review.variants or ():
            if v.id == variant:
                chosen = frozenset(v.mitigations)
        self.mitigations = {m: mitigations[m] for m in sorted(chosen)}
        self.keys = {model.id: [m for m in sorted(chosen) if model.id in mitigations[m].targets]
                     for model in self.models}
        self.couplings = couplings(review)
        self.participants = sorted(
            {c.participant for model in self.models for c in model.components}
        ) if any(len(model.components) > 1 for model in self.models) else []
        self.extreme_bad, _ = thresholds_of(review, template)
        self.catastrophe = catastrophe_of(review, template)
        # which of each item's normals (likelihood, impact) its draws read
        self.normals = {model.id: _normals_used(_ItemSampler(model, 0, self.participants))
                        for model in self.models}

    def bounds(self, kind: Kind) -> tuple[Wide, Wide]:
        """Each item's allowed tilt (occurrence θ, likelihood shift, impact shift):
        harms towards happening and larger, benefits (bad only) the other way, and no
        shift of a normal the item does not read (a point estimate)."""
        low = np.zeros((len(self.models), 3))
        high = np.zeros((len(self.models), 3))
        for index, model in enumerate(self.models):
            limits = np.array([THETA_MAX, *(SHIFT_MAX * np.array(self.normals[model.id]))])
            if model.sign < 0:
                high[index] = limits
            elif kind == "max-p-extreme-bad":
                low[index] = -limits
        return low, high

    def target(self, kind: Kind) -> float:
        """The score at which a sample is in the event."""
        if kind == "max-p-extreme-bad":
            return -float(np.float32(self.extreme_bad))
        if self.catastrophe is None:
            raise ValueError("max-p-catastrophe: the review sets no catastrophe threshold")
        return self.catastrophe

    def run(self, entropy: int, size: int, theta: Sequence[float] | Wide, kind: Kind, *,
            keep: bool = False) -> Block:
        """``size`` samples tilted by ``theta`` from streams derived from ``entropy``:
        per item (occurrence θ, likelihood shift, impact shift), or θ alone."""
        tilt = np.asarray(theta, np.float64)
        if tilt.ndim == 1:
            tilt = np.column_stack([tilt, np.zeros((len(tilt), 2))])
        samplers = _Samplers(self, entropy)
        chunk = max(1024, CHUNK_ITEM_SAMPLES // max(1, len(self.models)))
        parts = []
        done = 0
        while done < size:
            step = min(chunk, size - done)
            parts.append(samplers.chunk(step, tilt, kind, keep=keep))
            done += step
        if len(parts) == 1:
            return parts[0]
        return Block(
            event=np.concatenate([p.event for p in parts]),
            log_weight=np.concatenate([p.log_weight for p in parts]),
            score=np.concatenate([p.score for p in parts]),
            chance=None if not keep else np.concatenate([p.chance for p in parts]),
            happened=None if not keep else np.concatenate([p.happened for p in parts]),
            normals=None if not keep else np.concatenate([p.normals for p in parts]),
        )


class _Samplers:
    """One run's streams, read chunk after chunk (so chunking changes no number)."""

    def __init__(self, model: Model, entropy: int) -> None:
        self.model = model
        self.items = {m.id: _ItemSampler(m, entropy, model.participants,
                                         model.couplings.get(m.id)) for m in model.models}
        self.occurrences = {m.id: _stream(entropy, _OCCURRENCE, m.id, 0) for m in model.models}
        self.mitigations = {m: _MitigationSampler(mitigation, entropy)
                            for m, mitigation in model.mitigations.items()}
        self.participants = ParticipantSampler(model.participants, entropy)
        self.drivers = {c.driver: DriverSampler(c.driver, _stream(entropy, _DRIVER, c.driver, 0))
                        for c in model.couplings.values()}

    def chunk(self, size: int, theta: Wide, kind: Kind, *, keep: bool) -> Block:
        model = self.model
        arena = _Arena(size)
        count = len(model.models)
        sums = _Sums(np.zeros(size), np.zeros(size), np.zeros(size),
                     np.empty((size, count)) if keep else None,
                     np.empty((size, count), np.bool_) if keep else None,
                     np.zeros((size, count, 2)) if keep else None)
        try:
            factors = {m: sampler.draw(size, arena) for m, sampler in self.mitigations.items()}
            picked = self.participants.draw(size)
            drivers = {d: sampler.draw(size) for d, sampler in self.drivers.items()}
            for index, item in enumerate(model.models):
                self._item(index, item, theta[index], sums, arena=arena, factors=factors,
                           picked=picked, drivers=drivers)
        finally:
            arena.release()
        if kind == "max-p-extreme-bad":
            rounded = sums.net.astype(np.float32)
            event = rounded <= np.float32(model.extreme_bad)
            score = -rounded.astype(np.float64)
        else:
            event = sums.harms >= model.target(kind)
            score = sums.harms
        return Block(event, sums.log_weight, score, sums.chances, sums.happenings,
                     sums.normals)

    def _item(self, index: int, item: ItemModel, tilt: Wide, sums: _Sums, *, arena: _Arena,
              factors: dict[str, Any], picked: Any, drivers: dict[str, Any]) -> None:
        """One item's tilted draws, added to ``sums``."""
        model = self.model
        size = len(sums.net)
        coupling = model.couplings.get(item.id)
        driver = None if coupling is None else drivers[coupling.driver]
        shift = (float(tilt[1]), float(tilt[2]))
        sampler = self.items[item.id]
        shifting = any(model.normals[item.id]) and (
            any(shift) or (sums.normals is not None and SHIFT_NORM > 0))
        draws = sampler.draw(size, arena, picked, driver, shift if shifting else None)
        if shifting and sampler.shifted is not None:
            for which in (0, 1):
                moved = shift[which]
                if moved != 0:  # the ratio of N(0, 1) to N(moved, 1) at the drawn z
                    sums.log_weight -= moved * sampler.shifted[which] - moved * moved / 2
                if sums.normals is not None:
                    sums.normals[:, index, which] = sampler.shifted[which]
        keys = model.keys[item.id]
        likelihood_factor = _product([factors[m][0] for m in keys])
        impact_factor = _product([factors[m][1] for m in keys])
        chance = np.broadcast_to(np.asarray(draws.likelihood, np.float64), (size,))
        if likelihood_factor is not None:
            chance = chance * np.asarray(likelihood_factor, np.float64)
        chance = np.clip(chance, 0.0, 1.0)
        if coupling is not None and driver is not None:
            chance = conditional_chance(chance, coupling, driver[0])
        impact = draws.impact if impact_factor is None else draws.impact * impact_factor
        step = float(tilt[0])
        happened = self.occurrences[item.id].random(size) < tilted(chance, step)
        if step != 0:
            sums.log_weight += np.log1p(chance * math.expm1(step))
            sums.log_weight -= step * happened
        contribution = np.where(happened, np.asarray(impact, np.float64), 0.0)
        if item.sign > 0:
            sums.net += contribution
        else:
            sums.net -= contribution
            sums.harms += contribution
        if sums.chances is not None and sums.happenings is not None:
            sums.chances[:, index] = chance
            sums.happenings[:, index] = happened


@dataclass
class _Sums:
    """One chunk's running sums, and (pilots) each item's chance, occurrence, normals."""

    net: Wide
    harms: Wide
    log_weight: Wide
    chances: Wide | None
    happenings: npt.NDArray[np.bool_] | None
    normals: Wide | None


def entropy_of(seed: int, kind: Kind, purpose: int, number: int) -> int:
    """The root of one pilot round (purpose 0) or batch (purpose 1) of a gate's kind."""
    sequence = np.random.SeedSequence(
        seed, spawn_key=(_RARE_STREAM, KINDS.index(kind), purpose, number))
    return int(np.random.default_rng(sequence).integers(0, 2**63))


def cross_entropy(model: Model, kind: Kind, seed: int) -> tuple[Wide, int, float] | None:
    """The tilt (per item, in the model's order: occurrence θ, likelihood and impact
    normals' shifts), the pilot samples it took and the last round's gain (its
    effective samples per tilted sample), or None when no round reached the event
    (see the module's docstring)."""
    low, high = model.bounds(kind)
    theta = np.zeros((len(model.models), 3))
    target = model.target(kind)
    reached = 0
    previous = -math.inf
    for round_number in range(MAX_PILOTS):
        block = model.run(entropy_of(seed, kind, 0, round_number), PILOT, theta, kind, keep=True)
        elite = block.score >= target
        if np.count_nonzero(elite) >= MIN_ELITE:
            reached += 1
        else:
            level = float(np.quantile(block.score, 1 - ELITE))
            if level <= previous:  # the tilt no longer moves the tail: nothing to gain
                return None
            previous = level
            elite = block.score >= level
            above = block.score > level
            if np.count_nonzero(elite) > 2 * ELITE * PILOT:
                if not np.any(above):  # every score alike: no sample points the way
                    theta[:, 0] = np.clip(theta[:, 0] + np.sign(low + high)[:, 0], low[:, 0],
                                          high[:, 0])
                    continue
                elite = above  # ties at the level: only what is strictly past it
        theta = SMOOTHING * _fit(block, elite, low, high) + (1 - SMOOTHING) * theta
        if reached == 2:
            sums = weighted(block)
            gain = sums.effective / sums.samples if sums.trusted else 0.0
            return theta, PILOT * (round_number + 1), gain
    return None


def _fit(block: Block, elite: npt.NDArray[np.bool_], low: Wide, high: Wide) -> Wide:
    """The tilt the weighted elite asks for, within its bounds: each θ_i solving
    Σ_elite w (q_i(θ_i) - o_i) = 0 (by bisection), and each normal's shift the elite's
    weighted mean of that normal."""
    if block.chance is None or block.happened is None or block.normals is None:
        raise ValueError("a pilot's block keeps each item's chance, occurrence and normals")
    log_weight = block.log_weight[elite]
    weight = np.exp(log_weight - log_weight.max())
    weight /= weight.sum()
    chance = block.chance[elite]
    rate = weight @ block.happened[elite]
    lower, upper = low[:, 0].copy(), high[:, 0].copy()
    for _ in range(60):
        middle = (lower + upper) / 2
        tilt = np.exp(middle)
        expected = weight @ (chance * tilt / (1 + chance * (tilt - 1)))
        below = expected < rate
        lower = np.where(below, middle, lower)
        upper = np.where(below, upper, middle)
    result = np.empty_like(low)
    result[:, 0] = (lower + upper) / 2
    shifts = np.clip(np.einsum("s,sij->ij", weight, block.normals[elite]),
                     low[:, 1:], high[:, 1:])
    # the normals' part of the weight is lognormal with variance Σ shift²: keep it small
    norm = float(np.sqrt(np.sum(shifts * shifts)))
    if norm > SHIFT_NORM:
        shifts *= SHIFT_NORM / norm if norm > 0 else 0.0
    result[:, 1:] = shifts
    return result


def _normals_used(sampler: _ItemSampler) -> tuple[bool, bool]:
    """Whether the item's draws read their likelihood normal, and their impact normal."""
    normals = sampler.likelihood_points is None or sampler.impact_points is None
    impact = normals and (sampler.impact_table is not None or sampler.impact_points is None)
    return sampler.likelihood_points is None, impact


def weighted(block: Block) -> Weighted:
    """The sums of one run."""
    values = np.where(block.event, np.exp(block.log_weight), 0.0)
    squares = values * values
    return Weighted(samples=len(values), hits=int(np.count_nonzero(block.event)),
                    total=float(values.sum()), squares=float(squares.sum()),
                    largest=float(values.max()) if len(values) else 0.0,
                    cubes=float(np.dot(squares, values)), fourths=float(np.dot(squares, squares)))
