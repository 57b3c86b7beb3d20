"""The live steps: tradeoffs and policy, recomputed shortly after every edit.

One :class:`LiveAnalysis` per workbook runs the Monte Carlo analysis and the policy
gates after each change, debounced (a burst of edits costs one recompute), with a
modest sample count so the charts follow the conversation; the exported record
uses the full count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .errors import DeliberationError
from .forms import Step, escape
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
        self._pending: asyncio.TimerHandle | None = None
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
        self._pending = loop.call_later(self.debounce, self.compute)

    def compute(self) -> None:
        self._pending = None
        started = time.perf_counter()
        review, template = self.session.review, self.session.template
        try:
            from .analysis import analyze
            self.analysis = analyze(review, template, samples=self.samples, seed=self.seed)
            self.error = None
        except (DeliberationError, ValueError, ImportError) as error:
            self.analysis = None
            self.error = user_message(error)
        try:
            from .policy import evaluate_policy
            self.gates = evaluate_policy(review, template, self.analysis)
        except (DeliberationError, ValueError, ImportError) as error:
            self.gates = []
            self.error = self.error or user_message(error)
        self.seconds = time.perf_counter() - started
        self.computations += 1
        for listener in list(self.listeners):
            listener(self)


def _percent(value: float) -> str:
    from .render import percent

    return percent(value)


def _number(value: float) -> str:
    from .render import points

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


def chart_html(analysis: Any, review: Any) -> str:
    """The record's own SVG charts (render.py), so the meeting sees what the record will show."""
    from . import render

    variants = {key: summary.model_dump(mode="json") for key, summary in analysis.variants.items()}
    titles = {key: summary.title for key, summary in analysis.variants.items()}
    chosen = review.decision.variant if review.decision is not None else None
    thresholds = (analysis.extreme_bad, analysis.extreme_good)
    return str(render.tails_chart(variants, titles, chosen)) + str(
        render.range_chart(variants, titles, chosen, thresholds))


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


class TradeoffsStep(Step):
    name = "tradeoffs"
    title = "Tradeoffs"
    lead = ("Per release option: the chance of an extremely good outcome (green) against an "
            "extremely bad one (red), recomputed on every edit.")

    def __init__(self, session: ReviewSession, live: LiveAnalysis) -> None:
        self.live = live
        self.numbers = widgets.HTML(value="")
        self.numbers.add_class("dl-tradeoff-numbers")
        self.chart = widgets.HTML(value="")
        self.chart.add_class("dl-tradeoff-chart")
        self.notes = widgets.HTML(value="")
        self.notes.add_class("dl-tradeoff-notes")
        self.base = widgets.Dropdown(description="From", layout=widgets.Layout(width="300px"),
                                     style={"description_width": "50px"})
        self.other = widgets.Dropdown(description="to", layout=widgets.Layout(width="300px"),
                                      style={"description_width": "30px"})
        self.base.add_class("dl-compare-from")
        self.other.add_class("dl-compare-to")
        self.compare = widgets.HTML(value="")
        self.compare.add_class("dl-tradeoff-compare")
        self.sensitivity = widgets.HTML(value="")
        self.sensitivity.add_class("dl-tradeoff-sensitivity")
        self.disagreement = widgets.HTML(value="")
        self.disagreement.add_class("dl-tradeoff-disagreement")
        self.base.observe(lambda _: self._compare(), names="value")
        self.other.observe(lambda _: self._compare(), names="value")
        super().__init__(session)
        live.subscribe(self.show)
        self.show(live)

    def build(self, data: dict[str, Any]) -> list[Any]:
        return [self.numbers, self.chart,
                widgets.HTML(value="<h4>What a modification changes</h4>"),
                widgets.HBox([self.base, self.other]), self.compare,
                widgets.HTML(value="<h4>Sensitivity: which estimates matter most</h4>"),
                self.sensitivity,
                widgets.HTML(value="<h4>Disagreement: discuss these first</h4>"),
                self.disagreement, self.notes]

    def show(self, live: LiveAnalysis) -> None:
        review = self.session.review
        if live.analysis is None:
            self.numbers.value = (f'<div class="dl-warn">No numbers yet: '
                                  f"{escape(live.error or 'add items and estimates')}</div>")
            self.chart.value = ""
            self.sensitivity.value = self.disagreement.value = ""
            return
        self.numbers.value = numbers_table(live.analysis, review)
        self.chart.value = chart_html(live.analysis, review)
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
