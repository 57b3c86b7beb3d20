"""What the simulation says: metrics per variant, comparisons, sensitivity, disagreement.

``analyze(review, template, seed=...)`` is a pure function of its inputs and returns
an :class:`Analysis`: plain data (pydantic) that ``to_json()`` turns into the
``report --json`` contract and ``Analysis.from_json`` reads back, so a record can
store it and re-render every chart without the samples.

Choices the design left open, and what we chose:

* **Preferred variant**: the highest mean net value (ties: the first in the review's
  order). The **chosen** variant is the decision's variant when there is one, else the
  preferred one; probability gates and the tornado are read for the chosen variant.
* **Sensitivity**: each item's pooled likelihood, then its pooled impact, is replaced by
  the 5th and then the 95th percentile of its pooled distribution, on the same draws.
  A swing *flips the preferred variant* when another variant then has the highest mean,
  and *flips a gate* when a probability rule of the template (``max-p-extreme-bad``,
  ``min-p-extreme-good``, ``positive-expected-value``) changes between pass and fail
  for the chosen variant (point estimates; the policy module weighs standard errors).
* **Disagreement**: per item, how far apart the participants' expected contributions
  (mean likelihood x mean impact) are, in orders of magnitude (log10 of the largest
  over the smallest; likelihoods floored at 1e-6 so a 0 stays finite). The spread
  (standard deviation) of the median log-odds and of the median log impact are
  reported beside it.
* **Standard errors**: of a mean, sd / sqrt(n); of a probability, sqrt(p(1-p)/n); of a
  difference, from the paired samples; of a percentile, half the distance between the
  order statistics one binomial standard deviation either side of its rank.
"""

from __future__ import annotations

import functools
import math
import statistics
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from ..review.policy import analysis_rule_holds
from ..review.templates import ANALYSIS_RULES, Template
from .estimates import (
    ItemModel,
    Pool,
    expit,
    item_models,
    logit,
    lognormal_mean,
    lognormal_parameters,
)
from .simulate import BASELINE, DrawCache, ProgressCallback, Simulation, simulate

QUANTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
HISTOGRAM_BINS = 60


class _Data(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, frozen=True, extra="ignore")


class Histogram(_Data):
    """Net value binned on edges shared by every variant; fractions of the samples."""

    edges: list[float]
    fractions: list[float]
    below: float
    above: float


class VariantSummary(_Data):
    id: str
    title: str
    mitigations: list[str]
    mean: float
    mean_se: float
    sd: float
    p5: float
    p5_se: float
    p50: float
    p50_se: float
    p95: float
    p95_se: float
    p_extreme_bad: float
    p_extreme_bad_se: float
    p_extreme_good: float
    p_extreme_good_se: float
    quantiles: dict[str, float]
    histogram: Histogram


class Difference(_Data):
    """``other`` minus ``base`` on the same draws (positive: ``other`` is better)."""

    base: str
    other: str
    mean: float
    mean_se: float
    p5: float
    p50: float
    p95: float
    p_better: float
    p_better_se: float
    p_worse: float
    p_worse_se: float
    p_extreme_bad_change: float
    p_extreme_bad_change_se: float
    p_extreme_good_change: float
    p_extreme_good_change_se: float


class MitigationEffect(_Data):
    """What one mitigation buys on its own: baseline plus it, against the baseline."""

    mitigation: str
    title: str
    targets: list[str]
    variants: list[str]
    difference: Difference


class ItemEffect(_Data):
    p_happens: float
    mean_impact_if_happens: float | None
    mean_contribution: float
    p_happened_given_extreme_bad: float | None
    mean_contribution_given_extreme_bad: float | None


class ItemSummary(_Data):
    """One estimated item's part in each variant (``baseline``: no mitigations)."""

    item: str
    title: str
    kind: Literal["benefit", "harm"]
    participants: int
    baseline: ItemEffect
    variants: dict[str, ItemEffect]


class SwingEffect(_Data):
    mean_low: float
    mean_high: float
    p_extreme_bad_low: float
    p_extreme_bad_high: float
    p_extreme_good_low: float
    p_extreme_good_high: float


class Sensitivity(_Data):
    item: str
    title: str
    quantity: Literal["likelihood", "impact"]
    low: float
    high: float
    variant: str
    mean_low: float
    mean_high: float
    mean_swing: float
    p_extreme_bad_low: float
    p_extreme_bad_high: float
    p_extreme_bad_swing: float
    rank_mean: int
    rank_p_extreme_bad: int
    preferred_low: str
    preferred_high: str
    flips_preferred: bool
    flips_gates: list[str]
    variants: dict[str, SwingEffect]


class ParticipantEstimate(_Data):
    participant: str
    likelihood: tuple[float, float]
    impact: tuple[float, float]
    likelihood_median: float
    impact_median: float
    expected_value: float


class Disagreement(_Data):
    item: str
    title: str
    kind: Literal["benefit", "harm"]
    rank: int
    orders_of_magnitude: float
    likelihood_spread: float
    impact_spread: float
    participants: list[ParticipantEstimate]


class Gate(_Data):
    rule: str
    kind: str
    value: float | None
    passes: bool


class Analysis(_Data):
    """Everything ``report`` prints and the charts draw, for one review, seed and size."""

    samples: int
    seed: int
    pool: Pool
    extreme_bad: float
    extreme_good: float
    preferred: str
    chosen: str
    variants: dict[str, VariantSummary]
    comparisons: list[Difference]
    mitigation_effects: list[MitigationEffect]
    items: list[ItemSummary]
    sensitivity: list[Sensitivity]
    disagreement: list[Disagreement]
    unestimated: list[str]
    gates: list[Gate]
    notes: list[str] = []

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data: the ``report --json`` contract, plus the rest of the analysis."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Analysis:
        return cls.model_validate(data)


# --------------------------------------------------------------------------- metrics

Samples = npt.NDArray[np.float32] | npt.NDArray[np.float64]


def _probability(hits: int, samples: int) -> tuple[float, float]:
    p = hits / samples
    return p, math.sqrt(p * (1 - p) / samples)


def _percentile(ordered: Samples, quantile: float) -> tuple[float, float]:
    count = len(ordered)
    position = quantile * (count - 1)
    low, high = math.floor(position), math.ceil(position)
    value = float(ordered[low]) + (float(ordered[high]) - float(ordered[low])) * (position - low)
    spread = math.sqrt(count * quantile * (1 - quantile))
    below = max(0, math.floor(position - spread))
    above = min(count - 1, math.ceil(position + spread))
    return value, (float(ordered[above]) - float(ordered[below])) / 2


def _histogram(ordered: Samples, edges: npt.NDArray[np.float64]) -> Histogram:
    count = len(ordered)
    positions = np.searchsorted(ordered, edges, side="left")
    counts = np.diff(positions)
    return Histogram(
        edges=[float(e) for e in edges],
        fractions=[float(c) / count for c in counts],
        below=float(positions[0]) / count,
        above=float(count - positions[-1]) / count,
    )


def _edges(
    ordered: list[Samples], extreme_bad: float, extreme_good: float
) -> npt.NDArray[np.float64]:
    low = min(float(o[int(0.005 * (len(o) - 1))]) for o in ordered)
    high = max(float(o[int(0.995 * (len(o) - 1))]) for o in ordered)
    low, high = min(low, extreme_bad), max(high, extreme_good)
    if high <= low:
        high = low + 1
    return np.linspace(low, high, HISTOGRAM_BINS + 1)


def _summary(
    variant: Any, ordered: Samples, edges: npt.NDArray[np.float64], bad: float, good: float
) -> VariantSummary:
    samples = len(ordered)
    mean = float(ordered.mean(dtype=np.float64))
    sd = float(ordered.std(dtype=np.float64, ddof=1))
    p5, p5_se = _percentile(ordered, 0.05)
    p50, p50_se = _percentile(ordered, 0.50)
    p95, p95_se = _percentile(ordered, 0.95)
    bad_count = int(np.searchsorted(ordered, np.float32(bad), side="right"))
    good_count = samples - int(np.searchsorted(ordered, np.float32(good), side="left"))
    p_bad, p_bad_se = _probability(bad_count, samples)
    p_good, p_good_se = _probability(good_count, samples)
    return VariantSummary(
        id=variant[0], title=variant[1], mitigations=variant[2],
        mean=mean, mean_se=sd / math.sqrt(samples), sd=sd,
        p5=p5, p5_se=p5_se, p50=p50, p50_se=p50_se, p95=p95, p95_se=p95_se,
        p_extreme_bad=p_bad, p_extreme_bad_se=p_bad_se,
        p_extreme_good=p_good, p_extreme_good_se=p_good_se,
        quantiles={str(q): _percentile(ordered, q / 100)[0] for q in QUANTILES},
        histogram=_histogram(ordered, edges),
    )


def _paired(
    values: npt.NDArray[np.float64] | npt.NDArray[np.int8], samples: int
) -> tuple[float, float]:
    mean = float(values.mean(dtype=np.float64))
    sd = float(values.std(dtype=np.float64, ddof=1)) if samples > 1 else 0.0
    return mean, sd / math.sqrt(samples)


def difference(
    base_name: str, other_name: str, base: Samples, other: Samples, *, bad: float, good: float
) -> Difference:
    """The distribution of ``other - base`` on the same draws, and the tails' change."""
    samples = len(base)
    delta = other.astype(np.float64) - base
    mean, mean_se = _paired(delta, samples)
    p_better, p_better_se = _probability(int(np.count_nonzero(delta > 0)), samples)
    p_worse, p_worse_se = _probability(int(np.count_nonzero(delta < 0)), samples)
    bad_change = (other <= np.float32(bad)).view(np.int8) - (base <= np.float32(bad)).view(np.int8)
    good_change = (
        (other >= np.float32(good)).view(np.int8) - (base >= np.float32(good)).view(np.int8)
    )
    bad_mean, bad_se = _paired(bad_change, samples)
    good_mean, good_se = _paired(good_change, samples)
    # the same interpolation as _percentile, by partial sorts rather than a full one
    percentiles = np.quantile(delta, [0.05, 0.5, 0.95])
    return Difference(
        base=base_name, other=other_name, mean=mean, mean_se=mean_se,
        p5=float(percentiles[0]), p50=float(percentiles[1]), p95=float(percentiles[2]),
        p_better=p_better, p_better_se=p_better_se, p_worse=p_worse, p_worse_se=p_worse_se,
        p_extreme_bad_change=bad_mean, p_extreme_bad_change_se=bad_se,
        p_extreme_good_change=good_mean, p_extreme_good_change_se=good_se,
    )


def _item_effect(simulation: Simulation, item: str, set_index: int, sign: float,
                 bad_count: int) -> ItemEffect:
    key = simulation.item_keys[item][set_index]
    tally = simulation.tallies[item][key]
    samples = simulation.samples
    happened_bad = tally.happened_bad.get(set_index, 0)
    contribution_bad = tally.contribution_bad.get(set_index, 0.0)
    return ItemEffect(
        p_happens=tally.happened / samples,
        mean_impact_if_happens=tally.contribution / tally.happened if tally.happened else None,
        mean_contribution=sign * tally.contribution / samples,
        p_happened_given_extreme_bad=happened_bad / bad_count if bad_count else None,
        mean_contribution_given_extreme_bad=(
            sign * contribution_bad / bad_count if bad_count else None
        ),
    )


def _gates(template: Template) -> list[tuple[str, str, float | None]]:
    return [
        (rule.id, rule.rule, getattr(rule, "value", None))
        for rule in template.policy
        if rule.rule in ANALYSIS_RULES
    ]


def _passes(kind: str, value: float | None, mean: float, p_bad: float, p_good: float) -> bool:
    summary = SimpleNamespace(mean=mean, p_extreme_bad=p_bad, p_extreme_good=p_good)
    return analysis_rule_holds(kind, value, summary)


def _preferred(means: dict[str, float]) -> str:
    best = max(means.values())
    return next(name for name, mean in means.items() if mean == best)


# --------------------------------------------------------------------------- disagreement


def disagreement(review: Any, template: Template) -> list[Disagreement]:
    """Items ranked by how far apart participants' expected contributions are."""
    titles = {item.id: item.title for item in review.items}
    entries = [_spread(model) for model in item_models(review, template, pool="linear")]
    entries.sort(key=lambda e: (-e[0], -(e[1] + e[2]), e[3].id))
    return [
        Disagreement(
            item=model.id, title=titles[model.id], kind=model.kind, rank=rank,
            orders_of_magnitude=orders, likelihood_spread=spread_likelihood,
            impact_spread=spread_impact, participants=list(participants),
        )
        for rank, (orders, spread_likelihood, spread_impact, model, participants)
        in enumerate(entries, start=1)
    ]


@functools.lru_cache(maxsize=8192)  # items are immutable: an edit makes a new one
def _spread(
    model: ItemModel,
) -> tuple[float, float, float, ItemModel, tuple[ParticipantEstimate, ...]]:
    participants = []
    log_odds, log_impacts, log_values = [], [], []
    floor = logit(1e-6)
    for c in model.components:
        expected = c.likelihood_mean * c.impact_mean
        participants.append(ParticipantEstimate(
            participant=c.participant, likelihood=c.likelihood, impact=c.impact,
            likelihood_median=_median_probability(c.likelihood_mu),
            impact_median=math.exp(c.impact_mu), expected_value=expected,
        ))
        log_odds.append(min(max(c.likelihood_mu, floor), -floor))
        log_impacts.append(c.impact_mu)
        log_values.append(math.log10(max(c.likelihood_mean, 1e-6) * c.impact_mean))
    return (
        max(log_values) - min(log_values), statistics.pstdev(log_odds),
        statistics.pstdev(log_impacts), model, tuple(participants),
    )


def _median_probability(mu: float) -> float:
    return expit(mu)  # handles ±inf and logits far beyond exp's range


# --------------------------------------------------------------------------- analyze


def analyze(
    review: Any,
    template: Template,
    *,
    samples: int = 20_000,
    seed: int = 0,
    pool: Pool = "linear",
    progress: ProgressCallback | None = None,
    sensitivity: bool = True,
    cache: DrawCache | None = None,
) -> Analysis:
    """Simulate ``review`` with ``seed`` and summarise it (a pure function of its inputs).

    ``sensitivity=False`` skips the swings. A ``cache`` (one per open review) keeps each
    item's draws, so recomputing after an edit redraws only the edited items; the
    numbers are the same with or without it.
    """
    simulation = simulate(
        review, template, samples=samples, rng=np.random.default_rng(seed), pool=pool,
        progress=progress, sensitivity=sensitivity, cache=cache,
    )
    return summarize(simulation, review, template, seed=seed)


def summarize(simulation: Simulation, review: Any, template: Template, *, seed: int) -> Analysis:
    """Turn a simulation's draws into the plain-data analysis."""
    bad, good = simulation.extreme_bad, simulation.extreme_good
    samples = simulation.samples
    mitigations = {m.id: m for m in review.mitigations}
    variant_info = {
        name: (name, simulation.variant_titles[name], sorted(simulation.sets[index]))
        for name, index in simulation.variant_sets.items()
    }
    ordered_sets = {index: np.sort(simulation.net[index]) for index in
                    {*simulation.variant_sets.values(), 0}}
    edges = _edges([ordered_sets[i] for i in simulation.variant_sets.values()], bad, good)
    variants = {
        name: _summary(variant_info[name], ordered_sets[index], edges, bad, good)
        for name, index in simulation.variant_sets.items()
    }
    names = list(simulation.variants)
    comparisons = [
        difference(a, b, simulation.net_of(a), simulation.net_of(b), bad=bad, good=good)
        for position, a in enumerate(names) for b in names[position + 1:]
    ]
    effects = [
        MitigationEffect(
            mitigation=m_id, title=mitigations[m_id].title,
            targets=list(mitigations[m_id].targets),
            variants=[n for n in names if m_id in variant_info[n][2]],
            difference=difference(
                BASELINE, f"{BASELINE}+{m_id}", simulation.net[0], simulation.net[index],
                bad=bad, good=good,
            ),
        )
        for m_id, index in simulation.mitigation_sets.items()
    ]

    bad_counts = {
        index: int(np.searchsorted(ordered, np.float32(bad), side="right"))
        for index, ordered in ordered_sets.items()
    }
    titles = {item.id: item.title for item in review.items}
    items = [
        ItemSummary(
            item=model.id, title=titles[model.id], kind=model.kind,
            participants=len({c.participant for c in model.components})
            if simulation.pool == "linear"
            else len({e.participant for e in review.latest_estimates() if e.item == model.id}),
            baseline=_item_effect(simulation, model.id, 0, model.sign, bad_counts[0]),
            variants={
                name: _item_effect(simulation, model.id, index, model.sign, bad_counts[index])
                for name, index in simulation.variant_sets.items()
            },
        )
        for model in simulation.items
    ]

    means = {name: variants[name].mean for name in names}
    preferred = _preferred(means)
    decided = review.decision.variant if review.decision is not None else None
    chosen = decided if decided in variants else preferred
    gate_rules = _gates(template)
    chosen_summary = variants[chosen]
    gates = [
        Gate(rule=rule_id, kind=kind, value=value, passes=_passes(
            kind, value, chosen_summary.mean, chosen_summary.p_extreme_bad,
            chosen_summary.p_extreme_good,
        ))
        for rule_id, kind, value in gate_rules
    ]
    return Analysis(
        samples=samples, seed=seed, pool=simulation.pool, extreme_bad=bad, extreme_good=good,
        preferred=preferred, chosen=chosen, variants=variants, comparisons=comparisons,
        mitigation_effects=effects, items=items,
        sensitivity=_sensitivity(simulation, variants, titles, chosen, gates),
        disagreement=disagreement(review, template),
        unestimated=list(simulation.unestimated), gates=gates, notes=_notes(review),
    )


def _notes(review: Any) -> list[str]:
    """Readings of the estimates a reviewer may not expect, said out loud."""
    notes = []
    for mitigation in review.mitigations:
        for name in ("likelihood_factor", "impact_factor"):
            value = getattr(mitigation, name)
            if not isinstance(value, tuple) or value[0] == value[1] or value[1] > 1:
                continue
            mean = lognormal_mean(*lognormal_parameters(float(value[0]), float(value[1])))
            if mean >= 1:
                notes.append(
                    f"mitigation {mitigation.id!r}: {name} [{value[0]}, {value[1]}] is so wide "
                    f"that its lognormal mean is {mean:.3g}, above 1, so it raises the expected "
                    "value it multiplies; give a narrower interval or a point"
                )
    return notes


def _sensitivity(
    simulation: Simulation,
    variants: dict[str, VariantSummary],
    titles: dict[str, str],
    chosen: str,
    gates: list[Gate],
) -> list[Sensitivity]:
    samples = simulation.samples
    by_item: dict[tuple[str, str], dict[str, Any]] = {}
    for swing in simulation.swings:
        entry = by_item.setdefault((swing.item, swing.quantity), {})
        effects = entry.setdefault("effects", {})
        entry[swing.end] = swing.value
        for name, index in simulation.variant_sets.items():
            effects.setdefault(name, {})[swing.end] = (
                variants[name].mean + swing.mean_shift[index] / samples,
                swing.extreme_bad[index] / samples,
                swing.extreme_good[index] / samples,
            )
    entries = []
    for (item, quantity), entry in by_item.items():
        effects = entry["effects"]
        per_variant = {
            name: SwingEffect(
                mean_low=e["low"][0], mean_high=e["high"][0],
                p_extreme_bad_low=e["low"][1], p_extreme_bad_high=e["high"][1],
                p_extreme_good_low=e["low"][2], p_extreme_good_high=e["high"][2],
            )
            for name, e in effects.items()
        }
        preferred = {
            end: _preferred({name: e[end][0] for name, e in effects.items()})
            for end in ("low", "high")
        }
        base_preferred = _preferred({name: v.mean for name, v in variants.items()})
        flips = []
        for gate in gates:
            for end in ("low", "high"):
                mean, p_bad, p_good = effects[chosen][end]
                if _passes(gate.kind, gate.value, mean, p_bad, p_good) != gate.passes:
                    flips.append(gate.rule)
                    break
        chosen_effect = per_variant[chosen]
        entries.append({
            "item": item, "title": titles[item], "quantity": quantity,
            "low": entry["low"], "high": entry["high"], "variant": chosen,
            "mean_low": chosen_effect.mean_low, "mean_high": chosen_effect.mean_high,
            "mean_swing": abs(chosen_effect.mean_high - chosen_effect.mean_low),
            "p_extreme_bad_low": chosen_effect.p_extreme_bad_low,
            "p_extreme_bad_high": chosen_effect.p_extreme_bad_high,
            "p_extreme_bad_swing": abs(
                chosen_effect.p_extreme_bad_high - chosen_effect.p_extreme_bad_low
            ),
            "preferred_low": preferred["low"], "preferred_high": preferred["high"],
            "flips_preferred": {preferred["low"], preferred["high"]} != {base_preferred},
            "flips_gates": flips, "variants": per_variant,
        })
    by_bad = sorted(entries, key=lambda e: (-e["p_extreme_bad_swing"], e["item"], e["quantity"]))
    for rank, entry in enumerate(by_bad, start=1):
        entry["rank_p_extreme_bad"] = rank
    entries.sort(key=lambda e: (-e["mean_swing"], e["item"], e["quantity"]))
    return [
        Sensitivity(rank_mean=rank, **entry) for rank, entry in enumerate(entries, start=1)
    ]
