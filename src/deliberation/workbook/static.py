"""Record mode: every agenda step as static HTML and SVG, for the exported record.

The workbook calls these when executed for a record (:mod:`deliberation.record.mode`);
the HTML comes from :mod:`deliberation.record.render`, so both show the same thing.
Executed by ``deliberation export``, the kernel is handed the fragments the exporter
rendered from the record it publishes (``mode.STEP_FRAGMENTS``): the executed notebook
then shows the record's very numbers and charts, analysed and drawn once, in the
exporter. A workbook in record mode without them analyses the review itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..record.mode import STEP_FRAGMENTS
from .session import ReviewSession


def load_fragments(path: Path) -> dict[str, str]:
    """The step fragments an exporter wrote (``{step: html}``), or one RecordError."""
    from ..errors import RecordError
    from ..files import load_json
    from ..record.document import MAX_RECORD_BYTES

    data = load_json(path, limit=MAX_RECORD_BYTES, error=RecordError)
    if not isinstance(data, dict):
        raise RecordError("expected an object of step fragments", path=path)
    for step in STEP_FRAGMENTS:
        if not isinstance(data.get(step), str):
            raise RecordError("expected the step's HTML as a string", path=path, field=step)
    return {step: data[step] for step in STEP_FRAGMENTS}


@dataclass
class StaticContext:
    """The review, its template, analysis and gate results, computed once per record;
    or the fragments an exporter rendered (``given``), shown as they are."""

    session: ReviewSession
    analysis: Any
    gates: list[Any]
    shown: set[str] = field(default_factory=set)
    given: Mapping[str, str] | None = None

    @classmethod
    def build(cls, session: ReviewSession, *, seed: int, samples: int,
              fragments: Path | None = None) -> StaticContext:
        if fragments is not None:
            return cls(session, None, [], given=load_fragments(fragments))
        from ..engine.analysis import analyze
        from ..review.policy import evaluate_policy

        analysis = analyze(session.review, session.template, samples=samples, seed=seed)
        gates = evaluate_policy(session.review, session.template, analysis)
        return cls(session, analysis, gates)

    def analysis_json(self) -> Any:
        return self.analysis.to_json()

    def gates_json(self) -> list[Any]:
        return [gate.to_json() for gate in self.gates]


def render_step(context: StaticContext, step: str) -> str:
    """The static HTML of one step; a fragment already shown is not repeated.

    The register (benefits, harms and everyone's estimates) is one fragment, so
    the first of ``benefits()``, ``harms()``, ``items()`` or ``estimates()`` shows it.
    """
    fragment = {"estimates": "register"}.get(step, step)
    if fragment in context.shown or fragment == "export":
        return ""
    if fragment not in STEP_FRAGMENTS:
        raise ValueError(f"unknown step {step!r}")
    context.shown.add(fragment)
    if context.given is not None:
        return context.given[fragment]
    review, template = context.session.review, context.session.template
    from ..record import render

    if fragment == "setup":
        return str(render.render_setup(review, template))
    if fragment == "register":
        return str(render.render_register(review, template))
    if fragment == "mitigations":
        return str(render.render_mitigations(review))
    if fragment == "tradeoffs":
        return str(render.render_tradeoffs(review, context.analysis_json(), template=template))
    if fragment == "policy":
        return str(render.render_policy(context.gates_json()))
    return str(render.render_decision(review, context.gates_json(), context.analysis_json(),
                                      template=template))
