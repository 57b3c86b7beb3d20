"""Sensitivity and disagreement: which estimate moves the result, and where participants differ.
"""

from __future__ import annotations

import functools
import math
import statistics
from types import SimpleNamespace
from typing import Any

from ..review.policy import analysis_rule_holds
from ..review.template import Template
from .choice import preferred_variant
from .estimates import (
    ItemModel,
    expit,
    item_models,
    logit,
)
from .results import (
    Disagreement,
    Gate,
    ParticipantEstimate,
    Sensitivity,
    SwingEffect,
    VariantSummary,
)
from .simulate import Simulation


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
            end: preferred_variant({name: e[end][0] for name, e in effects.items()})
            for end in ("low", "high")
        }
        base_preferred = preferred_variant({name: v.mean for name, v in variants.items()})
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
