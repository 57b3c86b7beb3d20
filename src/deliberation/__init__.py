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
    "Review": "review.model",
    "load_review": "review.model",
    "save_review": "review.model",
    "review_json_schema": "review.model",
    "Template": "review.template",
    "load_template": "review.templates",
    "list_templates": "review.templates",
    "open_review": "review.opening",
    "GateResult": "review.policy",
    "evaluate_policy": "review.policy",
    "Analysis": "engine.results",
    "VariantSummary": "engine.results",
    "analyze": "engine.analysis",
    "DrawCache": "engine.draws",
    "Simulation": "engine.simulate",
    "simulate": "engine.simulate",
    "format_report": "readout.report",
    "export": "record.build",
    "render_record": "record.build",
    "load_record": "record.build",
    "verify_archive": "record.archive",
    "diff_reviews": "record.diff",
    "Workbook": "workbook.workbook",
    "NotebookProgress": "workbook.live",
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
    from .engine.analysis import analyze
    from .engine.draws import DrawCache
    from .engine.results import Analysis, VariantSummary
    from .engine.simulate import Simulation, simulate
    from .readout.report import format_report
    from .record.archive import verify_archive
    from .record.build import export, load_record, render_record
    from .record.diff import diff_reviews
    from .review.model import Review, load_review, review_json_schema, save_review
    from .review.opening import open_review
    from .review.policy import GateResult, evaluate_policy
    from .review.template import Template
    from .review.templates import list_templates, load_template
    from .workbook.live import NotebookProgress
    from .workbook.workbook import Workbook
