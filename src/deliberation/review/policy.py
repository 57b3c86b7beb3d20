"""Policy gates: a template's rules checked mechanically against a review.

Each rule gives ``pass``, ``fail`` or ``warn`` with a message and the clause of the
standard it enforces. A rule whose condition does not hold gives its ``severity``
(``fail`` by default, ``warn`` for advisory rules). Rules on probabilities need the
analysis; without one they are reported as ``fail`` with "needs the analysis", so a
pipeline can never pass a gate it did not evaluate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from ..numbers import (
    TAIL_DOMINATED,
    percent,
    plus_minus,
    points,
    points_interval,
    probability,
)
from .model import Review
from .opening import resolve_impact
from .template import (
    ANALYSIS_RULES,
    AllItemsEstimated,
    CategoriesConsidered,
    DecisionRecorded,
    MinParticipants,
    SevereHarmsMitigated,
    SignoffsFromRoles,
    Template,
)

# "overridden": a gate that failed, approved anyway with an override (see .overrides).
Status = Literal["pass", "fail", "warn", "overridden"]


@dataclass(frozen=True)
class GateResult:
    """The outcome of one policy rule."""

    id: str
    rule: str
    status: Status
    message: str
    clause: str
    clause_text: str
    override: dict[str, str] | None = None  # gate, reason, by: the override of a failed gate

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["override"] is None:
            del data["override"]
        return data


class _Summary(Protocol):
    mean: float
    p_extreme_bad: float
    p_extreme_good: float


class _Analysis(Protocol):
    @property
    def variants(self) -> dict[str, Any]: ...

    @property
    def chosen(self) -> str: ...

    @property
    def chosen_by(self) -> str: ...


def _outcome(rule: Any, ok: bool, passed: str, failed: str) -> tuple[Status, str]:
    return ("pass", passed) if ok else (rule.severity, failed)


def _names(values: Iterable[str]) -> str:
    values = list(values)
    shown = ", ".join(values[:5])
    return shown + (f" and {len(values) - 5} more" if len(values) > 5 else "")


def _categories_considered(
    rule: CategoriesConsidered, review: Review, template: Template, analysis: _Analysis | None
) -> tuple[Status, str]:
    covered = {i.category for i in review.items} | {n.category for n in review.not_applicable}
    missing = [c.id for c in template.categories if c.id not in covered]
    return _outcome(
        rule,
        not missing,
        f"all {len(template.categories)} categories considered",
        f"{len(missing)} categor{'y' if len(missing) == 1 else 'ies'} neither covered by an item "
        f"nor marked not applicable: {_names(missing)}",
    )


def _severe_harms_mitigated(
    rule: SevereHarmsMitigated, review: Review, template: Template, analysis: _Analysis | None
) -> tuple[Status, str]:
    level = rule.at_least or template.severe
    floor = template.impact_of(level)[0]
    severe: list[str] = []
    for estimate in review.latest_estimates():
        item = review.item(estimate.item)
        if item.kind != "harm" or item.id in severe:
            continue
        at_or_above = (
            template.impact_rank(estimate.impact) >= template.impact_rank(level)
            if isinstance(estimate.impact, str)
            else resolve_impact(estimate.impact, template)[1] >= floor
        )
        if at_or_above:
            severe.append(item.id)
    owned = {t for m in review.mitigations if m.owner for t in m.targets}
    unmitigated = [h for h in severe if h not in owned]
    return _outcome(
        rule,
        not unmitigated,
        f"{len(severe)} harm{'s' if len(severe) != 1 else ''} at or above {level!r}, "
        "each with an owned mitigation",
        f"harms at or above {level!r} without a mitigation that has an owner: "
        f"{_names(unmitigated)}",
    )


def _min_participants(
    rule: MinParticipants, review: Review, template: Template, analysis: _Analysis | None
) -> tuple[Status, str]:
    count = len({e.participant for e in review.estimates})
    return _outcome(
        rule,
        count >= rule.count,
        f"estimates from {count} participants (at least {rule.count} required)",
        f"estimates from {count} participant{'s' if count != 1 else ''}; "
        f"at least {rule.count} required",
    )


def _signoffs_from_roles(
    rule: SignoffsFromRoles, review: Review, template: Template, analysis: _Analysis | None
) -> tuple[Status, str]:
    roles = {p.id: p.role for p in review.participants}
    signed = {
        roles.get(s.participant, "") for s in (review.decision.signoffs if review.decision else [])
    }
    missing = [role for role in rule.roles if role not in signed]
    return _outcome(
        rule,
        not missing,
        f"signed off by {_names(rule.roles)}",
        f"no sign-off from the role{'s' if len(missing) != 1 else ''} {_names(missing)}",
    )


def _all_items_estimated(
    rule: AllItemsEstimated, review: Review, template: Template, analysis: _Analysis | None
) -> tuple[Status, str]:
    missing = review.unestimated_items()
    return _outcome(
        rule,
        not missing,
        f"all {len(review.items)} items estimated",
        f"{len(missing)} item{'s' if len(missing) != 1 else ''} without an estimate: "
        f"{_names(missing)}",
    )


def _decision_recorded(
    rule: DecisionRecorded, review: Review, template: Template, analysis: _Analysis | None
) -> tuple[Status, str]:
    decision = review.decision
    ok = decision is not None and bool(decision.rationale.strip())
    return _outcome(
        rule,
        ok,
        f"decision recorded: {decision.outcome}" if decision else "",
        "no decision recorded" if decision is None else "the decision has no rationale",
    )


# What each analysis rule reads from a variant's summary, and how it is phrased.
_METRICS: dict[str, tuple[str, str]] = {
    "max-p-extreme-bad": ("p_extreme_bad", "P(extremely bad) ="),
    "max-p-catastrophe": ("p_catastrophe", "P(catastrophe) ="),
    "min-p-extreme-good": ("p_extreme_good", "P(extremely good) ="),
    "positive-expected-value": ("mean", "mean net value ="),
}


def analysis_rule_holds(kind: str, limit: float | None, summary: Any) -> bool:
    """Whether a variant's summary meets an analysis rule (the one place this is decided).

    ``summary`` needs ``mean``, ``p_extreme_bad`` and ``p_extreme_good`` (and
    ``p_catastrophe`` for ``max-p-catastrophe``: without it, no threshold, the rule does
    not hold); the analysis also calls this with swung values to find estimates that
    would flip a gate.
    """
    raw = getattr(summary, _METRICS[kind][0], None)
    if raw is None:
        return False
    value = float(raw)
    if kind in ("max-p-extreme-bad", "max-p-catastrophe"):
        return value <= (limit or 0.0)
    if kind == "min-p-extreme-good":
        return value >= (limit or 0.0)
    return value > 0


def _analysis_rule(
    rule: Any, review: Review, template: Template, analysis: _Analysis | None
) -> tuple[Status, str]:
    if analysis is None:
        return "fail", "needs the analysis: run `deliberation check` (it simulates) or pass one"
    # The one chosen variant (engine.choice): the decision's, else the preferred one.
    variant = analysis.chosen
    summary = analysis.variants[variant]
    field, phrase = _METRICS[rule.rule]
    limit = getattr(rule, "value", None)
    who = variant if analysis.chosen_by == "decision" else f"{variant} (preferred; no decision)"
    if getattr(summary, field, None) is None:  # P(catastrophe) without a threshold
        return "fail", f"{who}: {phrase} not computed: no catastrophe threshold is set"
    gate = next((g for g in getattr(analysis, "gates", ()) if g.rule == rule.id), None)
    if gate is None or gate.status is None:  # an analysis made before gates were decided
        text = f"{who}: {phrase} {_format(summary, field, rule)}"
        if limit is not None:
            text += f", limit {_format_limit(limit, rule)}"
        return _outcome(rule, analysis_rule_holds(rule.rule, limit, summary), text, text)
    text = f"{who}: {phrase} {_decided_value(gate, rule)}"
    if limit is not None:
        text += f", limit {_format_limit(limit, rule)}"
    text += f"; {_how(gate)}"
    if rule.rule == "positive-expected-value" and not getattr(summary, "mean_reliable", True):
        text += f"; the mean is {TAIL_DOMINATED} (median {points(summary.p50)})"
    if gate.status == "undecided":
        return rule.severity, text
    return _outcome(rule, gate.status == "pass", text, text)


def _decided_value(gate: Any, rule: Any) -> str:
    """The gate's estimate with the interval it was decided on, at its level."""
    if rule.rule == "positive-expected-value":
        return points_interval(gate.estimate, gate.low, gate.high, level=gate.level)
    return probability(gate.estimate, gate.low, gate.high, level=gate.level, limit=gate.value)


def _how(gate: Any) -> str:
    """How many samples decided the gate, or that the cap left it undecided."""
    if getattr(gate, "method", None) == "importance sampling":
        effective = getattr(gate, "effective", None)
        worth = "" if effective is None else f", worth {effective:,.0f} plain samples"
        tilted = f"{gate.tilted:,} tilted{worth}"
        if gate.status == "undecided":
            return (f"undecided by importance sampling at {gate.samples:,} samples (the cap; "
                    f"{tilted}): the interval still straddles the limit, so it fails")
        return (f"decided by importance sampling at {gate.samples:,} samples ({tilted}; "
                f"look {gate.looks} of {gate.planned_looks})")
    if gate.status == "undecided":
        return (f"undecided at {gate.samples:,} samples (the cap): the interval still "
                "straddles the limit, so it fails")
    if gate.looks == 1:
        return f"decided at {gate.samples:,} samples"
    return f"decided at {gate.samples:,} samples (look {gate.looks} of {gate.planned_looks})"


def _format(summary: Any, field: str, rule: Any) -> str:
    if rule.rule == "positive-expected-value":
        return plus_minus(summary.mean, summary.mean_se)
    return probability(getattr(summary, field), getattr(summary, f"{field}_low", None),
                       getattr(summary, f"{field}_high", None))


def _format_limit(limit: float, rule: Any) -> str:
    return points(limit) if rule.rule == "positive-expected-value" else percent(limit)


_CHECKS: dict[str, Callable[..., tuple[Status, str]]] = {
    "categories-considered": _categories_considered,
    "severe-harms-mitigated": _severe_harms_mitigated,
    "min-participants": _min_participants,
    "signoffs-from-roles": _signoffs_from_roles,
    "all-items-estimated": _all_items_estimated,
    "decision-recorded": _decision_recorded,
    **dict.fromkeys(ANALYSIS_RULES, _analysis_rule),
}


def evaluate_policy(
    review: Review, template: Template, analysis: _Analysis | None = None
) -> list[GateResult]:
    """Every rule of the template's policy, in the template's order, then the overrides'
    checks (:func:`.overrides.apply_overrides`)."""
    from .overrides import apply_overrides

    results = []
    for rule in template.policy:
        status, message = _CHECKS[rule.rule](rule, review, template, analysis)
        results.append(
            GateResult(
                id=rule.id,
                rule=rule.rule,
                status=status,
                message=message,
                clause=rule.clause,
                clause_text=template.clause_text(rule.clause),
            )
        )
    return apply_overrides(results, review, analysis)


def needs_analysis(template: Template) -> bool:
    """Whether any rule of the template needs the simulation to be evaluated."""
    return any(rule.rule in ANALYSIS_RULES for rule in template.policy)


def passed(results: Iterable[GateResult]) -> bool:
    """True when no gate failed (warnings and overridden gates do not block a release)."""
    return all(result.status != "fail" for result in results)
