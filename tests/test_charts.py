"""Every chart renders to SVG from an analysis or its JSON, small and readable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deliberation.engine.analysis import analyze
from deliberation.engine.results import Analysis
from deliberation.readout import catalog, charts, information
from deliberation.review.templates import load_template_file

from .test_analysis import TEMPLATE_FILE, three_variants

CHARTS: list[Callable[..., Any]] = [
    charts.net_value_chart, charts.tails_chart, charts.risk_matrix, charts.tornado_chart,
    charts.disagreement_chart, charts.mitigation_chart, information.information_chart,
]


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return analyze(three_variants(), load_template_file(TEMPLATE_FILE), samples=20_000, seed=3)


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.__name__)
def test_each_chart_renders_to_svg(analysis: Analysis, chart: Callable[..., Any]) -> None:
    svg = charts.to_svg(chart(analysis, three_variants()))
    assert svg.lstrip().startswith("<svg")
    assert "</svg>" in svg
    assert "NaN" not in svg


def test_specs_are_small_and_carry_no_samples(analysis: Analysis) -> None:
    sizes = {name: len(json.dumps(c.to_dict())) for name, c in catalog.all_charts(analysis).items()}
    assert set(sizes) == {"net_value", "tails", "risk_matrix", "tornado", "disagreement",
                          "mitigations", "information"}
    assert max(sizes.values()) < 50_000, sizes
    net = charts.net_value_chart(analysis).to_dict()
    rows = sum(len(layer.get("data", {}).get("values", [])) for layer in net["layer"])
    assert rows <= 3 * 60 + 10  # bins per variant, not 20,000 samples


def test_charts_from_json_equal_charts_from_the_analysis(analysis: Analysis) -> None:
    data = json.loads(json.dumps(analysis.to_json()))
    for chart in CHARTS:
        assert chart(data, None).to_dict() == chart(analysis, None).to_dict()


def test_titles_tooltips_and_palette(analysis: Analysis) -> None:
    spec = json.dumps(charts.net_value_chart(analysis).to_dict())
    assert "Net value per variant" in spec
    assert "tooltip" in spec
    assert charts.OKABE_ITO[0] in spec
    assert "extremely bad" in spec
    assert "extremely good" in spec


def test_thresholds_are_drawn_at_their_values(analysis: Analysis) -> None:
    svg = charts.to_svg(charts.net_value_chart(analysis))
    assert "extremely bad ≤ -5,000" in svg
    assert "extremely good ≥ 5,000" in svg


def test_risk_matrix_shows_harms_before_and_after(analysis: Analysis) -> None:
    spec = charts.risk_matrix(analysis, variant="api").to_dict()
    matrix, key = spec["hconcat"]
    points = next(layer for layer in matrix["layer"] if layer["mark"]["type"] == "point")
    stages = {row["stage"] for row in points["data"]["values"]}
    assert stages == {"before mitigation", "with Variant api"}
    assert {row["item"] for row in points["data"]["values"]} == {"Item fakes"}
    assert [row["line"] for row in key["data"]["values"]] == ["1  Item fakes"]


def test_importing_charts_does_not_import_altair() -> None:
    code = ("import sys, deliberation.readout.charts, deliberation.engine.analysis; "
            "print('altair' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).parent)
    assert result.stdout.strip() == "False"


def test_line_separators_in_titles_do_not_break_vega(analysis: Analysis) -> None:
    # vega-lite once wrote sort orders and titles into expressions, where U+2028 is illegal
    data = json.loads(json.dumps(analysis.to_json()))
    for group in ("sensitivity", "mitigation_effects", "disagreement", "items"):
        for entry in data[group]:
            entry["title"] += "\u2028next\u2029line"
    for summary in data["variants"].values():
        summary["title"] += "\u2028"
    for chart in CHARTS:
        svg = charts.to_svg(chart(data))
        assert svg.rstrip().endswith("</svg>")
        assert "next line" in svg or chart is not charts.tornado_chart


def test_sorting_never_writes_names_into_the_spec_as_a_list(analysis: Analysis) -> None:
    for chart in CHARTS:
        assert '"sort": [' not in json.dumps(chart(analysis).to_dict())


def test_the_fast_tails_spec_is_the_tails_chart() -> None:
    """The workbook's cached spec (redrawn on every edit) is exactly the altair chart's."""
    from deliberation.readout.catalog import CHARTS
    from deliberation.readout.charts import tails_chart
    from deliberation.review.opening import open_review

    from .conftest import ROOT

    review, template, _ = open_review(ROOT / "workbooks" / "example" / "review.json")
    first = analyze(review, template, samples=4_000, seed=1)
    review.estimates[0].likelihood = (0.2, 0.6)
    second = analyze(review, template, samples=4_000, seed=1)
    for result in (first, second):  # the second call hits the cache with new data
        assert CHARTS["tails"].fast(result) == tails_chart(result, review).to_dict(validate=False)
