"""Step 5, mitigations and variants: what would change the numbers, and the options."""

from __future__ import annotations

from functools import partial
from typing import Any

import ipywidgets as widgets

from ...review.drivers import strength_text
from ...review.removal import remove, removed_of, restore, taken_ids
from ..fields import (
    Step,
    error_line,
    escape,
    find,
    format_quantity,
    parse_quantity,
    required,
    same_quantity,
    slug,
    submit_with,
    text,
)
from ..shared import layout

STATUSES = ["proposed", "planned", "in-progress", "done", "rejected"]


def _json_quantity(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _titles(data: dict[str, Any], kind: str, ids: list[str]) -> str:
    titles = {entry["id"]: entry["title"] for entry in data.get(kind, [])}
    return ", ".join(titles.get(entry_id, entry_id) for entry_id in ids)

def _drivers_html(data: dict[str, Any]) -> str:
    """The review's shared drivers, read-only (they are written in review.json)."""
    rows = "".join(
        f"<li><b>{escape(d.get('title', d.get('id', '')))}</b>: "
        f"{escape(_titles(data, 'items', list(d.get('items', []))))} "
        f"({escape(strength_text(d.get('strength', 0)))})</li>"
        for d in data["drivers"]
    )
    return ("<h4>Shared drivers (correlated items)</h4><p>Items that share a cause happen "
            "together more often; the strength is the rank correlation of their happen/not "
            "draws. Edited in review.json (<code>drivers</code>).</p>"
            f"<ul>{rows}</ul>")


def _people(data: dict[str, Any]) -> list[tuple[str, str | None]]:
    """A mitigation's possible owners."""
    return [("— nobody yet —", None)] + [(p["name"], p["id"])
                                          for p in data.get("participants", [])]


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

    def registries(self) -> list[list[Any]]:
        return [self.fields, self.summaries]

    def after_change(self, data: dict[str, Any]) -> None:
        # The cards are kept across rebuilds (see workbook.cards): their choices follow
        # the mitigations', items' and participants' titles here.
        options = {
            "dl-variant-mitigations": [(m["title"], m["id"]) for m in data.get("mitigations", [])],
            "dl-mitigation-targets": [(i["title"], i["id"]) for i in data.get("items", [])],
            "dl-mitigation-owner": _people(data),
        }
        for field in self.fields:
            for css, wanted in options.items():
                if css in field.widget._dom_classes and list(field.widget.options) != wanted:
                    field.relabel(wanted, data)
                    if css == "dl-mitigation-targets":
                        field.widget.rows = min(8, max(2, len(wanted)))
                    elif css == "dl-variant-mitigations":
                        field.widget.rows = min(6, max(2, len(wanted)))
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
            repr(data.get("drivers", [])),  # shown read-only: edited in review.json
            tuple((g.get("at"), g.get("mitigation", g.get("variant", {})).get("title"))
                  for g in data.get("removed", []) if "item" not in g),
        )

    def _build(self, data: dict[str, Any]) -> list[Any]:
        # Each piece is cached under what it is built from (see workbook.cards); a card's
        # choices are relabelled in after_change, so adding an item rebuilds no card.
        get = self.cards.get
        items = tuple((i["id"], i["title"]) for i in data.get("items", []))
        mitigations = tuple(m["id"] for m in data.get("mitigations", []))
        variants = tuple(v["id"] for v in data.get("variants", []))
        children: list[Any] = [get("mitigations heading",
                                   lambda: widgets.HTML(value="<h4>Mitigations</h4>"))]
        children += [get(("mitigation", m), partial(self._mitigation, m, data))
                     for m in mitigations]
        children.append(get(("add mitigation", items, mitigations),
                            partial(self._add_mitigation, data)))
        children.append(get(("removed mitigations", repr(removed_of(data, "mitigation"))),
                            partial(self._removed, "mitigation", data)))
        children.append(get("variants heading", lambda: widgets.HTML(
            value="<h4>Variants (release options)</h4>")))
        children += [get(("variant", v), partial(self._variant, v, data)) for v in variants]
        children.append(get(("add variant", variants), self._add_variant))
        if data.get("drivers"):
            children.append(get(("drivers", items, repr(data["drivers"])),
                                partial(self._drivers, data)))
        children.append(get(("removed variants", repr(removed_of(data, "variant"))),
                            partial(self._removed, "variant", data)))
        return children

    @staticmethod
    def _drivers(data: dict[str, Any]) -> Any:
        drivers = widgets.HTML(value=_drivers_html(data))
        drivers.add_class("dl-drivers")
        return drivers

    def _removed(self, kind: str, data: dict[str, Any]) -> Any:
        """Removed mitigations or variants, each kept whole, with a Restore button."""
        gone = removed_of(data, kind)
        if not gone:
            return widgets.HTML(value="")
        rows: list[Any] = [widgets.HTML(
            value=f"<b>Removed {kind}s</b> <span class=\"dl-hint\">(kept with their links: "
            "restore brings them back)</span>")]
        for entry in gone:
            errors = error_line(f"dl-restore-{kind}-error")
            label = widgets.HTML(value=f'<span class="dl-muted">{escape(entry["title"])}</span>',
                                 layout=layout(width="560px"))
            button = self.button("Restore", f"dl-restore-{kind}",
                                 partial(self._restore, kind, entry["id"]), icon="undo",
                                 error=errors)
            rows.append(widgets.VBox([widgets.HBox([label, button]), errors]))
        box = widgets.VBox(rows)
        box.add_class(f"dl-removed-{kind}s")
        return box

    def _restore(self, kind: Any, entry_id: str) -> None:
        self.edit(lambda data: restore(data, kind, entry_id))

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
        people = _people(data)
        css = "dl-mitigation"
        left = widgets.VBox([
            self.bind(text("Title", width="460px"), read=lambda d: entry(d)["title"],
                      write=write("title", lambda v: required(v, "The title")),
                      css=f"{css}-title"),
            self.bind(text("Likelihood ×", width="300px", continuous=False,
                           placeholder="e.g. 0.3 to 0.6"),
                      read=lambda d: format_quantity(entry(d).get("likelihood_factor", 1),
                                                     "factor"),
                      write=write("likelihood_factor", factor), css=f"{css}-likelihood-factor",
                      same=same_quantity("factor")),
            self.bind(text("Impact ×", width="300px", continuous=False,
                           placeholder="e.g. 1, or 0.5 to 0.8"),
                      read=lambda d: format_quantity(entry(d).get("impact_factor", 1), "factor"),
                      write=write("impact_factor", factor), css=f"{css}-impact-factor",
                      same=same_quantity("factor")),
            self.bind(widgets.Dropdown(description="Owner", options=people,
                                       style={"description_width": "110px"},
                                       layout=layout(width="300px")),
                      read=lambda d: entry(d).get("owner"), write=write("owner"),
                      css=f"{css}-owner"),
            self.bind(widgets.Dropdown(description="Status", options=STATUSES,
                                       style={"description_width": "110px"},
                                       layout=layout(width="300px")),
                      read=lambda d: entry(d).get("status", "proposed"), write=write("status"),
                      css=f"{css}-status"),
        ])
        targets = self.bind(
            widgets.SelectMultiple(description="Targets", options=items,
                                   rows=min(8, max(2, len(items))),
                                   style={"description_width": "70px"},
                                   layout=layout(width="560px")),
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
        """Soft: the mitigation and the variants' links to it are kept for Restore."""
        self.edit(lambda data: remove(data, "mitigation", mitigation_id))

    def _add_mitigation(self, data: dict[str, Any]) -> Any:
        suggestions = self.session.template.suggested_mitigations
        title = text("", placeholder="a new mitigation", width="380px")
        title.add_class("dl-new-mitigation-title")
        items = [(i["title"], i["id"]) for i in data.get("items", [])]
        targets = widgets.SelectMultiple(options=items, rows=min(5, max(2, len(items))),
                                         layout=layout(width="480px"))
        targets.add_class("dl-new-mitigation-targets")
        suggested = widgets.Dropdown(
            options=[("— or start from the template's suggestions —", None)]
            + [(s.title, s.id) for s in suggestions], layout=layout(width="380px"))
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
            if self.repeated(("add-mitigation", name, tuple(chosen))):
                return  # a double click: one mitigation

            def change(data: dict[str, Any]) -> None:
                taken = taken_ids(data, "mitigation")
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
        submit_with(title, button)  # Enter adds, as the button does
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
                                             layout=layout(width="480px")),
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
        """Soft, kept for Restore; refused while the decision chooses the variant."""
        self.edit(lambda data: remove(data, "variant", variant_id))

    def _add_variant(self) -> Any:
        title = text("", placeholder="a new release option, e.g. API with filters",
                     width="400px")
        title.add_class("dl-new-variant-title")
        errors = error_line("dl-add-variant-error")

        def add() -> None:
            name = required(title.value, "The variant's title").strip()
            if self.repeated(("add-variant", name)):
                return  # a double click: one variant

            def change(data: dict[str, Any]) -> None:
                taken = taken_ids(data, "variant")
                data.setdefault("variants", []).append(
                    {"id": slug(name, taken, "variant"), "title": name, "mitigations": []})
            self.edit(change)

        button = self.button("Add variant", "dl-add-variant", add, icon="plus",
                             style="success", error=errors)
        submit_with(title, button)  # Enter adds, as the button does
        return widgets.VBox([widgets.HBox([title, button]), errors])
