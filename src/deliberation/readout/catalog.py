"""The catalog of charts: everything about each chart in one entry.

Its builder (:mod:`.charts`), its text alternative (:mod:`.descriptions`), its title and
caption, when it has something to show, whether a cached spec draws it fast and
whether the workbook redraws it on every edit. The record, the workbook and the
captions all read :data:`CHARTS`; adding a chart is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine.results import Analysis
from . import descriptions, information
from .charts import (
    _analysis,
    disagreement_chart,
    mitigation_chart,
    net_value_chart,
    risk_matrix,
    tails_chart,
    tails_spec,
    tornado_chart,
)


def _always(_: Analysis) -> bool:
    return True


@dataclass(frozen=True)
class ChartKind:
    """One chart, everything about it in one place: adding a chart is one entry here."""

    build: Callable[..., Any]  # (analysis, review) -> altair chart
    describe: Callable[[Analysis], str]  # its text alternative (descriptions.py)
    title: str  # its short title, e.g. the workbook"s panel heading
    caption: str  # what the reader should know to read it
    shown: Callable[[Analysis], bool]  # whether this analysis has anything to show
    fast: Callable[[Analysis], dict[str, Any]] | None = None  # a cached spec, same output
    live: bool = False  # drawn on every edit in the workbook, not on demand


CHARTS: dict[str, ChartKind] = {
    "tails": ChartKind(
        tails_chart, descriptions._tails,
        title="The chance of an extremely good against an extremely bad outcome",
        caption=(
            "Up is better, left is safer; the lines through each point span its 95%"
            " interval. P(catastrophe), the harms alone, is in the table above and in"
            " each point's tooltip."
        ),
        shown=_always, fast=tails_spec, live=True,
    ),
    "net_value": ChartKind(
        net_value_chart, descriptions._net_value,
        title="Net value per release option",
        caption=(
            "How often each net value came up in the simulation, per release "
            "option; the dashed lines are the thresholds of an extremely bad and an"
            " extremely good outcome."
        ),
        shown=_always, live=True,
    ),
    "mitigations": ChartKind(
        mitigation_chart, descriptions._mitigations,
        title="What each mitigation buys on its own",
        caption=(
            "Each mitigation applied alone to the release without mitigations, on "
            "the same draws; black lines span the 95% interval (1.96 standard "
            "errors)."
        ),
        shown=lambda r: bool(r.mitigation_effects),
    ),
    "risk_matrix": ChartKind(
        risk_matrix, descriptions._risk_matrix,
        title="Risk matrix: harms before and after mitigation",
        caption=(
            "Each harm by how likely it is and how large if it happens (log "
        "scales), before mitigation and with the chosen option's mitigations."
        ),
        shown=lambda r: any(item.kind == "harm" for item in r.items),
    ),
    "tornado": ChartKind(
        tornado_chart, descriptions._tornado,
        title="Sensitivity: which estimate moves the result",
        caption=(
            "Each estimate moved to the 5th and the 95th percentile of its pooled "
            "range, on the same draws; * marks an estimate that would change the "
            "preferred option or a probability gate."
        ),
        shown=lambda r: bool(r.sensitivity),
    ),
    "disagreement": ChartKind(
        disagreement_chart, descriptions._disagreement,
        title="Disagreement: each participant's estimate",
        caption=(
        "Each participant's 90% interval and median, for the items where "
            "estimates differ most: discuss these first."
        ),
        shown=lambda r: bool(r.disagreement),
    ),
    "information": ChartKind(
        information.information_chart, information.describe,
        title=information.TITLE,
        caption=(
            "The expected value of perfect partial information for the choice between the"
            " release options, highest first; black lines span the 95% interval, the dashed"
            " line is the value of knowing every outcome in advance, chance included."
        ),
        shown=lambda r: r.value_of_information is not None
        and bool(r.value_of_information.entries),
    ),
}
"""Every chart by name, headline first: the order the record shows them in."""


def chart_names(analysis: Analysis | dict[str, Any]) -> list[str]:
    """The charts that have something to show for this analysis, in :data:`CHARTS` order."""
    result = _analysis(analysis)
    return [name for name, kind in CHARTS.items() if kind.shown(result)]


def all_charts(analysis: Analysis | dict[str, Any], review: Any = None) -> dict[str, Any]:
    """Every chart of the analysis, by name (those with nothing to show are left out)."""
    result = _analysis(analysis)
    return {name: CHARTS[name].build(result, review) for name in chart_names(result)}
