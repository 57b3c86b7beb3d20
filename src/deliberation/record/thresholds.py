"""The thresholds a record's numbers were computed against, and how the record states
the harm-only one (P(catastrophe)).

A record re-renders from ``record.json`` alone, so the analysis' own thresholds win;
the review's, then the template's, stand in for numbers that did not store them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..numbers import NO_THRESHOLD, catastrophe_probability, number, percentage_points, points

if TYPE_CHECKING:
    from ..review.model import Review
    from ..review.template import Template


def thresholds_of(
    review: Review, template: Template | None, analysis_json: Mapping[str, Any] | None
) -> tuple[float, float] | None:
    """The extreme thresholds the numbers were computed against."""
    stored = analysis_json or {}
    if isinstance(stored.get("extreme_bad"), int | float) and isinstance(
        stored.get("extreme_good"), int | float
    ):
        return float(stored["extreme_bad"]), float(stored["extreme_good"])
    source = review.thresholds or (template.thresholds if template is not None else None)
    if source is None:
        return None
    return float(source.extreme_bad), float(source.extreme_good)


def catastrophe_of(
    review: Review, template: Template | None, analysis_json: Mapping[str, Any] | None
) -> float | None:
    """The catastrophe threshold (a total of harms) the numbers were computed against:
    the analysis' own (``None``: none was set, or numbers made before P(catastrophe)
    existed, which counted none); without numbers, the review's, else the template's."""
    if analysis_json is not None:
        value = analysis_json.get("catastrophe")
        return float(value) if isinstance(value, int | float) else None
    own = review.thresholds.catastrophe if review.thresholds is not None else None
    if own is None and template is not None:
        own = template.thresholds.catastrophe
    return None if own is None else float(own)


def p_catastrophe(summary: Mapping[str, Any]) -> str:
    """A variant's P(catastrophe) with its 95% interval, or "no threshold"."""
    return catastrophe_probability(summary.get("p_catastrophe"), summary.get("p_catastrophe_low"),
                                   summary.get("p_catastrophe_high"))


def catastrophe_change(difference: Mapping[str, Any]) -> str:
    """A comparison's change in P(catastrophe), paired, or "no threshold"."""
    if difference.get("p_catastrophe_change") is None:
        return NO_THRESHOLD
    return percentage_points(number(difference, "p_catastrophe_change"),
                             number(difference, "p_catastrophe_change_se"))


def catastrophe_sentence(summary: Mapping[str, Any], threshold: float | None) -> str | None:
    """The brief's sentence on the harms alone, or None when there is nothing to say."""
    if threshold is None or summary.get("p_catastrophe") is None:
        return None
    return (f"Counting its harms alone, whatever the benefits, the chance that they total "
            f"{points(threshold)} or more (a catastrophe) is {p_catastrophe(summary)}.")
