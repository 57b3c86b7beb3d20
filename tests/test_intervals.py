"""Every probability a view shows carries its 95% interval; unreliable means say so.

Intervals are checked against scipy's Wilson interval on counts taken from the raw
draws (an independent reading), percentile standard errors against the spread of
the percentile over seeds, and the tail-dominance flag against reviews whose mean is
and is not dominated by a handful of samples.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest

from deliberation.cli import main
from deliberation.engine.analysis import analyze, difference
from deliberation.engine.simulate import simulate
from deliberation.review.model import parse_review
from deliberation.review.templates import load_template

from .conftest import DATA, TEST_TEMPLATES


def _template() -> Any:
    return load_template("test-minimal", search=(TEST_TEMPLATES,))


def _data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "good" / "minimal.json").read_text("utf-8"))
    data.update(changes)
    return data


def _review(**changes: Any) -> Any:
    return parse_review(_data(**changes))


def _write(review: Any, path: Path) -> Path:
    """A parsed review back to a review.json file."""
    from deliberation.review.model import review_to_data

    path.write_text(json.dumps(review_to_data(review)), encoding="utf-8")
    return path


def _scipy_wilson(hits: int, samples: int) -> tuple[float, float]:
    interval = binomtest(hits, samples).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


def test_every_probability_of_the_analysis_has_the_wilson_interval_of_its_counts() -> None:
    review, template = _review(), _template()
    analysis = analyze(review, template, samples=5_000, seed=3)
    simulation = simulate(review, template, samples=5_000, rng=np.random.default_rng(3))
    bad = simulation.extreme_bad
    for name, summary in analysis.variants.items():
        net = simulation.net_of(name)
        hits = int(np.count_nonzero(net <= np.float32(bad)))
        assert summary.p_extreme_bad == hits / 5_000
        assert (summary.p_extreme_bad_low, summary.p_extreme_bad_high) == pytest.approx(
            _scipy_wilson(hits, 5_000), abs=1e-12)
    comparison = analysis.comparisons[0]
    delta = (simulation.net_of(comparison.other).astype(np.float64)
             - simulation.net_of(comparison.base))
    for key, hits in (("p_better", int(np.count_nonzero(delta > 0))),
                      ("p_worse", int(np.count_nonzero(delta < 0)))):
        low, high = getattr(comparison, f"{key}_low"), getattr(comparison, f"{key}_high")
        assert (low, high) == pytest.approx(_scipy_wilson(hits, 5_000), abs=1e-12)
        assert low <= getattr(comparison, key) <= high
    phishing = next(item for item in analysis.items if item.item == "phishing")
    effect = phishing.variants["open"]
    assert effect.p_happened_given_extreme_bad is not None
    bad_count = int(np.count_nonzero(simulation.net_of("open") <= np.float32(bad)))
    happened_bad = round(effect.p_happened_given_extreme_bad * bad_count)
    assert (effect.p_happened_given_extreme_bad_low,
            effect.p_happened_given_extreme_bad_high) == pytest.approx(
        _scipy_wilson(happened_bad, bad_count), abs=1e-12)
    happened = round(effect.p_happens * 5_000)
    assert (effect.p_happens_low, effect.p_happens_high) == pytest.approx(
        _scipy_wilson(happened, 5_000), abs=1e-12)


def test_comparison_percentiles_carry_standard_errors_that_match_their_spread() -> None:
    spread_by_quantile: dict[str, list[float]] = {"p5": [], "p50": [], "p95": []}
    errors: dict[str, list[float]] = {"p5": [], "p50": [], "p95": []}
    for seed in range(40):
        rng = np.random.default_rng(seed)
        base = rng.normal(0, 1, 4_000).astype(np.float32)
        other = (base + rng.lognormal(0, 1, 4_000)).astype(np.float32)
        change = difference("a", "b", base, other, bad=-10, good=10)
        for key, values in spread_by_quantile.items():
            values.append(getattr(change, key))
            errors[key].append(getattr(change, f"{key}_se"))
    for key, values in spread_by_quantile.items():
        ratio = statistics.stdev(values) / statistics.median(errors[key])
        assert 0.7 < ratio < 1.4, (key, ratio)


def _heavy_review() -> Any:
    """One harm whose impact spans five decades: a mean carried by a few samples."""
    return _review(
        estimates=[
            {"item": "tutoring", "participant": "ana", "likelihood": 0.9, "impact": [900, 1100]},
            {"item": "phishing", "participant": "ana", "likelihood": 0.05,
             "impact": [10, 1_000_000]},
            {"item": "phishing", "participant": "ben", "likelihood": 0.05,
             "impact": [10, 1_000_000]},
        ])


def test_a_tail_dominated_mean_says_so_and_points_to_the_median(tmp_path: Path) -> None:
    template = _template()
    heavy = analyze(_heavy_review(), template, samples=20_000, seed=0)
    assert all(not s.mean_reliable for s in heavy.variants.values())
    assert all(s.mean_tail_share is not None and s.mean_tail_share > 0.6
               for s in heavy.variants.values())
    plain = analyze(_review(), template, samples=20_000, seed=0)
    assert all(s.mean_reliable for s in plain.variants.values())
    path = _write(_heavy_review(), tmp_path / "review.json")
    run = CliRunner().invoke(main, ["report", "--templates", str(TEST_TEMPLATES), str(path)])
    assert run.exit_code == 0, run.output
    line = next(line for line in run.output.splitlines() if line.startswith("open "))
    median = heavy.variants["open"].p50
    assert "tail-dominated: ± unreliable; median" in line
    from deliberation.numbers import points
    assert points(median) in line.split("median")[-1]


ZERO_PLUS_MINUS = re.compile(r"0%\s*±\s*0")


def _zero_tail_review() -> Any:
    """A review no sample of which is extremely bad: the tail is zero counts."""
    return _review(
        estimates=[
            {"item": "tutoring", "participant": "ana", "likelihood": [0.6, 0.9],
             "impact": [2000, 20000]},
            {"item": "phishing", "participant": "ana", "likelihood": [0.05, 0.2],
             "impact": [5, 50]},
            {"item": "phishing", "participant": "ben", "likelihood": 0.1, "impact": 30},
        ])


def test_no_view_prints_zero_plus_minus_zero(tmp_path: Path) -> None:
    from deliberation.record.build import build_record, render_record
    from deliberation.review.policy import evaluate_policy
    from deliberation.workbook.workbook import Workbook

    review, template = _zero_tail_review(), _template()
    analysis = analyze(review, template, samples=20_000, seed=0)
    assert all(s.p_extreme_bad == 0 for s in analysis.variants.values())
    path = _write(review, tmp_path / "review.json")
    report = CliRunner().invoke(main, ["report", "--templates", str(TEST_TEMPLATES), str(path)])
    assert report.exit_code == 0, report.output
    gates = [g.to_json() for g in evaluate_policy(review, template, analysis)]
    record = build_record(review=review, template=template, analysis_json=analysis.to_json(),
                          gate_results_json=gates, seed=0, samples=20_000,
                          created="2026-11-28T10:00:00Z", versions={})
    html = render_record(record)
    workbook = Workbook.open(path, debounce=0, template_search=(TEST_TEMPLATES,))
    numbers = _html_of(workbook.tradeoffs())
    for name, text in (("report", report.output), ("record", html), ("workbook", numbers)):
        plain = re.sub(r"<[^>]+>", " ", text)
        assert not ZERO_PLUS_MINUS.search(plain), name
        assert "below 0.0192% (95%)" in plain, name


def _html_of(widget: Any) -> str:
    found = [str(getattr(widget, "value", "")) if isinstance(getattr(widget, "value", None),
                                                            str) else ""]
    for child in getattr(widget, "children", ()):
        found.append(_html_of(child))
    return "\n".join(found)
