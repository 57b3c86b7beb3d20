"""The workbook: the meeting's agenda as forms bound to one review.json.

``wb = dl.Workbook.open("review.json")`` opens the review next to the notebook; each
agenda step is a method returning a widget (``wb.setup()``, ``wb.items()``, ...), and
``wb.app()`` shows every step as one tabbed view. Every change is validated through
the review model and saved at once (see :mod:`deliberation.workbook.session`). The
steps are listed once, in :data:`deliberation.workbook.steps.STEPS`.

When the notebook is executed for the record (see :mod:`deliberation.record.mode`),
the same methods return the record's static HTML and SVG instead, so the record shows
everything without a kernel or widgets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import RecordError
from ..record.mode import RecordMode
from ..record.quick_import import defer_iri_grammar
from .session import ReviewSession
from .steps import BY_NAME, STEPS

DEFAULT_SAMPLES = 20_000
DEFAULT_SEED = 0


class Workbook:
    """One review opened for a meeting; each method is one agenda step."""

    def __init__(
        self,
        session: ReviewSession,
        *,
        record: bool = False,
        samples: int = DEFAULT_SAMPLES,
        seed: int = DEFAULT_SEED,
        debounce: float = 0.03,
    ) -> None:
        self.session = session
        self.record = record
        self.samples = samples
        self.seed = seed
        self.debounce = debounce
        self._live: Any = None
        self._static: Any = None
        self._fragments: Path | None = None

    @classmethod
    def open(
        cls,
        path: Path | str = "review.json",
        *,
        template_search: tuple[Path | str, ...] = (),
        samples: int | None = None,
        seed: int | None = None,
        debounce: float = 0.03,
        replace: bool = True,
    ) -> Workbook:
        """Open ``path`` (a review.json or the folder holding it).

        The workbook this process opened last on the same review retires (its session
        stops following the store and notifying its steps): a notebook run again leaves
        one live workbook. ``replace=False`` keeps both (two facilitators in one process).

        Templates are found as everywhere else (``template_search``, the review folder's
        ``templates/``, ``$DELIBERATION_TEMPLATES``, the built-in ones). Executed by
        ``deliberation export``, the workbook renders the review being recorded with the
        record's seed and samples; an explicit ``seed=`` or ``samples=`` that disagrees
        with them is an error, never silently replaced.
        """
        mode = RecordMode.from_env()
        if mode is None:
            # The live charts import altair, whose jsonschema would build an IRI grammar
            # nobody here uses at import (1.2 s of a Run All): deferred to its first use.
            defer_iri_grammar()
            # The store beside review.json is made on first open: every workbook and
            # every participant's device then writes through it (deliberation.meeting).
            session = ReviewSession(path, template_search=template_search, journal="create")
            # A re-run of the notebook opens the review again in the same kernel: the
            # workbook opened before on it would go on following the store and rebuilding
            # steps nobody sees (each Run All made every later edit dearer). It retires.
            previous = _OPENED.pop(session.path.resolve(), None) if replace else None
            if previous is not None:
                previous.retire()
            from .live import voila_claim, warm_chart_engine
            warm_chart_engine()
            session.follow(hold=voila_claim())  # a pre-heated Voila kernel: once a page has it
            workbook = cls(session, samples=DEFAULT_SAMPLES if samples is None else samples,
                           seed=DEFAULT_SEED if seed is None else seed, debounce=debounce)
            if replace:
                _OPENED[session.path.resolve()] = workbook
            return workbook
        for name, asked, recorded in (("seed", seed, mode.seed),
                                      ("samples", samples, mode.samples)):
            if asked is not None and asked != recorded:
                raise RecordError(
                    f"the workbook asks for {name}={asked} but the record is made with "
                    f"{name} {recorded}: remove {name}= from the cell or export with "
                    f"--{name} {asked}")
        session = ReviewSession(mode.review, template_search=(*template_search, *mode.templates),
                                journal=None)  # a record reads the review, never writes
        workbook = cls(session, record=True, samples=mode.samples, seed=mode.seed,
                       debounce=debounce)
        workbook._fragments = mode.fragments  # the exporter's, shown as they are
        return workbook

    @property
    def review(self) -> Any:
        return self.session.review

    @property
    def path(self) -> Path:
        return self.session.path

    def __repr__(self) -> str:
        return f"Workbook({str(self.session.path)!r})"

    def _ipython_display_(self) -> None:
        """The first cell's summary: kept current as the review changes (its counts),
        static in record mode."""
        from IPython.display import HTML, display

        if self.record:
            display(HTML(self._repr_html_()))  # type: ignore[no-untyped-call]
            return
        import ipywidgets as widgets

        summary = widgets.HTML(value=self._repr_html_())
        summary.add_class("dl-summary")

        def refresh(_: ReviewSession) -> None:
            summary.value = self._repr_html_()

        self.session.subscribe(refresh)
        display(summary)  # type: ignore[no-untyped-call]

    def _repr_html_(self) -> str:
        from .fields import escape

        review, template = self.session.review, self.session.template
        return (
            f"<p><b>{escape(review.title)}</b><br><span style='color:#666'>"
            f"{escape(self.session.path.name)} · template {escape(template.title)} "
            f"({escape(template.id)} {escape(template.version)}) · "
            f"{len(review.participants)} participants · {len(review.items)} items · "
            f"{len(review.variants)} variants</span></p>"
        )

    # ------------------------------------------------------------------ steps
    def step(self, name: str, **options: Any) -> Any:
        """The widget of agenda step ``name`` (or its static HTML in record mode)."""
        spec = BY_NAME[name]
        if self.record:
            return self._render(spec.fragment)
        from .connection import heartbeat
        from .shared import shared_defaults

        # shared layouts and styles, and each widget sent once, whole (see .shared)
        with shared_defaults():
            arguments = [self.session, self.live()] if spec.live else [self.session]
            root = spec.widget_class()(*arguments, **{**spec.options, **options}).root
            # veils the step whenever the page loses its kernel (see .connection)
            root.children = (*root.children, heartbeat())
        return root

    def retire(self) -> None:
        """Stop following the review (a newer workbook on it took over): the session
        stops following the store and notifying its steps and live analysis, so they no
        longer rebuild or recompute. What it saved stays saved. Its widgets are left to
        the page, which replaces them as the cells run again: closing thousands of them
        one by one first made JupyterLab tear down each view (a warm Run All on a grown
        review then took minutes)."""
        self.session.close()

    def setup(self) -> Any:
        """Title, subject and version, horizon, template and participants."""
        return self.step("setup")

    def items(self) -> Any:
        """Benefits and harms together."""
        return self.step("items")

    def benefits(self) -> Any:
        """The benefits of the register."""
        return self.step("benefits")

    def harms(self) -> Any:
        """The harms of the register."""
        return self.step("harms")

    def estimates(self) -> Any:
        """Each participant's likelihood and impact per item, in blind rounds."""
        return self.step("estimates")

    def mitigations(self) -> Any:
        """Mitigations (targets, factors, owner, status) and variants (sets of mitigations)."""
        return self.step("mitigations")

    def tradeoffs(self) -> Any:
        """Per variant: P(extremely good) against P(extremely bad), live."""
        return self.step("tradeoffs")

    def policy(self) -> Any:
        """The template's gates, live, each with the clause it enforces."""
        return self.step("policy")

    def decision(self) -> Any:
        """Outcome, chosen variant, rationale, conditions, dissent, sign-offs."""
        return self.step("decision")

    def export(self, archive: Path | str | None = None) -> Any:
        """A button that writes the decision record and shows its path and HEAD."""
        return self.step("export", archive=archive)

    def app(self) -> Any:
        """Every step in one tabbed view, for a facilitator who prefers a single screen."""
        if self.record:
            # Every step is rendered by its own cell above; the record shows each once.
            return self._render("export")
        import ipywidgets as widgets

        from .shared import layout

        # The first tab is built at once; the others when first opened (issue 12: the
        # eight steps cost Run All a quarter of its build, shown or not).
        shown = [spec for spec in STEPS if spec.in_app]
        tabs = widgets.Tab(children=[self.step(shown[0].name)] + [
            widgets.VBox(layout=layout(min_height="40px")) for _ in shown[1:]])
        tabs.titles = tuple(spec.title for spec in shown)
        tabs.add_class("dl-app")
        built = {0}

        def opened(change: dict[str, Any]) -> None:
            index = change["new"]
            if index is None or index in built:
                return
            built.add(index)
            children = list(tabs.children)
            placeholder, children[index] = children[index], self.step(shown[index].name)
            tabs.children = children
            placeholder.close()

        tabs.observe(opened, names="selected_index")
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
    def _render(self, fragment: str) -> Any:
        from IPython.display import HTML

        from .static import StaticContext, render_step
        if self._static is None:
            self._static = StaticContext.build(self.session, seed=self.seed,
                                               samples=self.samples, fragments=self._fragments)
        return HTML(render_step(self._static, fragment))  # type: ignore[no-untyped-call]


_OPENED: dict[Path, Workbook] = {}  # per process: the live workbook last opened on a review


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
