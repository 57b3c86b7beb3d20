"""Gates decided with confidence (engine.sequential): never on a noisy point.

The reviews here have one harm with a point likelihood p and an impact past the
extremely bad threshold, and nothing else, so P(extremely bad) is p exactly: the
truth is known in closed form and every verdict can be checked against it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest

from deliberation.cli import main
from deliberation.engine.analysis import analyze
from deliberation.engine.sequential import decide_gates, level, schedule, tally_of
from deliberation.engine.simulate import simulate
from deliberation.review.model import parse_review
from deliberation.review.templates import load_template

from .conftest import TEST_TEMPLATES

POLICY = """
policy:
  - {id: bad-at-most-1pct, rule: max-p-extreme-bad, value: 0.01}
  - {id: good-at-least-50pct, rule: min-p-extreme-good, value: 0.5, severity: warn}
  - {id: positive, rule: positive-expected-value}
"""


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """The suite's small template with the three analysis rules as its policy."""
    text = (TEST_TEMPLATES / "test-minimal.yaml").read_text(encoding="utf-8")
    text = text.split("\npolicy:")[0].replace("id: test-minimal", "id: test-gates") + POLICY
    folder = tmp_path / "standard"
    folder.mkdir()
    (folder / "test-gates.yaml").write_text(text, encoding="utf-8")
    return folder


def _data(p_bad: float, *, benefit: float = 0.6) -> dict[str, Any]:
    """A review whose P(extremely bad) is exactly ``p_bad`` (a harm of 10,000 at that
    chance) and whose P(extremely good) is exactly ``benefit`` (a benefit of 6,000)."""
    return {
        "schema": "deliberation/review@1", "id": "gates", "title": "Gates",
        "subject": {"name": "m"}, "template": {"id": "test-gates", "version": "1"},
        "participants": [{"id": "ana", "name": "Ana", "role": "safety"}],
        "items": [
            {"id": "help", "kind": "benefit", "title": "Help", "category": "education"},
            {"id": "harm", "kind": "harm", "title": "Harm", "category": "misuse"},
        ],
        "estimates": [
            {"item": "help", "participant": "ana", "likelihood": benefit, "impact": 6000},
            {"item": "harm", "participant": "ana", "likelihood": p_bad, "impact": 12000},
        ],
    }


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


LINE = re.compile(r"^(PASS|FAIL|WARN)\s+bad-at-most-1pct: (.*)$", re.MULTILINE)


@pytest.mark.parametrize("seed", range(20))
def test_check_fails_1_3_percent_and_passes_0_7_percent_on_every_seed(
        seed: int, templates: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for p_bad, status, code in ((0.013, "FAIL", 1), (0.007, "PASS", 0)):
        path = _write(tmp_path, f"review-{p_bad}.json", _data(p_bad))
        run = runner.invoke(main, ["check", "--templates", str(templates), "--seed", str(seed),
                                   str(path)])
        assert run.exit_code == code, run.output
        found = LINE.search(run.output)
        assert found is not None, run.output
        assert found[1] == status, run.output
        # the message shows the value, the interval it was decided on, and the limit
        interval = re.search(r"P\(extremely bad\) = ([\d.]+)% \(([\d.]+)%: ([\d.]+)–([\d.]+)%\), "
                             r"limit 1\.00%; decided at ([\d,]+) samples", found[2])
        assert interval is not None, found[2]
        value, confidence, low, high = (float(interval[i]) for i in range(1, 5))
        assert low <= value <= high
        assert (high <= 1.0) if status == "PASS" else (low > 1.0)
        assert confidence == pytest.approx(100 * level(len(schedule(20_000))), abs=0.05)


def test_a_gate_at_its_limit_draws_to_the_cap_and_fails_saying_so(
        templates: Path, tmp_path: Path) -> None:
    path = _write(tmp_path, "review.json", _data(0.01))
    run = CliRunner().invoke(main, ["check", "--templates", str(templates), str(path)])
    assert run.exit_code == 1, run.output
    found = LINE.search(run.output)
    assert found is not None, run.output
    assert found[1] == "FAIL", run.output
    assert "undecided at 2,000,000 samples (the cap)" in found[2]


def test_later_looks_reuse_the_earlier_draws_and_add_fresh_ones(templates: Path) -> None:
    template = load_template("test-gates", search=(templates,))
    review = parse_review(_data(0.0102))
    analysis = analyze(review, template, samples=20_000, seed=4, gate_cap=320_000)
    gate = next(g for g in analysis.gates if g.rule == "bad-at-most-1pct")
    assert gate.looks is not None
    assert gate.looks > 1
    assert gate.planned_looks == 5
    assert gate.samples == schedule(20_000, 320_000)[gate.looks - 1]
    # look 1 is the analysis itself; the rest come from the sequential streams, so the
    # gate's hits are the analysis' hits plus those of fresh, independent samples
    first = round(analysis.variants["baseline"].p_extreme_bad * 20_000)
    assert gate.estimate is not None
    hits = round(gate.estimate * gate.samples)
    assert hits >= first
    extra = hits - first
    # the fresh samples estimate the same truth: a two-sided binomial test at 0.1%
    assert binomtest(extra, gate.samples - 20_000, 0.0102).pvalue > 0.001
    again = analyze(review, template, samples=20_000, seed=4, gate_cap=320_000)
    assert again.gates == analysis.gates
    other = analyze(review, template, samples=20_000, seed=5, gate_cap=320_000)
    assert other.gates != analysis.gates


def test_no_false_pass_just_above_the_limit(templates: Path) -> None:
    """True 1.05% against a 1% limit: the sequential test may fail or stay undecided, but
    it must not pass (its one-sided error is at most 2.5% over all looks)."""
    template = load_template("test-gates", search=(templates,))
    review = parse_review(_data(0.0105))
    statuses = []
    for seed in range(20):
        analysis = analyze(review, template, samples=20_000, seed=seed, gate_cap=320_000,
                           sensitivity=False)
        statuses.append(next(g.status for g in analysis.gates if g.rule == "bad-at-most-1pct"))
    assert "pass" not in statuses


def test_positive_expected_value_and_min_p_extreme_good_are_sequential_too(
        templates: Path) -> None:
    template = load_template("test-gates", search=(templates,))
    # P(extremely good) is exactly 0.5 (the limit): undecided to the cap, a warning
    review = parse_review(_data(0.001, benefit=0.5))
    analysis = analyze(review, template, samples=20_000, seed=1, gate_cap=160_000)
    good = next(g for g in analysis.gates if g.rule == "good-at-least-50pct")
    assert good.status == "undecided"
    assert good.samples == 160_000
    positive = next(g for g in analysis.gates if g.rule == "positive")
    # mean = 0.5 * 6000 - 0.001 * 12000 = 2988: decided at once, by its interval
    assert positive.status == "pass"
    assert positive.looks == 1
    assert positive.low is not None
    assert positive.high is not None
    assert positive.low <= 2988 <= positive.high
    from deliberation.review.policy import evaluate_policy

    results = {r.id: r for r in evaluate_policy(review, template, analysis)}
    assert results["good-at-least-50pct"].status == "warn"
    assert "undecided at 160,000 samples" in results["good-at-least-50pct"].message
    from deliberation.numbers import points

    assert f"mean net value = {points(positive.estimate)} (98.8%: " in results["positive"].message


def test_the_tally_of_a_look_counts_like_numpy() -> None:
    values = np.random.default_rng(0).normal(0, 10, 1_000).astype(np.float32)
    tally = tally_of(values, -15, 15)
    assert tally.bad == int(np.sum(values <= -15))
    assert tally.good == int(np.sum(values >= 15))
    assert tally.total == pytest.approx(float(values.astype(np.float64).sum()))


def test_decide_gates_leaves_decided_gates_and_the_numbers_alone(templates: Path) -> None:
    template = load_template("test-gates", search=(templates,))
    review = parse_review(_data(0.002))
    analysis = analyze(review, template, samples=20_000, seed=0)
    assert all(g.looks == 1 for g in analysis.gates)
    assert decide_gates(analysis, review, template) == analysis
    simulation = simulate(review, template, samples=20_000, rng=np.random.default_rng(0))
    assert analysis.variants["baseline"].p_extreme_bad == float(
        np.mean(simulation.net_of("baseline") <= -5000))
