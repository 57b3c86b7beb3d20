"""Step 4, estimates: each participant's likelihood and impact per item, in rounds."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import ipywidgets as widgets

from ...errors import ConcurrentEdit, DeliberationError
from ...review.elicitation import Elicitation
from ..confirm import confirm
from ..fields import (
    Line,
    QuantityKind,
    Step,
    error_line,
    escape,
    format_quantity,
    labels_of,
    read_entry,
    read_note,
    same_quantity,
)
from ..session import ReviewSession, user_message
from ..shared import layout


def label_layout() -> Any:
    """An item's title in its row: 260 px, shrinking to 140 px on a narrow page."""
    return layout(flex="0 1 260px", min_width="140px")


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
            layout=layout(width="200px"))
        self.impact = widgets.Combobox(
            options=labels_of(template, "impact"), ensure_option=False,
            placeholder="50 to 2000, or a label", continuous_update=False,
            layout=layout(width="200px"))
        self.rationale = widgets.Text(placeholder="why you think so", continuous_update=True,
                                      layout=layout(flex="1 1 300px"))
        for widget, css in ((self.likelihood, "dl-likelihood"), (self.impact, "dl-impact"),
                            (self.rationale, "dl-rationale")):
            widget.add_class(css)
            widget.add_class(f"{css}-{self.item_id}")
        self.hint = widgets.HTML(value="")
        self.hint.add_class("dl-hint")
        badge = f'<span class="dl-badge dl-badge-{kind}">{kind}</span>'
        self.badge = badge
        self.label_text = str(item["title"])
        self.label = widgets.HTML(value=f"{badge} {escape(item['title'])}",
                                  layout=label_layout())
        self.label.add_class("dl-estimate-title")
        likelihood_box = widgets.VBox([self.likelihood], layout=layout(width="204px"))
        impact_box = widgets.VBox([self.impact], layout=layout(width="204px"))
        self.likelihood_error = Line(likelihood_box, "dl-field-error", "dl-likelihood-error")
        self.impact_error = Line(impact_box, "dl-field-error", "dl-impact-error")
        fields = widgets.HBox([self.label, likelihood_box, impact_box])
        fields.add_class("dl-estimate-fields")  # one line; the rationale may wrap below
        self.box = widgets.VBox([widgets.HBox([fields, self.rationale]), self.hint])
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
            reading = read_entry(widget.value, kind, labels_of(self.session.template, kind))
        except ValueError as problem:
            error.value = f"<div>{escape(problem)}</div>"
            widget.add_class("dl-invalid")
            return False, None
        note = read_note(widget.value, reading, kind, self.session.template)
        error.value = f'<div class="dl-read">{escape(note)}</div>' if note else ""
        widget.remove_class("dl-invalid")
        return True, None if reading is None else reading.value

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
            data.setdefault("elicitation", Elicitation.of(data).to_json())
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
            self.session.edit(change, step=self.step.name, group=id(self))
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
                             f"{format_quantity(earlier['likelihood'], 'likelihood')}, impact "
                             f"{format_quantity(earlier['impact'], 'impact')}")
        self.hint.value = escape("; ".join(hints))
        if estimate is None:
            return
        self._syncing = True
        try:
            for widget, value, error in (
                (self.likelihood, format_quantity(estimate["likelihood"], "likelihood"),
                 self.likelihood_error),
                (self.impact, format_quantity(estimate["impact"], "impact"), self.impact_error),
                (self.rationale, estimate.get("rationale", ""), None),
            ):
                invalid = error is not None and "dl-invalid" in widget._dom_classes
                kind: QuantityKind = "likelihood" if widget is self.likelihood else "impact"
                if widget is not self.rationale and same_quantity(kind)(widget.value, value):
                    continue  # what was typed already reads as the stored value: keep it
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
        state = Elicitation.of(data)
        return (
            self.session.template.id,
            tuple((i["id"], i["kind"]) for i in data.get("items", [])),
            tuple((p["id"], p["name"]) for p in data.get("participants", [])),
            self.participant, state.round,
        )

    def build(self, data: dict[str, Any]) -> list[Any]:
        people = data.get("participants", [])
        if not people:
            return [widgets.HTML(value='<p class="dl-muted">Add participants in the set-up '
                                 "step first.</p>")]
        if self.participant not in {p["id"] for p in people}:
            self.participant = people[0]["id"]
        state = Elicitation.of(data)
        template = self.session.template.id
        participant = str(self.participant)
        # Cached (see workbook.cards): adding an item builds its row and reuses the rest.
        who = self.cards.get(("who", tuple((p["id"], p["name"]) for p in people), participant),
                             lambda: self._who(people))
        items = data.get("items", [])
        self.rows = []
        if not items:
            return [who, widgets.HTML(value='<p class="dl-muted">No items yet.</p>')]
        controls = self.cards.get(("controls", state.round), lambda: self._controls(state))
        self.rows = [self.cards.get(("row", template, item["id"], item["kind"], participant,
                                     state.round),
                                    partial(EstimateRow, self, item, participant,
                                            state.round))
                     for item in items]
        return [who, controls, *[row.box for row in self.rows], self.table]

    def _who(self, people: list[dict[str, Any]]) -> Any:
        """Whose estimates are entered, and why a switch was refused."""
        who = widgets.ToggleButtons(
            options=[(p["name"], p["id"]) for p in people], value=self.participant,
            description="Estimating:", style={"description_width": "110px"})
        who.add_class("dl-estimator")
        who.observe(self._choose, names="value")
        self.switch_error = error_line("dl-switch-error")
        return widgets.VBox([who, self.switch_error])

    def _controls(self, state: Elicitation) -> Any:
        """The round, its controls and the column names."""
        round_label = widgets.HTML(value=f"<b>Round {state.round}</b>")
        round_label.add_class("dl-round")
        reveal = self.button("Reveal everyone's numbers", "dl-reveal", self._reveal, icon="eye")
        hide = self.button("Hide (blind round)", "dl-hide", self._hide, icon="eye-slash")
        next_round = confirm(
            self, f"Start round {state.round + 1}", "dl-next-round",
            f"Start round {state.round + 1}? Estimates of round {state.round} stay in the "
            "record.", self._next_round, yes="Start", icon="forward")
        controls = widgets.HBox([round_label, reveal, hide, next_round],
                                layout=layout(align_items="center"))
        # the same boxes as a row's, so the column names stay above their fields when
        # a narrow page shrinks the item's title
        header = widgets.HBox([
            widgets.HTML(value="", layout=label_layout()),
            *[widgets.HTML(value=f'<span class="dl-hint">{name}</span>',
                           layout=layout(width=width))
              for name, width in (("likelihood", "204px"), ("impact", "204px"))]])
        header.add_class("dl-estimate-fields")
        return widgets.VBox([controls, header])

    def _unsaved_entries(self) -> list[str]:
        """Entries typed but not saved (invalid): switching participant would drop them."""
        return [f"{kind} of “{row.label_text}”: {widget.value!r}"
                for row in self.rows
                for kind, widget in (("likelihood", row.likelihood), ("impact", row.impact))
                if "dl-invalid" in widget._dom_classes]

    def _choose(self, change: dict[str, Any]) -> None:
        if change["new"] == self.participant:
            return
        pending = self._unsaved_entries()
        if pending:
            # never drop what someone typed without a word: stay, and say what is pending
            change["owner"].value = self.participant
            self.switch_error.value = (
                f"<div>Not switched: {escape('; '.join(pending))} is not saved yet. Correct "
                "it or clear the field first.</div>")
            return
        self.switch_error.value = ""
        self.participant = change["new"]
        self.on_change(self.session)

    def _set_state(self, step: Callable[[Elicitation], Elicitation]) -> None:
        def change(data: dict[str, Any]) -> None:
            data["elicitation"] = step(Elicitation.of(data)).to_json()
        self.edit(change)

    def _reveal(self) -> None:
        self._set_state(Elicitation.reveal)

    def _hide(self) -> None:
        self._set_state(Elicitation.hide)

    def _next_round(self) -> None:
        self._set_state(Elicitation.next_round)

    def after_change(self, data: dict[str, Any]) -> None:
        for row in self.rows:
            row.sync(data)
        from ...record.render import render_estimates

        self.table.value = render_estimates(self.session.review)
