"""The workbook: the meeting's agenda as forms bound to one review.json.

``wb = dl.Workbook.open("review.json")`` opens the review next to the notebook; each
agenda step is a method returning a widget (``wb.setup()``, ``wb.items()``, ...), and
``wb.app()`` shows every step as one tabbed view. Every change is validated through
the review model and saved at once (see :mod:`deliberation.session`).

When the notebook is executed for the record (``DELIBERATION_RECORD=1``), the same
methods return static HTML and SVG from :mod:`deliberation.render` instead, so the
record shows everything without a kernel or widgets.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .session import ReviewSession

RECORD_ENV = "DELIBERATION_RECORD"


def record_mode() -> bool:
    """True when the notebook is being executed for an exported record."""
    return os.environ.get(RECORD_ENV, "") not in {"", "0", "false", "no"}


class Workbook:
    """One review opened for a meeting; each method is one agenda step."""

    def __init__(
        self,
        session: ReviewSession,
        *,
        record: bool | None = None,
        samples: int = 20_000,
        seed: int = 0,
        debounce: float = 0.03,
    ) -> None:
        self.session = session
        self.record = record_mode() if record is None else record
        self.samples = samples
        self.seed = int(os.environ.get("DELIBERATION_SEED", seed))
        self.debounce = debounce
        self._live: Any = None
        self._static: Any = None

    @classmethod
    def open(
        cls,
        path: Path | str = "review.json",
        *,
        template_search: tuple[Path | str, ...] = (),
        record: bool | None = None,
        samples: int = 20_000,
        seed: int = 0,
        debounce: float = 0.03,
    ) -> Workbook:
        """Open ``path`` (a review.json or the folder holding it).

        ``$DELIBERATION_REVIEW``, when set, names the review instead: the exporter sets
        it so the workbook renders exactly the review being recorded.
        """
        path = os.environ.get("DELIBERATION_REVIEW") or path
        session = ReviewSession(path, template_search=template_search)
        return cls(session, record=record, samples=samples, seed=seed, debounce=debounce)

    @property
    def review(self) -> Any:
        return self.session.review

    @property
    def path(self) -> Path:
        return self.session.path

    def __repr__(self) -> str:
        return f"Workbook({str(self.session.path)!r})"

    def _repr_html_(self) -> str:
        from html import escape

        review, template = self.session.review, self.session.template
        return (
            f"<p><b>{escape(review.title)}</b><br><span style='color:#666'>"
            f"{escape(self.session.path.name)} · template {escape(template.title)} "
            f"({escape(template.id)} {escape(template.version)}) · "
            f"{len(review.participants)} participants · {len(review.items)} items · "
            f"{len(review.variants)} variants</span></p>"
        )

    # ------------------------------------------------------------------ steps
    def setup(self) -> Any:
        """Title, subject and version, horizon, template and participants."""
        if self.record:
            return self._render("setup")
        from .steps import SetupStep
        return SetupStep(self.session).root

    def items(self) -> Any:
        """Benefits and harms together."""
        if self.record:
            return self._render("register")
        from .elicitation import ItemsStep
        return ItemsStep(self.session).root

    def benefits(self) -> Any:
        if self.record:
            return self._render("register")
        from .elicitation import ItemsStep
        return ItemsStep(self.session, ("benefit",)).root

    def harms(self) -> Any:
        if self.record:
            return self._render("register")
        from .elicitation import ItemsStep
        return ItemsStep(self.session, ("harm",)).root

    def estimates(self) -> Any:
        """Each participant's likelihood and impact per item, in blind rounds."""
        if self.record:
            return self._render("estimates")
        from .elicitation import EstimatesStep
        return EstimatesStep(self.session).root

    def mitigations(self) -> Any:
        """Mitigations (targets, factors, owner, status) and variants (sets of mitigations)."""
        if self.record:
            return self._render("mitigations")
        from .steps import MitigationsStep
        return MitigationsStep(self.session).root

    def tradeoffs(self) -> Any:
        """Per variant: P(extremely good) against P(extremely bad), live."""
        if self.record:
            return self._render("tradeoffs")
        from .live import TradeoffsStep
        return TradeoffsStep(self.session, self.live()).root

    def policy(self) -> Any:
        """The template's gates, live, each with the clause it enforces."""
        if self.record:
            return self._render("policy")
        from .live import PolicyStep
        return PolicyStep(self.session, self.live()).root

    def decision(self) -> Any:
        """Outcome, chosen variant, rationale, conditions, dissent, sign-offs."""
        if self.record:
            return self._render("decision")
        from .steps import DecisionStep
        return DecisionStep(self.session).root

    def export(self, archive: Path | str | None = None) -> Any:
        """A button that writes the decision record and shows its path and HEAD."""
        if self.record:
            return self._render("export")
        from .steps import ExportStep
        return ExportStep(self.session, archive=archive).root

    def app(self) -> Any:
        """Every step in one tabbed view, for a facilitator who prefers a single screen."""
        if self.record:
            # Every step is rendered by its own cell above; the record shows each once.
            return self._render("export")
        import ipywidgets as widgets
        steps = [
            ("Set-up", self.setup), ("Benefits & harms", self.items),
            ("Estimates", self.estimates), ("Mitigations", self.mitigations),
            ("Tradeoffs", self.tradeoffs), ("Policy", self.policy),
            ("Decision", self.decision), ("Export", self.export),
        ]
        tabs = widgets.Tab(children=[make() for _, make in steps])
        tabs.titles = tuple(title for title, _ in steps)
        tabs.add_class("dl-app")
        return tabs

    # ------------------------------------------------------------------ live analysis
    def live(self) -> Any:
        """The debounced analysis and policy results every live view shares."""
        if self._live is None:
            from .live import LiveAnalysis
            self._live = LiveAnalysis(self.session, samples=self.samples, seed=self.seed,
                                      debounce=self.debounce)
        return self._live

    # ------------------------------------------------------------------ record mode
    def _render(self, step: str) -> Any:
        from IPython.display import HTML

        from .static import render_step
        if self._static is None:
            from .static import StaticContext
            self._static = StaticContext.build(self.session, seed=self.seed)
        return HTML(render_step(self._static, step))  # type: ignore[no-untyped-call]


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
