"""Step 6, tradeoffs: the numbers per option, what mitigations buy, the charts, live."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import ipywidgets as widgets

from ..fields import Step, escape
from ..live import ChartPainter, LiveAnalysis, in_voila
from ..session import ReviewSession
from ..shared import layout


def _fragments() -> Any:
    from ...record import render

    return render


def chart_html(name: str, analysis: Any, review: Any) -> str:
    """The record's own chart ``name``, so the meeting sees what the record will show."""
    from ...readout.captions import chart_figure

    return str(chart_figure(name, analysis, review))


def _more_charts() -> tuple[tuple[str, str], ...]:
    """The charts drawn on demand (the catalog's non-live ones), with their titles."""
    from ...readout.catalog import CHARTS

    return tuple((name, kind.title) for name, kind in CHARTS.items() if not kind.live)


MORE_CHARTS = _more_charts()
# Seconds of quiet before the net-value chart and an open accordion chart are redrawn:
# vl-convert draws one chart at a time, so while edits come quickly only the headline
# chart follows each one, and it never queues behind a slower chart.
QUIET = 0.3


def _html(css_class: str) -> Any:
    """An empty HTML widget the page and the tests find by its class."""
    widget = widgets.HTML(value="")
    widget.add_class(css_class)
    return widget


class TradeoffsStep(Step):
    undoable = False  # it shows the review; it changes nothing
    name = "tradeoffs"
    title = "Tradeoffs"
    lead = ("Per release option: the chance of an extremely good outcome against an extremely "
            "bad one, recomputed on every edit; more charts below, drawn when opened.")

    def __init__(self, session: ReviewSession, live: LiveAnalysis) -> None:
        self.live = live
        self.painter: ChartPainter = live.painter  # shared by every live step
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
        self._json: dict[str, Any] | None = None  # the shown analysis, as a record stores it
        self._refresh: asyncio.TimerHandle | None = None
        self.notes = _html("dl-tradeoff-notes")
        self.base = widgets.Dropdown(description="From", layout=layout(width="300px"),
                                     style={"description_width": "50px"})
        self.other = widgets.Dropdown(description="to", layout=layout(width="300px"),
                                      style={"description_width": "30px"})
        self.base.add_class("dl-compare-from")
        self.other.add_class("dl-compare-to")
        self.compare = _html("dl-tradeoff-compare")
        self.sensitivity = _html("dl-tradeoff-sensitivity")
        self.disagreement = _html("dl-tradeoff-disagreement")
        self.information = _html("dl-tradeoff-information")
        self.base.observe(lambda _: self._compare(), names="value")
        self.other.observe(lambda _: self._compare(), names="value")
        super().__init__(session)
        live.subscribe(self.show)
        # The first charts: drawn before the cell ends under Voila (see ChartPainter),
        # in the worker elsewhere (the numbers are shown at once either way).
        self.show(live, now=in_voila())

    def build(self, data: dict[str, Any]) -> list[Any]:
        return [self.numbers, self.chart, self.net_value,
                widgets.HTML(value="<h4>More charts (drawn when opened)</h4>"), self.more,
                widgets.HTML(value="<h4>What a modification changes</h4>"),
                widgets.HBox([self.base, self.other]), self.compare,
                widgets.HTML(value="<h4>Sensitivity: which estimates matter most</h4>"),
                self.sensitivity,
                widgets.HTML(value="<h4>What is worth investigating before release</h4>"),
                self.information,
                widgets.HTML(value="<h4>Disagreement: discuss these first</h4>"),
                self.disagreement, self.notes]

    def show(self, live: LiveAnalysis, *, now: bool = False) -> None:
        review = self.session.review
        if live.analysis is None:
            self.numbers.value = (f'<div class="dl-warn">No numbers yet: '
                                  f"{escape(live.error or 'add items and estimates')}</div>")
            self.chart.value = self.net_value.value = ""
            self.sensitivity.value = self.disagreement.value = self.information.value = ""
            return
        analysis = live.analysis
        analysis_json = analysis.to_json()
        self._json = analysis_json
        render = _fragments()
        self.numbers.value = render.render_numbers(review, analysis_json)
        self.painter.paint(self.chart, self._draw("tails", analysis, review), now=now)
        if now:
            self._paint_quiet(now=True)
        else:
            self._when_quiet()
        self.sensitivity.value = render.render_sensitivity(review, analysis_json, limit=5)
        self.disagreement.value = render.render_disagreement(review, analysis_json, limit=5)
        self.information.value = render.render_information(review, analysis_json, limit=5)
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

    def _draw(self, name: str, analysis: Any, review: Any) -> Any:
        """What draws chart ``name`` of ``analysis``, once for all the steps showing it."""
        return functools.partial(self.live.chart, name, analysis,
                                 functools.partial(chart_html, name, analysis, review))

    def _paint_quiet(self, *, now: bool = False) -> None:
        """Draw what waits for a pause in the edits: the net value and the open chart."""
        self._refresh = None
        analysis = self.live.analysis
        if analysis is not None and analysis is not self._drawn_net_value:
            self._drawn_net_value = analysis
            self.painter.paint(self.net_value, self._draw("net_value", analysis,
                                                          self.session.review), now=now)
        self._paint_open()

    def _paint_open(self) -> None:
        """Draw the open accordion chart, if any, from the current analysis."""
        index, analysis = self.more.selected_index, self.live.analysis
        if index is None or analysis is None:
            return
        name = MORE_CHARTS[index][0]
        target, review = self.panels[name], self.session.review
        from ...readout.catalog import chart_names

        if name not in chart_names(analysis):
            target.value = '<p class="dl-muted">Nothing to show here yet.</p>'
            return
        self.painter.paint(target, self._draw(name, analysis, review))

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
        if self.live.analysis is None or self.base.value is None or self.other.value is None:
            self.compare.value = ""
            return
        if self._json is None or self._json.get("seed") is None:
            self._json = self.live.analysis.to_json()
        self.compare.value = _fragments().render_comparison(
            self.session.review, self._json, self.base.value, self.other.value)
