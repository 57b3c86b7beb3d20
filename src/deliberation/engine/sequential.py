"""Policy gates decided with confidence: more samples until the interval clears the limit.

A gate on the analysis (``max-p-extreme-bad``, ``max-p-catastrophe``,
``min-p-extreme-good``, ``positive-expected-value``: the rules in :data:`METRICS`) is
never decided on a noisy point. It *passes* when its whole interval is on the right
side of the limit (``max-p-extreme-bad``: the upper bound is within the limit),
*fails* when its whole interval is on the wrong side (the lower bound is beyond the
limit), and otherwise draws more samples and looks again. Still undecided at the cap,
it fails and says so.

The design is a fixed number of looks with a Bonferroni split, so the gate's error
rate holds although it looks more than once:

* **Looks**: at the analysis' own samples N, then 2N, 4N, ... up to the cap (default
  2,000,000), the last look at the cap exactly. With N = 20,000 that is 8 looks.
* **Level per look**: 1 - 0.05/K for K planned looks (99.375% for 8), so the chance
  that *any* look decides the wrong way is at most 2.5% on each side, whatever the
  true value. With one look (N at the cap) it is the plain 95% interval.
* **Intervals**: Wilson's score interval for a probability (right at zero counts), the
  normal interval mean ± z·sd/√n for the mean (said to be unreliable when the mean is
  tail-dominated).
* **Reusing the draws**: look 1 *is* the analysis (its samples, its seed). Each later
  look adds fresh samples from streams keyed by (seed, sequential batch number), in
  batches of at most 262,144 samples so memory stays bounded; the counts (hits, sum,
  sum of squares) of every earlier look are kept, so look k costs only its new samples
  and the total drawn is the samples of the last look taken. Everything is a function
  of the review and the seed: the same seed decides the same way at the same look.

* **Rare tails** (:mod:`.rare`): a ``max-p-extreme-bad`` or ``max-p-catastrophe`` gate
  whose limit is at most 0.5% and which look 1 leaves undecided takes its later looks
  on importance samples instead: the same plan (look k on schedule[k] - N tilted
  samples, fresh batches added, same level, so the Bonferroni split holds over plain
  look 1 and tilted looks 2..K), Wilson's interval at the effective sample size, and
  a gate that says "importance sampling" and how many samples it was worth. Its
  ``samples`` count the analysis', the pilot's and the tilted ones. When the pilot
  shows no gain (the tail comes from what is not tilted, such as a mitigation's
  factor) the gate goes on with plain looks as above, and the pilot's samples are not
  counted.

The cap is in samples, not seconds, so a release pipeline's verdict never depends on
how busy the machine is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from ..review.template import Template
from .intervals import wilson
from .rare import MIN_GAIN, Model, Weighted, cross_entropy, eligible, entropy_of, weighted
from .results import Analysis, Gate
from .simulate import simulate

DEFAULT_CAP = 2_000_000
ALPHA = 0.05
BATCH = 262_144
_SEQUENTIAL_STREAM = 0x5E9  # spawn key of the sequential batches' streams

Status = Literal["pass", "fail", "undecided"]


@dataclass(frozen=True)
class Tally:
    """What a look needs of the chosen variant's samples: counts and sums."""

    samples: int
    bad: int  # samples at or below extreme_bad
    good: int  # samples at or above extreme_good
    total: float  # sum of net value
    squares: float  # sum of squared net value
    catastrophe: int = 0  # samples whose harms alone reach the catastrophe threshold

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.samples + other.samples, self.bad + other.bad, self.good + other.good,
                     self.total + other.total, self.squares + other.squares,
                     self.catastrophe + other.catastrophe)


# rule kind -> (how its interval is read from a tally, and which end must clear the limit)
Reading = Callable[[Tally, float], tuple[float, float, float]]


def _probability_of(field: str) -> Reading:
    def read(tally: Tally, z: float) -> tuple[float, float, float]:
        hits: int = getattr(tally, field)
        low, high = wilson(hits, tally.samples, z)
        return hits / tally.samples, low, high
    return read


def _mean(tally: Tally, z: float) -> tuple[float, float, float]:
    n = tally.samples
    mean = tally.total / n
    variance = max(0.0, (tally.squares - n * mean * mean) / (n - 1))
    half = z * math.sqrt(variance / n)
    return mean, mean - half, mean + half


# direction "at most": passes when high <= limit, fails when low > limit;
# "at least": passes when low >= limit, fails when high < limit;
# "above": passes when low > limit, fails when high <= limit (positive expected value).
METRICS: dict[str, tuple[Reading, Literal["at most", "at least", "above"]]] = {
    "max-p-extreme-bad": (_probability_of("bad"), "at most"),
    "max-p-catastrophe": (_probability_of("catastrophe"), "at most"),
    "min-p-extreme-good": (_probability_of("good"), "at least"),
    "positive-expected-value": (_mean, "above"),
}


def schedule(first: int, cap: int = DEFAULT_CAP) -> list[int]:
    """The sample counts of the planned looks: first, 2·first, 4·first, ..., cap."""
    looks = [first]
    while looks[-1] < cap:
        looks.append(min(cap, looks[-1] * 2))
    return looks


def level(looks: int) -> float:
    """The confidence level of each of ``looks`` looks (Bonferroni: 95% over all)."""
    return 1 - ALPHA / looks


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def _verdict(kind: str, limit: float, low: float, high: float) -> Status:
    direction = METRICS[kind][1]
    if direction == "at most":
        return "pass" if high <= limit else "fail" if low > limit else "undecided"
    if direction == "at least":
        return "pass" if low >= limit else "fail" if high < limit else "undecided"
    return "pass" if low > limit else "fail" if high <= limit else "undecided"


def _limit(kind: str, value: float | None) -> float:
    return 0.0 if kind == "positive-expected-value" or value is None else float(value)


def look(kind: str, limit: float | None, tally: Tally, *, looks_planned: int,
         looks_taken: int, cap: int, rule: str) -> Gate:
    """The gate's state after a look at ``tally``: its estimate, interval and verdict."""
    confidence = level(looks_planned)
    estimate, low, high = METRICS[kind][0](tally, _z(confidence))
    status = _verdict(kind, _limit(kind, limit), low, high)
    return Gate(rule=rule, kind=kind, value=limit, passes=status == "pass", status=status,
                estimate=estimate, low=low, high=high, level=confidence,
                samples=tally.samples, looks=looks_taken, planned_looks=looks_planned, cap=cap)


def tally_of(net: Any, bad: float, good: float, catastrophic: Any = None) -> Tally:
    """The tally of one variant's net values (float32 as simulated) and, when a
    catastrophe threshold is set, of whether each sample's harms alone reached it."""
    values = np.asarray(net)
    wide = values.astype(np.float64)
    return Tally(
        samples=len(values),
        bad=int(np.count_nonzero(values <= np.float32(bad))),
        good=int(np.count_nonzero(values >= np.float32(good))),
        total=float(wide.sum()), squares=float(np.dot(wide, wide)),
        catastrophe=0 if catastrophic is None else int(np.count_nonzero(catastrophic)),
    )


def summary_tally(summary: Any, samples: int) -> Tally:
    """A look's tally read back from a variant's summary (exact counts; sums in float64)."""
    return Tally(
        samples=samples, bad=round(summary.p_extreme_bad * samples),
        good=round(summary.p_extreme_good * samples), total=summary.mean * samples,
        squares=summary.sd ** 2 * (samples - 1) + samples * summary.mean ** 2,
        catastrophe=round((getattr(summary, "p_catastrophe", None) or 0.0) * samples),
    )


def _rules(template: Template) -> list[Any]:
    return [r for r in template.policy if r.rule in METRICS]


def first_looks(template: Template, summary: Any, samples: int,
                cap: int = DEFAULT_CAP) -> list[Gate]:
    """Every analysis rule of ``template`` looked at once, on the analysis' own samples."""
    tally = summary_tally(summary, samples)
    planned = len(schedule(samples, cap))
    return [
        look(rule.rule, getattr(rule, "value", None), tally, looks_planned=planned,
             looks_taken=1, cap=cap, rule=rule.id)
        for rule in _rules(template)
    ]


def decide_gates(
    analysis: Analysis, review: Any, template: Template, *, cap: int = DEFAULT_CAP,
    batch: int = BATCH, rare: bool = True,
) -> Analysis:
    """``analysis`` with every analysis gate decided: looks taken until each one is
    decided or the cap is reached (see the module's docstring). ``rare=False`` keeps
    small gates on plain samples too (the benchmark's comparison)."""
    looks_at = schedule(analysis.samples, cap)
    rules = _rules(template)
    tally = summary_tally(analysis.variants[analysis.chosen], analysis.samples)
    decided = {g.rule: g for g in first_looks(template, analysis.variants[analysis.chosen],
                                              analysis.samples, cap)}
    for r in rules:
        gate = decided[r.id]
        if rare and gate.status == "undecided" and eligible(r.rule, getattr(r, "value", None)):
            decided[r.id] = _rare_gate(r, gate, review=review, template=template,
                                       analysis=analysis, looks_at=looks_at,
                                       batch=batch) or gate
    batches = _Batches(review, template, analysis, batch)
    for taken, target in enumerate(looks_at[1:], start=2):
        open_rules = [r for r in rules if decided[r.id].status == "undecided"
                      and decided[r.id].method is None]
        if not open_rules:
            break
        tally = tally + batches.draw(target - tally.samples)
        for r in open_rules:
            decided[r.id] = look(r.rule, getattr(r, "value", None), tally,
                                 looks_planned=len(looks_at), looks_taken=taken, cap=cap,
                                 rule=r.id)
    gates = [decided.get(g.rule, g) for g in analysis.gates]
    return analysis.model_copy(update={"gates": gates})


def _rare_gate(rule: Any, first: Gate, *, review: Any, template: Template,
               analysis: Analysis, looks_at: list[int], batch: int) -> Gate | None:
    """The gate decided by importance sampling (:mod:`.rare`): looks 2, 3, ... of the
    same plan at the same level, look k on looks_at[k-1] - N tilted samples (fresh ones
    added batch by batch); None when the pilot never reaches the event or shows no
    gain (plain looks then)."""
    kind = rule.rule
    if len(looks_at) < 2:
        return None
    model = Model(review, template, pool=analysis.pool, variant=analysis.chosen)
    if kind == "max-p-catastrophe" and model.catastrophe is None:
        return None
    fitted = cross_entropy(model, kind, analysis.seed)
    if fitted is None or fitted[2] < MIN_GAIN:
        return None
    theta, pilot, _ = fitted
    limit = _limit(kind, getattr(rule, "value", None))
    confidence = level(len(looks_at))
    z = _z(confidence)
    sums = Weighted()
    number = 0
    gate = first
    for taken, target in enumerate(looks_at[1:], start=2):
        while sums.samples < target - looks_at[0]:
            number += 1
            size = min(batch, target - looks_at[0] - sums.samples)
            sums = sums + weighted(model.run(entropy_of(analysis.seed, kind, 1, number),
                                             size, theta, kind))
        estimate, low, high = sums.interval(z)
        status = _verdict(kind, limit, low, high)
        effective = sums.effective if sums.trusted else math.inf  # inf: not said
        gate = first.model_copy(update={
            "passes": status == "pass", "status": status, "estimate": estimate, "low": low,
            "high": high, "samples": looks_at[0] + pilot + sums.samples, "looks": taken,
            "method": "importance sampling", "tilted": sums.samples,
            "effective": None if math.isinf(effective) else effective,
        })
        if status != "undecided":
            break
    return gate


@dataclass
class _Batches:
    """Fresh samples of the chosen variant from the sequential streams, batch by batch."""

    review: Any
    template: Template
    analysis: Analysis
    size: int
    drawn: int = 0

    def draw(self, count: int) -> Tally:
        total = Tally(0, 0, 0, 0.0, 0.0, 0)
        while count > 0:
            size = min(self.size, count)
            self.drawn += 1
            root = np.random.SeedSequence(self.analysis.seed,
                                          spawn_key=(_SEQUENTIAL_STREAM, self.drawn))
            simulation = simulate(
                self.review, self.template, samples=max(2, size),
                rng=np.random.default_rng(root), pool=self.analysis.pool, sensitivity=False,
            )
            index = simulation.variant_sets[self.analysis.chosen]
            catastrophic = simulation.catastrophic
            part = tally_of(simulation.net[index][:size],
                            simulation.extreme_bad, simulation.extreme_good,
                            None if catastrophic is None else catastrophic[index][:size])
            total = total + part
            count -= size
        return total


