"""Sensitivity and disagreement: which estimate moves the result, and where participants differ.
"""

from __future__ import annotations

import functools
import math
import statistics
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..numbers import Z95
from ..review.policy import analysis_rule_holds
from ..review.template import Template
from .choice import preferred_variant
from .estimates import (
    ItemModel,
    expit,
    item_models,
    logit,
)
from .intervals import wilson
from .results import (
    Disagreement,
    Flip,
    Gate,
    GateFlip,
    ParticipantEstimate,
    Sensitivity,
    SwingEffect,
    VariantSummary,
)
from .simulate import Simulation
from .swings import SwingTally
from .swung import swung_lead


def _passes(kind: str, value: float | None, mean: float, p_bad: float, p_good: float) -> bool:
    summary = SimpleNamespace(mean=mean, p_extreme_bad=p_bad, p_extreme_good=p_good)
    return analysis_rule_holds(kind, value, summary)


# --------------------------------------------------------------------------- disagreement


def disagreement(review: Any, template: Template) -> list[Disagreement]:
    """Items ranked by how far apart participants' expected contributions are.

    It names participants, so it reads only revealed rounds: during a blind round it
    shows each participant's latest revealed estimate, never the hidden one.
    """
    titles = {item.id: item.title for item in review.items}
    shown = review.shown_estimates()
    if len(shown) != len(review.estimates):
        review = review.model_copy(update={"estimates": shown})
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


_TINY = 5e-324  # the least positive float: an impact's mean that underflowed to 0


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
        # a sum of logs: the product of a tiny likelihood and a subnormal impact is 0
        log_values.append(math.log10(max(c.likelihood_mean, 1e-6))
                          + math.log10(max(c.impact_mean, _TINY)))
    return (
        max(log_values) - min(log_values), statistics.pstdev(log_odds),
        statistics.pstdev(log_impacts), model, tuple(participants),
    )


def _median_probability(mu: float) -> float:
    return expit(mu)  # handles ±inf and logits far beyond exp's range


def _sensitivity(
    simulation: Simulation,
    variants: dict[str, VariantSummary],
    titles: dict[str, str],
    chosen: str,
    gates: list[Gate],
    *,
    mitigation_titles: dict[str, str] | None = None,
) -> list[Sensitivity]:
    """Every swing's effect on each variant, and whether it flips the preferred variant
    or a gate of the chosen one (judged on the same draws, with standard errors)."""
    samples = simulation.samples
    sets = simulation.variant_sets
    means = {sets[name]: summary.mean for name, summary in variants.items()}
    base_preferred = preferred_variant({name: v.mean for name, v in variants.items()})
    leader = sets[base_preferred]
    # variants with the preferred one's mitigations tie with it on every draw
    rivals = [name for name in variants if sets[name] != leader]
    net = simulation.net
    pair_variance = {name: _variance(net[leader], net[sets[name]]) for name in rivals}
    chosen_variance = _variance(net[sets[chosen]], None)
    mitigation_titles = mitigation_titles or {}
    by_swing: dict[tuple[str, str, str], dict[str, Any]] = {}
    for swing in simulation.swings:
        by_swing.setdefault((swing.subject, swing.item, swing.quantity), {})[swing.end] = swing
    entries = []
    for (subject, item, quantity), ends in by_swing.items():
        position = {index: row for row, index in enumerate(ends["low"].sets)}
        counts = {end: (ends[end].shift.tolist(), ends[end].bad.tolist(),
                        ends[end].good.tolist()) for end in ("low", "high")}
        effects = {
            name: {
                end: (
                    variants[name].mean + shift[position[index]] / samples,
                    bad[position[index]] / samples,
                    good[position[index]] / samples,
                )
                for end, (shift, bad, good) in counts.items()
            }
            for name, index in sets.items()
        }
        per_variant = {
            name: SwingEffect(
                mean_low=e["low"][0], mean_high=e["high"][0],
                p_extreme_bad_low=e["low"][1], p_extreme_bad_high=e["high"][1],
                p_extreme_good_low=e["low"][2], p_extreme_good_high=e["high"][2],
            )
            for name, e in effects.items()
        }
        preferred = {
            end: preferred_variant({name: e[end][0] for name, e in effects.items()})
            for end in ("low", "high")
        }
        leads: dict[str, Any] = {}
        flags: list[Flip | None] = []
        for end in ("low", "high"):
            rival, lead, lead_se = _closest_rival(
                ends[end], leader, rivals, sets, means=means, variances=pair_variance,
                samples=samples,
            )
            leads |= {f"rival_{end}": rival, f"lead_{end}": lead, f"lead_{end}_se": lead_se}
            flags.append(_lead_flag(lead, lead_se))
        preferred_flip = _strongest(flags)
        gate_flips = {}
        for gate in gates:
            flipped = _gate_flip(gate, ends, sets[chosen], means=means,
                                 variance=chosen_variance, samples=samples)
            if flipped is not None:
                gate_flips[gate.rule] = flipped
        chosen_effect = per_variant[chosen]
        title = titles[item] if subject == "item" else mitigation_titles.get(item, item)
        entries.append({
            "item": item, "title": title, "subject": subject, "quantity": quantity,
            "low": ends["low"].value, "high": ends["high"].value, "variant": chosen,
            "mean_low": chosen_effect.mean_low, "mean_high": chosen_effect.mean_high,
            "mean_swing": abs(chosen_effect.mean_high - chosen_effect.mean_low),
            "p_extreme_bad_low": chosen_effect.p_extreme_bad_low,
            "p_extreme_bad_high": chosen_effect.p_extreme_bad_high,
            "p_extreme_bad_swing": abs(
                chosen_effect.p_extreme_bad_high - chosen_effect.p_extreme_bad_low
            ),
            "preferred_low": preferred["low"], "preferred_high": preferred["high"],
            **leads, "preferred_flip": preferred_flip,
            "flips_preferred": preferred_flip == "flips",
            "gate_flips": gate_flips,
            "flips_gates": [rule for rule, flip in gate_flips.items() if flip.flag == "flips"],
            "variants": per_variant,
        })
    by_bad = sorted(entries, key=lambda e: (-e["p_extreme_bad_swing"], e["item"], e["quantity"]))
    for rank, entry in enumerate(by_bad, start=1):
        entry["rank_p_extreme_bad"] = rank
    entries.sort(key=lambda e: (-e["mean_swing"], e["item"], e["quantity"]))
    return [
        Sensitivity(rank_mean=rank, **entry) for rank, entry in enumerate(entries, start=1)
    ]


# ------------------------------------------------------------------------- flips


def _variance(first: Any, second: Any) -> float:
    """Population variance of first - second per sample (of first alone: second None)."""
    values = first.astype(np.float64)
    if second is not None:
        values -= second
    return float(values.var())


def _z(lead: float, standard_error: float) -> float:
    if standard_error > 0:
        return lead / standard_error
    return 0.0 if lead == 0 else math.copysign(math.inf, lead)


def _lead_flag(lead: float | None, standard_error: float | None) -> Flip | None:
    """"flips" when the lead is negative by more than Z95 standard errors, "may flip"
    when it is negative by less (noise could have put it there), else None."""
    if lead is None or standard_error is None or lead >= 0:
        return None
    return "flips" if _z(lead, standard_error) < -Z95 else "may flip"


def _strongest(flags: list[Flip | None]) -> Flip | None:
    for flag in ("flips", "may flip"):
        if flag in flags:
            return flag
    return None


def _closest_rival(
    tally: SwingTally, leader: int, rivals: list[str], sets: dict[str, int], *,
    means: dict[int, float], variances: dict[str, float], samples: int,
) -> tuple[str | None, float | None, float | None]:
    """The rival that comes closest to overtaking the leader under the swing (lowest
    lead in standard errors), the leader's lead over it and the lead's standard error."""
    best: tuple[float, str, float, float] | None = None
    for name in rivals:
        lead, standard_error = swung_lead(tally, leader, sets[name], means=means,
                                          variance=variances[name], samples=samples)
        if not (math.isfinite(lead) and math.isfinite(standard_error)):
            continue  # sums beyond float range (impacts near its limits): no verdict
        z = _z(lead, standard_error)
        if best is None or z < best[0]:
            best = (z, name, lead, standard_error)
    if best is None:
        return None, None, None
    return best[1], best[2], best[3]


def _gate_flip(
    gate: Gate, ends: dict[str, SwingTally], chosen: int, *, means: dict[int, float],
    variance: float, samples: int,
) -> GateFlip | None:
    """Whether swinging to either end flips ``gate`` for the chosen variant's set: "flips"
    when the swung estimate's whole 95% interval is across the limit, "may flip" when
    only the estimate is."""
    found: GateFlip | None = None
    for end in ("low", "high"):
        tally = ends[end]
        if gate.kind in ("max-p-extreme-bad", "min-p-extreme-good"):
            hits = int((tally.bad if gate.kind == "max-p-extreme-bad"
                        else tally.good)[tally.sets.index(chosen)])
            estimate = hits / samples
            low, high = wilson(hits, samples)
        elif gate.kind == "positive-expected-value":
            estimate, standard_error = swung_lead(tally, chosen, -1, means=means,
                                                  variance=variance, samples=samples)
            low, high = estimate - Z95 * standard_error, estimate + Z95 * standard_error
        else:
            return None  # a rule whose swung value the swings do not tally
        if not all(math.isfinite(v) for v in (estimate, low, high)):
            continue  # sums beyond float range: no verdict
        if _holds(gate, estimate) == gate.passes:
            continue
        across = _holds(gate, low) != gate.passes and _holds(gate, high) != gate.passes
        flag: Flip = "flips" if across else "may flip"
        if found is None or (flag == "flips" and found.flag != "flips"):
            found = GateFlip(flag=flag, kind=gate.kind, end=end, estimate=estimate, low=low,
                             high=high)
    return found


def _holds(gate: Gate, estimate: float) -> bool:
    return _passes(gate.kind, gate.value, estimate, estimate, estimate)
