"""Agenda steps around the register: set-up, mitigations and variants, decision, export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..errors import DeliberationError
from ..review.templates import list_templates
from .fields import (
    Step,
    error_line,
    escape,
    find,
    format_quantity,
    parse_quantity,
    quantity_from_json,
    required,
    slug,
    split_lines,
    text,
)
from .session import ReviewSession, user_message

OUTCOMES = [("— not decided yet —", None), ("Approve", "approve"),
            ("Approve with conditions", "approve-with-conditions"), ("Defer", "defer"),
            ("Reject", "reject")]
STATUSES = ["proposed", "planned", "in-progress", "done", "rejected"]


def _json_quantity(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _titles(data: dict[str, Any], kind: str, ids: list[str]) -> str:
    titles = {entry["id"]: entry["title"] for entry in data.get(kind, [])}
    return ", ".join(titles.get(entry_id, entry_id) for entry_id in ids)


class SetupStep(Step):
    name = "setup"
    title = "Set-up"
    lead = "What is being released, over which horizon, against which template, and who is here."

    def signature(self, data: dict[str, Any]) -> Any:
        return tuple(p["id"] for p in data.get("participants", []))

    def build(self, data: dict[str, Any]) -> list[Any]:
        def at(*keys: str) -> Any:
            def read(data: dict[str, Any]) -> Any:
                value: Any = data
                for key in keys:
                    value = value.get(key, {}) if isinstance(value, dict) else ""
                return value if isinstance(value, str) else ""
            return read

        def put(*keys: str, need: str = "") -> Any:
            def write(data: dict[str, Any], value: Any) -> None:
                if need:
                    required(value, need)
                target = data
                for key in keys[:-1]:
                    target = target.setdefault(key, {})
                target[keys[-1]] = value
            return write

        fields = [
            self.bind(text("Title", width="640px"), read=at("title"),
                      write=put("title", need="The title"), css="dl-title"),
            widgets.HBox([
                self.bind(text("Model", width="400px"), read=at("subject", "name"),
                          write=put("subject", "name", need="The model's name"),
                          css="dl-subject-name"),
                self.bind(text("Version", width="236px"), read=at("subject", "version"),
                          write=put("subject", "version"), css="dl-subject-version"),
            ]),
            self.bind(text("Horizon", placeholder="e.g. 12 months after release", width="640px"),
                      read=at("horizon"), write=put("horizon"), css="dl-horizon"),
            self.bind(widgets.Dropdown(description="Template", options=self._templates(),
                                       style={"description_width": "110px"},
                                       layout=widgets.Layout(width="640px")),
                      read=lambda data: data["template"]["id"], write=self._switch_template,
                      css="dl-template"),
        ]
        guidance = self.session.template.guidance
        if guidance:
            paragraphs = "".join(f"<p>{escape(part)}</p>" for part in guidance.split("\n\n"))
            fields.append(widgets.HTML(
                value=f'<details class="dl-questions"><summary>How this template asks you to '
                f"work</summary>{paragraphs}</details>", layout=widgets.Layout(width="640px")))
        people = [widgets.HTML(value="<h4>Participants</h4>")]
        for person in data.get("participants", []):
            people.append(self._person(person["id"]))
        people.append(self._add_person())
        return [*fields, *people]

    def _templates(self) -> list[tuple[str, str]]:
        found = list_templates(self.session.template_search)
        options = [(f"{t.title} ({tid})", tid) for tid, _, t in found if not isinstance(t, str)]
        if self.session.template.id not in {tid for _, tid in options}:
            options.append((self.session.template.title, self.session.template.id))
        return options

    def _switch_template(self, data: dict[str, Any], template_id: Any) -> None:
        if template_id == data["template"]["id"]:
            return
        from ..review.templates import load_template
        template = load_template(template_id, search=self.session.template_search)
        # The session checks the review against the new template before keeping it.
        data["template"] = {"id": template.id, "version": template.version,
                            "sha256": template.sha256()}

    def _person(self, person_id: str) -> Any:
        def read(key: str) -> Any:
            return lambda data: find(data["participants"], person_id).get(key, "")

        def write(key: str, need: str = "") -> Any:
            def change(data: dict[str, Any], value: Any) -> None:
                if need:
                    required(value, need)
                find(data["participants"], person_id)[key] = value
            return change

        errors = error_line("dl-remove-participant-error")
        row = widgets.HBox([
            self.bind(text("Name", width="320px"), read=read("name"),
                      write=write("name", "The name"), css="dl-participant-name"),
            self.bind(widgets.Text(description="Role", style={"description_width": "40px"},
                                   layout=widgets.Layout(width="260px")),
                      read=read("role"), write=write("role"), css="dl-participant-role"),
            self.button("Remove", "dl-remove-participant", lambda: self._remove(person_id),
                        icon="trash", error=errors),
        ])
        return widgets.VBox([row, errors])

    def _remove(self, person_id: str) -> None:
        data = self.session.data()
        uses = sum(e["participant"] == person_id for e in data.get("estimates", []))
        owns = [m["title"] for m in data.get("mitigations", []) if m.get("owner") == person_id]
        if uses or owns:
            what = []
            if uses:
                what.append(f"{uses} estimate{'s' if uses > 1 else ''}")
            if owns:
                what.append(f"owns {', '.join(owns)}")
            raise ValueError(f"this participant has {' and '.join(what)}: their work stays in "
                             "the record, so rename them instead")

        def change(data: dict[str, Any]) -> None:
            data["participants"] = [p for p in data["participants"] if p["id"] != person_id]
            decision = data.get("decision")
            if decision:
                decision["signoffs"] = [s for s in decision.get("signoffs", [])
                                        if s["participant"] != person_id]
        self.edit(change)

    def _add_person(self) -> Any:
        name = text("", placeholder="name of a new participant", width="320px")
        name.add_class("dl-new-participant-name")
        role = text("", placeholder="role, e.g. safety", width="260px")
        role.add_class("dl-new-participant-role")
        errors = error_line("dl-add-participant-error")

        def add() -> None:
            full = required(name.value, "The participant's name").strip()

            def change(data: dict[str, Any]) -> None:
                taken = [p["id"] for p in data.get("participants", [])]
                entry = {"id": slug(full.split()[0] if full.split() else full, taken, "p"),
                         "name": full}
                if role.value.strip():
                    entry["role"] = role.value.strip()
                data.setdefault("participants", []).append(entry)
            self.edit(change)

        button = self.button("Add participant", "dl-add-participant", add, icon="plus",
                             style="success", error=errors)
        return widgets.VBox([widgets.HBox([name, role, button]), errors])


class MitigationsStep(Step):
    name = "mitigations"
    title = "Mitigations and variants"
    lead = ("What would make a harm less likely or smaller (and what it costs in benefits)? "
            "A factor multiplies the targeted likelihood or impact: '0.3 to 0.6' means 90% sure "
            "it keeps between 30% and 60%. Variants are the release options, each a set of "
            "mitigations.")

    def build(self, data: dict[str, Any]) -> list[Any]:
        self.summaries: list[tuple[Any, Any, str]] = []
        return self._build(data)

    def summary(self, text_of: Any, css: str, label: str) -> Any:
        """A line naming what a multiple choice holds, kept current after every change."""
        line = widgets.HTML(value="")
        line.add_class(css)
        self.summaries.append((line, text_of, label))
        return line

    def after_change(self, data: dict[str, Any]) -> None:
        options = [(m["title"], m["id"]) for m in data.get("mitigations", [])]
        for field in self.fields:
            if "dl-variant-mitigations" in field.widget._dom_classes and \
                    list(field.widget.options) != options:
                field.relabel(options)
        for line, text_of, label in self.summaries:
            try:
                shown = text_of(data)
            except ValueError:
                continue
            line.value = f"<b>{escape(label)}:</b> {escape(shown)}"

    def signature(self, data: dict[str, Any]) -> Any:
        return (
            tuple((i["id"], i["title"]) for i in data.get("items", [])),
            tuple((p["id"], p["name"]) for p in data.get("participants", [])),
            # Mitigation titles are typed in this very step: they relabel the variants'
            # choices in after_change instead of rebuilding the step under the cursor.
            tuple(m["id"] for m in data.get("mitigations", [])),
            tuple(v["id"] for v in data.get("variants", [])),
        )

    def _build(self, data: dict[str, Any]) -> list[Any]:
        children: list[Any] = [widgets.HTML(value="<h4>Mitigations</h4>")]
        children += [self._mitigation(m["id"], data) for m in data.get("mitigations", [])]
        children.append(self._add_mitigation(data))
        children.append(widgets.HTML(value="<h4>Variants (release options)</h4>"))
        children += [self._variant(v["id"], data) for v in data.get("variants", [])]
        children.append(self._add_variant())
        return children

    def _mitigation(self, mitigation_id: str, data: dict[str, Any]) -> Any:
        def entry(data: dict[str, Any]) -> dict[str, Any]:
            return find(data["mitigations"], mitigation_id)

        def write(key: str, parse: Any = None) -> Any:
            def change(data: dict[str, Any], value: Any) -> None:
                entry(data)[key] = parse(value) if parse else value
            return change

        def factor(value: str) -> Any:
            parsed = parse_quantity(value, "factor")
            return 1 if parsed is None else _json_quantity(parsed)

        items = [(i["title"], i["id"]) for i in data.get("items", [])]
        people = [("— nobody yet —", None)] + [(p["name"], p["id"])
                                                for p in data.get("participants", [])]
        css = "dl-mitigation"
        left = widgets.VBox([
            self.bind(text("Title", width="460px"), read=lambda d: entry(d)["title"],
                      write=write("title", lambda v: required(v, "The title")),
                      css=f"{css}-title"),
            self.bind(text("Likelihood ×", width="300px", continuous=False,
                           placeholder="e.g. 0.3 to 0.6"),
                      read=lambda d: format_quantity(entry(d).get("likelihood_factor", 1)),
                      write=write("likelihood_factor", factor), css=f"{css}-likelihood-factor"),
            self.bind(text("Impact ×", width="300px", continuous=False,
                           placeholder="e.g. 1, or 0.5 to 0.8"),
                      read=lambda d: format_quantity(entry(d).get("impact_factor", 1)),
                      write=write("impact_factor", factor), css=f"{css}-impact-factor"),
            self.bind(widgets.Dropdown(description="Owner", options=people,
                                       style={"description_width": "110px"},
                                       layout=widgets.Layout(width="300px")),
                      read=lambda d: entry(d).get("owner"), write=write("owner"),
                      css=f"{css}-owner"),
            self.bind(widgets.Dropdown(description="Status", options=STATUSES,
                                       style={"description_width": "110px"},
                                       layout=widgets.Layout(width="300px")),
                      read=lambda d: entry(d).get("status", "proposed"), write=write("status"),
                      css=f"{css}-status"),
        ])
        targets = self.bind(
            widgets.SelectMultiple(description="Targets", options=items,
                                   rows=min(8, max(2, len(items))),
                                   style={"description_width": "70px"},
                                   layout=widgets.Layout(width="380px")),
            read=lambda d: tuple(t for t in entry(d)["targets"]),
            write=write("targets", self._targets), css=f"{css}-targets")
        errors = error_line(f"{css}-remove-error")
        remove = self.button("Remove", "dl-remove-mitigation",
                             lambda: self._remove_mitigation(mitigation_id), icon="trash",
                             error=errors)
        hint = widgets.HTML(value='<span class="dl-hint">Ctrl-click (⌘-click) to pick several '
                            "targets or mitigations.</span>")
        chosen = self.summary(lambda d: _titles(d, "items", entry(d)["targets"]),
                              "dl-mitigation-targets-summary", "Targets chosen")
        card = widgets.VBox([widgets.HBox([left, widgets.VBox([chosen, targets, hint])]),
                             widgets.HBox([remove, errors])])
        card.add_class("dl-card")
        card.add_class("dl-mitigation-card")
        return card

    @staticmethod
    def _targets(value: Any) -> list[str]:
        if not value:
            raise ValueError("a mitigation needs at least one target item")
        return list(value)

    def _remove_mitigation(self, mitigation_id: str) -> None:
        def change(data: dict[str, Any]) -> None:
            data["mitigations"] = [m for m in data["mitigations"] if m["id"] != mitigation_id]
            for variant in data.get("variants", []):
                variant["mitigations"] = [m for m in variant.get("mitigations", [])
                                          if m != mitigation_id]
        self.edit(change)

    def _add_mitigation(self, data: dict[str, Any]) -> Any:
        suggestions = self.session.template.suggested_mitigations
        title = text("", placeholder="a new mitigation", width="380px")
        title.add_class("dl-new-mitigation-title")
        items = [(i["title"], i["id"]) for i in data.get("items", [])]
        targets = widgets.SelectMultiple(options=items, rows=min(5, max(2, len(items))),
                                         layout=widgets.Layout(width="300px"))
        targets.add_class("dl-new-mitigation-targets")
        suggested = widgets.Dropdown(
            options=[("— or start from the template's suggestions —", None)]
            + [(s.title, s.id) for s in suggestions], layout=widgets.Layout(width="380px"))
        suggested.add_class("dl-suggested-mitigation")

        def fill(change: dict[str, Any]) -> None:
            pick = next((s for s in suggestions if s.id == change["new"]), None)
            if pick is not None:
                title.value = pick.title

        suggested.observe(fill, names="value")
        errors = error_line("dl-add-mitigation-error")

        def add() -> None:
            name = required(title.value, "The mitigation's title").strip()
            chosen = self._targets(targets.value)
            pick = next((s for s in suggestions if s.id == suggested.value), None)

            def change(data: dict[str, Any]) -> None:
                taken = [m["id"] for m in data.get("mitigations", [])]
                entry: dict[str, Any] = {"id": slug(name, taken, "mitigation"), "title": name,
                                         "targets": chosen}
                if pick is not None and pick.title == name:
                    entry["likelihood_factor"] = _json_quantity(pick.likelihood_factor)
                    entry["impact_factor"] = _json_quantity(pick.impact_factor)
                    if pick.description:
                        entry["description"] = pick.description
                data.setdefault("mitigations", []).append(entry)
            self.edit(change)

        button = self.button("Add mitigation", "dl-add-mitigation", add, icon="plus",
                             style="success", error=errors)
        return widgets.VBox([widgets.HBox([widgets.VBox([title, suggested]), targets, button]),
                             errors])

    def _variant(self, variant_id: str, data: dict[str, Any]) -> Any:
        def entry(data: dict[str, Any]) -> dict[str, Any]:
            return find(data["variants"], variant_id)

        def write(key: str, parse: Any = None) -> Any:
            def change(data: dict[str, Any], value: Any) -> None:
                entry(data)[key] = parse(value) if parse else value
            return change

        mitigations = [(m["title"], m["id"]) for m in data.get("mitigations", [])]
        errors = error_line("dl-remove-variant-error")
        chosen = self.summary(
            lambda d: _titles(d, "mitigations", entry(d).get("mitigations", [])) or "none",
            "dl-variant-mitigations-summary", "Mitigations in this variant")
        card = widgets.HBox([
            self.bind(text("Variant", width="380px"), read=lambda d: entry(d)["title"],
                      write=write("title", lambda v: required(v, "The title")),
                      css="dl-variant-title"),
            self.bind(widgets.SelectMultiple(description="With", options=mitigations,
                                             rows=min(6, max(2, len(mitigations))),
                                             style={"description_width": "40px"},
                                             layout=widgets.Layout(width="340px")),
                      read=lambda d: tuple(entry(d).get("mitigations", [])),
                      write=write("mitigations", list), css="dl-variant-mitigations"),
            widgets.VBox([self.button("Remove", "dl-remove-variant",
                                      lambda: self._remove_variant(variant_id), icon="trash",
                                      error=errors), errors]),
        ])
        card = widgets.VBox([card, chosen])
        card.add_class("dl-card")
        card.add_class("dl-variant-card")
        return card

    def _remove_variant(self, variant_id: str) -> None:
        def change(data: dict[str, Any]) -> None:
            decision = data.get("decision")
            if decision and decision.get("variant") == variant_id:
                raise ValueError("the decision chose this variant: change the decision first")
            data["variants"] = [v for v in data["variants"] if v["id"] != variant_id]
        self.edit(change)

    def _add_variant(self) -> Any:
        title = text("", placeholder="a new release option, e.g. API with filters",
                     width="400px")
        title.add_class("dl-new-variant-title")
        errors = error_line("dl-add-variant-error")

        def add() -> None:
            name = required(title.value, "The variant's title").strip()

            def change(data: dict[str, Any]) -> None:
                taken = [v["id"] for v in data.get("variants", [])]
                data.setdefault("variants", []).append(
                    {"id": slug(name, taken, "variant"), "title": name, "mitigations": []})
            self.edit(change)

        button = self.button("Add variant", "dl-add-variant", add, icon="plus",
                             style="success", error=errors)
        return widgets.VBox([widgets.HBox([title, button]), errors])


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


class ExportStep(Step):
    name = "export"
    title = "Export the decision record"
    lead = ("Writes the executed workbook, the review and its analysis as one write-once "
            "record, and prints the archive's HEAD: keep it somewhere else (the minutes, a "
            "ticket) to detect a rewritten archive later.")

    def __init__(self, session: ReviewSession, archive: Path | str | None = None) -> None:
        self.archive = Path(archive) if archive else session.path.parent / "archive"
        self.result = widgets.HTML(value="")
        self.result.add_class("dl-export-result")
        super().__init__(session)

    def build(self, data: dict[str, Any]) -> list[Any]:
        folder = widgets.Text(value=str(self.archive), description="Archive",
                              style={"description_width": "110px"},
                              layout=widgets.Layout(width="640px"))
        folder.add_class("dl-archive")
        button = widgets.Button(description="Export the record", icon="archive",
                                button_style="primary", layout=widgets.Layout(width="auto"))
        button.add_class("dl-export")

        def clicked(_: Any) -> None:
            button.disabled = True
            self.result.value = '<span class="dl-hint">Exporting… (runs the workbook)</span>'

            def progress(message: str) -> None:
                # the export takes seconds: each step it reaches is shown as it starts
                self.result.value = (f'<span class="dl-hint">Exporting… '
                                     f"{escape(message.strip())}</span>")

            try:
                record_dir, head = export_record(self.session, Path(folder.value),
                                                 progress=progress)
            except (DeliberationError, OSError) as error:
                self.result.value = (f'<div class="dl-field-error">'
                                     f"{escape(user_message(error))}</div>")
            else:
                self.result.value = (f"<div>Record written to <code>{escape(record_dir)}</code>"
                                     f"<br>HEAD: <code class='dl-head'>{escape(head)}</code></div>")
            finally:
                button.disabled = False

        button.on_click(clicked)
        return [folder, button, self.result]


def export_record(
    session: ReviewSession, archive: Path, *, progress: Callable[[str], None] | None = None
) -> tuple[str, str]:
    """Publish the review's record into ``archive``; returns (record folder, HEAD)."""
    if session.conflict is not None:
        raise session.conflict

    from ..record import build as record

    result = record.export(session.path.parent, archive, progress=progress or (lambda _: None))
    return str(result.path), result.head


__all__ = ["DecisionStep", "ExportStep", "MitigationsStep", "SetupStep", "quantity_from_json"]
