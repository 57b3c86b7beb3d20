"""Charts of an analysis (altair), drawn from its summaries, never from raw samples.

Every function takes an :class:`~deliberation.analysis.Analysis` or its JSON (as
stored in ``record.json``) and the review, so a record re-renders its charts without
re-running anything; specs stay small (tens of kB). altair is imported inside the
functions, so ``import deliberation`` stays cheap. Colours are the Okabe-Ito palette,
which stays distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ..engine.results import Analysis
from ..numbers import Z95
from ..text import reveal
from . import flips

OKABE_ITO = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
)
BAD_COLOUR, GOOD_COLOUR = "#D55E00", "#009E73"
BEFORE_COLOUR, AFTER_COLOUR = "#999999", "#0072B2"
THRESHOLD_COLOUR = "#444444"
WIDTH = 560
KEY_WIDTH = 300  # pixels; vega cuts longer labels with an ellipsis


def _analysis(analysis: Analysis | dict[str, Any]) -> Analysis:
    return analysis if isinstance(analysis, Analysis) else Analysis.from_json(analysis)


def _alt() -> Any:
    import altair as alt

    return alt


def _palette(count: int) -> list[str]:
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(count)]


SHAPES = ("circle", "square", "diamond", "triangle-up", "cross", "triangle-down", "wedge")


def _shapes(count: int) -> list[str]:
    return [SHAPES[i % len(SHAPES)] for i in range(count)]


def _by_order(alt: Any) -> Any:
    # Sorting by a field of the data, never by a list of names: vega-lite writes such a
    # list into an expression, where some typed text (a line separator) is a syntax error.
    return alt.EncodingSortField(field="order", op="min")


def _finish(chart: Any) -> Any:
    # aria=False: the record gives each chart one text alternative of its own (captions);
    # vega's per-mark descriptions would repeat it and build expressions from titles
    return chart.configure(aria=False).configure_axis(
        labelFontSize=11, titleFontSize=12
    ).configure_title(fontSize=14, anchor="start").configure_view(strokeWidth=0)


def net_value_chart(analysis: Analysis | dict[str, Any], review: Any = None) -> Any:
    """The distribution of net value per variant (binned), with the thresholds marked."""
    alt = _alt()
    result = _analysis(analysis)
    rows = []
    for name, summary in result.variants.items():
        edges, fractions = summary.histogram.edges, summary.histogram.fractions
        for start, end, fraction in zip(edges[:-1], edges[1:], fractions, strict=True):
            rows.append({
                "variant": summary.title, "start": start, "end": end, "middle": (start + end) / 2,
                "percent": fraction * 100, "id": name,
            })
    names = [s.title for s in result.variants.values()]
    colour = alt.Color("variant:N", scale=alt.Scale(domain=names, range=_palette(len(names))),
                       legend=alt.Legend(title="Variant", orient="top", labelLimit=400))
    lines = alt.Chart(alt.Data(values=rows)).mark_line(interpolate="step", strokeWidth=2).encode(
        x=alt.X("middle:Q", title="Net value (benefits minus harms)"),
        y=alt.Y("percent:Q", title="Share of samples (%)"),
        color=colour,
        tooltip=[
            alt.Tooltip("variant:N", title="Variant"),
            alt.Tooltip("start:Q", title="From", format=",.0f"),
            alt.Tooltip("end:Q", title="To", format=",.0f"),
            alt.Tooltip("percent:Q", title="Share (%)", format=".2f"),
        ],
    )
    thresholds = [
        {"value": result.extreme_bad, "label": f"extremely bad ≤ {result.extreme_bad:,.0f}",
         "kind": "bad"},
        {"value": result.extreme_good, "label": f"extremely good ≥ {result.extreme_good:,.0f}",
         "kind": "good"},
    ]
    # dark grey, not the palette's vermillion and green: those colour variants here
    threshold_colour = alt.Color(
        "kind:N", scale=alt.Scale(domain=["bad", "good"], range=[THRESHOLD_COLOUR] * 2),
        legend=None,
    )
    rules = alt.Chart(alt.Data(values=thresholds)).mark_rule(strokeDash=[6, 4], size=2).encode(
        x="value:Q", color=threshold_colour, tooltip=[alt.Tooltip("label:N", title="Threshold")],
    )
    labels = alt.layer(*(
        alt.Chart(alt.Data(values=[threshold])).mark_text(
            align="right" if threshold["kind"] == "bad" else "left",
            dx=-4 if threshold["kind"] == "bad" else 4, baseline="top", fontSize=11,
        ).encode(x="value:Q", y=alt.value(4), text="label:N", color=threshold_colour)
        for threshold in thresholds
    ))
    chart = alt.layer(lines, rules, labels).resolve_scale(color="independent").properties(
        title="Net value per variant", width=WIDTH, height=260,
    )
    return _finish(chart)


def _interval(summary: Any, name: str) -> tuple[float, float]:
    """The 95% interval of a probability, in percent (Wilson's, as the tables say it);
    a record made before intervals were stored falls back to 1.96 standard errors."""
    low, high = getattr(summary, f"{name}_low", None), getattr(summary, f"{name}_high", None)
    if low is None or high is None:
        value, spread = getattr(summary, name), Z95 * getattr(summary, f"{name}_se")
        low, high = max(0.0, value - spread), min(1.0, value + spread)
    return low * 100, high * 100


def _tails_rows(result: Analysis) -> list[dict[str, Any]]:
    rows = []
    for s in result.variants.values():
        bad_low, bad_high = _interval(s, "p_extreme_bad")
        good_low, good_high = _interval(s, "p_extreme_good")
        rows.append({
            "variant": s.title, "bad": s.p_extreme_bad * 100, "good": s.p_extreme_good * 100,
            "bad_low": bad_low, "bad_high": bad_high, "good_low": good_low,
            "good_high": good_high, "mean": s.mean,
            # harms alone (no axis: a third tail, in the tooltip; None: no threshold)
            "catastrophe": None if s.p_catastrophe is None else s.p_catastrophe * 100,
        })
    return rows


def tails_chart(analysis: Analysis | dict[str, Any], review: Any = None) -> Any:
    """P(extremely good) against P(extremely bad) per variant, with their 95% intervals."""
    result = _analysis(analysis)
    names = tuple(s.title for s in result.variants.values())
    return _tails_layers(names).properties(datasets={TAILS_DATA: _tails_rows(result)})


def tails_spec(analysis: Analysis | dict[str, Any]) -> dict[str, Any]:
    """The tails chart's Vega-Lite spec, fast: on an edit only its data changes.

    The workbook redraws this chart on every edit; building it with altair costs about
    30 ms of the 250 ms an edit may take, so the data-free part is built once per set
    of variant names and the data is put in beside it.
    """
    result = _analysis(analysis)
    names = tuple(s.title for s in result.variants.values())
    spec: dict[str, Any] = json.loads(_tails_skeleton(names))
    spec["datasets"] = {TAILS_DATA: _tails_rows(result)}
    return spec


TAILS_DATA = "variants"


@functools.lru_cache(maxsize=32)
def _tails_skeleton(names: tuple[str, ...]) -> str:
    # JSON text, so no caller can change the cached spec in place
    return json.dumps(_tails_layers(names).to_dict(validate=False))


def _tails_layers(names: tuple[str, ...]) -> Any:
    alt = _alt()
    legend = alt.Legend(title="Variant", orient="bottom", direction="vertical",
                        labelLimit=WIDTH)
    colour = alt.Color("variant:N", scale=alt.Scale(domain=list(names),
                                                    range=_palette(len(names))),
                       legend=legend)
    # a shape per variant as well as a colour: options that land on the same spot, or
    # colours a reader cannot tell apart, stay distinguishable (labels there would collide)
    shape = alt.Shape("variant:N", scale=alt.Scale(domain=list(names),
                                                   range=_shapes(len(names))),
                      legend=legend)
    base = alt.Chart(alt.NamedData(name=TAILS_DATA))
    tooltip = [
        alt.Tooltip("variant:N", title="Variant"),
        alt.Tooltip("bad:Q", title="P(extremely bad) %", format=".2f"),
        alt.Tooltip("good:Q", title="P(extremely good) %", format=".1f"),
        alt.Tooltip("catastrophe:Q", title="P(catastrophe, harms alone) %", format=".3f"),
        alt.Tooltip("mean:Q", title="Mean net value", format=",.0f"),
    ]
    x = alt.X("bad:Q", title="P(extremely bad outcome), %  (left is safer)")
    y = alt.Y("good:Q", title="P(extremely good outcome), %  (up is better)")
    points = base.mark_point(filled=True, size=120, opacity=0.85).encode(
        x=x, y=y, color=colour, shape=shape, tooltip=tooltip)
    x_errors = base.mark_rule(strokeWidth=2).encode(x="bad_low:Q", x2="bad_high:Q", y="good:Q",
                                                   color=colour)
    y_errors = base.mark_rule(strokeWidth=2).encode(x="bad:Q", y="good_low:Q", y2="good_high:Q",
                                                   color=colour)
    chart = alt.layer(x_errors, y_errors, points).properties(
        title="Chance of an extremely good against an extremely bad outcome (95% intervals)",
        width=WIDTH * 0.8, height=300,
    )
    return _finish(chart)


def risk_matrix(
    analysis: Analysis | dict[str, Any], review: Any = None, *, variant: str | None = None
) -> Any:
    """Harms by how likely and how large, before (no mitigations) and after ``variant``'s."""
    alt = _alt()
    result = _analysis(analysis)
    variant = variant or result.chosen
    title = result.variants[variant].title
    rows, moves = [], []
    harms = numbered_harms(result)
    for number, item in enumerate(harms, 1):
        before, after = item.baseline, item.variants[variant]
        for stage, effect in (("before mitigation", before), (f"with {title}", after)):
            if effect.mean_impact_if_happens is None or effect.p_happens <= 0:
                continue
            rows.append({
                "item": item.title, "number": str(number), "stage": stage,
                "likelihood": effect.p_happens,
                "impact": effect.mean_impact_if_happens,
                "expected": -effect.mean_contribution,
            })
        if (after.mean_impact_if_happens and before.mean_impact_if_happens
                and after.p_happens > 0 and before.p_happens > 0):
            moves.append({
                "item": item.title, "x": before.p_happens, "x2": after.p_happens,
                "y": before.mean_impact_if_happens, "y2": after.mean_impact_if_happens,
            })
    stages = ["before mitigation", f"with {title}"]
    colour = alt.Color("stage:N", scale=alt.Scale(domain=stages,
                       range=[BEFORE_COLOUR, AFTER_COLOUR]), legend=alt.Legend(title=None,
                       orient="top", labelLimit=400))
    x = alt.X("likelihood:Q", title="Chance it happens (log scale)",
              scale=alt.Scale(type="log"), axis=alt.Axis(format="%"))
    y = alt.Y("impact:Q", title="Impact if it happens (log scale)", scale=alt.Scale(type="log"))
    arrows = alt.Chart(alt.Data(values=moves)).mark_rule(color=AFTER_COLOUR, opacity=0.5).encode(
        x=alt.X("x:Q", scale=alt.Scale(type="log")), x2="x2:Q",
        y=alt.Y("y:Q", scale=alt.Scale(type="log")), y2="y2:Q",
    )
    points = alt.Chart(alt.Data(values=rows)).mark_point(filled=True, size=90).encode(
        x=x, y=y, color=colour, shape=alt.Shape("stage:N", legend=None),
        tooltip=[
            alt.Tooltip("item:N", title="Harm"), alt.Tooltip("stage:N", title="When"),
            alt.Tooltip("likelihood:Q", title="Chance", format=".2%"),
            alt.Tooltip("impact:Q", title="Impact if it happens", format=",.0f"),
            alt.Tooltip("expected:Q", title="Expected harm", format=",.0f"),
        ],
    )
    # numbers, not names, beside the points: names of nearby harms ran into each other
    labels = alt.Chart(alt.Data(values=[r for r in rows if r["stage"] == stages[0]])).mark_text(
        align="left", dx=6, dy=-6, fontSize=10, fontWeight="bold", color="#444444",
    ).encode(x=x, y=y, text="number:N")
    key = alt.Chart(alt.Data(values=[
        {"number": number, "line": f"{number}  {item.title}"}
        for number, item in enumerate(harms, 1)
    ])).mark_text(align="left", baseline="middle", fontSize=10, color="#444444",
                  limit=KEY_WIDTH).encode(
        y=alt.Y("number:O", axis=None), x=alt.value(0), text="line:N",
        tooltip=[alt.Tooltip("line:N", title="Harm")],
    ).properties(width=KEY_WIDTH, height=alt.Step(16))
    matrix = alt.layer(arrows, points, labels).properties(width=WIDTH - 140, height=320)
    chart = alt.hconcat(matrix, key, spacing=16).properties(
        title=f"Risk matrix: harms before mitigation and with {title}",
    )
    return _finish(chart)


def numbered_harms(analysis: Analysis | dict[str, Any]) -> list[Any]:
    """The harms in the order the risk matrix numbers them: largest expected harm first."""
    harms = [item for item in _analysis(analysis).items if item.kind == "harm"]
    return sorted(harms, key=lambda item: item.baseline.mean_contribution)


def tornado_chart(
    analysis: Analysis | dict[str, Any], review: Any = None, *, top: int = 12
) -> Any:
    """The estimates that move the chosen variant's mean most across their 90% interval."""
    alt = _alt()
    result = _analysis(analysis)
    base = result.variants[result.chosen].mean
    entries = flips.shown(result.sensitivity, top)
    rows = []
    for position, entry in enumerate(entries):
        label = _tornado_label(entry)
        flags = "; ".join(flips.texts(entry, result.preferred)) or "none"
        for end, value, mean in (("low", entry.low, entry.mean_low),
                                 ("high", entry.high, entry.mean_high)):
            rows.append({
                "estimate": label, "end": f"at its {end} end", "start": base, "mean": mean,
                "value": value,
                "flags": flags, "rank": entry.rank_mean, "order": position,
            })
    colour = alt.Color("end:N", scale=alt.Scale(domain=["at its low end", "at its high end"],
                       range=[OKABE_ITO[1], OKABE_ITO[0]]), legend=alt.Legend(title=None,
                       orient="top"))
    bars = alt.Chart(alt.Data(values=rows)).mark_bar(height=14).encode(
        y=alt.Y("estimate:N", sort=_by_order(alt), title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("start:Q", title=f"Mean net value of {result.variants[result.chosen].title}",
                scale=alt.Scale(zero=False), axis=alt.Axis(labelFlush=False, labelOverlap=True)),
        x2="mean:Q", color=colour,
        tooltip=[
            alt.Tooltip("estimate:N", title="Estimate"), alt.Tooltip("end:N", title="Moved to"),
            alt.Tooltip("value:Q", title="Value", format=",.3~g"),
            alt.Tooltip("mean:Q", title="Mean net value", format=",.0f"),
            alt.Tooltip("flags:N", title="Flips"),
        ],
    )
    rule = alt.Chart(alt.Data(values=[{"base": base}])).mark_rule(color="#000000").encode(
        x="base:Q"
    )
    chart = alt.layer(bars, rule).properties(
        title=alt.TitleParams(
            "Sensitivity: which estimate moves the result",
            subtitle=["Each estimate moved to the 5th and the 95th percentile of its pooled "
                      "range, each mitigation factor to the ends of its interval, on the same "
                      "draws; * flips the preferred variant or a probability gate beyond "
                      "noise, ? may flip it"],
        ),
        width=WIDTH,
        height=max(80, 24 * len(entries)),
    )
    return _finish(chart)


def _tornado_label(entry: Any) -> str:
    # the quantity first, so a long title is what gets cut, not what moved
    said = [flips.preferred_flip(entry), *flips.gate_flips(entry).values()]
    flag = "* " if "flips" in said else "? " if "may flip" in said else ""
    return f"{flag}{flips.quantity(entry)}: {entry.title}"


def disagreement_chart(
    analysis: Analysis | dict[str, Any], review: Any = None, *, top: int = 8
) -> Any:
    """Each participant's 90% interval per item, for the items they disagree on most."""
    alt = _alt()
    result = _analysis(analysis)
    entries = [d for d in result.disagreement if len(d.participants) > 1][:top] or \
        result.disagreement[:top]
    rows: dict[str, list[dict[str, Any]]] = {"likelihood": [], "impact": []}
    for position, entry in enumerate(entries):
        for p in entry.participants:
            rows["likelihood"].append({
                "item": entry.title, "order": position, "participant": p.participant,
                "low": p.likelihood[0],
                "high": p.likelihood[1], "median": p.likelihood_median,
            })
            rows["impact"].append({
                "item": entry.title, "order": position, "participant": p.participant,
                "low": p.impact[0],
                "high": p.impact[1], "median": p.impact_median,
            })
    participants = sorted({r["participant"] for r in rows["impact"]})
    colour = alt.Color("participant:N", scale=alt.Scale(domain=participants,
                       range=_palette(len(participants))), legend=alt.Legend(
                       title="Participant", orient="top"))
    panels: list[Any] = []
    for quantity, scale, axis_format in (("likelihood", alt.Scale(domain=[0, 1]), "%"),
                                         ("impact", alt.Scale(type="log"), "~s")):
        tooltip = [
            alt.Tooltip("item:N", title="Item"), alt.Tooltip("participant:N", title="Participant"),
            alt.Tooltip("low:Q", title="5th percentile", format=axis_format),
            alt.Tooltip("high:Q", title="95th percentile", format=axis_format),
        ]
        y = alt.Y("participant:N", title=None, axis=alt.Axis(labels=False, ticks=False))
        base = alt.Chart(alt.Data(values=rows[quantity]))
        layer = alt.layer(
            base.mark_rule(strokeWidth=3).encode(
                x=alt.X("low:Q", scale=scale, title=f"{quantity.capitalize()} (90% interval)",
                        axis=alt.Axis(format=axis_format)),
                x2="high:Q", y=y, color=colour, tooltip=tooltip,
            ),
            base.mark_point(filled=True, size=40).encode(
                x=alt.X("median:Q", scale=scale), y=y, color=colour, tooltip=tooltip,
            ),
        ).properties(width=WIDTH / 2 - 20, height=14 * max(1, len(participants)))
        # the items are named once, left of the first panel
        header = (alt.Header(labelAngle=0, labelAlign="left", labelLimit=260) if not panels
                  else alt.Header(labels=False))
        panels.append(layer.facet(row=alt.Row("item:N", sort=_by_order(alt), title=None,
                                              header=header)))
    chart = alt.hconcat(*panels).properties(
        title="Disagreement: each participant's estimate (discuss the top items first)"
    )
    return _finish(chart)


def mitigation_chart(analysis: Analysis | dict[str, Any], review: Any = None) -> Any:
    """What each mitigation buys on its own: change in mean and in P(extremely bad)."""
    alt = _alt()
    result = _analysis(analysis)
    rows: list[dict[str, Any]] = []
    titles = [effect.title for effect in result.mitigation_effects]
    for effect in result.mitigation_effects:
        d = effect.difference
        unique = titles.count(effect.title) == 1
        rows.append({
            "mitigation": effect.title if unique else f"{effect.title} ({effect.mitigation})",
            "mean": d.mean,
            "mean_low": d.mean - Z95 * d.mean_se, "mean_high": d.mean + Z95 * d.mean_se,
            "bad": d.p_extreme_bad_change * 100,
            "bad_low": (d.p_extreme_bad_change - Z95 * d.p_extreme_bad_change_se) * 100,
            "bad_high": (d.p_extreme_bad_change + Z95 * d.p_extreme_bad_change_se) * 100,
            "catastrophe": (None if d.p_catastrophe_change is None
                            else d.p_catastrophe_change * 100),
            "in": ", ".join(effect.variants) or "no variant",
        })
    for position, row in enumerate(sorted(rows, key=lambda r: -float(r["mean"]))):
        row["order"] = position
    y = alt.Y("mitigation:N", sort=_by_order(alt), title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip("mitigation:N", title="Mitigation"),
        alt.Tooltip("mean:Q", title="Change in mean", format="+,.0f"),
        alt.Tooltip("bad:Q", title="Change in P(extremely bad), points", format="+.2f"),
        alt.Tooltip("catastrophe:Q", title="Change in P(catastrophe), points", format="+.3f"),
        alt.Tooltip("in:N", title="In variants"),
    ]
    base = alt.Chart(alt.Data(values=rows))
    mean_panel = alt.layer(
        base.mark_bar(color=OKABE_ITO[0], height=14).encode(
            y=y, x=alt.X("mean:Q", title="Change in mean net value"), tooltip=tooltip),
        base.mark_rule(color="#000000").encode(y=y, x="mean_low:Q", x2="mean_high:Q"),
    ).properties(width=WIDTH / 2 - 20, height=max(60, 24 * len(rows)))
    bad_panel = alt.layer(
        base.mark_bar(color=BAD_COLOUR, height=14).encode(
            y=alt.Y("mitigation:N", sort=_by_order(alt), title=None, axis=None),
            x=alt.X("bad:Q", title="Change in P(extremely bad), points"), tooltip=tooltip),
        base.mark_rule(color="#000000").encode(
            y=alt.Y("mitigation:N", sort=_by_order(alt), axis=None), x="bad_low:Q",
            x2="bad_high:Q"),
    ).properties(width=WIDTH / 2 - 20, height=max(60, 24 * len(rows)))
    chart = alt.hconcat(mean_panel, bad_panel).properties(
        title="What each mitigation buys on its own (against no mitigations, 95% intervals)"
    )
    return _finish(chart)


_SEPARATORS = str.maketrans({"\u2028": " ", "\u2029": " "})


def _plain(value: Any) -> Any:
    """The spec with line and paragraph separators as spaces: vega's expression parser
    rejects them, and vega-lite copies some titles into expressions; and with control
    characters, noncharacters and bidi controls shown as marks (``⟪U+000B⟫``): vl-convert
    aborts the whole process on the first two (validation refuses them, but a chart may
    be drawn from any data)."""
    if isinstance(value, str):
        return reveal(value.translate(_SEPARATORS))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def to_svg(chart: Any) -> str:
    """Render a chart to SVG with vl-convert (no browser, no network)."""
    import vl_convert as vlc

    spec = _plain(chart.to_dict() if hasattr(chart, "to_dict") else chart)
    version = spec.get("$schema", "").rsplit("/v", 1)[-1].removesuffix(".json")
    major_minor = ".".join(version.split(".")[:2]) if version else None
    svg: str = vlc.vegalite_to_svg(spec, vl_version=major_minor, allowed_base_urls=[])
    return svg

