"""The live steps: tradeoffs and policy, recomputed shortly after every edit.

One :class:`LiveAnalysis` per workbook runs the Monte Carlo analysis and the policy
gates after each change, debounced (a burst of edits costs one recompute), with a
modest sample count so the charts follow the conversation; the exported record
uses the full count. Its draw cache redraws only the edited items.

The charts are the record's own (:mod:`.charts`, drawn by vl-convert, wrapped by
:mod:`.captions`). Drawing one takes 100 to 400 ms, so a :class:`ChartPainter` draws
them in a worker thread: the numbers table updates at once, typing never waits, and a
newer analysis replaces one not yet drawn. The headline chart (the tails) follows every
edit; the net-value chart follows once edits pause; the others sit in an accordion and
are drawn only while open.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ipywidgets as widgets

from ..errors import DeliberationError
from .fields import Step, escape
from .session import ReviewSession, user_message


class LiveAnalysis:
    """The analysis and gate results of the session's current review, kept up to date."""

    def __init__(self, session: ReviewSession, *, samples: int, seed: int,
                 debounce: float) -> None:
        self.session = session
        self.samples = samples
        self.seed = seed
        self.debounce = debounce
        self.analysis: Any = None
        self.gates: list[Any] = []
        self.error: str | None = None
        self.seconds = 0.0
        self.computations = 0
        self.listeners: list[Callable[[LiveAnalysis], None]] = []
        from ..engine.simulate import DrawCache

        self.cache = DrawCache()
        self._pending: asyncio.TimerHandle | None = None
        self._finished = 0.0
        session.subscribe(self._changed)
        self.compute()

    def subscribe(self, listener: Callable[[LiveAnalysis], None]) -> None:
        self.listeners.append(listener)

    def _changed(self, _: ReviewSession) -> None:
        if self.debounce <= 0:
            self.compute()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (plain Python, tests): compute right away
            self.compute()
            return
        if self._pending is not None:
            self._pending.cancel()
        elif time.monotonic() - self._finished >= self.debounce:
            # Leading edge: an edit after a quiet spell is computed at once (the chart is
            # what the meeting waits for); edits in a burst wait for it to pause.
            self.compute()
            return
        self._pending = loop.call_later(self.debounce, self.compute)

    def compute(self) -> None:
        self._pending = None
        started = time.perf_counter()
        review, template = self.session.review, self.session.template
        try:
            from ..engine.analysis import analyze
            self.analysis = analyze(review, template, samples=self.samples, seed=self.seed,
                                    cache=self.cache)
            self.error = None
        except (DeliberationError, ValueError, ImportError) as error:
            self.analysis = None
            self.error = user_message(error)
        try:
            from ..review.policy import evaluate_policy
            self.gates = evaluate_policy(review, template, self.analysis)
        except (DeliberationError, ValueError, ImportError) as error:
            self.gates = []
            self.error = self.error or user_message(error)
        self.seconds = time.perf_counter() - started
        self._finished = time.monotonic()
        self.computations += 1
        for listener in list(self.listeners):
            listener(self)


def _percent(value: float) -> str:
    from ..record.render import percent

    return percent(value)


def _number(value: float) -> str:
    from ..record.render import points

    return points(value) if abs(value) >= 100 else f"{value:,.3g}".replace("-", "−")


def numbers_table(analysis: Any, review: Any) -> str:
    """Per variant: mean with its standard error, 90% range, P(extremely good / bad)."""
    titles = {v.id: v.title for v in review.variants}
    rows = []
    for variant_id, summary in analysis.variants.items():
        rows.append(
            f"<tr class='dl-variant-row' data-variant='{escape(variant_id)}'>"
            f"<td>{escape(titles.get(variant_id, variant_id))}</td>"
            f"<td>{_number(summary.mean)} <span class='dl-muted'>± "
            f"{_number(2 * summary.mean_se)}</span></td>"
            f"<td>{_number(summary.p5)} to {_number(summary.p95)}</td>"
            f"<td class='dl-p-good'>{_percent(summary.p_extreme_good)}</td>"
            f"<td class='dl-p-bad'>{_percent(summary.p_extreme_bad)}</td></tr>"
        )
    return (
        "<table class='dl-table'><tr><th>variant</th><th>mean net value</th>"
        "<th>90% of outcomes between</th><th>P(extremely good)</th><th>P(extremely bad)</th>"
        "</tr>" + "".join(rows) + "</table>"
    )


def compare_table(analysis: Any, review: Any, base: str, other: str) -> str:
    """What moving from variant ``base`` to ``other`` changes."""
    variants = analysis.variants
    if base not in variants or other not in variants:
        return ""
    a, b = variants[base], variants[other]

    def delta(x: float, y: float, percent: bool) -> str:
        sign = "+" if y - x >= 0 else "−"
        shown = f"{abs(y - x):.1%}" if percent else f"{abs(y - x):,.0f}"
        return f"{sign}{shown}"

    return (
        "<table class='dl-table'><tr><th></th><th>mean net value</th><th>P(extremely good)</th>"
        "<th>P(extremely bad)</th></tr>"
        f"<tr><td>change</td><td>{delta(a.mean, b.mean, False)}</td>"
        f"<td>{delta(a.p_extreme_good, b.p_extreme_good, True)}</td>"
        f"<td>{delta(a.p_extreme_bad, b.p_extreme_bad, True)}</td></tr></table>"
    )


def chart_html(name: str, analysis: Any, review: Any) -> str:
    """The record's own chart ``name``, so the meeting sees what the record will show."""
    from ..readout.captions import chart_figure

    chosen = review.decision.variant if review.decision is not None else None
    return str(chart_figure(name, analysis, review, chosen=chosen))


class ChartPainter:
    """Draws chart HTML into widgets off the event loop, the newest request per widget winning.

    Not ``threaded`` (a workbook without debounce, as in the tests), without a running
    event loop (plain Python), or with ``now=True``, it draws right away. A step's first
    drawing is made that way, so it is in the widget when the cell ends: Voila snapshots
    the widgets then, and an update sent before the page connects is lost.
    """

    def __init__(self, *, threaded: bool = True) -> None:
        self.threaded = threaded
        self._executor: ThreadPoolExecutor | None = None
        self._tickets: dict[int, int] = {}
        self.drawn = 0

    def paint(self, target: Any, draw: Callable[[], str], *, now: bool = False) -> None:
        try:
            asyncio.get_running_loop()  # the kernel's: draw in the worker
        except RuntimeError:
            now = True
        now = now or not self.threaded
        key = id(target)
        if now:
            self._tickets[key] = self._tickets.get(key, 0) + 1  # drops any drawing under way
            target.value = self._draw(draw)
            self.drawn += 1
            return
        ticket = self._tickets.get(key, 0) + 1
        self._tickets[key] = ticket
        if self._executor is None:
            # one worker: vl-convert draws one chart at a time anyway
            self._executor = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="deliberation-charts")

        def run() -> None:
            if self._tickets.get(key) != ticket:
                return
            html = self._draw(draw)
            # Set from this thread: ipykernel's iopub socket takes messages from any
            # thread, whereas a callback handed back to the kernel's event loop can wait
            # there for the next incoming message (measured: 400 ms more per edit in Voila).
            if self._tickets.get(key) == ticket:
                target.value = html
                self.drawn += 1

        self._executor.submit(run)

    @staticmethod
    def _draw(draw: Callable[[], str]) -> str:
        try:
            return draw()
        except Exception as error:  # a chart that fails must not stop the meeting
            return f'<div class="dl-warn">The chart could not be drawn: {escape(str(error))}</div>'


MORE_CHARTS = (("tornado", "Sensitivity: which estimate moves the result"),
               ("disagreement", "Disagreement: each participant's estimate"),
               ("risk_matrix", "Risk matrix: harms before and after mitigation"),
               ("mitigations", "What each mitigation buys on its own"))
# Seconds of quiet before the net-value chart and an open accordion chart are redrawn:
# vl-convert draws one chart at a time, so while edits come quickly only the headline
# chart follows each one, and it never queues behind a slower chart.
QUIET = 0.3


def sensitivity_table(analysis: Any, limit: int = 5) -> str:
    """Which estimates, moved across their interval, move the result most."""
    rows = []
    for entry in sorted(analysis.sensitivity, key=lambda s: s.rank_mean)[:limit]:
        flips = "yes" if entry.flips_preferred else "no"
        gates = ", ".join(entry.flips_gates)
        rows.append(
            f"<tr><td>{escape(entry.title)} ({entry.quantity})</td>"
            f"<td>{_number(entry.mean_low)} to {_number(entry.mean_high)}</td>"
            f"<td>{_percent(entry.p_extreme_bad_low)} to {_percent(entry.p_extreme_bad_high)}</td>"
            f"<td class='{'dl-fail' if entry.flips_preferred else 'dl-muted'}'>{flips}</td>"
            f"<td>{escape(gates) or '—'}</td></tr>")
    if not rows:
        return ""
    return ("<table class='dl-table dl-sensitivity'><tr><th>estimate, low to high end</th>"
            "<th>mean net value</th><th>P(extremely bad)</th><th>flips the best option?</th>"
            "<th>flips gates</th></tr>" + "".join(rows) + "</table>")


def disagreement_table(analysis: Any, review: Any, limit: int = 5) -> str:
    """Items where participants differ most: discuss these first."""
    people = {p.id: p.name for p in review.participants}
    rows = []
    for entry in sorted(analysis.disagreement, key=lambda d: d.rank)[:limit]:
        if len(entry.participants) < 2:
            continue
        who = "; ".join(f"{escape(people.get(p.participant, p.participant))}: "
                        f"{_number(p.expected_value)}" for p in entry.participants)
        rows.append(f"<tr><td>{escape(entry.title)}</td>"
                    f"<td>{entry.orders_of_magnitude:.1f}</td><td>{who}</td></tr>")
    if not rows:
        return '<p class="dl-muted">Nobody disagrees yet: fewer than two estimates per item.</p>'
    return ("<table class='dl-table dl-disagreement'><tr><th>item</th>"
            "<th>spread (orders of magnitude)</th><th>expected value, per participant</th></tr>"
            + "".join(rows) + "</table>")


def _html(css_class: str) -> Any:
    """An empty HTML widget the page and the tests find by its class."""
    widget = widgets.HTML(value="")
    widget.add_class(css_class)
    return widget


class TradeoffsStep(Step):
    name = "tradeoffs"
    title = "Tradeoffs"
    lead = ("Per release option: the chance of an extremely good outcome against an extremely "
            "bad one, recomputed on every edit; more charts below, drawn when opened.")

    def __init__(self, session: ReviewSession, live: LiveAnalysis) -> None:
        self.live = live
        self.painter = ChartPainter(threaded=live.debounce > 0)
        self.numbers = _html("dl-tradeoff-numbers")
        self.chart = _html("dl-tradeoff-chart")
        self.net_value = _html("dl-tradeoff-net-value")
        self.panels = {name: _html(f"dl-chart-{name.replace('_', '-')}")
                       for name, _ in MORE_CHARTS}
        self.more = widgets.Accordion(children=list(self.panels.values()),
                                      titles=tuple(title for _, title in MORE_CHARTS))
        self.more.add_class("dl-tradeoff-more")
        self.more.observe(lambda _: self._paint_open(), names="selected_index")
        self._drawn_net_value: Any = None  # the analysis the net-value chart shows
        self._refresh: asyncio.TimerHandle | None = None
        self.notes = _html("dl-tradeoff-notes")
        self.base = widgets.Dropdown(description="From", layout=widgets.Layout(width="300px"),
                                     style={"description_width": "50px"})
        self.other = widgets.Dropdown(description="to", layout=widgets.Layout(width="300px"),
                                      style={"description_width": "30px"})
        self.base.add_class("dl-compare-from")
        self.other.add_class("dl-compare-to")
        self.compare = _html("dl-tradeoff-compare")
        self.sensitivity = _html("dl-tradeoff-sensitivity")
        self.disagreement = _html("dl-tradeoff-disagreement")
        self.base.observe(lambda _: self._compare(), names="value")
        self.other.observe(lambda _: self._compare(), names="value")
        super().__init__(session)
        live.subscribe(self.show)
        self.show(live, now=True)

    def build(self, data: dict[str, Any]) -> list[Any]:
        return [self.numbers, self.chart, self.net_value,
                widgets.HTML(value="<h4>More charts (drawn when opened)</h4>"), self.more,
                widgets.HTML(value="<h4>What a modification changes</h4>"),
                widgets.HBox([self.base, self.other]), self.compare,
                widgets.HTML(value="<h4>Sensitivity: which estimates matter most</h4>"),
                self.sensitivity,
                widgets.HTML(value="<h4>Disagreement: discuss these first</h4>"),
                self.disagreement, self.notes]

    def show(self, live: LiveAnalysis, *, now: bool = False) -> None:
        review = self.session.review
        if live.analysis is None:
            self.numbers.value = (f'<div class="dl-warn">No numbers yet: '
                                  f"{escape(live.error or 'add items and estimates')}</div>")
            self.chart.value = self.net_value.value = ""
            self.sensitivity.value = self.disagreement.value = ""
            return
        self.numbers.value = numbers_table(live.analysis, review)
        analysis = live.analysis
        self.painter.paint(self.chart, functools.partial(chart_html, "tails", analysis, review),
                           now=now)
        if now:
            self._paint_quiet(now=True)
        else:
            self._when_quiet()
        self.sensitivity.value = sensitivity_table(live.analysis)
        self.disagreement.value = disagreement_table(live.analysis, review)
        options_list = [(live.analysis.variants[key].title, key)
                        for key in live.analysis.variants]
        if list(self.base.options) != options_list:
            self.base.options = options_list
            self.other.options = options_list
            self.base.value = options_list[0][1] if options_list else None
            self.other.value = options_list[-1][1] if options_list else None
        self._compare()
        unestimated = self.session.review.unestimated_items()
        note = (f"Not estimated by anyone yet: {escape(', '.join(unestimated))}. They count as "
                "unknown, not as zero." if unestimated else "")
        self.notes.value = (f'<p class="dl-hint">{note} {live.samples:,} samples, seed '
                            f"{live.seed}; computed in {live.seconds * 1000:.0f} ms.</p>")

    def _paint_quiet(self, *, now: bool = False) -> None:
        """Draw what waits for a pause in the edits: the net value and the open chart."""
        self._refresh = None
        analysis = self.live.analysis
        if analysis is not None and analysis is not self._drawn_net_value:
            self._drawn_net_value = analysis
            self.painter.paint(self.net_value, functools.partial(
                chart_html, "net_value", analysis, self.session.review), now=now)
        self._paint_open()

    def _paint_open(self) -> None:
        """Draw the open accordion chart, if any, from the current analysis."""
        index, analysis = self.more.selected_index, self.live.analysis
        if index is None or analysis is None:
            return
        name = MORE_CHARTS[index][0]
        target, review = self.panels[name], self.session.review
        from ..readout.charts import chart_names

        if name not in chart_names(analysis):
            target.value = '<p class="dl-muted">Nothing to show here yet.</p>'
            return
        self.painter.paint(target, lambda: chart_html(name, analysis, review))

    def _when_quiet(self) -> None:
        """Redraw the net value and the open chart once edits pause (closed ones cost nothing)."""
        if self.live.debounce <= 0:
            self._paint_quiet()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._paint_quiet()
            return
        if self._refresh is not None:
            self._refresh.cancel()
        self._refresh = loop.call_later(QUIET, self._paint_quiet)

    def _compare(self) -> None:
        analysis = self.live.analysis
        if analysis is None or self.base.value is None or self.other.value is None:
            self.compare.value = ""
            return
        self.compare.value = compare_table(analysis, self.session.review, self.base.value,
                                           self.other.value)


class PolicyStep(Step):
    name = "policy"
    title = "Policy gates"
    lead = "The template's rules, checked live against the review and its analysis."

    def __init__(self, session: ReviewSession, live: LiveAnalysis) -> None:
        self.live = live
        self.table = widgets.HTML(value="")
        self.table.add_class("dl-policy-table")
        super().__init__(session)
        live.subscribe(self.show)
        self.show(live)

    def build(self, data: dict[str, Any]) -> list[Any]:
        return [self.table]

    def show(self, live: LiveAnalysis) -> None:
        self.table.value = gates_table(live.gates)


_MARK = {"pass": "✔ pass", "fail": "✘ fail", "warn": "! warn"}


def gates_table(gates: list[Any]) -> str:
    if not gates:
        return '<p class="dl-muted">The template sets no policy gates.</p>'
    rows = []
    for gate in gates:
        clause = escape(gate.clause)
        if gate.clause_text:
            clause += f'<div class="dl-hint">{escape(gate.clause_text)}</div>'
        rows.append(
            f"<tr class='dl-gate dl-gate-{escape(gate.status)}' data-gate='{escape(gate.id)}'>"
            f"<td class='dl-{escape(gate.status)}'>{_MARK.get(gate.status, gate.status)}</td>"
            f"<td style='text-align:left'>{escape(gate.id)}</td>"
            f"<td style='text-align:left'>{escape(gate.message)}</td>"
            f"<td style='text-align:left'>{clause}</td></tr>"
        )
    passed = sum(g.status == "pass" for g in gates)
    return (f"<p><b>{passed} of {len(gates)} gates pass.</b></p>"
            "<table class='dl-table'><tr><th>status</th><th style='text-align:left'>gate</th>"
            "<th style='text-align:left'>finding</th><th style='text-align:left'>clause</th></tr>"
            + "".join(rows) + "</table>")


class NotebookProgress:
    """A ``progress(done, total)`` callback for notebooks: an ipywidgets bar that appears
    only once a run has taken longer than ``after`` seconds (short runs stay quiet), the
    notebook's counterpart of :class:`deliberation.report.ProgressBar`.

    ``dl.analyze(review, template, samples=1_000_000, progress=dl.NotebookProgress())``
    """

    def __init__(self, *, after: float = 1.0, label: str = "simulating",
                 clock: Callable[[], float] = time.monotonic,
                 show: Callable[[Any], None] | None = None) -> None:
        self.after = after
        self.label = label
        self.clock = clock
        self.started = clock()
        self.bar: Any = None
        self._show = show

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if self.clock() - self.started < self.after:
                return
            self.bar = widgets.IntProgress(min=0, max=max(total, 1), description=self.label,
                                           style={"description_width": "initial"})
            self.bar.add_class("dl-progress")
            if self._show is not None:
                self._show(self.bar)
            else:
                from IPython.display import display

                display(self.bar)  # type: ignore[no-untyped-call]
        self.bar.value = min(done, self.bar.max)
        if done >= total:
            self.bar.bar_style = "success"
