"""Record mode: every agenda step as static HTML and SVG, for the exported record.

The workbook calls these when executed for a record (:mod:`deliberation.record.mode`);
the HTML comes from :mod:`deliberation.record.render`, so both show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .session import ReviewSession


@dataclass
class StaticContext:
    """The review, its template, analysis and gate results, computed once per record."""

    session: ReviewSession
    analysis: Any
    gates: list[Any]
    shown: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, session: ReviewSession, *, seed: int, samples: int) -> StaticContext:
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
    context.shown.add(fragment)
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
    if fragment == "decision":
        return str(render.render_decision(review, context.gates_json(), context.analysis_json(),
                                          template=template))
    raise ValueError(f"unknown step {step!r}")
