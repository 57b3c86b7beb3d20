"""Step 8, decision: outcome, chosen option, rationale, conditions, dissent, sign-offs.

Approving a variant that fails a gate needs an override of that gate (docs/design.md,
*Policy gates*): the step warns, next to the outcome, which gates the chosen variant
fails, live, and offers a small editor to record each override (gate, reason, who).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets

from ...review.model import APPROVALS
from ...review.overrides import failing_gates
from ...review.template import ANALYSIS_RULES
from ..fields import (
    Step,
    error_line,
    escape,
    split_lines,
    text,
)
from ..live import LiveAnalysis
from ..session import ReviewSession
from ..shared import layout

OUTCOMES = [("— not decided yet —", None), ("Approve", "approve"),
            ("Approve with conditions", "approve-with-conditions"), ("Defer", "defer"),
            ("Reject", "reject")]

class DecisionStep(Step):
    name = "decision"
    title = "Decision"
    lead = ("What the meeting decided, on which variant, why, under which conditions; who "
            "disagrees and why; and who signs off.")

    def __init__(self, session: ReviewSession, live: LiveAnalysis) -> None:
        self.live = live
        self.warning = widgets.HTML(value="")
        self.warning.add_class("dl-override-warning")
        super().__init__(session)
        live.subscribe(lambda _: self.show_warning(self.session.snapshot()))
        self.show_warning(session.snapshot())

    def signature(self, data: dict[str, Any]) -> Any:
        people = data.get("participants", [])
        overrides = (data.get("decision") or {}).get("overrides", [])
        return (tuple((p["id"], p["name"], p.get("role", "")) for p in people),
                tuple((v["id"], v["title"]) for v in data.get("variants", [])),
                tuple(rule.id for rule in self.session.template.policy),
                tuple((o.get("gate"), o.get("by"), o.get("reason")) for o in overrides))

    def build(self, data: dict[str, Any]) -> list[Any]:
        def read(key: str, join: bool = False) -> Any:
            def get(data: dict[str, Any]) -> Any:
                value = (data.get("decision") or {}).get(key)
                if join:
                    return "\n".join(value or [])
                return value if key in {"outcome", "variant"} else (value or "")
            return get

        def write(key: str, parse: Any = None) -> Any:
            def change(data: dict[str, Any], value: Any) -> None:
                value = parse(value) if parse else value
                decision = data.get("decision")
                if key == "outcome" and value is None:
                    if decision and any(decision.get(k) for k in
                                        ("rationale", "conditions", "dissent", "signoffs",
                                         "variant", "overrides")):
                        raise ValueError("the decision already has content: pick an outcome")
                    data.pop("decision", None)
                    return
                if decision is None:
                    if key != "outcome":
                        raise ValueError("pick the outcome first, then the rest is saved with it")
                    data["decision"] = decision = {}
                decision[key] = value
            return change

        variants = [("— none —", None)] + [(v["title"], v["id"]) for v in data.get("variants", [])]
        if not data.get("variants"):
            variants.append(("baseline (no variants)", "baseline"))
        dropdown = {"style": {"description_width": "110px"},
                    "layout": layout(width="520px")}
        form = [
            self.bind(widgets.Dropdown(description="Outcome", options=OUTCOMES, **dropdown),
                      read=read("outcome"), write=write("outcome"), css="dl-outcome"),
            self.bind(widgets.Dropdown(description="Variant", options=variants, **dropdown),
                      read=read("variant"), write=write("variant"), css="dl-decision-variant"),
            self.warning,
            self.bind(text("Rationale", area=True, width="720px"), read=read("rationale"),
                      write=write("rationale"), css="dl-decision-rationale"),
            self.bind(text("Conditions", area=True, width="720px",
                           placeholder="one condition per line"),
                      read=read("conditions", join=True), write=write("conditions", split_lines),
                      css="dl-decision-conditions"),
            self.bind(text("Dissent", area=True, width="720px",
                           placeholder="one dissenting view per line, with its author"),
                      read=read("dissent", join=True), write=write("dissent", split_lines),
                      css="dl-decision-dissent"),
            widgets.HTML(value="<h4>Sign-offs</h4>"),
        ]
        for person in data.get("participants", []):
            form.append(self._signoff(person))
        self.signed = widgets.HTML(value="")
        self.signed.add_class("dl-signed")
        form.append(self.signed)
        return form + self._overrides(data)

    def after_change(self, data: dict[str, Any]) -> None:
        self.show_warning(data)
        names = {p["id"]: p["name"] for p in data.get("participants", [])}
        signoffs = (data.get("decision") or {}).get("signoffs", [])
        self.signed.value = "".join(
            f'<div class="dl-hint">{escape(names.get(s["participant"], s["participant"]))} '
            f"signed off at {escape(s['at'])}</div>" for s in signoffs)

    def _signoff(self, person: dict[str, Any]) -> Any:
        person_id = person["id"]
        role = f" ({person['role']})" if person.get("role") else ""

        def read(data: dict[str, Any]) -> bool:
            signoffs = (data.get("decision") or {}).get("signoffs", [])
            return any(s["participant"] == person_id for s in signoffs)

        def write(data: dict[str, Any], value: Any) -> None:
            decision = data.get("decision")
            if decision is None:
                raise ValueError("pick the outcome first: a sign-off signs a decision")
            signoffs = [s for s in decision.get("signoffs", []) if s["participant"] != person_id]
            if value:
                at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
                signoffs.append({"participant": person_id, "at": at})
            decision["signoffs"] = signoffs

        box = widgets.Checkbox(description=f"{person['name']}{role} signs off", indent=False,
                               layout=layout(width="520px"))
        return self.bind(box, read=read, write=write, css="dl-signoff")

    # ------------------------------------------------------------------ overrides
    def show_warning(self, data: dict[str, Any]) -> None:
        """Which gates the chosen variant fails, before and at approval, and the overrides."""
        gates = getattr(self.live, "gates", [])
        failing = failing_gates(gates)
        overridden = [g for g in gates if g.status == "overridden"]
        analysis = self.live.analysis
        variant = analysis.chosen if analysis is not None else None
        # Its kind named: a mitigation and a variant may share a title ("Staged release").
        title = f"variant “{analysis.variants[variant].title or variant}”" if variant else \
            "the release"
        approving = (data.get("decision") or {}).get("outcome") in APPROVALS
        if not approving:  # before approval: the gates on the variant's own numbers
            failing = [g for g in failing if g.rule in ANALYSIS_RULES]
        parts = []
        if failing:
            rows = "".join(f"<li><b>{escape(g.id)}</b>: {escape(g.message)}</li>"
                           for g in failing)
            if approving:
                head = (f"⚠ This approves {escape(title)}, which fails {len(failing)} "
                        f"gate{'s' if len(failing) != 1 else ''} without an override. Record "
                        "an override of each below (who takes responsibility, and why), or "
                        "choose another variant or outcome: until then `deliberation check` "
                        "fails.")
            else:
                head = (f"⚠ Before you approve: {escape(title)} fails {len(failing)} "
                        f"gate{'s' if len(failing) != 1 else ''} on its numbers; approving it "
                        "needs an override of each.")
            parts.append(f'<div class="dl-fail" role="alert">{head}</div><ul>{rows}</ul>')
        if overridden and approving:
            rows = "".join(
                f"<li><b>{escape(g.id)}</b> failed ({escape(g.message)}), overridden by "
                f"{escape((g.override or {}).get('by', ''))}: "
                f"{escape((g.override or {}).get('reason', ''))}</li>" for g in overridden)
            parts.append(f'<div class="dl-warn">Overridden gates (the record states each '
                         f"first):</div><ul>{rows}</ul>")
        self.warning.value = "".join(parts)

    def _overrides(self, data: dict[str, Any]) -> list[Any]:
        """The overrides recorded, each removable, and a small form to add one."""
        people = data.get("participants", [])
        names = {p["id"]: p["name"] for p in people}
        children: list[Any] = [widgets.HTML(value="<h4>Overrides of failed gates</h4>")]
        error = error_line("dl-override-error")
        for override in (data.get("decision") or {}).get("overrides", []):
            gate = str(override.get("gate", ""))
            line = widgets.HTML(value=(
                f"<b>{escape(gate)}</b> overridden by "
                f"{escape(names.get(override.get('by'), override.get('by', '')))}: "
                f"{escape(override.get('reason', ''))}"))
            remove = self.button("Remove", "dl-override-remove", self._remover(gate),
                                 icon="trash", error=error)
            remove.tooltip = f"Remove the override of gate {gate}"
            children.append(widgets.HBox([line, remove]))
        failing = {g.id for g in failing_gates(getattr(self.live, "gates", []))}
        rules = [rule.id for rule in self.session.template.policy]
        rules.sort(key=lambda rule: rule not in failing)  # failing gates first
        wide = {"style": {"description_width": "110px"}, "layout": layout(width="520px")}
        self.override_gate = widgets.Dropdown(
            description="Gate", options=[(f"{r} (fails)" if r in failing else r, r)
                                         for r in rules], value=None, **wide)
        self.override_gate.tooltip = "The policy gate this approval overrides"
        self.override_reason = text("Reason", area=True, width="720px",
                                    placeholder="why the release goes ahead despite this gate")
        self.override_reason.tooltip = "Why the gate is overridden, as the record will state it"
        self.override_by = widgets.Dropdown(
            description="By", options=[(p["name"], p["id"]) for p in people], value=None,
            **wide)
        self.override_by.tooltip = "The participant who takes responsibility for the override"
        for widget, css in ((self.override_gate, "dl-override-gate"),
                            (self.override_reason, "dl-override-reason"),
                            (self.override_by, "dl-override-by")):
            widget.add_class(css)
        add = self.button("Add override", "dl-override-add", self._add_override,
                          icon="plus", error=error)
        add.tooltip = "Record the override in the decision"
        return [*children, self.override_gate, self.override_reason, self.override_by, add,
                error]

    def _remover(self, gate: str) -> Callable[[], None]:
        return lambda: self.edit(lambda data: _remove(data, gate))

    def _add_override(self) -> None:
        gate, by = self.override_gate.value, self.override_by.value
        reason = self.override_reason.value
        if gate is None:
            raise ValueError("pick the gate to override")
        if by is None:
            raise ValueError("pick who overrides the gate")

        def change(data: dict[str, Any]) -> None:
            decision = data.get("decision")
            if decision is None:
                raise ValueError("pick the outcome first: an override belongs to a decision")
            decision["overrides"] = [*decision.get("overrides", []),
                                     {"gate": gate, "reason": reason, "by": by}]

        self.edit(change)


def _remove(data: dict[str, Any], gate: str) -> None:
    decision = data.get("decision") or {}
    kept = [o for o in decision.get("overrides", []) if o.get("gate") != gate]
    if kept:
        decision["overrides"] = kept
    else:
        decision.pop("overrides", None)
