"""The text report: plain sentences first, then tables; and the progress bar."""

from __future__ import annotations

import io

from deliberation.engine.analysis import analyze
from deliberation.numbers import probability
from deliberation.readout.progress import Progress
from deliberation.readout.report import format_report
from deliberation.review.templates import load_template_file

from .test_analysis import TEMPLATE_FILE, three_variants


def test_report_opens_with_one_sentence_per_variant() -> None:
    review = three_variants()
    analysis = analyze(review, load_template_file(TEMPLATE_FILE), samples=5_000, seed=1)
    text = format_report(analysis, review)
    lines = text.splitlines()
    assert lines[0] == review.title
    sentences = lines[2:5]
    for line, summary in zip(sentences, analysis.variants.values(), strict=True):
        bad = probability(summary.p_extreme_bad, summary.p_extreme_bad_low,
                          summary.p_extreme_bad_high)
        assert line.startswith(f"{summary.title}: {bad} chance of an extremely bad outcome")
        assert "(95%: " in line or "below " in line
    for heading in ("Net value per variant", "Comparisons", "What each mitigation buys",
                    "Sensitivity", "Disagreement", "Items nobody estimated"):
        assert heading in text
    assert "Items nobody estimated (left out of the sums): ghost" in text
    assert "open → filtered" in text
    assert "± is the 95% Monte Carlo interval" in text


def test_progress_stays_quiet_for_short_runs() -> None:
    stream = io.StringIO()
    quiet = Progress(after=60, file=stream)
    quiet(10, 100)
    quiet(100, 100)
    assert stream.getvalue() == ""


def test_progress_draws_a_tqdm_bar_for_long_runs() -> None:
    stream = io.StringIO()
    bar = Progress(after=0, file=stream, label="simulating")
    bar(50, 100)
    bar(100, 100)
    output = stream.getvalue()
    assert "simulating" in output
    assert "100/100" in output
    assert bar.bar.n == 100


def test_report_names_the_shared_drivers_in_one_line() -> None:
    from deliberation.review.model import parse_review, review_to_data

    review = three_variants()
    analysis = analyze(review, load_template_file(TEMPLATE_FILE), samples=2_000, seed=1)
    assert "Shared drivers" not in format_report(analysis, review)
    data = review_to_data(review)
    harms = [item["id"] for item in data["items"] if item["kind"] == "harm"][:2]
    data["drivers"] = [{"id": "weights-leak", "title": "Leak", "items": harms,
                        "strength": "strong"}]
    tied = parse_review(data)
    analysis = analyze(tied, load_template_file(TEMPLATE_FILE), samples=2_000, seed=1)
    (line,) = [line for line in format_report(analysis, tied).splitlines()
               if "Shared drivers" in line]
    assert line == ("Shared drivers (their items happen together more often): weights-leak ("
                    f"{', '.join(harms)}: strong (rank correlation 0.9)).")
