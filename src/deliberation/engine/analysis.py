"""What the simulation says: metrics per variant, comparisons, sensitivity, disagreement.

``analyze(review, template, seed=...)`` is a pure function of its inputs and returns
an :class:`Analysis`: plain data (pydantic) that ``to_json()`` turns into the
``report --json`` contract and ``Analysis.from_json`` reads back, so a record can
store it and re-render every chart without the samples.

Choices the design left open, and what we chose:

* **Preferred variant**: the highest mean net value (ties: the first in the review's
  order). The **chosen** variant is the decision's variant when there is one, else the
  preferred one; probability gates and the tornado are read for the chosen variant.
* **Sensitivity** (:mod:`.swings`, :mod:`.sensitivity`): each item's pooled likelihood,
  then its pooled impact, is replaced by the 5th and then the 95th percentile of its
  pooled distribution, and each interval mitigation factor by the ends of its interval,
  on the same draws. A swing *flips the preferred variant* when the preferred variant's
  lead over another, as the mean of the per-sample difference under the swing, is
  negative by more than 1.96 standard errors ("may flip": negative by less); it *flips
  a gate* (``max-p-extreme-bad``, ``min-p-extreme-good``, ``positive-expected-value``)
  of the chosen variant when the swung estimate's 95% interval lies wholly across the
  limit ("may flip": only the estimate does).
* **Disagreement**: per item, how far apart the participants' expected contributions
  (mean likelihood x mean impact) are, in orders of magnitude (log10 of the largest
  over the smallest; likelihoods floored at 1e-6 so a 0 stays finite). The spread
  (standard deviation) of the median log-odds and of the median log impact are
  reported beside it.
* **Standard errors**: of a mean, sd / sqrt(n); of a probability, sqrt(p(1-p)/n), and
  every probability (tails, P(better), P(worse), P(happens), P(happened | extremely
  bad)) also carries its 95% Wilson interval as ``_low``/``_high``, right at zero
  counts; of a difference, from the paired samples; of a percentile (of a variant or
  of a comparison), half the distance between the order statistics one binomial
  standard deviation either side of its rank.
* **Tail-dominated means**: when more than ``MEAN_TAIL_SHARE_LIMIT`` of a variant's
  variance comes from its top 0.1% of samples, its ``mean_reliable`` is false and the
  views say the ± is unreliable and point to the median.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ..review.policy import analysis_rule_holds
from ..review.template import ANALYSIS_RULES, Template
from .choice import chosen_variant, preferred_variant, reference_variant
from .draws import DrawCache
from .estimates import (
    Pool,
    certainties,
    lognormal_mean,
    lognormal_parameters,
)
from .intervals import wilson
from .results import (
    Analysis,
    Difference,
    Gate,
    Histogram,
    ItemEffect,
    ItemSummary,
    MitigationEffect,
    VariantSummary,
)
from .sensitivity import _sensitivity, disagreement
from .sequential import DEFAULT_CAP, decide_gates, first_looks
from .simulate import BASELINE, ProgressCallback, Simulation, simulate
from .voi import value_of_information

QUANTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
HISTOGRAM_BINS = 60
# A mean whose variance comes more than this share from its top 0.1% of samples is
# "tail-dominated": its standard error, from that same handful of samples, is then
# itself a guess. Measured on 200 seeds of 20,000 samples: a normal puts 1.3% of its
# variance there, an exponential 5%, a lognormal with sigma 1 19% (its SE is right to
# within 10%); sigma 2 puts 71% there and its SE is 1.3 times too small, sigma 2.8 (an
# impact spanning four decades) 93% and 2.6 times too small.
MEAN_TAIL_SHARE_LIMIT = 0.6
TAIL_SHARE_FRACTION = 0.001


# --------------------------------------------------------------------------- metrics

Samples = npt.NDArray[np.float32] | npt.NDArray[np.float64]


def _probability(hits: int, samples: int) -> tuple[float, float]:
    p = hits / samples
    return p, math.sqrt(p * (1 - p) / samples)


def _percentile_ranks(count: int, quantile: float) -> tuple[int, int, float, int, int]:
    """The ranks a percentile interpolates between, its fraction, and the ranks one
    binomial standard deviation either side (for its standard error)."""
    position = quantile * (count - 1)
    low, high = math.floor(position), math.ceil(position)
    spread = math.sqrt(count * quantile * (1 - quantile))
    below = max(0, math.floor(position - spread))
    above = min(count - 1, math.ceil(position + spread))
    return low, high, position - low, below, above


def _percentile(ordered: Samples, quantile: float) -> tuple[float, float]:
    low, high, fraction, below, above = _percentile_ranks(len(ordered), quantile)
    value = float(ordered[low]) + (float(ordered[high]) - float(ordered[low])) * fraction
    return value, (float(ordered[above]) - float(ordered[below])) / 2


def _unsorted_percentiles(
    values: npt.NDArray[np.float64], quantiles: tuple[float, ...]
) -> list[tuple[float, float]]:
    """:func:`_percentile` of unsorted values, by one partial sort at the ranks needed."""
    ranks = [_percentile_ranks(len(values), q) for q in quantiles]
    kth = sorted({r for rank in ranks for r in (rank[0], rank[1], rank[3], rank[4])})
    part = np.partition(values, kth)
    results = []
    for low, high, fraction, below, above in ranks:
        value = float(part[low]) + (float(part[high]) - float(part[low])) * fraction
        results.append((value, (float(part[above]) - float(part[below])) / 2))
    return results


def tail_share(values: Samples, fraction: float = TAIL_SHARE_FRACTION) -> float:
    """The share of the squared deviations from the mean carried by the top ``fraction``
    of samples (0 when every sample is equal)."""
    deviations = np.square(values.astype(np.float64) - values.mean(dtype=np.float64))
    total = float(deviations.sum())
    if total <= 0:
        return 0.0
    count = max(1, int(len(values) * fraction))
    top = np.partition(deviations, len(deviations) - count)[len(deviations) - count:]
    return min(1.0, float(top.sum()) / total)


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
    variant: Any, ordered: Samples, edges: npt.NDArray[np.float64], bad: float, good: float,
    *, catastrophes: int | None = None,
) -> VariantSummary:
    """One variant's metrics; ``catastrophes`` counts its samples whose harms alone
    reached the catastrophe threshold (None: no threshold)."""
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
    bad_interval, good_interval = wilson(bad_count, samples), wilson(good_count, samples)
    share = tail_share(ordered)
    catastrophe: dict[str, float | None] = dict.fromkeys(
        ("p_catastrophe", "p_catastrophe_se", "p_catastrophe_low", "p_catastrophe_high"))
    if catastrophes is not None:
        p_catastrophe, p_catastrophe_se = _probability(catastrophes, samples)
        catastrophe_interval = wilson(catastrophes, samples)
        catastrophe = {
            "p_catastrophe": p_catastrophe, "p_catastrophe_se": p_catastrophe_se,
            "p_catastrophe_low": catastrophe_interval[0],
            "p_catastrophe_high": catastrophe_interval[1],
        }
    return VariantSummary(
        id=variant[0], title=variant[1], mitigations=variant[2],
        mean=mean, mean_se=sd / math.sqrt(samples), sd=sd,
        mean_tail_share=share, mean_reliable=share <= MEAN_TAIL_SHARE_LIMIT,
        p5=p5, p5_se=p5_se, p50=p50, p50_se=p50_se, p95=p95, p95_se=p95_se,
        p_extreme_bad=p_bad, p_extreme_bad_se=p_bad_se,
        p_extreme_bad_low=bad_interval[0], p_extreme_bad_high=bad_interval[1],
        p_extreme_good=p_good, p_extreme_good_se=p_good_se,
        p_extreme_good_low=good_interval[0], p_extreme_good_high=good_interval[1],
        **catastrophe,
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
    base_name: str, other_name: str, base: Samples, other: Samples, *, bad: float, good: float,
    catastrophic: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]] | None = None,
) -> Difference:
    """The distribution of ``other - base`` on the same draws, and the tails' change
    (P(catastrophe)'s too, from ``catastrophic``: base's and other's masks)."""
    samples = len(base)
    delta = other.astype(np.float64) - base
    mean, mean_se = _paired(delta, samples)
    better, worse = int(np.count_nonzero(delta > 0)), int(np.count_nonzero(delta < 0))
    p_better, p_better_se = _probability(better, samples)
    p_worse, p_worse_se = _probability(worse, samples)
    better_interval, worse_interval = wilson(better, samples), wilson(worse, samples)
    bad_change = (other <= np.float32(bad)).view(np.int8) - (base <= np.float32(bad)).view(np.int8)
    good_change = (
        (other >= np.float32(good)).view(np.int8) - (base >= np.float32(good)).view(np.int8)
    )
    bad_mean, bad_se = _paired(bad_change, samples)
    good_mean, good_se = _paired(good_change, samples)
    catastrophe_mean: float | None = None
    catastrophe_se: float | None = None
    if catastrophic is not None:
        catastrophe_mean, catastrophe_se = _paired(
            catastrophic[1].view(np.int8) - catastrophic[0].view(np.int8), samples)
    # the same interpolation and standard error as _percentile, by one partial sort
    (p5, p5_se), (p50, p50_se), (p95, p95_se) = _unsorted_percentiles(delta, (0.05, 0.5, 0.95))
    return Difference(
        base=base_name, other=other_name, mean=mean, mean_se=mean_se,
        p5=p5, p50=p50, p95=p95, p5_se=p5_se, p50_se=p50_se, p95_se=p95_se,
        p_better=p_better, p_better_se=p_better_se,
        p_better_low=better_interval[0], p_better_high=better_interval[1],
        p_worse=p_worse, p_worse_se=p_worse_se,
        p_worse_low=worse_interval[0], p_worse_high=worse_interval[1],
        p_extreme_bad_change=bad_mean, p_extreme_bad_change_se=bad_se,
        p_extreme_good_change=good_mean, p_extreme_good_change_se=good_se,
        p_catastrophe_change=catastrophe_mean, p_catastrophe_change_se=catastrophe_se,
    )


def _masks(simulation: Simulation, base: int, other: int) -> Any:
    """Two sets' catastrophe masks, for a paired difference (None: no threshold)."""
    masks = simulation.catastrophic
    return None if masks is None else (masks[base], masks[other])


def _item_effect(simulation: Simulation, item: str, set_index: int, sign: float,
                 bad_count: int) -> ItemEffect:
    key = simulation.item_keys[item][set_index]
    tally = simulation.tallies[item][key]
    samples = simulation.samples
    happened_bad = tally.happened_bad.get(set_index, 0)
    contribution_bad = tally.contribution_bad.get(set_index, 0.0)
    happens_interval = wilson(tally.happened, samples)
    given_bad = wilson(happened_bad, bad_count) if bad_count else (None, None)
    return ItemEffect(
        p_happens=tally.happened / samples,
        p_happens_low=happens_interval[0], p_happens_high=happens_interval[1],
        p_happened_given_extreme_bad_low=given_bad[0],
        p_happened_given_extreme_bad_high=given_bad[1],
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
    gate_cap: int = DEFAULT_CAP,
) -> Analysis:
    """Simulate ``review`` with ``seed`` and summarise it (a pure function of its inputs).

    ``sensitivity=False`` skips the swings. A ``cache`` (one per open review) keeps each
    item's draws, so recomputing after an edit redraws only the edited items; the
    numbers are the same with or without it. A gate the analysis' samples leave
    undecided draws more, up to ``gate_cap`` samples (:mod:`.sequential`); the numbers
    reported stay those of ``samples``.
    """
    simulation = simulate(
        review, template, samples=samples, rng=np.random.default_rng(seed), pool=pool,
        progress=progress, sensitivity=sensitivity, cache=cache,
    )
    analysis = summarize(simulation, review, template, seed=seed, gate_cap=gate_cap)
    if any(gate.status == "undecided" for gate in analysis.gates):
        analysis = decide_gates(analysis, review, template, cap=gate_cap)
    return analysis


def summarize(simulation: Simulation, review: Any, template: Template, *, seed: int,
              gate_cap: int = DEFAULT_CAP) -> Analysis:
    """Turn a simulation's draws into the plain-data analysis (its gates at look 1)."""
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
    catastrophic = simulation.catastrophic
    variants = {
        name: _summary(
            variant_info[name], ordered_sets[index], edges, bad, good,
            catastrophes=None if catastrophic is None
            else int(np.count_nonzero(catastrophic[index])),
        )
        for name, index in simulation.variant_sets.items()
    }
    names = list(simulation.variants)
    comparisons = [
        difference(a, b, simulation.net_of(a), simulation.net_of(b), bad=bad, good=good,
                   catastrophic=_masks(simulation, simulation.variant_sets[a],
                                       simulation.variant_sets[b]))
        for position, a in enumerate(names) for b in names[position + 1:]
    ]
    effects = [
        MitigationEffect(
            mitigation=m_id, title=mitigations[m_id].title,
            targets=list(mitigations[m_id].targets),
            variants=[n for n in names if m_id in variant_info[n][2]],
            difference=difference(
                BASELINE, f"{BASELINE}+{m_id}", simulation.net[0], simulation.net[index],
                bad=bad, good=good, catastrophic=_masks(simulation, 0, index),
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
    preferred = preferred_variant(means)
    chosen, chosen_by = chosen_variant(review, means)
    gate_rules = _gates(template)
    chosen_summary = variants[chosen]
    # Sensitivity asks whether a swing moves the point estimate across a limit; the
    # gates themselves are decided with confidence (engine.sequential), look 1 here.
    point_gates = [
        Gate(rule=rule_id, kind=kind, value=value,
             passes=analysis_rule_holds(kind, value, chosen_summary))
        for rule_id, kind, value in gate_rules
    ]
    # The swings tally net value only, so they judge no gate on the harms alone.
    swung_gates = [gate for gate in point_gates if gate.kind != "max-p-catastrophe"]
    decided = {gate.rule: gate for gate in first_looks(template, chosen_summary, samples,
                                                       gate_cap)}
    gates = [decided.get(gate.rule, gate) for gate in point_gates]
    return Analysis(
        samples=samples, seed=seed, pool=simulation.pool, extreme_bad=bad, extreme_good=good,
        catastrophe=simulation.catastrophe,
        preferred=preferred, chosen=chosen, chosen_by=chosen_by,
        reference=reference_variant(review, names), variants=variants, comparisons=comparisons,
        mitigation_effects=effects, items=items,
        sensitivity=_sensitivity(simulation, variants, titles, chosen, swung_gates,
                                 mitigation_titles={m.id: m.title for m in review.mitigations}),
        disagreement=disagreement(review, template),
        unestimated=list(simulation.unestimated), gates=gates,
        notes=_notes(review) + _pool_notes(simulation),
        value_of_information=value_of_information(
            simulation.net, list(dict.fromkeys(simulation.variant_sets[n] for n in names)),
            simulation.voi, item_titles=titles,
            mitigation_titles={m.id: m.title for m in review.mitigations}),
    )


def _pool_notes(simulation: Simulation) -> list[str]:
    """Items the geometric pool left to the linear pool, and why."""
    if simulation.pool != "geometric":
        return []
    notes = []
    for model in simulation.items:
        stated = certainties(model.components) if len(model.components) > 1 else []
        if stated:
            who = ", ".join(f"{participant} ({value:g})" for participant, value in stated)
            notes.append(
                f"item {model.id!r}: pooled linearly, not by odds, because {who} states a "
                "likelihood of exactly 0 or 1, which odds cannot weigh (it would veto every "
                "other view)"
            )
    return notes


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


