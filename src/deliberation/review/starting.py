"""A new review folder: review.json from a template, and the workbook beside it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from pydantic import ValidationError

from ..errors import DeliberationError
from ..resources import shipped_workbook
from .messages import describe_validation_error
from .model import Review, Subject, TemplateRef, save_review
from .template import Template


def start_review(
    directory: Path, template: Template, *, title: str | None = None, subject: str | None = None
) -> Review:
    """Write ``directory``/review.json and the workbook; the folder must be new or empty.
    The review id comes from ``subject`` (default: the folder's name)."""
    try:
        if directory.exists() or directory.is_symlink():
            if not directory.is_dir():
                raise DeliberationError("expected a new or empty folder, found a file",
                                        path=directory)
            if any(directory.iterdir()):
                raise DeliberationError(
                    "expected a new or empty folder; it already holds files", path=directory
                )
        name = subject or directory.resolve().name
    except OSError as error:  # a name too long for the file system, a loop of links
        raise DeliberationError(f"cannot create the review: {error.strerror}",
                                path=directory) from None
    review_id = re.sub(r"[^A-Za-z0-9_.\-]+", "-", name).strip("-.") or "review"
    if len(review_id) > 100:
        made_from = "--subject" if subject else "the folder's name"
        raise DeliberationError(
            f"the review id made from {made_from} would be {len(review_id)} characters long; "
            "expected at most 100 (give a shorter --subject)", path=directory)
    try:
        review = Review(
            id=review_id,
            title=title or f"Release review: {name}",
            subject=Subject(name=name),
            template=TemplateRef(id=template.id, version=template.version,
                                 sha256=template.sha256()),
            horizon="12 months after release",
        )
    except ValidationError as error:
        raise describe_validation_error(error, "--title/--subject") from None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        save_review(review, directory / "review.json")
        shutil.copyfile(shipped_workbook(), directory / "release_review.ipynb")
    except OSError as error:
        raise DeliberationError(f"cannot create the review: {error.strerror}",
                                path=error.filename or directory) from None
    return review
