"""The record's charts as inline SVG: drawn here, so they need no script and no library.

Each chart is a ``<figure>`` with a caption, an ``<svg role="img">`` carrying a
``<title>`` and a ``<desc>``, and a visible text alternative that states the numbers
drawn. Every string is escaped (markupsafe); coordinates have fixed precision, so the
same analysis always gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from .readout import number, percent, points, signed_points

_GOOD = "#1b7a43"
_BAD = "#b3261e"
_INK = "#1d2430"
_MUTED = "#5c6675"
_GRID = "#d9dee5"


def _f(value: float) -> str:
    """Coordinates with fixed precision: the same numbers always give the same bytes."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _figure(chart_id: str, title: str, description: str, *, width: int, height: int,
            body: Sequence[Markup]) -> Markup:
    header = Markup(
        '<figure class="chart" id="{id}">'
        '<figcaption class="chart-title">{title}</figcaption>'
        '<svg role="img" aria-labelledby="{id}-title {id}-desc" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" font-family="system-ui, sans-serif" font-size="12">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
    ).format(id=chart_id, title=title, desc=description, w=width, h=height)
    footer = Markup('</svg><p class="chart-alt"><span>What this shows:</span> {desc}</p>'
                    "</figure>").format(desc=description)
    return header + Markup("").join(body) + footer


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = _INK,
          weight: str = "normal") -> Markup:
    return Markup(
        '<text x="{x}" y="{y}" text-anchor="{anchor}" fill="{fill}" font-weight="{weight}">'
        "{text}</text>"
    ).format(x=_f(x), y=_f(y), anchor=anchor, fill=fill, weight=weight, text=text)


def _truncate(text: str, length: int = 34) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 0.05
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = float(step * 10.0**exponent)
        if candidate >= value:
            return candidate
    return float(10.0 ** (exponent + 1))


def _label(x: float, y: float, title: str, chosen: bool) -> Markup:
    """An option's name at the left of a chart row; the chosen one bold, marked below."""
    label = _text(x, y, _truncate(title, 40), anchor="end", weight="bold" if chosen else "normal")
    if chosen:
        label += Markup(
            '<text x="{x}" y="{y}" text-anchor="end" fill="#24508f" font-size="10" '
            'font-weight="bold">CHOSEN</text>'
        ).format(x=_f(x), y=_f(y + 12))
    return label


def tails_chart(variants: Mapping[str, Any], titles: Mapping[str, str],
                chosen: str | None) -> Markup:
    """Two panels, each on its own scale: P(extremely good) and P(extremely bad) per option,
    with 95% Monte Carlo intervals."""
    label_width, panel_width, gap, row_height, top = 300, 200, 70, 36, 30
    width = label_width + 2 * panel_width + gap + 60
    height = top + row_height * len(variants) + 26
    panels = []
    for index, (key, colour, heading) in enumerate((
        ("p_extreme_good", _GOOD, "P(extremely good)"),
        ("p_extreme_bad", _BAD, "P(extremely bad)"),
    )):
        largest = max((number(v, key) + 1.96 * _se(v, key) for v in variants.values()),
                      default=0.0)
        left = label_width + index * (panel_width + gap)
        panels.append((key, colour, heading, left, min(1.0, _nice_ceiling(largest))))

    body: list[Markup] = []
    for key, colour, heading, left, scale_max in panels:
        def x(probability: float, left: float = left, scale_max: float = scale_max) -> float:
            return left + panel_width * max(0.0, min(probability, scale_max)) / scale_max

        body.append(_text(left, 14, heading, fill=colour, weight="bold"))
        for tick in (0.0, 0.5, 1.0):
            value = scale_max * tick
            body.append(Markup(
                '<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="{grid}"/>'
            ).format(x=_f(x(value)), y1=_f(top - 6), y2=_f(height - 22), grid=_GRID))
            body.append(_text(x(value), height - 8, percent(value), anchor="middle",
                              fill=_MUTED))
        for row, summary in enumerate(variants.values()):
            y = top + row * row_height
            value = number(summary, key)
            shown = value if math.isfinite(value) else 0.0
            se = _se(summary, key)
            body.append(Markup(
                '<rect x="{x}" y="{y}" width="{w}" height="16" fill="{fill}" rx="2"/>'
            ).format(x=_f(left), y=_f(y + 2), w=_f(max(1.0, x(shown) - left)), fill=colour))
            if se > 0 and math.isfinite(value):
                body.append(Markup(
                    '<line x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" stroke="{ink}" '
                    'stroke-width="1.5"/>'
                ).format(x1=_f(x(value - 1.96 * se)), x2=_f(x(value + 1.96 * se)),
                         y=_f(y + 10), ink=_INK))
            end = x(value + 1.96 * se) if se > 0 and math.isfinite(value) else x(shown)
            body.append(_text(max(end, x(shown)) + 6, y + 14, percent(value), fill=colour))
    descriptions = []
    for row, (variant_id, summary) in enumerate(variants.items()):
        title = titles.get(variant_id, variant_id)
        body.append(_label(label_width - 12, top + row * row_height + 14, title,
                           variant_id == chosen))
        marker = " (chosen)" if variant_id == chosen else ""
        descriptions.append(
            f"{title}{marker}: {percent(summary.get('p_extreme_good'))} extremely good, "
            f"{percent(summary.get('p_extreme_bad'))} extremely bad"
        )
    description = (
        "For each release option, the chance of an extremely good outcome (green, left) and of "
        "an extremely bad outcome (red, right), each panel on its own scale; thin lines show "
        "95% Monte Carlo intervals. " + "; ".join(descriptions) + "."
    )
    return _figure("chart-tails", "Chance of an extreme outcome, by release option",
                   description, width=width, height=height, body=body)


def _se(summary: Mapping[str, Any], key: str) -> float:
    value = number(summary, key + "_se")
    return value if math.isfinite(value) and value > 0 else 0.0


def range_chart(variants: Mapping[str, Any], titles: Mapping[str, str], chosen: str | None,
                thresholds: tuple[float, float] | None) -> Markup:
    """Per option: the 5th to 95th percentile of net value, the median and the mean,
    against the thresholds of an extreme outcome."""
    label_width, plot_width, row_height = 300, 440, 36
    top, width = 30, 300 + 440 + 70
    height = top + row_height * len(variants) + 34
    values = [0.0]
    for summary in variants.values():
        values += [v for k in ("p5", "p95", "mean")
                   if math.isfinite(v := number(summary, k))]
    if thresholds is not None:
        values += list(thresholds)
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or 1.0
    low, high = low - pad, high + pad

    def x(value: float) -> float:
        return label_width + plot_width * (value - low) / (high - low)

    body: list[Markup] = []
    references = [(0.0, "0", _MUTED)]
    if thresholds is not None:
        references += [(thresholds[0], f"extremely bad ≤ {points(thresholds[0])}", _BAD),
                       (thresholds[1], f"extremely good ≥ {signed_points(thresholds[1])}",
                        _GOOD)]
    for value, label, colour in references:
        body.append(Markup(
            '<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="{c}" stroke-dasharray="4 3"/>'
        ).format(x=_f(x(value)), y1=_f(top - 8), y2=_f(height - 26), c=colour))
        body.append(_text(x(value), height - 10, label, anchor="middle", fill=colour))
    descriptions = []
    for row, (variant_id, summary) in enumerate(variants.items()):
        y = top + row * row_height
        title = titles.get(variant_id, variant_id)
        marker = " (chosen)" if variant_id == chosen else ""
        body.append(_label(label_width - 12, y + 15, title, bool(marker)))
        p5, p50, p95 = (number(summary, k) for k in ("p5", "p50", "p95"))
        mean = number(summary, "mean")
        if all(math.isfinite(v) for v in (p5, p50, p95)):
            body.append(Markup(
                '<rect x="{x}" y="{y}" width="{w}" height="14" fill="#8aa4c8" rx="2"/>'
            ).format(x=_f(x(p5)), y=_f(y + 4), w=_f(max(1.0, x(p95) - x(p5)))))
            body.append(Markup(
                '<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="{ink}" stroke-width="2"/>'
            ).format(x=_f(x(p50)), y1=_f(y + 1), y2=_f(y + 21), ink=_INK))
        if math.isfinite(mean):
            cx, cy = x(mean), y + 11
            body.append(Markup(
                '<path d="M{a} {b}L{c} {d}L{a} {e}L{f} {d}Z" fill="#fff" stroke="{ink}" '
                'stroke-width="1.5"/>'
            ).format(a=_f(cx), b=_f(cy - 5), c=_f(cx + 5), d=_f(cy), e=_f(cy + 5),
                     f=_f(cx - 5), ink=_INK))
        descriptions.append(
            f"{title}{marker}: 90% of outcomes between {points(p5)} and {points(p95)}, "
            f"median {points(p50)}, mean {points(mean)}"
        )
    threshold_text = (
        f" Dashed lines mark an extremely bad outcome (at or below {points(thresholds[0])}) "
        f"and an extremely good one (at or above {signed_points(thresholds[1])})."
        if thresholds is not None else ""
    )
    description = (
        "For each release option, the range of net value (benefits minus harms) from the 5th "
        "to the 95th percentile as a bar, the median as a vertical tick and the mean as a "
        "diamond." + threshold_text + " " + "; ".join(descriptions) + "."
    )
    return _figure("chart-range", "Net value, by release option", description, width=width,
                   height=height, body=body)


def contributions(analysis_json: Mapping[str, Any], chosen: str | None) -> list[tuple[str, str,
                                                                                        float]]:
    """(title, kind, mean contribution) per item, for the chosen option, largest first."""
    rows = []
    for item in analysis_json.get("items", []):
        if not isinstance(item, Mapping):
            continue
        effects = item.get("variants", {})
        effect = effects.get(chosen) if chosen in effects else item.get("baseline")
        if not isinstance(effect, Mapping):
            continue
        value = number(effect, "mean_contribution")
        if math.isfinite(value):
            kind = str(item.get("kind", ""))
            signed = -abs(value) if kind == "harm" else value
            rows.append((str(item.get("title", item.get("item", ""))), kind, signed))
    return sorted(rows, key=lambda row: -abs(row[2]))[:15]


def contributions_chart(rows: Sequence[tuple[str, str, float]], option: str) -> Markup:
    """Each item's mean contribution to net value: benefits right, harms left."""
    label_width, plot_width, row_height, top = 330, 400, 24, 12
    width, height = label_width + plot_width + 80, top + row_height * len(rows) + 30
    largest = max(abs(value) for _, _, value in rows) or 1.0
    negative = any(value < 0 for _, _, value in rows)
    zero = label_width + (plot_width / 2 if negative else 0)
    half = plot_width / 2 if negative else plot_width

    def x(value: float) -> float:
        return zero + half * value / largest

    body: list[Markup] = [Markup(
        '<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="{c}"/>'
    ).format(x=_f(zero), y1=_f(top - 4), y2=_f(height - 24), c=_MUTED)]
    descriptions = []
    for row, (title, kind, value) in enumerate(rows):
        y = top + row * row_height
        colour = _BAD if kind == "harm" else _GOOD
        left, right = sorted((x(0), x(value)))
        body.append(_text(label_width - 10, y + 13, _truncate(title, 46), anchor="end"))
        body.append(Markup(
            '<rect x="{x}" y="{y}" width="{w}" height="14" fill="{c}" rx="2"/>'
        ).format(x=_f(left), y=_f(y + 2), w=_f(max(1.0, right - left)), c=colour))
        body.append(_text(right + 6 if value >= 0 else left - 6, y + 13, signed_points(value),
                          anchor="start" if value >= 0 else "end", fill=colour))
        descriptions.append(f"{title}: {signed_points(value)}")
    body.append(_text(zero, height - 8, "0", anchor="middle", fill=_MUTED))
    description = (
        f"For the option “{option}”, each item's mean contribution to net value: benefits as "
        "green bars to the right, harms as red bars to the left, largest first. "
        + "; ".join(descriptions) + "."
    )
    return _figure("chart-contributions", "What drives the result: each item's mean contribution",
                   description, width=width, height=height, body=body)


def histogram_chart(variants: Mapping[str, Any], titles: Mapping[str, str], chosen: str | None,
                    thresholds: tuple[float, float] | None) -> Markup:
    """Small multiples: the distribution of net value per option, on shared bins."""
    label_width, plot_width, panel_height, top = 300, 440, 64, 10
    width = label_width + plot_width + 70
    height = top + (panel_height + 12) * len(variants) + 28
    first = next(iter(variants.values()))["histogram"]
    edges = [float(e) for e in first.get("edges", [])]
    if len(edges) < 2:
        return Markup("")
    low, high = edges[0], edges[-1]
    tallest = max((float(f) for v in variants.values() for f in v["histogram"]["fractions"]),
                  default=0.0) or 1.0

    def x(value: float) -> float:
        return label_width + plot_width * (value - low) / ((high - low) or 1.0)

    body: list[Markup] = []
    descriptions = []
    for row, (variant_id, summary) in enumerate(variants.items()):
        histogram = summary["histogram"]
        base = top + row * (panel_height + 12) + panel_height
        title = titles.get(variant_id, variant_id)
        marker = " (chosen)" if variant_id == chosen else ""
        body.append(_label(label_width - 12, base - panel_height / 2 + 4, title, bool(marker)))
        body.append(Markup('<line x1="{a}" x2="{b}" y1="{y}" y2="{y}" stroke="{c}"/>').format(
            a=_f(label_width), b=_f(label_width + plot_width), y=_f(base), c=_GRID))
        for index, fraction in enumerate(histogram.get("fractions", [])[: len(edges) - 1]):
            left, right = edges[index], edges[index + 1]
            middle = (left + right) / 2
            colour = "#8aa4c8"
            if thresholds is not None and middle <= thresholds[0]:
                colour = _BAD
            elif thresholds is not None and middle >= thresholds[1]:
                colour = _GOOD
            bar = panel_height * float(fraction) / tallest
            if bar <= 0:
                continue
            body.append(Markup(
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"/>'
            ).format(x=_f(x(left)), y=_f(base - bar), w=_f(max(0.5, x(right) - x(left) - 0.5)),
                     h=_f(bar), c=colour))
        descriptions.append(
            f"{title}{marker}: {percent(summary.get('p_extreme_bad'))} of outcomes extremely bad, "
            f"{percent(summary.get('p_extreme_good'))} extremely good"
        )
    axis_y = height - 10
    for value in (low, 0.0, high):
        if low <= value <= high:
            body.append(_text(x(value), axis_y, points(value), anchor="middle", fill=_MUTED))
    if thresholds is not None:
        for value, colour in ((thresholds[0], _BAD), (thresholds[1], _GOOD)):
            if low <= value <= high:
                body.append(Markup(
                    '<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="{c}" '
                    'stroke-dasharray="4 3"/>'
                ).format(x=_f(x(value)), y1=_f(top), y2=_f(height - 24), c=colour))
    description = (
        "For each release option, how often each net value came up in the simulation "
        "(a histogram on shared bins from " + points(low) + " to " + points(high) + "): red "
        "bars are extremely bad outcomes, green bars extremely good ones. "
        + "; ".join(descriptions) + "."
    )
    return _figure("chart-distribution", "Distribution of net value, by release option",
                   description, width=width, height=height, body=body)
