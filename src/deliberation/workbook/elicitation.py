"""The register and the estimates: what could happen, and how likely and how large.

Items (benefits and harms) are edited in place, with the template's guiding
questions for their category shown beside the form. Estimates are entered per
participant and round; in a blind (Delphi) round nobody sees the others' numbers
until the facilitator reveals them, and a second round is recorded beside the first.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import ipywidgets as widgets

from ..errors import ConcurrentEdit, DeliberationError
from .fields import (
    Step,
    error_line,
    escape,
    find,
    format_quantity,
    labels_of,
    parse_quantity,
    required,
    slug,
    split_commas,
    text,
)
from .session import ReviewSession, user_message

KIND_WORDS = {"benefit": ("Benefits", "benefit"), "harm": ("Harms", "harm")}


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
        )

    def build(self, data: dict[str, Any]) -> list[Any]:
        children: list[Any] = []
        for kind in self.kinds:
            plural, singular = KIND_WORDS[kind]
            if len(self.kinds) == 2:
                children.append(widgets.HTML(value=f"<h4>{plural}</h4>"))
            items = [i for i in data.get("items", []) if i["kind"] == kind]
            if not items:
                children.append(widgets.HTML(
                    value=f'<p class="dl-muted">No {singular}s yet: add the first below.</p>'))
            children += [self._card(item) for item in items]
            children.append(self._add_form(kind))
            children.append(self._not_applicable(kind, data))
        return children

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
                    layout=widgets.Layout(width="640px"))
                undo = self.button("Consider again", "dl-undo-not-applicable",
                                   partial(self._set_aside, category.id, None), icon="undo")
                rows.append(widgets.HBox([label, undo]))
                continue
            label = widgets.HTML(value=escape(category.title),
                                 layout=widgets.Layout(width="380px"))
            reason = widgets.Text(placeholder="not applicable because…",
                                  layout=widgets.Layout(width="300px"))
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
                             layout=widgets.Layout(width="520px")),
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
        card = widgets.HBox([form, self._questions(item.get("category"))])
        card.add_class("dl-card")
        card.add_class(f"dl-{kind}-card")
        return card

    def _questions(self, category_id: str | None) -> Any:
        template = self.session.template
        category = template.category(category_id) if category_id else None
        if category is None:
            body = "<b>Pick a category</b> to see the template's questions for it."
        else:
            questions = "".join(f"<li>{escape(q)}</li>" for q in category.questions)
            refs = ", ".join(escape(r) for r in category.references)
            body = f"<b>{escape(category.title)}</b>"
            body += f"<ul>{questions}</ul>" if questions else ""
            if refs:
                body += f'<div class="dl-hint">Clauses: {refs}</div>'
        panel = widgets.HTML(value=body, layout=widgets.Layout(width="420px", margin="0 0 0 12px"))
        panel.add_class("dl-questions")
        return panel

    def _remove(self, item_id: str) -> None:
        def change(data: dict[str, Any]) -> None:
            data["items"] = [i for i in data["items"] if i["id"] != item_id]
            data["estimates"] = [e for e in data.get("estimates", []) if e["item"] != item_id]
            for mitigation in data.get("mitigations", []):
                if mitigation["targets"] == [item_id]:
                    raise ValueError(
                        f"mitigation {mitigation['title']!r} targets only this item: "
                        "remove or retarget the mitigation first")
                mitigation["targets"] = [t for t in mitigation["targets"] if t != item_id]
        self.edit(change)

    def _add_form(self, kind: str) -> Any:
        singular = KIND_WORDS[kind][1]
        title = text("", placeholder=f"a new {singular}, e.g. its one-line title", width="420px")
        title.add_class(f"dl-new-{kind}-title")
        category = widgets.Dropdown(options=_category_options(self.session, kind),
                                    layout=widgets.Layout(width="240px"))
        category.add_class(f"dl-new-{kind}-category")
        errors = error_line(f"dl-add-{kind}-error")

        def add() -> None:
            name = required(title.value, f"The {singular}'s title").strip()

            def change(data: dict[str, Any]) -> None:
                taken = [i["id"] for i in data.get("items", [])]
                entry: dict[str, Any] = {"id": slug(name, taken, kind), "kind": kind,
                                         "title": name}
                if category.value:
                    entry["category"] = category.value
                data.setdefault("items", []).append(entry)
            self.edit(change)

        button = self.button(f"Add {singular}", f"dl-add-{kind}", add, icon="plus",
                             style="success", error=errors)
        row = widgets.HBox([title, category, button])
        return widgets.VBox([row, errors])


# --------------------------------------------------------------------------- estimates


def elicitation_state(data: dict[str, Any]) -> dict[str, Any]:
    """The Delphi state kept in review.json: the current round and whether it is revealed."""
    state = data.get("elicitation")
    estimates = data.get("estimates", [])
    if not isinstance(state, dict):
        # A review made elsewhere (by hand, the example, an older workbook): carry on from
        # its latest round, and hide nothing that is already in the file.
        latest = max((int(e.get("round", 1)) for e in estimates), default=1)
        return {"round": latest, "blind": True, "revealed": bool(estimates)}
    return {"round": int(state.get("round", 1)), "blind": bool(state.get("blind", True)),
            "revealed": bool(state.get("revealed", False))}


class EstimateRow:
    """One participant's likelihood, impact and rationale for one item in one round."""

    def __init__(self, step: EstimatesStep, item: dict[str, Any], participant: str,
                 round_: int) -> None:
        self.step = step
        self.session = step.session
        self.item_id = item["id"]
        self.participant = participant
        self.round = round_
        template = self.session.template
        kind = item["kind"]
        self.likelihood = widgets.Combobox(
            options=labels_of(template, "likelihood"), ensure_option=False,
            placeholder="0.05 to 0.2, or a label", continuous_update=False,
            layout=widgets.Layout(width="200px"))
        self.impact = widgets.Combobox(
            options=labels_of(template, "impact"), ensure_option=False,
            placeholder="50 to 2000, or a label", continuous_update=False,
            layout=widgets.Layout(width="200px"))
        self.rationale = widgets.Text(placeholder="why you think so", continuous_update=True,
                                      layout=widgets.Layout(width="300px"))
        for widget, css in ((self.likelihood, "dl-likelihood"), (self.impact, "dl-impact"),
                            (self.rationale, "dl-rationale")):
            widget.add_class(css)
            widget.add_class(f"{css}-{self.item_id}")
        self.likelihood_error = error_line("dl-likelihood-error")
        self.impact_error = error_line("dl-impact-error")
        self.hint = widgets.HTML(value="")
        self.hint.add_class("dl-hint")
        badge = f'<span class="dl-badge dl-badge-{kind}">{kind}</span>'
        self.badge = badge
        self.label = widgets.HTML(value=f"{badge} {escape(item['title'])}",
                                  layout=widgets.Layout(width="260px"))
        self.box = widgets.VBox([
            widgets.HBox([self.label,
                          widgets.VBox([self.likelihood, self.likelihood_error],
                                       layout=widgets.Layout(width="204px")),
                          widgets.VBox([self.impact, self.impact_error],
                                       layout=widgets.Layout(width="204px")),
                          self.rationale]),
            self.hint,
        ])
        self.box.add_class("dl-estimate-row")
        self._syncing = False
        self.sync(self.session.snapshot())
        for widget in (self.likelihood, self.impact, self.rationale):
            widget.observe(self._changed, names="value")

    def _find(self, data: dict[str, Any]) -> dict[str, Any] | None:
        for estimate in data.get("estimates", []):
            if (estimate["item"], estimate["participant"], estimate.get("round", 1)) == (
                    self.item_id, self.participant, self.round):
                return estimate  # type: ignore[no-any-return]
        return None

    def _parse(self, widget: Any, error: Any, kind: Any) -> tuple[bool, Any]:
        try:
            value = parse_quantity(widget.value, kind, labels_of(self.session.template, kind))
        except ValueError as problem:
            error.value = f"<div>{escape(problem)}</div>"
            widget.add_class("dl-invalid")
            return False, None
        error.value = ""
        widget.remove_class("dl-invalid")
        return True, value

    def _changed(self, _: Any) -> None:
        if self._syncing:
            return
        ok_l, likelihood = self._parse(self.likelihood, self.likelihood_error, "likelihood")
        ok_i, impact = self._parse(self.impact, self.impact_error, "impact")
        if not (ok_l and ok_i):
            return
        rationale = self.rationale.value
        if (likelihood is None) != (impact is None):
            self.hint.value = ("Enter both a likelihood and an impact: the estimate is saved "
                               "once both are there.")
            return

        def change(data: dict[str, Any]) -> None:
            # The round's state is kept from the first estimate on, so it no longer
            # depends on whether estimates exist.
            data.setdefault("elicitation", elicitation_state(data))
            estimate = self._find(data)
            if likelihood is None:  # both cleared: the estimate is withdrawn
                if estimate is not None:
                    data["estimates"].remove(estimate)
                return
            if estimate is None:
                estimate = {"item": self.item_id, "participant": self.participant,
                            "round": self.round}
                data.setdefault("estimates", []).append(estimate)
            estimate["likelihood"] = list(likelihood) if isinstance(likelihood, tuple) \
                else likelihood
            estimate["impact"] = list(impact) if isinstance(impact, tuple) else impact
            estimate["rationale"] = rationale

        try:
            self.session.edit(change)
        except ConcurrentEdit as problem:
            self.step.status.show_conflict(problem)
        except (DeliberationError, ValueError) as problem:
            self.hint.value = f'<span class="dl-field-error">{escape(user_message(problem))}</span>'
        else:
            self.step.status.refresh()

    def sync(self, data: dict[str, Any]) -> None:
        item = next((i for i in data.get("items", []) if i["id"] == self.item_id), None)
        if item is not None:  # a retitled item: relabel the row rather than rebuild the step
            label = f"{self.badge} {escape(item['title'])}"
            if self.label.value != label:
                self.label.value = label
        estimate = self._find(data)
        hints = []
        for earlier in data.get("estimates", []):
            if (earlier["item"], earlier["participant"]) == (self.item_id, self.participant) and \
                    earlier.get("round", 1) < self.round:
                hints.append(f"round {earlier.get('round', 1)}: likelihood "
                             f"{format_quantity(earlier['likelihood'])}, impact "
                             f"{format_quantity(earlier['impact'])}")
        self.hint.value = escape("; ".join(hints))
        if estimate is None:
            return
        self._syncing = True
        try:
            for widget, value, error in (
                (self.likelihood, format_quantity(estimate["likelihood"]), self.likelihood_error),
                (self.impact, format_quantity(estimate["impact"]), self.impact_error),
                (self.rationale, estimate.get("rationale", ""), None),
            ):
                invalid = error is not None and bool(error.value)
                if not invalid and widget.value != value:
                    widget.value = value
        finally:
            self._syncing = False


class EstimatesStep(Step):
    """Per participant, per round: likelihood, impact and rationale of every item."""

    name = "estimates"
    title = "Estimates"
    lead = ("Each participant, in turn: how likely is each item within the horizon, and how "
            "large would it be? Type '0.05 to 0.2' for \"90% sure it lies between\", a single "
            "number, or pick a label of the template's scale.")

    def __init__(self, session: ReviewSession) -> None:
        participants = session.review.participants
        self.participant = participants[0].id if participants else None
        self.rows: list[EstimateRow] = []
        self.table = widgets.HTML(value="")
        self.table.add_class("dl-estimates-table")
        super().__init__(session)

    def signature(self, data: dict[str, Any]) -> Any:
        state = elicitation_state(data)
        return (
            self.session.template.id,
            tuple((i["id"], i["kind"]) for i in data.get("items", [])),
            tuple((p["id"], p["name"]) for p in data.get("participants", [])),
            self.participant, state["round"],
        )

    def build(self, data: dict[str, Any]) -> list[Any]:
        people = data.get("participants", [])
        if not people:
            return [widgets.HTML(value='<p class="dl-muted">Add participants in the set-up '
                                 "step first.</p>")]
        if self.participant not in {p["id"] for p in people}:
            self.participant = people[0]["id"]
        state = elicitation_state(data)
        who = widgets.ToggleButtons(
            options=[(p["name"], p["id"]) for p in people], value=self.participant,
            description="Estimating:", style={"description_width": "110px"})
        who.add_class("dl-estimator")
        who.observe(self._choose, names="value")
        round_label = widgets.HTML(value=f"<b>Round {state['round']}</b>")
        round_label.add_class("dl-round")
        reveal = self.button("Reveal everyone's numbers", "dl-reveal", self._reveal, icon="eye")
        hide = self.button("Hide (blind round)", "dl-hide", self._hide, icon="eye-slash")
        next_round = self.button(f"Start round {state['round'] + 1}", "dl-next-round",
                                 self._next_round, icon="forward")
        controls = widgets.HBox([round_label, reveal, hide, next_round],
                                layout=widgets.Layout(align_items="center"))
        header = widgets.HTML(
            value='<div class="dl-hint" style="margin-left:264px">likelihood &nbsp;&nbsp;'
            '&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;'
            '&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp; impact</div>')
        items = data.get("items", [])
        participant = str(self.participant)
        self.rows = [EstimateRow(self, item, participant, state["round"]) for item in items]
        if not items:
            return [who, widgets.HTML(value='<p class="dl-muted">No items yet.</p>')]
        return [who, controls, header, *[row.box for row in self.rows], self.table]

    def _choose(self, change: dict[str, Any]) -> None:
        self.participant = change["new"]
        self.on_change(self.session)

    def _set_state(self, **values: Any) -> None:
        def change(data: dict[str, Any]) -> None:
            state = elicitation_state(data)
            state.update(values)
            data["elicitation"] = state
        self.edit(change)

    def _reveal(self) -> None:
        self._set_state(revealed=True)

    def _hide(self) -> None:
        self._set_state(revealed=False, blind=True)

    def _next_round(self) -> None:
        state = elicitation_state(self.session.data())
        self._set_state(round=state["round"] + 1, revealed=False)

    def after_change(self, data: dict[str, Any]) -> None:
        for row in self.rows:
            row.sync(data)
        self.table.value = estimates_table(data)


def estimates_table(data: dict[str, Any]) -> str:
    """Everyone's estimates per item; the current round's numbers only once revealed."""
    state = elicitation_state(data)
    people = data.get("participants", [])
    items = data.get("items", [])
    if not people or not items:
        return ""
    hidden = state["blind"] and not state["revealed"]
    head = "".join(f"<th>{escape(p['name'])}</th>" for p in people)
    rows = []
    for item in items:
        cells = []
        for person in people:
            mine = [e for e in data.get("estimates", [])
                    if e["item"] == item["id"] and e["participant"] == person["id"]]
            parts = []
            for estimate in sorted(mine, key=lambda e: e.get("round", 1)):
                round_ = estimate.get("round", 1)
                if hidden and round_ == state["round"]:
                    parts.append('<span class="dl-muted">✓ entered (hidden)</span>')
                else:
                    parts.append(f"<span title='round {round_}'>r{round_}: "
                                 f"{escape(format_quantity(estimate['likelihood']))} × "
                                 f"{escape(format_quantity(estimate['impact']))}</span>")
            cells.append("<td>" + ("<br>".join(parts) or '<span class="dl-muted">—</span>')
                         + "</td>")
        rows.append(f"<tr><td>{escape(item['title'])}</td>{''.join(cells)}</tr>")
    note = ("Blind round: numbers stay hidden until the facilitator reveals them."
            if hidden else "Numbers are revealed: discuss where you differ most.")
    return (f'<h4>Everyone\'s estimates, round {state["round"]}</h4>'
            f'<p class="dl-hint">{note}</p><table class="dl-table"><tr><th>item</th>{head}</tr>'
            + "".join(rows) + "</table>")
