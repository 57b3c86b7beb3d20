"""The errors deliberation raises, one small tree.

::

    DeliberationError            anything this package reports to a user
     +-- ReviewInvalid           a review.json that breaks the contract
     +-- TemplateInvalid         a template YAML that cannot be used
     +-- TemplateNotFound        a template id nobody provides
     +-- RecordError             an archive or record that cannot be written or read
     |    +-- RecordTampered     an archive whose hashes or chain do not check out
     +-- ConcurrentEdit          review.json changed on disk since it was loaded

Every message is one line that names the file, the field path and what was
expected, so the command line can print it as it is and exit 2.
"""

from __future__ import annotations

from pathlib import Path


class DeliberationError(Exception):
    """Base of every error deliberation reports to a user."""

    def __init__(self, message: str, *, path: Path | str | None = None, field: str = "") -> None:
        self.path = str(path) if path is not None else None
        self.field = field
        self.detail = message
        parts = [p for p in (self.path, field) if p]
        super().__init__(": ".join([*parts, message]))


class ReviewInvalid(DeliberationError):
    """A review that breaks the contract of review.json."""


class TemplateInvalid(DeliberationError):
    """A template file that cannot be parsed or validated."""


class TemplateNotFound(DeliberationError):
    """A template id that no built-in or local template provides."""


class RecordError(DeliberationError):
    """An archive or record that cannot be written or read."""


class RecordTampered(RecordError):
    """An archive whose hashes, chain or anchor do not check out."""


class ConcurrentEdit(DeliberationError):
    """The file on disk changed since this copy was loaded: saving would overwrite someone."""
