"""Each chart's text alternative: what it shows, in words and numbers, names in full.

A reader who cannot see the chart (a screen reader, a printout without colour) gets
the same numbers, written with :mod:`deliberation.numbers` like every other number.
"""

from __future__ import annotations

from ..engine.results import Analysis
from ..numbers import (
    catastrophe_probability,
    percent,
    percentage_points,
    points,
    signed_points,
)
from . import flips


def _tails(result: Analysis) -> str:
    mark = " (chosen)" if result.chosen_by == "decision" else " (preferred)"
    rows = [
        f"{s.title}{mark if key == result.chosen else ''}: {percent(s.p_extreme_good)} extremely "
        f"good, {percent(s.p_extreme_bad)} extremely bad"
        + ("" if s.p_catastrophe is None else ", P(catastrophe) " + catastrophe_probability(
            s.p_catastrophe, s.p_catastrophe_low, s.p_catastrophe_high))
        for key, s in result.variants.items()
    ]
    return ("For each release option, the chance of an extremely good outcome against the "
            "chance of an extremely bad one. " + "; ".join(rows) + ".")


def _net_value(result: Analysis) -> str:
    rows = [
        f"{s.title}: median {points(s.p50)}, 90% of outcomes between {points(s.p5)} and "
        f"{points(s.p95)}, mean {points(s.mean)}"
        for s in result.variants.values()
    ]
    return (f"The spread of net value per release option, with extremely bad at or below "
            f"{points(result.extreme_bad)} and extremely good at or above "
            f"{signed_points(result.extreme_good)}. " + "; ".join(rows) + ".")


def _mitigations(result: Analysis) -> str:
    rows = [
        f"{effect.title}: mean net value {signed_points(effect.difference.mean)}, "
        f"P(extremely bad) {percentage_points(effect.difference.p_extreme_bad_change)}"
        + ("" if effect.difference.p_catastrophe_change is None else
           f", P(catastrophe) {percentage_points(effect.difference.p_catastrophe_change)}")
        for effect in result.mitigation_effects
    ]
    return "What each mitigation changes on its own. " + "; ".join(rows) + "."


def _risk_matrix(result: Analysis) -> str:
    from .charts import numbered_harms

    variant = result.variants[result.chosen].title
    rows = []
    for number, item in enumerate(numbered_harms(result), 1):
        before, after = item.baseline, item.variants[result.chosen]
        rows.append(
            f"{number} {item.title}: chance {percent(before.p_happens)} before, "
            f"{percent(after.p_happens)} with {variant}; impact if it happens "
            f"{points(before.mean_impact_if_happens)} before, "
            f"{points(after.mean_impact_if_happens)} with it"
        )
    return ("Each harm's chance and size, before and after mitigation, numbered by expected "
            "harm. " + "; ".join(rows) + ".")


def _tornado(result: Analysis) -> str:
    summary = result.variants[result.chosen]
    rows = []
    for entry in flips.shown(result.sensitivity, 12):  # as the chart picks them
        said = flips.texts(entry, result.preferred)
        flags = f" ({'; '.join(said)})" if said else ""
        rows.append(f"{flips.quantity(entry)} of {entry.title}: mean {points(entry.mean_low)} "
                    f"at its low end, {points(entry.mean_high)} at its high end{flags}")
    return (f"Which estimate moves the mean net value of {summary.title} "
            f"({points(summary.mean)}) most. " + "; ".join(rows) + ".")


def _disagreement(result: Analysis) -> str:
    rows = []
    entries = [d for d in result.disagreement if len(d.participants) > 1][:8] or \
        result.disagreement[:8]  # as the chart picks them
    for entry in entries:
        people = ", ".join(
            f"{p.participant} {percent(p.likelihood[0])} to {percent(p.likelihood[1])} likely, "
            f"impact {points(p.impact[0])} to {points(p.impact[1])}"
            for p in entry.participants
        )
        rows.append(f"{entry.title} (spread {entry.orders_of_magnitude:.1f} orders of "
                    f"magnitude): {people}")
    return "Where the participants' estimates differ most. " + "; ".join(rows) + "."
