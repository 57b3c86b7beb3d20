"""deliberation: structured release reviews of AI models, in a Jupyter workbook.

Users write ``import deliberation as dl``. The public names below load on first
use (PEP 562), so importing the package stays cheap: pydantic, altair, ipywidgets
and nbconvert are paid for only by the code that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ConcurrentEdit,
    DeliberationError,
    RecordError,
    RecordTampered,
    ReviewInvalid,
    TemplateInvalid,
    TemplateNotFound,
)

# public name -> module that defines it
_LAZY = {
    "Review": "model",
    "load_review": "model",
    "save_review": "model",
    "review_json_schema": "model",
    "Template": "templates",
    "load_template": "templates",
    "list_templates": "templates",
    "open_review": "templates",
    "GateResult": "policy",
    "evaluate_policy": "policy",
    "Analysis": "analysis",
    "VariantSummary": "analysis",
    "analyze": "analysis",
    "DrawCache": "simulate",
    "Simulation": "simulate",
    "simulate": "simulate",
    "format_report": "report",
    "export": "record",
    "render_record": "record",
    "load_record": "record",
    "verify_archive": "archive",
    "diff_reviews": "diff",
    "Workbook": "workbook",
    "NotebookProgress": "live",
}

__all__ = [
    "Analysis",
    "ConcurrentEdit",
    "DeliberationError",
    "DrawCache",
    "GateResult",
    "NotebookProgress",
    "RecordError",
    "RecordTampered",
    "Review",
    "ReviewInvalid",
    "Simulation",
    "Template",
    "TemplateInvalid",
    "TemplateNotFound",
    "VariantSummary",
    "Workbook",
    "analyze",
    "diff_reviews",
    "evaluate_policy",
    "export",
    "format_report",
    "list_templates",
    "load_record",
    "load_review",
    "load_template",
    "open_review",
    "render_record",
    "review_json_schema",
    "save_review",
    "simulate",
    "verify_archive",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deliberation' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .analysis import Analysis, VariantSummary, analyze
    from .archive import verify_archive
    from .diff import diff_reviews
    from .live import NotebookProgress
    from .model import Review, load_review, review_json_schema, save_review
    from .policy import GateResult, evaluate_policy
    from .record import export, load_record, render_record
    from .report import format_report
    from .simulate import DrawCache, Simulation, simulate
    from .templates import Template, list_templates, load_template, open_review
    from .workbook import Workbook
