"""The value-of-information chart: what resolving each estimate before deciding is worth.

Drawn from the analysis' ``value_of_information`` (:mod:`deliberation.engine.voi`), never
from samples; its text alternative is :func:`describe`, its numbers written with
:mod:`deliberation.numbers` as the report and the record write them.
"""

from __future__ import annotations

from typing import Any

from ..engine.results import Analysis, InformationValue
from ..numbers import Z95, plus_minus
from .charts import OKABE_ITO, WIDTH, _alt, _analysis, _by_order, _finish

TOP = 10
TITLE = "What is worth investigating before release"


def _label(entry: InformationValue) -> str:
    # the quantity first, so a long title is what gets cut, not what is resolved
    if entry.subject == "participants":
        return "which participant is right"
    quantity = {"likelihood_factor": "likelihood factor", "impact_factor": "impact factor"}.get(
        entry.quantity, entry.quantity)
    return f"{quantity}: {entry.title}"


def shown(result: Analysis, top: int = TOP) -> list[InformationValue]:
    """The entries the chart draws: the highest expected gains, ``top`` at most."""
    voi = result.value_of_information
    return [] if voi is None else voi.entries[:top]


def information_chart(analysis: Analysis | dict[str, Any], review: Any = None, *,
                      top: int = TOP) -> Any:
    """Each estimate's expected value of perfect partial information, highest first, with
    its 95% interval, beside the value of knowing every outcome in advance (EVPI)."""
    alt = _alt()
    result = _analysis(analysis)
    voi = result.value_of_information
    entries = shown(result, top)
    rows = [
        {"estimate": _label(e), "gain": e.evppi, "low": max(0.0, e.evppi - Z95 * e.evppi_se),
         "high": e.evppi + Z95 * e.evppi_se, "order": position,
         "could": "could change the choice" if e.could_change_choice
         else "would not measurably change it",
         "text": plus_minus(e.evppi, e.evppi_se)}
        for position, e in enumerate(entries)
    ]
    colour = alt.Color("could:N", scale=alt.Scale(
        domain=["could change the choice", "would not measurably change it"],
        range=[OKABE_ITO[5], "#999999"]), legend=alt.Legend(title=None, orient="top"))
    y = alt.Y("estimate:N", sort=_by_order(alt), title=None, axis=alt.Axis(labelLimit=260))
    bars = alt.Chart(alt.Data(values=rows)).mark_bar(height=14).encode(
        y=y, x=alt.X("gain:Q", title="Expected gain (value points)"), color=colour,
        tooltip=[alt.Tooltip("estimate:N", title="Resolving"),
                 alt.Tooltip("text:N", title="Expected gain"),
                 alt.Tooltip("could:N", title="Choice")],
    )
    spans = alt.Chart(alt.Data(values=rows)).mark_rule(color="#000000").encode(
        y=y, x="low:Q", x2="high:Q")
    layers = [bars, spans]
    if voi is not None:
        layers.append(alt.Chart(alt.Data(values=[{"evpi": voi.evpi}])).mark_rule(
            color="#000000", strokeDash=[4, 3]).encode(x="evpi:Q"))
    chart = alt.layer(*layers).properties(
        title=alt.TitleParams(TITLE, subtitle=[
            "Expected gain from knowing one estimate before choosing between the options; "
            "the dashed line is knowing every outcome in advance (EVPI)"]),
        width=WIDTH, height=max(80, 24 * len(entries)),
    )
    return _finish(chart)


def describe(result: Analysis) -> str:
    """The chart's text alternative: the same numbers in words."""
    voi = result.value_of_information
    if voi is None:
        return "No choice between release options, so nothing to resolve."
    rows = [e.sentence for e in shown(result)]  # as the chart picks them
    return (f"What knowing an estimate before choosing between the release options is "
            f"worth; knowing every outcome in advance (an upper bound: chance included): "
            f"expected gain {plus_minus(voi.evpi, voi.evpi_se)} points. " + "; ".join(rows) + ".")
