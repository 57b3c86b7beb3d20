"""Form fields bound to a review session: parse what was typed, show mistakes at the field.

A bound field never clamps or drops what the user typed. The text is parsed and
validated through the review model; a valid value is saved, an invalid one stays
in the field, styled as invalid, with a plain-words message under it, and the
review keeps its last valid value.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import ipywidgets as widgets
import markupsafe

from ..errors import ConcurrentEdit, DeliberationError
from ..review import entry
from ..review.entry import Reading
from ..review.template import Template
from .cards import Cards, retire
from .session import ReviewSession, user_message
from .shared import layout, shared_defaults
from .style import STYLE

QuantityKind = Literal["likelihood", "impact", "factor"]


def read_entry(text: str, kind: QuantityKind, labels: Sequence[str] = ()) -> Reading | None:
    """What a user typed as a likelihood, impact or factor, and how it was read
    (:mod:`deliberation.review.entry`); None for empty text; ValueError in plain words
    (:class:`~deliberation.review.entry.Ambiguous` when it asks which was meant)."""
    return entry.read(text, kind, labels)


def parse_quantity(text: str, kind: QuantityKind, labels: Sequence[str] = ()) -> Any:
    """The value review.json stores for what was typed (None for empty text)."""
    reading = entry.read(text, kind, labels)
    return None if reading is None else reading.value


def read_note(typed: str, reading: Reading | None, kind: QuantityKind,
              template: Template | None = None) -> str:
    """The words shown under a field after a valid entry: how it was read (when that is
    not simply what was typed, and always for a single-number likelihood), then what it
    implies ("you say 1 in 20 to 1 in 5", a label's interval)."""
    if reading is None:
        return ""
    interval = None
    if isinstance(reading.value, str) and template is not None and kind != "factor":
        scale = template.likelihood_scale if kind == "likelihood" else template.impact_scale
        interval = next((tuple(level.interval) for level in scale
                         if level.label == reading.value), None)
    implied = entry.feedback(reading.value, kind, interval)  # type: ignore[arg-type]
    said = ""
    if not isinstance(reading.value, str):
        shown = entry.show(reading.value, kind)
        point_likelihood = kind == "likelihood" and not isinstance(reading.value, tuple)
        if " ".join(typed.split()) != shown or point_likelihood:
            said = reading.said
    return "; ".join(part for part in (said, implied) if part)


def same_quantity(kind: QuantityKind) -> Callable[[Any, Any], bool]:
    """Whether two field texts read as the same value: a field whose text (as typed,
    "0.3 to 0.6") already reads as the stored value keeps it rather than being
    rewritten ("30% to 60%") under the user's cursor."""
    def same(typed: Any, shown: Any) -> bool:
        try:
            return bool(parse_quantity(str(typed), kind) == parse_quantity(str(shown), kind))
        except ValueError:
            return False
    return same


def format_quantity(value: Any, kind: QuantityKind) -> str:
    """The text a field shows for a stored quantity; parse_quantity reads it back unchanged."""
    return entry.show(tuple(value) if isinstance(value, list) else value, kind)


def quantity_from_json(value: Any) -> Any:
    """review.json lists are the model's tuples."""
    return tuple(value) if isinstance(value, list) else value


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def split_commas(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


def slug(title: str, taken: Sequence[str], fallback: str) -> str:
    """A readable, unique id from a title: "Deepfakes of X" gives "deepfakes-of-x"."""
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-") or fallback
    candidate, counter = base, 2
    while candidate in taken:
        candidate = f"{base}-{counter}"
        counter += 1
    return candidate


def labels_of(template: Template, kind: QuantityKind) -> list[str]:
    if kind == "likelihood":
        return [level.label for level in template.likelihood_scale]
    if kind == "impact":
        return [level.label for level in template.impact_scale]
    return []


def escape(text: object) -> str:
    """User text for the workbook's small HTML fragments: markupsafe, as the record's
    autoescaping partials use, so both surfaces escape alike."""
    return str(markupsafe.escape(str(text)))


# --------------------------------------------------------------------------- widgets

Reader = Callable[[dict[str, Any]], Any]
Writer = Callable[[dict[str, Any], Any], None]


class BoundField:
    """One input bound to one place in the review.

    ``read(data)`` gives the widget value for the review's data; ``write(data, value)``
    changes the data (raising ValueError in plain words when the value is wrong).
    """

    def __init__(
        self,
        session: ReviewSession,
        widget: Any,
        *,
        read: Reader,
        write: Writer,
        css: str,
        status: StatusBar | None = None,
        same: Callable[[Any, Any], bool] | None = None,
        step: str | None = None,
    ) -> None:
        self.session = session
        self.same = same
        self.step = step
        self.widget = widget
        self.read = read
        self.write = write
        self.status = status
        widget.add_class(css)
        self.box = widgets.VBox([widget], layout=layout(margin="0 0 2px 0"))
        self.box.add_class("dl-field")
        self.error = Line(self.box, "dl-field-error", f"{css}-error")
        self.invalid = False
        self._syncing = False
        self._editing = False
        widget.observe(self._changed, names="value")

    def _changed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        value = change["new"]
        # While its own edit is applied, this field keeps what was typed (a trailing
        # newline or comma mid-typing must not be normalised away under the cursor).
        self._editing = True
        try:
            self.session.edit(lambda data: self.write(data, value), step=self.step,
                              group=id(self))
        except ConcurrentEdit as error:
            self.show_error(None)
            if self.status is not None:
                self.status.show_conflict(error)
        except (DeliberationError, ValueError) as error:
            self.show_error(user_message(error))
        else:
            self.show_error(None)
            if self.status is not None:
                self.status.refresh()
        finally:
            self._editing = False

    def show_error(self, message: str | None) -> None:
        self.invalid = message is not None
        if message is None:
            self.error.value = ""
            self.widget.remove_class("dl-invalid")
        else:
            self.error.value = f"<div>{escape(message)}</div>"
            self.widget.add_class("dl-invalid")

    def relabel(self, options: list[tuple[str, Any]],
                data: dict[str, Any] | None = None) -> None:
        """New options for a choice; nothing is saved. The chosen values stay, or with
        ``data`` become what the review holds (an option may have gone)."""
        self._syncing = True
        try:
            value = self.widget.value
            self.widget.options = options
            if data is not None and not self.invalid:
                with contextlib.suppress(ValueError):  # its entry was removed meanwhile
                    value = self.read(data)
            known = {option for _, option in options}
            if isinstance(value, tuple):
                value = tuple(v for v in value if v in known)
            elif value not in known:
                value = self.widget.value  # what ipywidgets chose among the options left
            self.widget.value = value
        finally:
            self._syncing = False

    def sync(self, data: dict[str, Any]) -> None:
        """Show the model's value, unless the field holds an invalid entry being corrected."""
        if self.invalid or self._editing:
            return
        value = self.read(data)
        if self.widget.value != value and not (
                self.same is not None and self.same(self.widget.value, value)):
            self._syncing = True
            try:
                self.widget.value = value
            finally:
                self._syncing = False


class StatusBar:
    """One line under each step: saved when and where, or the conflict and what to do."""

    def __init__(self, session: ReviewSession) -> None:
        self.session = session
        self.text = widgets.HTML(value="")
        self.text.add_class("dl-status")
        self.reload_button = widgets.Button(description="Reload", icon="refresh",
                                            layout=widgets.Layout(width="auto", display="none"))
        self.reload_button.add_class("dl-reload")
        self.copy_button = widgets.Button(description="Save as a copy", icon="copy",
                                          layout=widgets.Layout(width="auto", display="none"))
        self.copy_button.add_class("dl-save-copy")
        self.reload_button.on_click(lambda _: self._reload())
        self.copy_button.on_click(lambda _: self._copy())
        self.box = widgets.HBox([self.text, self.reload_button, self.copy_button],
                                layout=layout(align_items="center"))
        self.box.add_class("dl-statusbar")
        self.refresh()

    def refresh(self) -> None:
        session = self.session
        if session.conflict is not None:
            self.show_conflict(session.conflict)
            return
        self.text.remove_class("dl-conflict")
        self.reload_button.layout.display = "none"
        self.copy_button.layout.display = "none"
        when = session.saved_at.astimezone().strftime("%H:%M:%S") if session.saved_at else None
        saved = f"saved at {when}" if when else "loaded"
        self.text.value = (f"✓ {escape(session.path.name)} {saved}: every change is saved "
                           "as you type")

    def show_conflict(self, error: ConcurrentEdit) -> None:
        self.text.add_class("dl-conflict")
        self.text.value = f"⚠ {escape(error.detail)}. Your last change is not saved."
        self.reload_button.layout.display = None
        self.copy_button.layout.display = None

    def _reload(self) -> None:
        try:
            self.session.reload()
        except DeliberationError as error:
            self.text.value = f"⚠ {escape(error)}"

    def _copy(self) -> None:
        try:
            self.session.save_copy()
        except DeliberationError as error:
            self.text.value = f"⚠ {escape(error)}"


def text(description: str, *, placeholder: str = "", width: str = "420px",
         continuous: bool = True, area: bool = False) -> Any:
    cls = widgets.Textarea if area else widgets.Text
    return cls(
        description=description,
        placeholder=placeholder,
        continuous_update=continuous,
        style={"description_width": "110px"},
        layout=layout(width=width, height="64px" if area else None),
    )


def heading(title: str, lead: str = "") -> Any:
    lead_html = f'<p class="dl-lead">{escape(lead)}</p>' if lead else ""
    return widgets.HTML(value=f'<h3 class="dl-heading">{escape(title)}</h3>{lead_html}')


def style() -> Any:
    return widgets.HTML(value=STYLE)


class Step:
    """One agenda step: a heading, a body built from the review, a status line.

    The body is rebuilt when the review's structure (what ``signature`` returns)
    changes, e.g. an item is added; otherwise its fields only re-read their values,
    so typing is never interrupted. A rebuild reuses every piece the step took from
    ``self.cards`` under an unchanged key and builds only the new ones; the widgets the
    new body no longer shows are closed (:mod:`.cards`).
    """

    name = "step"
    title = ""
    lead = ""
    undoable = True  # False for a step that only shows: no Undo button

    def __init__(self, session: ReviewSession) -> None:
        self.session = session
        self.status = StatusBar(session)
        self.fields: list[BoundField] = []
        self.cards = Cards(self.registries)
        self.body = widgets.VBox()
        self._clicks: dict[Any, float] = {}
        self._pending: Any = None
        self.undo_error = error_line("dl-undo-error")
        self.undo_button = self.button("Undo", "dl-undo", self.undo, icon="undo",
                                       error=self.undo_error)
        self.undo_button.tooltip = "Revert this step's last change (it is saved)"
        if not self.undoable:  # its own layout: the buttons share theirs (see .shared)
            self.undo_button.layout = widgets.Layout(width="auto", display="none")
        self.status.box.children = (*self.status.box.children, self.undo_button,
                                    self.undo_error)
        self.root = widgets.VBox([style(), heading(self.title, self.lead), self.body,
                                  self.status.box])
        self.root.add_class("dl-step")
        self.root.add_class(f"dl-step-{self.name}")
        self._signature: Any = object()
        session.subscribe(self.on_change)
        self.on_change(session)

    def signature(self, data: dict[str, Any]) -> Any:
        return None

    def build(self, data: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def registries(self) -> list[list[Any]]:
        """The lists building a cached piece appends to, its bound fields first (a step
        with more, such as summary lines, adds them)."""
        return [self.fields]

    def after_change(self, data: dict[str, Any]) -> None:
        """Update read-only parts (tables, hints) after any change."""

    def on_change(self, session: ReviewSession) -> None:
        data = session.snapshot()
        signature = self.signature(data)
        if signature != self._signature:
            self._signature = signature
            self.rebuild(data)
        else:
            for field in self.fields:
                field.sync(data)
        self.after_change(data)
        self.status.refresh()
        self.undo_button.disabled = not session.undo.can_undo(self.name)

    def rebuild(self, data: dict[str, Any]) -> None:
        """The body anew: cached pieces reused (their fields re-read the review), the
        rest built, and what is no longer shown closed."""
        old = self.body.children
        self.fields = []
        self.cards.begin()
        children = self.build(data)
        for field in self.cards.end():
            field.sync(data)
        self.body.children = children
        retire(old, children, self.cards.reused)

    def undo(self) -> None:
        """Revert this step's last change (see :mod:`.undo`)."""
        self.session.undo_last(self.name)

    def repeated(self, key: Any, seconds: float = 1.0) -> bool:
        """True for the same action (``key``) again within ``seconds`` of the end of its
        last success: a double click. Counted from the end, since a busy kernel handles
        the second click only after the first one's edit, however long that took."""
        last = self._clicks.get(key)
        self._pending = key  # stamped by the button once the action succeeds
        return last is not None and time.monotonic() - last < seconds

    def bind(self, widget: Any, *, read: Reader, write: Writer, css: str,
             same: Callable[[Any, Any], bool] | None = None) -> Any:
        """Bind ``widget`` to the review and return the box to place in the layout."""
        field = BoundField(self.session, widget, read=read, write=write, css=css,
                           status=self.status, same=same, step=self.name)
        field.sync(self.session.snapshot())
        self.fields.append(field)
        return field.box

    def button(self, description: str, css: str, action: Callable[[], None], *,
               icon: str = "", style: str = "", error: Any = None) -> Any:
        """A button whose action edits the review; problems show in ``error`` (an HTML)."""
        button = widgets.Button(description=description, icon=icon, button_style=style,
                                layout=layout(width="auto"))
        button.add_class(css)

        def clicked(_: Any) -> None:
            self._pending = None
            try:
                with shared_defaults():
                    action()
            except ConcurrentEdit as problem:
                self.status.show_conflict(problem)
            except (DeliberationError, ValueError) as problem:
                if error is not None:
                    error.value = f"<div>{escape(user_message(problem))}</div>"
            else:
                if self._pending is not None:
                    self._clicks[self._pending] = time.monotonic()
                if error is not None:
                    error.value = ""
            finally:
                self._pending = None

        button.on_click(clicked)
        return button

    def edit(self, change: Callable[[dict[str, Any]], None]) -> None:
        self.session.edit(change, step=self.name)


def submit_with(field: Any, button: Any) -> None:
    """Enter in the text ``field`` does what clicking ``button`` does, its double-click
    guard included. (The page sends the field a ``submit`` message on Enter;
    ipywidgets' own ``on_submit`` is deprecated.)"""
    def handle(_: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "submit" and \
                not button.disabled:
            button.click()
    field.on_msg(handle)


class Line:
    """An HTML line under a widget, made only when it first has something to say (an
    error, how an entry was read): most never do, and each is a model the kernel opens
    and the page builds (232 of a Run All's 1,150, all empty). Once made it stays, empty
    when the entry is corrected, as every line did before. Until then the box (class
    ``dl-lined``) keeps the room the empty line took, its margins (the style), so the
    page looks as it did."""

    def __init__(self, box: Any, *classes: str) -> None:
        self.box = box
        box.add_class("dl-lined")
        self.classes = classes
        self.html: Any = None

    @property
    def value(self) -> str:
        return "" if self.html is None else str(self.html.value)

    @value.setter
    def value(self, text: str) -> None:
        if self.html is None:
            if not text:
                return
            with shared_defaults():  # sent whole, with the shared layout
                self.html = widgets.HTML(value=text)
                for css in self.classes:
                    self.html.add_class(css)
                self.box.children = (*self.box.children, self.html)
        else:
            self.html.value = text


def error_line(css: str) -> Any:
    line = widgets.HTML(value="")
    line.add_class("dl-field-error")
    line.add_class(css)
    return line


def find(entries: list[dict[str, Any]], entry_id: str, key: str = "id") -> dict[str, Any]:
    for found in entries:
        if found.get(key) == entry_id:
            return found
    raise ValueError(f"{entry_id!r} was removed meanwhile")


def required(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"{what} cannot be empty")
    return value
