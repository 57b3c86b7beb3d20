"""The text report: plain sentences first, then tables; and the progress bar."""

from __future__ import annotations

import io

import pytest

from deliberation.engine.analysis import analyze
from deliberation.readout.report import ProgressBar, format_report, number, percent, points
from deliberation.review.templates import load_template_file

from .test_analysis import TEMPLATE_FILE, three_variants


@pytest.mark.parametrize(
    ("probability", "text"),
    [(0.41, "41%"), (0.021, "2.1%"), (0.00035, "0.035%"), (0.0, "0%"), (1.0, "100%")],
)
def test_percent(probability: float, text: str) -> None:
    assert percent(probability) == text


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [(1234.5, False, "1,230"), (-5000, False, "-5,000"), (0.1234, False, "0.123"),
     (42.42, True, "+42.4"), (0, False, "0"), (None, False, "n/a")],
)
def test_number(value: float | None, signed: bool, text: str) -> None:
    assert number(value, signed=signed) == text


def test_points() -> None:
    assert points(-0.0372) == "-3.7 pt"
    assert points(0.00012) == "+0.012 pt"


def test_report_opens_with_one_sentence_per_variant() -> None:
    review = three_variants()
    analysis = analyze(review, load_template_file(TEMPLATE_FILE), samples=5_000, seed=1)
    text = format_report(analysis, review)
    lines = text.splitlines()
    assert lines[0] == review.title
    sentences = lines[2:5]
    for line, summary in zip(sentences, analysis.variants.values(), strict=True):
        assert line.startswith(f"{summary.title}: {percent(summary.p_extreme_bad)} ± ")
        assert "chance of an extremely bad outcome" in line
        assert f"{percent(summary.p_extreme_good)} of an extremely good one" in line
    for heading in ("Net value per variant", "Comparisons", "What each mitigation buys",
                    "Sensitivity", "Disagreement", "Items nobody estimated"):
        assert heading in text
    assert "Items nobody estimated (left out of the sums): ghost" in text
    assert "open → filtered" in text


def test_progress_bar_stays_quiet_for_short_runs() -> None:
    now = [0.0]
    stream = io.StringIO()
    bar = ProgressBar(stream, clock=lambda: now[0])
    now[0] = 0.5
    bar(10, 100)
    assert stream.getvalue() == ""
    now[0] = 1.5
    bar(50, 100)
    bar(100, 100)
    output = stream.getvalue()
    assert "50/100 samples" in output
    assert output.endswith("100/100 samples\n")
