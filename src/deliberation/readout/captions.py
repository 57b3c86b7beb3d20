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
from ..text import reveal

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


def chart_figure(name: str, analysis: Analysis | Mapping[str, Any],
                 review: Any = None) -> Markup:
    """The chart ``name`` of :data:`.catalog.CHARTS` as a ``<figure>`` ready to inline."""
    from . import catalog, charts

    result = analysis if isinstance(analysis, Analysis) else Analysis.from_json(dict(analysis))
    # unvalidated: the specs are fixed by charts.py and validated by its tests; validating
    # costs 10 to 60 ms a chart, a quarter of the workbook's budget for an edit
    kind = catalog.CHARTS[name]
    spec = kind.fast(result) if kind.fast else kind.build(result, review).to_dict(validate=False)
    title = spec.pop("title", "")  # shown as the figure's caption, not twice
    heading = title.get("text", "") if isinstance(title, Mapping) else str(title)
    svg = charts.to_svg(spec)
    return figure(f"chart-{name.replace('_', '-')}", heading, kind.caption,
                  describe(name, result), svg)


def figure(chart_id: str, title: str, caption: str, description: str, svg: str) -> Markup:
    """A titled, captioned figure around ``svg``, which is rewritten safe to inline."""
    title, description = reveal(title), reveal(description)  # bidi controls shown, not obeyed
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
    from .catalog import CHARTS

    return CHARTS[name].describe(result)
