"""An open review: the typed model, autosaved to review.json on every change.

A session is the one place the workbook's widgets write to. An edit is a function
that changes the review's plain data; the session validates the result through the
pydantic model (and the template's scales and categories) and only then keeps and
saves it, so review.json never holds a value the model would reject.

Two workbooks open on the same review never overwrite each other: a session backed
by the meeting's store (a :class:`Journal`, see :mod:`deliberation.journal.store`)
sends every edit to the store, which applies it to the latest review under the
review's write lock and rewrites review.json, so a second workbook's edit lands on top
of the first's. The session follows the store (:meth:`ReviewSession.refresh`), so an
estimate typed on a participant's phone shows up here too. A review.json changed by
hand is still refused with ConcurrentEdit until the user reloads or saves a copy.

Without a store (a read-only folder, a record being exported) the session keeps the
sha256 of the bytes it last loaded or saved and compares it with the file before
every save; on a mismatch it raises ConcurrentEdit and writes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from ..errors import ConcurrentEdit, DeliberationError
from ..review.model import Review, parse_review, review_to_data, save_review
from ..review.opening import check_review_against, open_review
from ..review.template import Template
from ..review.templates import load_template
from .undo import UndoStacks, revert

Edit = Callable[[dict[str, Any]], None]
Listener = Callable[["ReviewSession"], None]
STORE_ENV = "DELIBERATION_STORE"  # a store URL for every workbook (PostgreSQL in a meeting)


class JournalState(Protocol):
    """The review after the journal's latest event."""

    @property
    def n(self) -> int: ...
    @property
    def review(self) -> Review: ...
    @property
    def template(self) -> Template: ...


class JournalOutcome(Protocol):
    @property
    def state(self) -> JournalState: ...


class Journal(Protocol):
    """An append-only store of a review's changes (:class:`..journal.store.Store` is one)."""

    path: Path

    def open(self) -> JournalState: ...
    def state(self) -> JournalState: ...
    def version(self) -> int: ...
    def edit(self, change: Edit, *, actor: str,
             outside: Literal["refuse", "import"] = "refuse") -> JournalOutcome | None: ...
    def close(self) -> None: ...


def open_journal(path: Path, *, template_search: tuple[Path | str, ...] = (),
                 create: bool = False) -> Journal | None:
    """The store that backs ``path``: $DELIBERATION_STORE, or the SQLite store beside it
    when it exists (or ``create``); None for a folder it cannot be made in."""
    import os

    # The store lives in the journal layer, below the workbook: imported lazily so a
    # workbook without a store never pays for SQLAlchemy.
    from ..journal.store import Store, StoreError, default_url

    url = os.environ.get(STORE_ENV) or None
    if url is None:
        sqlite = Path(default_url(path).removeprefix("sqlite:///"))
        if not (sqlite.exists() or (create and os.access(path.parent, os.W_OK))):
            return None
    try:
        return Store(path, url, template_search=template_search)
    except StoreError:
        if url is not None:
            raise
        return None


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


class ReviewSession:
    """One review.json, its template, and the listeners that show it."""

    def __init__(self, path: Path | str, *, template_search: tuple[Path | str, ...] = (),
                 journal: Journal | Literal["existing", "create"] | None = "existing",
                 actor: str = "workbook") -> None:
        """``journal``: a store to write through, ``"existing"`` (the review's store if it
        has one), ``"create"`` (make one beside review.json) or None (the file alone)."""
        path = Path(path)
        if path.is_dir():
            path = path / "review.json"
        self.path = path
        self.template_search = template_search
        self.actor = actor
        self.listeners: list[Listener] = []
        self.closed = False
        self.conflict: ConcurrentEdit | None = None
        self.saved_at: datetime | None = None
        self.saves = 0
        self._snapshot: tuple[Review, dict[str, Any]] | None = None
        self.undo = UndoStacks()
        if isinstance(journal, str):
            open_review(path, search=template_search)  # a bad review fails here, as before
            journal = open_journal(path, template_search=template_search,
                                   create=journal == "create")
        self.journal: Journal | None = journal
        self.version = 0
        self._load()

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        if self.journal is not None:
            self._take(self.journal.open())
        else:
            review, template, _ = open_review(self.path, search=self.template_search)
            self.review: Review = review
            self.template: Template = template
        self._disk_sha256 = _sha256_of(self.path)
        self.conflict = None

    def _take(self, state: JournalState) -> None:
        self.review, self.template, self.version = state.review, state.template, state.n

    def reload(self) -> None:
        """Drop what is in memory and read review.json again (resolves a conflict); the
        steps' undo history goes with it (it described changes that were not kept)."""
        self._load()
        self.undo = UndoStacks()
        self._notify()

    def refresh(self) -> bool:
        """Take the store's latest review if someone else changed it; True if so."""
        if self.journal is None or self.journal.version() == self.version:
            return False
        self._take(self.journal.state())
        self._notify()
        return True

    def follow(self, interval: float = 0.25, *, hold: Any = None) -> None:
        """Refresh every ``interval`` seconds on the running event loop (a kernel's).
        With ``hold`` (a ``threading.Event``), only once it is set: a kernel Voila
        pre-heats for a page nobody opened yet follows nothing until a page takes it."""
        import asyncio

        if self.journal is None or getattr(self, "_following", False) or self.closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # plain Python: call refresh() yourself
        self._following = True

        def tick() -> None:
            if self.closed:
                return
            try:
                if hold is None or hold.is_set():
                    self.refresh()
            except DeliberationError:
                pass  # shown on the next edit; following must not stop
            finally:
                if not self.closed:
                    loop.call_later(interval, tick)

        loop.call_later(interval, tick)

    # ------------------------------------------------------------------ editing
    def data(self) -> dict[str, Any]:
        """A deep copy of the review as plain JSON data, safe to change."""
        return copy.deepcopy(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """The review as plain JSON data, shared by every view: read it, never change it."""
        if self._snapshot is None or self._snapshot[0] is not self.review:
            self._snapshot = (self.review, review_to_data(self.review))
        return self._snapshot[1]

    def validate(self, data: dict[str, Any], template: Template | None = None) -> Review:
        """The review ``data`` describes, or ReviewInvalid naming the field at fault."""
        review = parse_review(json.loads(json.dumps(data)), path=self.path)
        check_review_against(review, template or self.template, self.path)
        return review

    def edit(self, change: Edit, *, template: Template | None = None, step: str | None = None,
             group: Hashable | None = None) -> bool:
        """Apply ``change`` to a copy of the data, validate, keep and save it.

        Returns False when the change changes nothing. Raises ReviewInvalid (the
        review is left as it was) or ConcurrentEdit (the review is kept in memory,
        unsaved, until :meth:`reload` or :meth:`save_copy`). An edit made by a ``step``
        is remembered for :meth:`undo_last` (edits of one ``group``, a field, in a row
        as one change).
        """
        if step is None:
            return self._edit(change, template)
        before = self.snapshot()
        # Remembered once kept and before the listeners hear of it (their Undo buttons).
        return self._edit(change, template,
                          kept=lambda: self.undo.remember(step, before, self.snapshot(), group))

    def undo_last(self, step: str) -> bool:
        """Revert ``step``'s last change, saved as any edit is; ValueError in plain words
        when there is none, or when what it changed was changed again since."""
        last = self.undo.last(step)
        self.undo.forget_last(step)  # before the listeners hear of the undo
        try:
            return self._edit(lambda data: revert(data, last), None)
        except ConcurrentEdit:
            raise  # the undo is kept in memory, as any edit is (see ``edit``)
        except Exception:
            self.undo.stacks[step].append(last)  # nothing changed: still to undo
            raise

    def _edit(self, change: Edit, template: Template | None,
              kept: Callable[[], None] | None = None) -> bool:
        if self.journal is not None:
            return self._edit_through_journal(change, self.journal, kept)
        before = self.snapshot()
        data = copy.deepcopy(before)
        change(data)
        if data == before and template is None:
            return False
        template_id = (data.get("template") or {}).get("id")
        if template is None and template_id != self.template.id and isinstance(template_id, str):
            # A switched template: the review must fit the new one before it is kept.
            template = load_template(template_id, search=self.template_search)
        review = self.validate(data, template)
        self.review = review
        if template is not None:
            self.template = template
        try:
            self.save()
            if kept is not None:
                kept()
        finally:
            self._notify()
        return True

    def _edit_through_journal(self, change: Edit, journal: Journal,
                              kept: Callable[[], None] | None = None) -> bool:
        try:
            if self.conflict is not None:
                raise self.conflict
            outcome = journal.edit(change, actor=self.actor)
        except ConcurrentEdit as conflict:
            # The edit stays in memory, unsaved, until the user reloads or saves a copy.
            data = self.data()
            change(data)
            self.review = self.validate(data)
            self.conflict = ConcurrentEdit(conflict.detail, path=self.path)
            self._notify()
            raise self.conflict from None
        if outcome is None:
            return False
        self._take(outcome.state)
        self.saved_at = datetime.now(UTC)
        self.saves += 1
        if kept is not None:
            kept()
        self._notify()
        return True

    def save(self) -> None:
        """Write review.json atomically, unless someone else changed it since we read it."""
        on_disk = _sha256_of(self.path)
        if self.conflict is not None or on_disk != self._disk_sha256:
            self.conflict = ConcurrentEdit(
                "review.json was changed elsewhere since this workbook loaded it: "
                "reload or save as a copy",
                path=self.path,
            )
            raise self.conflict
        self._disk_sha256 = save_review(self.review, self.path)
        self.saved_at = datetime.now(UTC)
        self.saves += 1

    def save_copy(self, path: Path | str | None = None) -> Path:
        """Save what is in memory under a new name and carry on editing that file."""
        if path is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            path = self.path.with_name(f"{self.path.stem}.copy-{stamp}.json")
        target = Path(path)
        if target.exists():
            raise DeliberationError("a file of that name exists already", path=target)
        self._disk_sha256 = save_review(self.review, target)
        self.path = target
        if self.journal is not None:
            self.journal.close()
            self.journal = open_journal(target, template_search=self.template_search,
                                        create=True)
            if self.journal is not None:
                self._take(self.journal.open())
        self.conflict = None
        self.saved_at = datetime.now(UTC)
        self.saves += 1
        self._notify()
        return target

    def close(self) -> None:
        """Stop following the store and notifying listeners (see Workbook.retire)."""
        self.closed = True
        self.listeners.clear()

    # ------------------------------------------------------------------ listeners
    def subscribe(self, listener: Listener) -> None:
        if not self.closed:
            self.listeners.append(listener)

    def _notify(self) -> None:
        from .shared import shared_defaults  # what the listeners build shares defaults

        with shared_defaults():
            for listener in list(self.listeners):
                listener(self)


def user_message(error: Exception) -> str:
    """The plain-words part of an error, without the file name a form already shows."""
    if isinstance(error, DeliberationError):
        return error.detail
    return str(error)
