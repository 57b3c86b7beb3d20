"""An open review: the typed model, autosaved to review.json on every change.

A session is the one place the workbook's widgets write to. An edit is a function
that changes the review's plain data; the session validates the result through the
pydantic model (and the template's scales and categories) and only then keeps and
saves it, so review.json never holds a value the model would reject.

Two workbooks open on the same file must not overwrite each other silently: the
session remembers the sha256 of the bytes it last loaded or saved and, before every
save, compares it with the file on disk. On a mismatch it raises ConcurrentEdit
and writes nothing; the edit stays in memory until the user reloads or saves a copy.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConcurrentEdit, DeliberationError
from ..review.model import Review, parse_review, review_to_data, save_review
from ..review.opening import check_review_against, open_review
from ..review.template import Template
from ..review.templates import load_template

Edit = Callable[[dict[str, Any]], None]
Listener = Callable[["ReviewSession"], None]


def _sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


class ReviewSession:
    """One review.json, its template, and the listeners that show it."""

    def __init__(self, path: Path | str, *, template_search: tuple[Path | str, ...] = ()) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / "review.json"
        self.path = path
        self.template_search = template_search
        self.listeners: list[Listener] = []
        self.conflict: ConcurrentEdit | None = None
        self.saved_at: datetime | None = None
        self.saves = 0
        self._snapshot: tuple[Review, dict[str, Any]] | None = None
        self._load()

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        review, template, _ = open_review(self.path, search=self.template_search)
        self.review: Review = review
        self._disk_sha256 = _sha256_of(self.path)
        self.template: Template = template
        self.conflict = None

    def reload(self) -> None:
        """Drop what is in memory and read review.json again (resolves a conflict)."""
        self._load()
        self._notify()

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

    def edit(self, change: Edit, *, template: Template | None = None) -> bool:
        """Apply ``change`` to a copy of the data, validate, keep and save it.

        Returns False when the change changes nothing. Raises ReviewInvalid (the
        review is left as it was) or ConcurrentEdit (the review is kept in memory,
        unsaved, until :meth:`reload` or :meth:`save_copy`).
        """
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
        finally:
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
        self.conflict = None
        self.saved_at = datetime.now(UTC)
        self.saves += 1
        self._notify()
        return target

    # ------------------------------------------------------------------ listeners
    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener(self)


def user_message(error: Exception) -> str:
    """The plain-words part of an error, without the file name a form already shows."""
    if isinstance(error, DeliberationError):
        return error.detail
    return str(error)
