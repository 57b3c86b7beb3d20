"""What each event of a meeting does to the review: a pure fold over plain JSON data.

The store keeps events, never states: the review at any point is the fold of the
events before it, so the same log always gives the same review.json. Every event
kind is one function here, used when an event is appended and when a log is replayed.

- ``import``: the whole review, as a file held it (the first event, or a hand edit).
- ``edit``: a JSON Patch (RFC 6902) made by the facilitator's workbook.
- ``estimate``: one participant's likelihood, impact and rationale of one item in
  one round (the round open when the server received it).
- ``reveal``, ``hide``, ``next-round``: the elicitation's transitions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import jsonpatch

from ..review.elicitation import Elicitation

KINDS = ("import", "edit", "estimate", "reveal", "hide", "next-round")
ROUND_STEPS: dict[str, Callable[[Elicitation], Elicitation]] = {
    "reveal": Elicitation.reveal,
    "hide": Elicitation.hide,
    "next-round": Elicitation.next_round,
}
# Written into review.json by the store, never part of the folded state.
LOG_FIELD = "event_log"


def without_log(data: Mapping[str, Any]) -> dict[str, Any]:
    """The review's own fields: what the fold works on."""
    return {key: value for key, value in data.items() if key != LOG_FIELD}


def edit_patch(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The JSON Patch that turns ``before`` into ``after`` (both without the log field)."""
    patch = jsonpatch.make_patch(without_log(before), without_log(after))
    return list(patch.patch)


def _find_estimate(data: dict[str, Any], item: str, participant: str,
                   round_: int) -> dict[str, Any] | None:
    for estimate in data.get("estimates", []):
        if (estimate["item"], estimate["participant"], estimate.get("round", 1)) == (
                item, participant, round_):
            return estimate  # type: ignore[no-any-return]
    return None


def apply_event(data: Mapping[str, Any] | None, kind: str,
                body: Mapping[str, Any]) -> dict[str, Any]:
    """The review after ``kind`` with ``body`` happened to ``data`` (which is not changed:
    the result shares the parts the event leaves alone, so treat both as read-only)."""
    if kind == "import":
        return without_log(copy.deepcopy(dict(body["review"])))
    if data is None:
        raise ValueError(f"a {kind!r} event before the review was imported")
    if kind == "edit":
        result = jsonpatch.apply_patch(copy.deepcopy(dict(data)), list(body["patch"]))
        return without_log(result)
    # A shallow copy: an estimate or a round step changes two top-level fields, and
    # copying the whole review for each of hundreds of estimates is what costs.
    state = dict(data)
    # The round's state is kept from the first estimate on (as the workbook does), so it
    # no longer depends on which estimates exist.
    state.setdefault("elicitation", Elicitation.of(state).to_json())
    if kind == "estimate":
        item, participant, round_ = body["item"], body["participant"], int(body["round"])
        state["estimates"] = estimates = list(state.get("estimates", []))
        found = _find_estimate(state, item, participant, round_)
        estimate = dict(found) if found is not None else {
            "item": item, "participant": participant, "round": round_}
        if found is None:
            estimates.append(estimate)
        else:
            estimates[estimates.index(found)] = estimate
        estimate["likelihood"] = body["likelihood"]
        estimate["impact"] = body["impact"]
        estimate["rationale"] = body.get("rationale", "")
        return state
    if kind in ROUND_STEPS:
        state["elicitation"] = ROUND_STEPS[kind](Elicitation.of(state)).to_json()
        return state
    raise ValueError(f"unknown event kind {kind!r}; expected one of {', '.join(KINDS)}")
