"""Step 1, set-up: the subject, horizon, template, participants and thresholds."""

from __future__ import annotations

from functools import partial
from typing import Any

import ipywidgets as widgets

from ...review.removal import named, removed_of
from ...review.templates import list_templates
from ..fields import (
    Step,
    error_line,
    escape,
    find,
    required,
    slug,
    submit_with,
    text,
)
from ..shared import layout


class SetupStep(Step):
    name = "setup"
    title = "Set-up"
    lead = "What is being released, over which horizon, against which template, and who is here."

    def signature(self, data: dict[str, Any]) -> Any:
        return tuple(p["id"] for p in data.get("participants", []))

    def build(self, data: dict[str, Any]) -> list[Any]:
        # Cached pieces (see workbook.cards): adding a participant builds their row and
        # the add form, and keeps the rest.
        people = [self.cards.get("fields", self._fields),
                  self.cards.get("participants heading",
                                 lambda: widgets.HTML(value="<h4>Participants</h4>"))]
        ids = tuple(person["id"] for person in data.get("participants", []))
        people += [self.cards.get(("person", person_id), partial(self._person, person_id))
                   for person_id in ids]
        people.append(self.cards.get(("add", ids), self._add_person))
        return people

    def _fields(self) -> Any:
        """The review's title, subject, horizon and template, and the template's guidance."""
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
                                       layout=layout(width="640px")),
                      read=lambda data: data["template"]["id"], write=self._switch_template,
                      css="dl-template"),
        ]
        guidance = self.session.template.guidance
        if guidance:
            paragraphs = "".join(f"<p>{escape(part)}</p>" for part in guidance.split("\n\n"))
            fields.append(widgets.HTML(
                value=f'<details class="dl-questions"><summary>How this template asks you to '
                f"work</summary>{paragraphs}</details>", layout=layout(width="640px")))
        return widgets.VBox(fields)

    def _templates(self) -> list[tuple[str, str]]:
        found = list_templates(self.session.template_search)
        options = [(f"{t.title} ({tid})", tid) for tid, _, t in found if not isinstance(t, str)]
        if self.session.template.id not in {tid for _, tid in options}:
            options.append((self.session.template.title, self.session.template.id))
        return options

    def _switch_template(self, data: dict[str, Any], template_id: Any) -> None:
        if template_id == data["template"]["id"]:
            return
        from ...review.templates import load_template
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
                if key == "name":
                    _unique_name(data, value, person_id)
                find(data["participants"], person_id)[key] = value
            return change

        errors = error_line("dl-remove-participant-error")
        row = widgets.HBox([
            self.bind(text("Name", width="320px"), read=read("name"),
                      write=write("name", "The name"), css="dl-participant-name"),
            self.bind(widgets.Text(description="Role", style={"description_width": "40px"},
                                   layout=layout(width="260px")),
                      read=read("role"), write=write("role"), css="dl-participant-role"),
            self.button("Remove", "dl-remove-participant", lambda: self._remove(person_id),
                        icon="trash", error=errors),
        ])
        return widgets.VBox([row, errors])

    def _remove(self, person_id: str) -> None:
        data = self.session.data()
        # Removed items' estimates and removed mitigations count: Restore brings them back.
        estimates = data.get("estimates", []) + [
            e for gone in data.get("removed", []) for e in gone.get("estimates", [])]
        uses = sum(e["participant"] == person_id for e in estimates)
        owns = [named("mitigation", m)
                for m in data.get("mitigations", []) + removed_of(data, "mitigation")
                if m.get("owner") == person_id]
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
            if self.repeated(("add-participant", full)):
                return  # a double click: one participant

            def change(data: dict[str, Any]) -> None:
                _unique_name(data, full)
                taken = [p["id"] for p in data.get("participants", [])]
                entry = {"id": slug(full.split()[0] if full.split() else full, taken, "p"),
                         "name": full}
                if role.value.strip():
                    entry["role"] = role.value.strip()
                data.setdefault("participants", []).append(entry)
            self.edit(change)

        button = self.button("Add participant", "dl-add-participant", add, icon="plus",
                             style="success", error=errors)
        submit_with(name, button)  # Enter adds, as the button does
        return widgets.VBox([widgets.HBox([name, role, button]), errors])


def _unique_name(data: dict[str, Any], name: str, person_id: str | None = None) -> None:
    """Two participants may not share a name: who said what must be told apart."""
    for person in data.get("participants", []):
        if person["id"] != person_id and " ".join(person["name"].split()).casefold() == \
                " ".join(name.split()).casefold():
            raise ValueError(f"a participant named {person['name']!r} is here already: "
                             "add a surname or an initial to tell them apart")
