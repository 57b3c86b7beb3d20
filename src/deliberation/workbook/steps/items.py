"""Steps 2 and 3, benefits and harms: the register of items."""

from __future__ import annotations

from functools import partial
from typing import Any

import ipywidgets as widgets

from ...review.removal import remove, removed_of, restore, taken_ids
from ...review.template import Template
from ..fields import (
    Step,
    error_line,
    escape,
    find,
    required,
    slug,
    split_commas,
    submit_with,
    text,
)
from ..session import ReviewSession
from ..shared import layout

KIND_WORDS = {"benefit": ("Benefits", "benefit"), "harm": ("Harms", "harm")}


def _questions_html(template: Template, category_id: str | None) -> str:
    """The template's questions for a category, beside an item's card."""
    category = template.category(category_id) if category_id else None
    if category is None:
        return "<b>Pick a category</b> to see the template's questions for it."
    questions = "".join(f"<li>{escape(q)}</li>" for q in category.questions)
    refs = ", ".join(escape(r) for r in category.references)
    body = f"<b>{escape(category.title)}</b>"
    body += f"<ul>{questions}</ul>" if questions else ""
    if refs:
        body += f'<div class="dl-hint">Clauses: {refs}</div>'
    return body


def _category_options(session: ReviewSession, kind: str) -> list[tuple[str, str | None]]:
    options: list[tuple[str, str | None]] = [("(no category)", None)]
    options += [(c.title, c.id) for c in session.template.categories if c.kind == kind]
    return options


class ItemsStep(Step):
    """Benefits or harms (or both): add, edit, remove; category questions beside the form."""

    def __init__(self, session: ReviewSession,
                 kinds: tuple[str, ...] = ("benefit", "harm")) -> None:
        self.kinds = kinds
        self.name = "items" if len(kinds) == 2 else f"{kinds[0]}s"
        if len(kinds) == 2:
            self.title = "Benefits and harms"
            self.lead = ("What could releasing the model do, good and bad? One card per "
                         "item; the template's questions for its category are on the right.")
        else:
            self.title = KIND_WORDS[kinds[0]][0]
            self.lead = {
                "benefit": "What good could the release do, and for whom?",
                "harm": "What harm could the release do, and to whom?",
            }[kinds[0]]
        super().__init__(session)

    def signature(self, data: dict[str, Any]) -> Any:
        return (
            self.session.template.id,
            tuple((i["id"], i["kind"], i.get("category")) for i in data.get("items", [])),
            tuple((n["category"], n["reason"]) for n in data.get("not_applicable", [])),
            tuple((i["id"], i["title"]) for i in removed_of(data, "item")),
        )

    def build(self, data: dict[str, Any]) -> list[Any]:
        # Each piece is cached under what it is built from (see workbook.cards): adding
        # a harm builds its card and the harms' add form, and reuses the rest.
        self.questions: list[tuple[str, Any]] = []
        template = self.session.template.id
        covered = tuple(sorted({str(i["category"]) for i in data.get("items", [])
                                if i.get("category")}))
        set_aside = tuple((n["category"], n["reason"]) for n in data.get("not_applicable", []))
        children: list[Any] = []
        for kind in self.kinds:
            plural, singular = KIND_WORDS[kind]
            if len(self.kinds) == 2:
                children.append(self.cards.get(("heading", kind),
                                               partial(widgets.HTML, value=f"<h4>{plural}</h4>")))
            items = [i for i in data.get("items", []) if i["kind"] == kind]
            if not items:
                children.append(self.cards.get(("none", kind), partial(
                    widgets.HTML, value=f'<p class="dl-muted">No {singular}s yet: add the '
                    "first below.</p>")))
            children += [self.cards.get(("card", template, item["id"], kind),
                                        partial(self._card, item)) for item in items]
            children.append(self.cards.get(
                ("add", template, kind, tuple(i["id"] for i in items)),
                partial(self._add_form, kind)))
            children.append(self.cards.get(("not applicable", template, kind, covered,
                                            set_aside),
                                           partial(self._not_applicable, kind, data)))
            gone = tuple((g["item"]["id"], g["item"]["title"], str(g.get("at")),
                          len(g.get("estimates", [])))
                         for g in data.get("removed", []) if g.get("item", {}).get("kind") == kind)
            children.append(self.cards.get(("removed", kind, gone),
                                           partial(self._removed, kind, data)))
        return children

    def registries(self) -> list[list[Any]]:
        return [self.fields, self.questions]

    def after_change(self, data: dict[str, Any]) -> None:
        """A card's questions follow its item's category (the card itself is kept)."""
        categories = {i["id"]: i.get("category") for i in data.get("items", [])}
        for item_id, panel in self.questions:
            if item_id in categories:
                shown = _questions_html(self.session.template, categories[item_id])
                if panel.value != shown:
                    panel.value = shown

    def _removed(self, kind: str, data: dict[str, Any]) -> Any:
        """Removed items of this kind, each with its history kept and a Restore button."""
        gone = [g for g in data.get("removed", []) if g.get("item", {}).get("kind") == kind]
        if not gone:
            return widgets.HTML(value="")
        rows: list[Any] = [widgets.HTML(
            value=f"<b>Removed {KIND_WORDS[kind][0].lower()}</b> "
            '<span class="dl-hint">(their estimates and links are kept: restore brings them '
            "back)</span>")]
        for entry in gone:
            item = entry["item"]
            count = len(entry.get("estimates", []))
            label = widgets.HTML(
                value=f'<span class="dl-muted">{escape(item["title"])}: {count} '
                f"estimate{'' if count == 1 else 's'} kept, removed "
                f"{escape(str(entry['at'])[:16].replace('T', ' '))} UTC</span>",
                layout=layout(width="560px"))
            errors = error_line(f"dl-restore-{kind}-error")
            button = self.button("Restore", f"dl-restore-{kind}",
                                 partial(self._restore, item["id"]), icon="undo", error=errors)
            rows.append(widgets.VBox([widgets.HBox([label, button]), errors]))
        box = widgets.VBox(rows)
        box.add_class(f"dl-removed-{kind}s")
        return box

    def _restore(self, item_id: str) -> None:
        self.edit(lambda data: restore(data, "item", item_id))

    def _not_applicable(self, kind: str, data: dict[str, Any]) -> Any:
        """Categories without an item: each is covered, or set aside with a reason."""
        covered = {i.get("category") for i in data.get("items", [])}
        set_aside = {n["category"]: n["reason"] for n in data.get("not_applicable", [])}
        rows: list[Any] = []
        for category in self.session.template.categories:
            if category.kind != kind or category.id in covered:
                continue
            if category.id in set_aside:
                label = widgets.HTML(
                    value=f'<span class="dl-muted">{escape(category.title)}: not applicable, '
                    f"because {escape(set_aside[category.id])}</span>",
                    layout=layout(width="640px"))
                undo = self.button("Consider again", "dl-undo-not-applicable",
                                   partial(self._set_aside, category.id, None), icon="undo")
                rows.append(widgets.HBox([label, undo]))
                continue
            label = widgets.HTML(value=escape(category.title),
                                 layout=layout(width="380px"))
            reason = widgets.Text(placeholder="not applicable because…",
                                  layout=layout(width="300px"))
            reason.add_class(f"dl-not-applicable-reason-{category.id}")
            errors = error_line(f"dl-not-applicable-error-{category.id}")
            button = self.button("Not applicable", f"dl-not-applicable-{category.id}",
                                 partial(self._set_aside_with, category.id, reason), error=errors)
            rows.append(widgets.VBox([widgets.HBox([label, reason, button]), errors]))
        if not rows:
            return widgets.HTML(value="")
        heading = widgets.HTML(
            value='<p class="dl-hint">Add an item for each, or set it aside with a reason: the '
            "policy asks for one or the other.</p>")
        open_ = sum(1 for c in self.session.template.categories
                    if c.kind == kind and c.id not in covered and c.id not in set_aside)
        box = widgets.Accordion(children=[widgets.VBox([heading, *rows])], selected_index=None)
        box.set_title(0, f"{open_} other {kind} categor{'y' if open_ == 1 else 'ies'} of the "
                         f"template not considered yet" if open_ else
                      f"The template's other {kind} categories: all considered")
        box.add_class("dl-not-applicable")
        return box

    def _set_aside_with(self, category_id: str, reason: Any) -> None:
        self._set_aside(category_id, required(reason.value, "The reason").strip())

    def _set_aside(self, category_id: str, reason: str | None) -> None:
        def change(data: dict[str, Any]) -> None:
            entries = [n for n in data.get("not_applicable", []) if n["category"] != category_id]
            if reason is not None:
                entries.append({"category": category_id, "reason": reason})
            data["not_applicable"] = entries
        self.edit(change)

    def _card(self, item: dict[str, Any]) -> Any:
        item_id = item["id"]
        kind = item["kind"]

        def reader(key: str, default: Any = "") -> Any:
            return lambda data: find(data["items"], item_id).get(key, default) or default

        def writer(key: str, parse: Any = None) -> Any:
            def write(data: dict[str, Any], value: Any) -> None:
                find(data["items"], item_id)[key] = parse(value) if parse else value
            return write

        title = self.bind(text("Title", width="520px"), read=reader("title"),
                          write=writer("title", lambda v: required(v, "The title")),
                          css=f"dl-{kind}-title")
        category = self.bind(
            widgets.Dropdown(description="Category", options=_category_options(self.session, kind),
                             style={"description_width": "110px"},
                             layout=layout(width="520px")),
            read=lambda data: find(data["items"], item_id).get("category"),
            write=writer("category"), css=f"dl-{kind}-category")
        description = self.bind(text("Description", area=True, width="520px"),
                                read=reader("description"), write=writer("description"),
                                css=f"dl-{kind}-description")
        references = self.bind(
            text("References", placeholder="clauses of the standard, comma-separated",
                 width="520px"),
            read=lambda data: ", ".join(find(data["items"], item_id).get("references", [])),
            write=writer("references", split_commas), css=f"dl-{kind}-references")
        errors = error_line(f"dl-{kind}-remove-error")
        remove = self.button("Remove", f"dl-remove-{kind}", lambda: self._remove(item_id),
                             icon="trash", error=errors)
        form = widgets.VBox([title, category, description, references,
                             widgets.HBox([remove, errors])])
        questions = self._questions(item.get("category"))
        self.questions.append((item_id, questions))
        card = widgets.HBox([form, questions])
        card.add_class("dl-card")
        card.add_class(f"dl-{kind}-card")
        return card

    def _questions(self, category_id: str | None) -> Any:
        body = _questions_html(self.session.template, category_id)
        panel = widgets.HTML(value=body, layout=layout(width="420px", margin="0 0 0 12px"))
        panel.add_class("dl-questions")
        return panel

    def _remove(self, item_id: str) -> None:
        """Soft: the item, its estimates and links move to ``removed`` (Restore undoes it)."""
        self.edit(lambda data: remove(data, "item", item_id))

    def _add_form(self, kind: str) -> Any:
        singular = KIND_WORDS[kind][1]
        title = text("", placeholder=f"a new {singular}, e.g. its one-line title", width="420px")
        title.add_class(f"dl-new-{kind}-title")
        category = widgets.Dropdown(options=_category_options(self.session, kind),
                                    layout=layout(width="240px"))
        category.add_class(f"dl-new-{kind}-category")
        errors = error_line(f"dl-add-{kind}-error")

        def add() -> None:
            name = required(title.value, f"The {singular}'s title").strip()
            if self.repeated(("add", kind, name, category.value)):
                return  # a double click: one item

            def change(data: dict[str, Any]) -> None:
                taken = taken_ids(data, "item")
                entry: dict[str, Any] = {"id": slug(name, taken, kind), "kind": kind,
                                         "title": name}
                if category.value:
                    entry["category"] = category.value
                data.setdefault("items", []).append(entry)
            self.edit(change)

        button = self.button(f"Add {singular}", f"dl-add-{kind}", add, icon="plus",
                             style="success", error=errors)
        submit_with(title, button)  # Enter adds, as the button does
        row = widgets.HBox([title, category, button])
        return widgets.VBox([row, errors])


# --------------------------------------------------------------------------- estimates
