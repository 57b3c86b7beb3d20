"""Step 6, tradeoffs: the numbers per option, what mitigations buy, the charts, live."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import ipywidgets as widgets

from ..fields import Step, escape
from ..live import ChartPainter, LiveAnalysis
from ..session import ReviewSession


def _percent(value: float) -> str:
    from ...record.render import percent

    return percent(value)


def _number(value: float) -> str:
    from ...record.render import points

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
    from ...readout.captions import chart_figure

    chosen = review.decision.variant if review.decision is not None else None
    return str(chart_figure(name, analysis, review, chosen=chosen))


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
        from ...readout.charts import chart_names

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
