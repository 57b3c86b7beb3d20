"""Overrides: approving a variant that fails a gate, on the record (``decision.overrides``).

An approval (``approve``, ``approve-with-conditions``) of a variant that fails a gate
needs an override of that gate: ``{"gate": RULE_ID, "reason": "...", "by": PARTICIPANT}``.
With one, the gate's status becomes ``overridden``: still shown as a failed gate, with
who overrode it and why, but it no longer blocks. Without one, the extra failing result
``override-required`` names the gate and what to add. An override that changes nothing
(the gate passes or only warns, or the decision is not an approval) is a warning,
``override-unneeded``: a record should not carry a justification for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..numbers import join_words, plural
from .model import APPROVALS, Override, Review

if TYPE_CHECKING:
    from .policy import GateResult

OVERRIDE_REQUIRED = "override-required"
OVERRIDE_UNNEEDED = "override-unneeded"


def override_json(override: Override) -> dict[str, str]:
    """An override as a gate result and the record carry it."""
    return {"gate": override.gate, "reason": override.reason, "by": override.by}


def apply_overrides(results: Sequence[GateResult], review: Review,
                    analysis: Any = None) -> list[GateResult]:
    """``results`` with each overridden gate marked, and the two checks of the overrides.

    Called by :func:`.policy.evaluate_policy` after every rule of the template, so
    ``check``, the workbook and the record see the same overrides.
    """
    from .policy import GateResult

    decision = review.decision
    overrides = {o.gate: o for o in decision.overrides} if decision is not None else {}
    approving = decision is not None and decision.outcome in APPROVALS
    marked: list[GateResult] = []
    missing: list[str] = []
    unneeded: list[str] = []
    for result in results:
        override = overrides.get(result.id)
        if approving and result.status == "fail":
            if override is None:
                missing.append(result.id)
                marked.append(result)
            else:
                marked.append(replace(result, status="overridden",
                                      override=override_json(override)))
        else:
            if override is not None:
                unneeded.append(_unneeded(result, override, review))
            marked.append(result)
    if missing:
        marked.append(GateResult(
            id=OVERRIDE_REQUIRED, rule=OVERRIDE_REQUIRED, status="fail",
            message=_required(missing, review, analysis), clause="", clause_text=""))
    if unneeded:
        marked.append(GateResult(
            id=OVERRIDE_UNNEEDED, rule=OVERRIDE_UNNEEDED, status="warn",
            message="; ".join(unneeded), clause="", clause_text=""))
    return marked


def approved_variant(review: Review, analysis: Any = None) -> str:
    """The option an approval approves, as a message names it."""
    if analysis is not None and getattr(analysis, "chosen", None):
        return str(analysis.chosen)
    decision = review.decision
    return decision.variant if decision is not None and decision.variant else "the release"


def _required(missing: list[str], review: Review, analysis: Any) -> str:
    outcome = review.decision.outcome if review.decision is not None else ""
    example = f'{{"gate": "{missing[0]}", "reason": "...", "by": PARTICIPANT}}'
    return (f"the decision ({outcome}) approves {approved_variant(review, analysis)}, which "
            f"fails {plural(len(missing), 'gate')} without an override: {join_words(missing)}; "
            f"add {example} to decision.overrides for each (or change the decision)")


def _unneeded(result: GateResult, override: Override, review: Review) -> str:
    decision = review.decision
    if decision is None or decision.outcome not in APPROVALS:
        outcome = decision.outcome if decision is not None else "none"
        why = f"the decision ({outcome}) is not an approval, so there is nothing to override"
    elif result.status == "warn":
        why = "override of a gate that only warns (warnings do not block)"
    else:
        why = "override of a passing gate"
    return f"{result.id} (by {override.by}): {why}; remove the override"


def failing_gates(results: Iterable[GateResult]) -> list[GateResult]:
    """The template's gates an approval would need an override for: failed, not yet overridden."""
    return [r for r in results if r.status == "fail"
            and r.rule not in (OVERRIDE_REQUIRED, OVERRIDE_UNNEEDED)]


def gate_line(result: GateResult, *, clause: bool = True) -> str:
    """One gate as the terminal shows it; an overridden gate still reads FAIL, with who and why.

    The reason may hold line breaks; the line joins them (``say`` escapes the rest).
    """
    status = "FAIL" if result.status == "overridden" else result.status.upper()
    line = f"{status:<4}  {result.id}: {result.message}"
    if clause and result.clause:
        line += f"  [{result.clause}]"
    if result.override is not None:
        reason = " ".join(result.override["reason"].split())
        line += f"; overridden by {result.override['by']}: {reason}"
    return line
