"""Step 8, decision: outcome, chosen option, rationale, conditions, dissent, sign-offs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets

from ..fields import (
    Step,
    escape,
    split_lines,
    text,
)

OUTCOMES = [("— not decided yet —", None), ("Approve", "approve"),
            ("Approve with conditions", "approve-with-conditions"), ("Defer", "defer"),
            ("Reject", "reject")]

class DecisionStep(Step):
    name = "decision"
    title = "Decision"
    lead = ("What the meeting decided, on which variant, why, under which conditions; who "
            "disagrees and why; and who signs off.")

    def signature(self, data: dict[str, Any]) -> Any:
        people = data.get("participants", [])
        return (tuple((p["id"], p["name"], p.get("role", "")) for p in people),
                tuple((v["id"], v["title"]) for v in data.get("variants", [])))

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
                                         "variant")):
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
                    "layout": widgets.Layout(width="520px")}
        form = [
            self.bind(widgets.Dropdown(description="Outcome", options=OUTCOMES, **dropdown),
                      read=read("outcome"), write=write("outcome"), css="dl-outcome"),
            self.bind(widgets.Dropdown(description="Variant", options=variants, **dropdown),
                      read=read("variant"), write=write("variant"), css="dl-decision-variant"),
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
        return form

    def after_change(self, data: dict[str, Any]) -> None:
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
                               layout=widgets.Layout(width="520px"))
        return self.bind(box, read=read, write=write, css="dl-signoff")
