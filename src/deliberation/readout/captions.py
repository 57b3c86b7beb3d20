"""Each chart as an accessible figure: a title, a caption, the SVG, and its numbers in words.

The charts themselves come from :mod:`.charts` (altair, rendered to SVG by vl-convert).
Here the SVG is made safe to inline in a page with a strict Content-Security-Policy:
it is parsed and written out again from an allowlist of SVG elements and attributes
(no script, no event handler, no link, no namespace URL), its coordinates cut to two
decimals, and it gets ``role="img"`` with a ``<title>`` and a ``<desc>``. The text
alternative states what the chart shows in numbers, with the full names the chart may
cut short. The same analysis always gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from markupsafe import Markup, escape

from ..engine.results import Analysis
from ..numbers import percent, percentage_points, points, signed_points

# Everything vl-convert draws, and nothing that can run code or reach the network.
_ELEMENTS = frozenset({"svg", "g", "path", "line", "rect", "text", "tspan", "circle",
                       "ellipse", "polyline", "polygon"})
_ATTRIBUTES = frozenset({
    "width", "height", "viewBox", "transform", "d", "x", "y", "x1", "x2", "y1", "y2", "cx",
    "cy", "r", "rx", "ry", "points", "fill", "fill-opacity", "stroke", "stroke-width",
    "stroke-opacity", "stroke-dasharray", "stroke-dashoffset", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "opacity", "font-family", "font-size",
    "font-weight", "font-style", "text-anchor", "dominant-baseline", "class",
    "pointer-events", "shape-rendering", "fill-rule",
})
_DECIMALS = re.compile(r"(\d+\.\d\d)\d+")
_CAPTIONS = {
    "tails": "Up is better, left is safer; the lines through each point span one standard "
             "error either way.",
    "net_value": "How often each net value came up in the simulation, per release option; "
                 "the dashed lines are the thresholds of an extremely bad and an extremely "
                 "good outcome.",
    "mitigations": "Each mitigation applied alone to the release without mitigations, on the "
                   "same draws; black lines span one standard error either way.",
    "risk_matrix": "Each harm by how likely it is and how large if it happens (log scales), "
                   "before mitigation and with the chosen option's mitigations.",
    "tornado": "Each estimate moved to the 5th and the 95th percentile of its pooled range, on "
               "the same draws; * marks an estimate that would change the preferred option or "
               "a probability gate.",
    "disagreement": "Each participant's 90% interval and median, for the items where "
                    "estimates differ most: discuss these first.",
}


def chart_figure(name: str, analysis: Analysis | Mapping[str, Any],
                 review: Any = None) -> Markup:
    """The chart ``name`` of :data:`.charts.CHARTS` as a ``<figure>`` ready to inline."""
    from . import charts

    result = analysis if isinstance(analysis, Analysis) else Analysis.from_json(dict(analysis))
    # unvalidated: the specs are fixed by charts.py and validated by its tests; validating
    # costs 10 to 60 ms a chart, a quarter of the workbook's budget for an edit
    fast = charts.FAST_SPECS.get(name)
    spec = fast(result) if fast else charts.CHARTS[name](result, review).to_dict(validate=False)
    title = spec.pop("title", "")  # shown as the figure's caption, not twice
    heading = title.get("text", "") if isinstance(title, Mapping) else str(title)
    svg = charts.to_svg(spec)
    return figure(f"chart-{name.replace('_', '-')}", heading, _CAPTIONS[name],
                  describe(name, result), svg)


def figure(chart_id: str, title: str, caption: str, description: str, svg: str) -> Markup:
    """A titled, captioned figure around ``svg``, which is rewritten safe to inline."""
    return Markup(
        '<figure class="chart" id="{id}"><figcaption><div class="chart-title">{title}</div>'
        '<div class="chart-caption">{caption}</div></figcaption>{svg}'
        '<p class="chart-alt"><span>What this shows:</span> {description}</p></figure>'
    ).format(id=chart_id, title=title, caption=caption, description=description,
             svg=inline_svg(svg, chart_id=chart_id, title=title, description=description))


def inline_svg(svg: str, *, chart_id: str, title: str, description: str) -> Markup:
    """``svg`` written out from the allowlist, with ``role="img"``, a title and a desc."""
    if "<!" in svg:  # no DOCTYPE, entity or CDATA: nothing for the parser to expand
        raise ValueError("the chart's SVG carries a declaration")
    root = ElementTree.fromstring(svg)  # noqa: S314 - vl-convert's output, declarations refused
    if _local(root.tag) != "svg":
        raise ValueError("the chart is not an SVG")
    size = Markup(" ").join(
        Markup('{}="{}"').format(name, _DECIMALS.sub(r"\1", root.attrib[name]))
        for name in ("width", "height", "viewBox") if name in root.attrib
    )
    head = Markup(
        '<svg role="img" aria-labelledby="{id}-title {id}-desc" {size}>'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{description}</desc>'
    ).format(id=chart_id, size=size, title=title, description=description)
    return head + Markup("").join(_write(child) for child in root) + Markup("</svg>")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _write(element: ElementTree.Element) -> Markup:
    tag = _local(element.tag)
    if tag not in _ELEMENTS or tag == "svg":
        raise ValueError(f"the chart's SVG has an unexpected <{tag}> element")
    attributes = Markup("").join(
        Markup(' {}="{}"').format(name, _DECIMALS.sub(r"\1", value))
        for name, value in element.attrib.items() if name in _ATTRIBUTES
    )
    inner = escape(element.text or "") + Markup("").join(_write(child) for child in element)
    return (Markup("<{}{}>{}</{}>").format(tag, attributes, inner, tag)
            + escape(element.tail or ""))


# --------------------------------------------------------------------------- the numbers


def describe(name: str, result: Analysis) -> str:
    """What the chart ``name`` shows, in words and numbers, names in full."""
    return str(_DESCRIPTIONS[name](result, result.chosen))


def _tails(result: Analysis, chosen: str | None) -> str:
    mark = " (chosen)" if result.chosen_by == "decision" else " (preferred)"
    rows = [
        f"{s.title}{mark if key == chosen else ''}: {percent(s.p_extreme_good)} extremely "
        f"good, {percent(s.p_extreme_bad)} extremely bad"
        for key, s in result.variants.items()
    ]
    return ("For each release option, the chance of an extremely good outcome against the "
            "chance of an extremely bad one. " + "; ".join(rows) + ".")


def _net_value(result: Analysis, chosen: str | None) -> str:
    rows = [
        f"{s.title}: median {points(s.p50)}, 90% of outcomes between {points(s.p5)} and "
        f"{points(s.p95)}, mean {points(s.mean)}"
        for s in result.variants.values()
    ]
    return (f"The spread of net value per release option, with extremely bad at or below "
            f"{points(result.extreme_bad)} and extremely good at or above "
            f"{signed_points(result.extreme_good)}. " + "; ".join(rows) + ".")


def _mitigations(result: Analysis, chosen: str | None) -> str:
    rows = [
        f"{effect.title}: mean net value {signed_points(effect.difference.mean)}, "
        f"P(extremely bad) {percentage_points(effect.difference.p_extreme_bad_change)}"
        for effect in result.mitigation_effects
    ]
    return "What each mitigation changes on its own. " + "; ".join(rows) + "."


def _risk_matrix(result: Analysis, chosen: str | None) -> str:
    from .charts import numbered_harms

    variant = result.variants[result.chosen].title
    rows = []
    for number, item in enumerate(numbered_harms(result), 1):
        before, after = item.baseline, item.variants[result.chosen]
        rows.append(
            f"{number} {item.title}: chance {percent(before.p_happens)} before, "
            f"{percent(after.p_happens)} with {variant}; impact if it happens "
            f"{points(before.mean_impact_if_happens)} before, "
            f"{points(after.mean_impact_if_happens)} with it"
        )
    return ("Each harm's chance and size, before and after mitigation, numbered by expected "
            "harm. " + "; ".join(rows) + ".")


def _tornado(result: Analysis, chosen: str | None) -> str:
    summary = result.variants[result.chosen]
    rows = []
    for entry in result.sensitivity[:12]:
        flags = " (would change the preferred option)" if entry.flips_preferred else ""
        if entry.flips_gates:
            flags += f" (would change gate {', '.join(entry.flips_gates)})"
        rows.append(f"{entry.quantity} of {entry.title}: mean {points(entry.mean_low)} at its "
                    f"low end, {points(entry.mean_high)} at its high end{flags}")
    return (f"Which estimate moves the mean net value of {summary.title} "
            f"({points(summary.mean)}) most. " + "; ".join(rows) + ".")


def _disagreement(result: Analysis, chosen: str | None) -> str:
    rows = []
    entries = [d for d in result.disagreement if len(d.participants) > 1][:8] or \
        result.disagreement[:8]  # as the chart picks them
    for entry in entries:
        people = ", ".join(
            f"{p.participant} {percent(p.likelihood[0])} to {percent(p.likelihood[1])} likely, "
            f"impact {points(p.impact[0])} to {points(p.impact[1])}"
            for p in entry.participants
        )
        rows.append(f"{entry.title} (spread {entry.orders_of_magnitude:.1f} orders of "
                    f"magnitude): {people}")
    return "Where the participants' estimates differ most. " + "; ".join(rows) + "."


_DESCRIPTIONS = {
    "tails": _tails, "net_value": _net_value, "mitigations": _mitigations,
    "risk_matrix": _risk_matrix, "tornado": _tornado, "disagreement": _disagreement,
}
