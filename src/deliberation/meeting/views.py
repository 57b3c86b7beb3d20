"""What each person in a meeting may see: blinding is decided here, once.

The server sends a participant nothing but :func:`participant_view` of the latest
review, and the facilitator nothing but :func:`facilitator_view`. Until the open round
is revealed, a participant's view holds their own numbers only, and the facilitator's
shows who has entered what ("entered" marks and counts) and the pooled numbers of the
analysis, never a hidden round's estimates by participant (the rule of
:meth:`Review.shown_estimates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..review.model import Review
from ..review.template import Template
from ..workbook.fields import format_quantity


def _scale(levels: Any, kind: Any) -> list[dict[str, str]]:
    return [{"label": level.label,
             "means": f"{format_quantity(list(level.interval), kind)}",
             "description": level.description} for level in levels]


def _items(review: Review, template: Template) -> list[dict[str, Any]]:
    categories = {c.id: c for c in template.categories}
    items = []
    for item in review.items:
        category = categories.get(item.category) if item.category else None
        items.append({
            "id": item.id, "kind": item.kind, "title": item.title,
            "description": item.description or "",
            "category": category.title if category else "",
            "questions": list(category.questions) if category else [],
        })
    return items


def _quantities(estimate: Any) -> dict[str, str]:
    return {"likelihood": format_quantity(_plain(estimate.likelihood), "likelihood"),
            "impact": format_quantity(_plain(estimate.impact), "impact"),
            "rationale": estimate.rationale}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def participant_view(review: Review, template: Template, participant: str) -> dict[str, Any]:
    """One participant's page: the round, the items, their own estimates, and everyone's
    estimates of the rounds that are revealed."""
    rounds = review.rounds()
    names = {p.id: p.name for p in review.participants}
    items = _items(review, template)
    by_item = {item["id"]: item for item in items}
    for item in items:
        item["mine"] = {}
        item["spread"] = {}
    for estimate in review.estimates:
        mine = by_item.get(estimate.item)
        if mine is not None and estimate.participant == participant:
            mine["mine"][str(estimate.round)] = _quantities(estimate)
    for estimate in review.shown_estimates():
        shown = by_item.get(estimate.item)
        if shown is None:
            continue
        entry = {"participant": names.get(estimate.participant, estimate.participant),
                 **_quantities(estimate)}
        shown["spread"].setdefault(str(estimate.round), []).append(entry)
    return {
        "type": "state",
        "review": {"id": review.id, "title": review.title, "horizon": review.horizon},
        "you": {"id": participant, "name": names.get(participant, participant)},
        "round": rounds.round,
        "revealed": rounds.open_revealed,
        "revealed_rounds": [r for r in sorted({e.round for e in review.estimates} |
                                              {rounds.round}) if not rounds.hidden(r)],
        "scales": {"likelihood": _scale(template.likelihood_scale, "likelihood"),
                   "impact": _scale(template.impact_scale, "impact")},
        "guidance": template.guidance,
        "items": items,
    }


def entered_marks(review: Review) -> dict[str, dict[str, list[int]]]:
    """Per item, per participant, the rounds they have entered: no numbers."""
    marks: dict[str, dict[str, list[int]]] = {}
    for estimate in review.estimates:
        marks.setdefault(estimate.item, {}).setdefault(estimate.participant, []).append(
            estimate.round)
    return marks


def facilitator_view(review: Review, template: Template,
                     numbers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The facilitator's console: the round, who entered what, the pooled numbers, and
    the estimates of revealed rounds by participant."""
    rounds = review.rounds()
    marks = entered_marks(review)
    people = [{"id": p.id, "name": p.name} for p in review.participants]
    items = _items(review, template)
    shown: dict[str, list[dict[str, Any]]] = {}
    for estimate in review.shown_estimates():
        shown.setdefault(estimate.item, []).append(
            {"participant": estimate.participant, "round": estimate.round,
             **_quantities(estimate)})
    for item in items:
        entered = marks.get(item["id"], {})
        item["entered"] = {pid: sorted(r) for pid, r in entered.items()}
        item["entered_this_round"] = sum(rounds.round in r for r in entered.values())
        item["shown"] = shown.get(item["id"], [])
    return {
        "type": "console",
        "review": {"id": review.id, "title": review.title},
        "round": rounds.round,
        "revealed": rounds.open_revealed,
        "participants": people,
        "items": items,
        "estimates_this_round": sum(1 for e in review.estimates if e.round == rounds.round),
        "numbers": dict(numbers) if numbers is not None else None,
    }
