"""Files deliberation ships: the built-in templates and the workbook.

Inside a wheel they sit in the package (``_templates/``, ``_workbooks/``, see
``pyproject.toml``); in an editable install they are the repository's own folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).parent
_REPOSITORY = _PACKAGE.resolve().parents[1]


def _shipped(inside: str, in_repository: str) -> Path:
    packaged = _PACKAGE / inside
    return packaged if packaged.exists() else _REPOSITORY / in_repository


def builtin_templates_dir() -> Path:
    """The folder of the built-in templates."""
    return _shipped("_templates", "templates")


def shipped_workbook() -> Path:
    """The workbook a new review starts from."""
    return _shipped("_workbooks/release_review.ipynb", "workbooks/release_review.ipynb")
