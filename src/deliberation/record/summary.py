"""The record's brief ("In brief"): the decision in a few plain sentences.

Overrides come first: an approval of a variant that fails a gate states, in the first
paragraph, each overridden gate with its value against its limit (the gate's finding),
who overrode it and why, and any failed gate that carries no override.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..numbers import join_words, plural, points, signed_points
from ..review.model import APPROVALS
from ..review.overrides import OVERRIDE_REQUIRED, OVERRIDE_UNNEEDED

if TYPE_CHECKING:
    from ..review.model import Review
    from ..review.template import Template

_OUTCOME_SENTENCE = {
    "approve": "approved the release",
    "approve-with-conditions": "approved the release, with conditions",
    "defer": "deferred the decision",
    "reject": "rejected the release",
}


def summary_sentences(
    review: Review,
    gate_results_json: Sequence[Mapping[str, Any]],
    analysis_json: Mapping[str, Any] | None,
    *,
    template: Template | None = None,
) -> list[str]:
    """The decision in a few sentences a non-specialist can read in a minute.

    The first paragraph states every override (and every failed gate an approval has no
    override for) before anything else: an approval that contradicts a gate must never
    read as a plain approval.
    """
    from .render import (
        _people,
        _probability,
        _variant_titles,
        chosen_of,
        reference_of,
    )
    from .thresholds import catastrophe_of, catastrophe_sentence, thresholds_of

    subject = review.subject.name + (f" {review.subject.version}" if review.subject.version
                                     else "")
    decision = review.decision
    titles = _variant_titles(review, analysis_json)
    sentences: list[str] = []
    first = overrides_paragraph(review, gate_results_json)
    if first:
        sentences.append(first)
    if decision is None:
        sentences.append(f"The review of {subject} has not recorded a decision yet.")
    else:
        text = f"The review of {subject} {_OUTCOME_SENTENCE[decision.outcome]}"
        if decision.variant:
            text += f", choosing the option “{titles.get(decision.variant, decision.variant)}”"
        sentences.append(text + ".")
    variants = (analysis_json or {}).get("variants", {})
    chosen, _ = chosen_of(review, analysis_json)
    thresholds = thresholds_of(review, template, analysis_json)
    horizon = f" within {review.horizon}" if review.horizon else ""
    if chosen in variants:
        summary = variants[chosen]
        what = "this option" if decision is not None and decision.variant else "the release"
        text = (
            f"Pooling the participants' estimates, {what} has a "
            f"{_probability(summary, 'p_extreme_bad')} chance of an extremely bad outcome and a "
            f"{_probability(summary, 'p_extreme_good')} chance of an extremely good one{horizon}"
        )
        if thresholds is not None:
            text += (f" (a net value at or below {points(thresholds[0])}, or at or above "
                     f"{signed_points(thresholds[1])}, on the template's value scale)")
        sentences.append(text + ".")
        reference = reference_of(review, analysis_json)
        if reference in variants and reference != chosen:
            other = variants[reference]
            sentences.append(
                f"Without its mitigations (the option “{titles[str(reference)]}”) these chances "
                f"would be {_probability(other, 'p_extreme_bad')} and "
                f"{_probability(other, 'p_extreme_good')}."
            )
        harms = catastrophe_sentence(summary, catastrophe_of(review, template, analysis_json))
        sentences += [harms] if harms else []
    if gate_results_json:
        sentences.append(_gates_sentence(gate_results_json))
    if decision is not None:
        parts = []
        if decision.conditions:
            parts.append(f"carries {plural(len(decision.conditions), 'condition')}")
        parts.append(
            f"records {plural(len(decision.dissent), 'dissenting view')}"
            if decision.dissent else "records no dissent"
        )
        people = _people(review)
        names = [people.get(s.participant, s.participant) for s in decision.signoffs]
        sentences.append("The decision " + join_words(parts) + ", and " + (
            f"was signed off by {join_words(names)}." if names else "has no sign-off yet."
        ))
    return sentences


def _gates_sentence(gate_results_json: Sequence[Mapping[str, Any]]) -> str:
    """How many policy checks passed, failed (and were overridden) or warned."""
    failed = [str(g.get("id")) for g in gate_results_json if g.get("status") == "fail"]
    warned = [str(g.get("id")) for g in gate_results_json if g.get("status") == "warn"]
    overridden = [str(g.get("id")) for g in gate_results_json
                  if g.get("status") == "overridden"]
    passed = len(gate_results_json) - len(failed) - len(warned) - len(overridden)
    text = f"{passed} of {plural(len(gate_results_json), 'policy check')} passed"
    if overridden:
        text += f"; {len(overridden)} failed and {'was' if len(overridden) == 1 else 'were'}"
        text += f" overridden ({join_words(overridden)})"
    if failed:
        text += f"; {len(failed)} failed ({join_words(failed)})"
    if warned:
        text += f"; {len(warned)} gave a warning ({join_words(warned)})"
    return text + "."


def overrides_paragraph(review: Review, gate_results_json: Sequence[Mapping[str, Any]]) -> str:
    """Every override, and every failed gate of an approval without one, in one paragraph;
    empty when the decision contradicts no gate."""
    decision = review.decision
    if decision is None or decision.outcome not in APPROVALS:
        return ""
    people = {p.id: f"{p.name} ({p.role})" if p.role else p.name for p in review.participants}
    overridden = [g for g in gate_results_json if g.get("status") == "overridden"]
    failed = [g for g in gate_results_json if g.get("status") == "fail"
              and g.get("rule") not in (OVERRIDE_REQUIRED, OVERRIDE_UNNEEDED)]
    sentences = []
    if overridden:
        listed = [_override(g, people) for g in overridden]
        sentences.append(f"This approval overrides {plural(len(overridden), 'failed policy gate')}"
                         f": {'; '.join(listed)}.")
    if failed:
        listed = [f"{g.get('id')} ({g.get('message', '')})" for g in failed]
        sentences.append(f"It approves although {plural(len(failed), 'policy gate')} failed "
                         f"without an override, so `deliberation check` fails it: "
                         f"{'; '.join(listed)}.")
    return " ".join(sentences)


def _override(gate: Mapping[str, Any], people: Mapping[str, str]) -> str:
    override = gate.get("override") or {}
    who = override.get("by", "")
    reason = " ".join(str(override.get("reason", "")).split())
    return (f"gate {gate.get('id')} ({gate.get('message', '')}), overridden by "
            f"{people.get(who, who)}: “{reason}”")
