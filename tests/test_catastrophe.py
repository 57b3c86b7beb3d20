"""P(catastrophe): the chance that the harms alone (benefits do not offset them) reach
the ``catastrophe`` threshold, and the rule ``max-p-catastrophe`` that gates it.

The reviews here have harms with point likelihoods and point impacts, so the truth is
known in closed form: one harm past the threshold with chance p gives p; two
independent harms that reach it only together give p1·p2; a mitigation's factor
scales the chance, or moves an impact below the threshold, as its arithmetic says.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest

from deliberation.cli import main
from deliberation.engine.analysis import analyze
from deliberation.engine.draws import DrawCache
from deliberation.engine.sequential import level, schedule
from deliberation.engine.simulate import simulate
from deliberation.errors import TemplateInvalid
from deliberation.numbers import probability
from deliberation.review.model import parse_review
from deliberation.review.policy import evaluate_policy
from deliberation.review.templates import load_template, load_template_file

from .conftest import ROOT, TEST_TEMPLATES

THRESHOLD = 100_000
BASE = (TEST_TEMPLATES / "test-minimal.yaml").read_text(encoding="utf-8")
POLICY = """
policy:
  - {id: catastrophe-at-most-1pct, rule: max-p-catastrophe, value: 0.01}
  - {id: bad-at-most-50pct, rule: max-p-extreme-bad, value: 0.5}
"""


def _template_text(catastrophe: str = f", catastrophe: {THRESHOLD}", policy: str = POLICY,
                   template_id: str = "test-catastrophe") -> str:
    text = BASE.split("\npolicy:")[0].replace("id: test-minimal", f"id: {template_id}")
    text = text.replace("extreme_good: 5000}", f"extreme_good: 5000{catastrophe}}}")
    return text + policy


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "standard"
    folder.mkdir()
    (folder / "test-catastrophe.yaml").write_text(_template_text(), encoding="utf-8")
    return folder


def _review(harms: list[tuple[str, float, float]], *, benefit: tuple[float, float] | None = None,
            mitigations: Sequence[dict[str, Any]] = (), thresholds: dict[str, Any] | None = None,
            template: str = "test-catastrophe") -> dict[str, Any]:
    """Harms (id, likelihood, impact) with point estimates, and an optional benefit."""
    items = [{"id": h, "kind": "harm", "title": h.title(), "category": "misuse"}
             for h, _, _ in harms]
    estimates = [{"item": h, "participant": "ana", "likelihood": p, "impact": impact}
                 for h, p, impact in harms]
    if benefit is not None:
        items.append({"id": "help", "kind": "benefit", "title": "Help", "category": "education"})
        estimates.append({"item": "help", "participant": "ana", "likelihood": benefit[0],
                          "impact": benefit[1]})
    data: dict[str, Any] = {
        "schema": "deliberation/review@1", "id": "harms", "title": "Harms alone",
        "subject": {"name": "m"}, "template": {"id": template, "version": "1"},
        "participants": [{"id": "ana", "name": "Ana", "role": "safety"}],
        "items": items, "estimates": estimates, "mitigations": list(mitigations),
    }
    if mitigations:
        data["variants"] = [
            {"id": "as-is", "title": "As is"},
            {"id": "mitigated", "title": "Mitigated",
             "mitigations": [m["id"] for m in mitigations]},
        ]
    if thresholds is not None:
        data["thresholds"] = thresholds
    return data


def _analysis(templates: Path, data: dict[str, Any], *, samples: int = 50_000,
              seed: int = 0) -> Any:
    template = load_template("test-catastrophe", search=(templates,))
    return analyze(parse_review(data), template, samples=samples, seed=seed, sensitivity=False)


def _hits(summary: Any, samples: int) -> int:
    return round(summary.p_catastrophe * samples)


def _wilson(hits: int, samples: int) -> tuple[float, float]:
    """An independent Wilson interval (scipy's), to check the engine's against."""
    interval = binomtest(hits, samples).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


# --------------------------------------------------------------------------- closed forms


def test_one_harm_past_the_threshold_gives_its_likelihood(templates: Path) -> None:
    p, samples = 0.03, 50_000
    covered = 0
    for seed in range(10):
        analysis = _analysis(templates, _review([("leak", p, 200_000)]), samples=samples,
                             seed=seed)
        summary = analysis.variants["baseline"]
        hits = _hits(summary, samples)
        assert binomtest(hits, samples, p).pvalue > 0.001
        assert (summary.p_catastrophe_low, summary.p_catastrophe_high) == pytest.approx(
            _wilson(hits, samples), abs=1e-12)
        assert summary.p_catastrophe_se == pytest.approx(
            math.sqrt(summary.p_catastrophe * (1 - summary.p_catastrophe) / samples))
        covered += summary.p_catastrophe_low <= p <= summary.p_catastrophe_high
    assert covered >= 7  # a 95% interval: fewer than 7 of 10 has odds below 1 in 1,000
    assert analysis.catastrophe == THRESHOLD


def test_a_huge_benefit_in_the_same_sample_does_not_offset_it(templates: Path) -> None:
    harm = [("leak", 0.2, 200_000)]
    alone = _analysis(templates, _review(harm)).variants["baseline"]
    offset = _analysis(templates, _review(harm, benefit=(1.0, 1e9))).variants["baseline"]
    # the harm draws from its own stream, so its samples are the same ones: exactly equal
    assert offset.p_catastrophe == alone.p_catastrophe
    assert binomtest(_hits(alone, 50_000), 50_000, 0.2).pvalue > 0.001
    # while net value, and with it P(extremely bad), is offset completely
    assert binomtest(round(alone.p_extreme_bad * 50_000), 50_000, 0.2).pvalue > 0.001
    assert offset.p_extreme_bad == 0
    assert offset.p_extreme_bad_high is not None
    assert offset.p_extreme_bad_high < 1e-4


def test_two_harms_below_it_alone_reach_it_together(templates: Path) -> None:
    p1, p2, samples = 0.2, 0.3, 50_000
    one = _analysis(templates, _review([("first", p1, 60_000)])).variants["baseline"]
    assert one.p_catastrophe == 0
    both = _analysis(templates, _review([("first", p1, 60_000), ("second", p2, 60_000)]),
                     samples=samples).variants["baseline"]
    assert binomtest(_hits(both, samples), samples, p1 * p2).pvalue > 0.001
    assert both.p_catastrophe_low <= p1 * p2 <= both.p_catastrophe_high


def test_a_harm_total_exactly_at_the_threshold_counts(templates: Path) -> None:
    both = _analysis(templates, _review([("first", 1, 40_000), ("second", 1, 60_000)]))
    assert both.variants["baseline"].p_catastrophe == 1


def test_mitigation_factors_lower_it_as_their_closed_forms_say(templates: Path) -> None:
    p, samples = 0.3, 50_000
    mitigations = [
        # halves the first harm's chance: P = 0.3 * 0.5
        {"id": "halve", "title": "Halve", "targets": ["leak"], "likelihood_factor": 0.5,
         "owner": "ana"},
        # an uncertain factor on the second harm's size: 150,000 * f reaches 100,000
        # when f >= 2/3, which a lognormal with 90% interval [0.3, 0.9] does with
        # probability 1 - Phi((ln(2/3) - mu) / sigma)
        {"id": "shrink", "title": "Shrink", "targets": ["spill"], "impact_factor": [0.3, 0.9],
         "owner": "ana"},
    ]
    data = _review([("leak", p, 200_000), ("spill", p, 150_000)], mitigations=mitigations)
    analysis = _analysis(templates, data, samples=samples)
    mu = (math.log(0.3) + math.log(0.9)) / 2
    sigma = (math.log(0.9) - math.log(0.3)) / 3.2897
    spill_reaches = p * (1 - NormalDist(mu, sigma).cdf(math.log(2 / 3)))
    leak = p * 0.5
    # either harm alone reaches it (both together always do): 1 - (1 - a)(1 - b)
    expected = 1 - (1 - leak) * (1 - spill_reaches)
    as_is = 1 - (1 - p) ** 2
    for name, truth in (("as-is", as_is), ("mitigated", expected)):
        summary = analysis.variants[name]
        assert binomtest(_hits(summary, samples), samples, truth).pvalue > 0.001, name
    assert analysis.variants["mitigated"].p_catastrophe < analysis.variants["as-is"].p_catastrophe
    # a factor that takes the harm below the threshold removes it entirely
    below = [{"id": "cap", "title": "Cap", "targets": ["leak"], "impact_factor": 0.4,
              "owner": "ana"}]
    capped = _analysis(templates, _review([("leak", p, 200_000)], mitigations=below))
    assert capped.variants["mitigated"].p_catastrophe == 0
    assert capped.variants["as-is"].p_catastrophe > 0.25


def test_comparisons_carry_the_paired_change(templates: Path) -> None:
    p, samples = 0.3, 50_000
    halve = [{"id": "halve", "title": "Halve", "targets": ["leak"], "likelihood_factor": 0.5,
              "owner": "ana"}]
    template = load_template("test-catastrophe", search=(templates,))
    review = parse_review(_review([("leak", p, 200_000)], mitigations=halve))
    analysis = analyze(review, template, samples=samples, seed=2, sensitivity=False)
    change = analysis.comparisons[0]
    assert (change.base, change.other) == ("as-is", "mitigated")
    before, after = analysis.variants["as-is"], analysis.variants["mitigated"]
    assert change.p_catastrophe_change == pytest.approx(after.p_catastrophe - before.p_catastrophe,
                                                        abs=1e-12)
    # the same uniform decides both (u < p/2 implies u < p): every change is a -1, in a
    # share p/2 of the samples, so the paired standard error is that of a proportion
    removed = round(-change.p_catastrophe_change * samples)
    assert binomtest(removed, samples, p / 2).pvalue > 0.001
    share = removed / samples
    assert change.p_catastrophe_change_se == pytest.approx(
        math.sqrt(share * (1 - share) * samples / (samples - 1) / samples), rel=1e-9)
    alone = analysis.mitigation_effects[0].difference
    assert alone.p_catastrophe_change == change.p_catastrophe_change
    # the report's comparison table shows it with its ±
    from deliberation.readout.report import format_report

    text = format_report(analysis, review)
    row = next(line for line in text.splitlines() if line.startswith("as-is → mitigated"))
    assert "percentage points" in row.rsplit("  ", 1)[-1]


def test_chunking_and_the_draw_cache_change_no_count(templates: Path) -> None:
    template = load_template("test-catastrophe", search=(templates,))
    review = parse_review(_review([("first", 0.4, 60_000), ("second", 0.5, 60_000)],
                                  benefit=(0.5, 80_000)))
    whole = simulate(review, template, samples=10_000, rng=np.random.default_rng(3))
    chunked = simulate(review, template, samples=10_000, rng=np.random.default_rng(3),
                       chunk=1024)
    assert whole.catastrophic is not None
    assert chunked.catastrophic is not None
    assert np.array_equal(whole.catastrophic, chunked.catastrophic)
    cache = DrawCache()
    first = analyze(review, template, samples=10_000, seed=3, cache=cache)
    again = analyze(review, template, samples=10_000, seed=3, cache=cache)
    assert again.variants == first.variants
    assert first.variants["baseline"].p_catastrophe == float(np.mean(whole.catastrophic[0]))


def test_the_order_items_are_listed_in_changes_no_count(templates: Path) -> None:
    template = load_template("test-catastrophe", search=(templates,))
    harms = [("a", 0.5, 33_333.3), ("b", 0.5, 33_333.3), ("c", 0.5, 33_333.4),
             ("d", 0.5, 1e-3)]
    data = _review(harms, benefit=(0.5, 1e5))
    flipped = dict(data, items=data["items"][::-1], estimates=data["estimates"][::-1])
    runs = [simulate(parse_review(d), template, samples=20_000, rng=np.random.default_rng(7))
            for d in (data, flipped)]
    assert runs[0].catastrophic is not None
    assert runs[1].catastrophic is not None
    assert np.array_equal(runs[0].catastrophic, runs[1].catastrophic)
    # a, b and c together total 100,000 (their float32 impacts sum to it exactly) and no
    # two of them come near it, so the samples where all three happen: 1/8
    assert binomtest(int(runs[0].catastrophic[0].sum()), 20_000, 0.125).pvalue > 0.001


# --------------------------------------------------------------------------- thresholds


def test_a_review_threshold_overrides_the_template_and_falls_back_to_it(
        templates: Path) -> None:
    harm = [("leak", 0.25, 60_000)]
    own = {"extreme_bad": -5000, "extreme_good": 5000, "catastrophe": 50_000}
    lowered = _analysis(templates, _review(harm, thresholds=own))
    assert lowered.catastrophe == 50_000
    assert binomtest(_hits(lowered.variants["baseline"], 50_000), 50_000, 0.25).pvalue > 0.001
    # a review that sets only the extreme thresholds keeps the template's catastrophe
    extremes = {"extreme_bad": -5000, "extreme_good": 5000}
    kept = _analysis(templates, _review(harm, thresholds=extremes))
    assert kept.catastrophe == THRESHOLD
    assert kept.variants["baseline"].p_catastrophe == 0


def test_without_a_threshold_it_is_none_and_the_views_say_so(tmp_path: Path) -> None:
    data = _review([("leak", 0.2, 200_000)], template="test-minimal")
    path = tmp_path / "review.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    runner = CliRunner()
    options = ["--templates", str(TEST_TEMPLATES), "--samples", "5000"]
    reported = runner.invoke(main, ["report", *options, "--json", str(path)])
    assert reported.exit_code == 0, reported.output
    result = json.loads(reported.output)
    assert result["catastrophe"] is None
    for key in ("p_catastrophe", "p_catastrophe_se", "p_catastrophe_low", "p_catastrophe_high"):
        assert result["variants"]["baseline"][key] is None
    text = runner.invoke(main, ["report", *options, str(path)]).output
    assert "no catastrophe threshold" in text
    row = next(line for line in text.splitlines() if line.startswith("baseline "))
    assert row.endswith("no threshold")


def test_report_json_carries_p_catastrophe_with_its_interval(
        templates: Path, tmp_path: Path) -> None:
    path = tmp_path / "review.json"
    path.write_text(json.dumps(_review([("leak", 0.05, 200_000)], benefit=(1.0, 1e6))),
                    encoding="utf-8")
    runner = CliRunner()
    options = ["--templates", str(templates), "--samples", "20000"]
    run = runner.invoke(main, ["report", *options, "--json", str(path)])
    assert run.exit_code == 0, run.output
    result = json.loads(run.output)
    assert result["catastrophe"] == THRESHOLD
    summary = result["variants"]["baseline"]
    hits = round(summary["p_catastrophe"] * 20_000)
    assert binomtest(hits, 20_000, 0.05).pvalue > 0.001
    assert summary["p_catastrophe_se"] > 0
    assert (summary["p_catastrophe_low"], summary["p_catastrophe_high"]) == pytest.approx(
        _wilson(hits, 20_000), abs=1e-12)
    assert summary["p_extreme_bad"] == 0
    # the text report states the same number with the same digits, and the threshold
    text = runner.invoke(main, ["report", *options, str(path)]).output
    written = probability(summary["p_catastrophe"], summary["p_catastrophe_low"],
                          summary["p_catastrophe_high"])
    assert f"{written} chance that its harms alone reach a catastrophe" in text
    assert "harms alone (benefits left out) at or above 100,000" in text
    row = next(line for line in text.splitlines() if line.startswith("baseline "))
    assert row.endswith(written)


# --------------------------------------------------------------------------- the gate

LINE = re.compile(r"^(PASS|FAIL|WARN)\s+catastrophe-at-most-1pct: (.*)$", re.MULTILINE)


@pytest.mark.parametrize("seed", range(10))
def test_the_gate_fails_1_3_percent_and_passes_0_7_percent_on_every_seed(
        seed: int, templates: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for p, status, code in ((0.013, "FAIL", 1), (0.007, "PASS", 0)):
        # a benefit that offsets the harm in every sample: the net-value gate passes, so
        # only the harms alone decide
        path = tmp_path / f"review-{p}.json"
        path.write_text(json.dumps(_review([("leak", p, 200_000)], benefit=(1.0, 1e6))),
                        encoding="utf-8")
        run = runner.invoke(main, ["check", "--templates", str(templates), "--seed", str(seed),
                                   str(path)])
        assert run.exit_code == code, run.output
        found = LINE.search(run.output)
        assert found is not None, run.output
        assert found[1] == status, run.output
        assert re.search(r"^PASS\s+bad-at-most-50pct", run.output, re.MULTILINE), run.output
        interval = re.search(r"P\(catastrophe\) = ([\d.]+)% \(([\d.]+)%: ([\d.]+)–([\d.]+)%\), "
                             r"limit 1\.00%; decided at ([\d,]+) samples", found[2])
        assert interval is not None, found[2]
        value, confidence, low, high = (float(interval[i]) for i in range(1, 5))
        assert low <= value <= high
        assert (high <= 1.0) if status == "PASS" else (low > 1.0)
        assert confidence == pytest.approx(100 * level(len(schedule(20_000))), abs=0.05)


def test_later_looks_count_catastrophes_in_fresh_samples(templates: Path) -> None:
    template = load_template("test-catastrophe", search=(templates,))
    review = parse_review(_review([("leak", 0.0102, 200_000)], benefit=(1.0, 1e6)))
    analysis = analyze(review, template, samples=20_000, seed=4, gate_cap=320_000,
                       sensitivity=False)
    gate = next(g for g in analysis.gates if g.rule == "catastrophe-at-most-1pct")
    assert gate.looks is not None
    assert gate.looks > 1
    assert gate.samples == schedule(20_000, 320_000)[gate.looks - 1]
    first = _hits(analysis.variants["baseline"], 20_000)
    assert gate.estimate is not None
    extra = round(gate.estimate * gate.samples) - first
    assert extra >= 0
    # the fresh samples estimate the same truth
    assert binomtest(extra, gate.samples - 20_000, 0.0102).pvalue > 0.001
    # at the limit exactly it stays undecided to the cap, and fails saying so
    at_limit = parse_review(_review([("leak", 0.01, 200_000)], benefit=(1.0, 1e6)))
    undecided = analyze(at_limit, template, samples=20_000, seed=1, gate_cap=160_000,
                        sensitivity=False)
    results = {r.id: r for r in evaluate_policy(at_limit, template, undecided)}
    assert results["catastrophe-at-most-1pct"].status == "fail"
    assert "undecided at 160,000 samples (the cap)" in results["catastrophe-at-most-1pct"].message


def test_an_analysis_without_p_catastrophe_fails_the_gate_saying_why(templates: Path) -> None:
    template = load_template("test-catastrophe", search=(templates,))
    review = parse_review(_review([("leak", 0.001, 200_000)]))
    analysis = analyze(review, template, samples=5_000, seed=0, sensitivity=False)
    # an analysis stored before P(catastrophe) existed: no value, gates undecided
    older = analysis.model_copy(update={
        "variants": {k: v.model_copy(update={"p_catastrophe": None})
                     for k, v in analysis.variants.items()},
        "gates": [g.model_copy(update={"status": None}) for g in analysis.gates],
    })
    result = next(r for r in evaluate_policy(review, template, older)
                  if r.id == "catastrophe-at-most-1pct")
    assert result.status == "fail"
    assert result.message.endswith("P(catastrophe) = not computed: no catastrophe threshold "
                                   "is set")


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("catastrophe", "message"), [
    (", catastrophe: -1", "line 21: thresholds.catastrophe: expected a positive total harm of "
                          "at most 1e+18, got -1"),
    (", catastrophe: 0", "line 21: thresholds.catastrophe: expected a positive total harm of "
                         "at most 1e+18, got 0"),
    (", catastrophe: 1.0e+300", "line 21: thresholds.catastrophe: expected a positive total "
                                "harm of at most 1e+18, got 1e+300"),
    ("", "line 29: policy[0]: rule max-p-catastrophe needs thresholds.catastrophe (a positive "
         "total harm)"),
])
def test_template_errors_are_one_line_naming_file_line_and_field(
        catastrophe: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_template_text(catastrophe), encoding="utf-8")
    with pytest.raises(TemplateInvalid) as caught:
        load_template_file(path)
    assert str(caught.value) == f"{path}: {message}"


def test_a_limit_outside_0_to_1_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_template_text(policy="\npolicy:\n  - {id: c, rule: max-p-catastrophe, "
                                          "value: 2}\n"), encoding="utf-8")
    with pytest.raises(TemplateInvalid, match=r"policy\[0\]\.value: .*1"):
        load_template_file(path)


def test_a_bad_review_threshold_is_one_line_and_exit_2(templates: Path, tmp_path: Path) -> None:
    bad = {"extreme_bad": -5000, "extreme_good": 5000, "catastrophe": -10}
    path = tmp_path / "review.json"
    path.write_text(json.dumps(_review([("leak", 0.1, 1000)], thresholds=bad)),
                    encoding="utf-8")
    run = CliRunner().invoke(main, ["report", "--templates", str(templates), str(path)])
    assert run.exit_code == 2
    assert "Traceback" not in run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1
    assert "thresholds: catastrophe: expected a positive total harm" in lines[0]
    assert str(path) in lines[0]


# --------------------------------------------------------------------------- the surfaces


def test_builtin_templates_set_and_gate_it() -> None:
    for name in ("release-review", "text-to-image", "nist-ai-rmf"):
        template = load_template(name)
        assert template.thresholds.catastrophe == 100_000
        # the catastrophic label's low end, as each guidance explains
        assert template.impact_of("catastrophic")[0] == template.thresholds.catastrophe
        assert "100,000" in template.guidance
        rule = next(r for r in template.policy if r.rule == "max-p-catastrophe")
        assert rule.clause
        assert template.clause_text(rule.clause)


def test_p_catastrophe_has_the_same_digits_in_cli_workbook_and_record(tmp_path: Path) -> None:
    from deliberation.record.render import render_tradeoffs, summary_sentences
    from deliberation.review.opening import open_review
    from deliberation.workbook.workbook import Workbook

    # the example with its catastrophe threshold lowered so the numbers are not all zero
    data = json.loads((ROOT / "workbooks" / "example" / "review.json").read_text("utf-8"))
    data["thresholds"] = {"extreme_bad": -5000, "extreme_good": 5000, "catastrophe": 20_000}
    path = tmp_path / "review.json"  # a copy: a workbook opens a store beside its review
    path.write_text(json.dumps(data), encoding="utf-8")
    review, template, _ = open_review(path)
    analysis = analyze(review, template, samples=20_000, seed=0)
    cli = CliRunner().invoke(main, ["report", str(path)]).output
    record = _text(render_tradeoffs(review, analysis.to_json(), template=template))
    step = Workbook.open(path, debounce=0).tradeoffs()
    numbers = _text(next(w for w in _walk(step) if "dl-tradeoff-numbers" in w._dom_classes).value)
    assert "20,000 or more" in record
    shown = 0
    for variant in analysis.variants.values():
        written = probability(variant.p_catastrophe, variant.p_catastrophe_low,
                              variant.p_catastrophe_high)
        shown += variant.p_catastrophe is not None and variant.p_catastrophe > 0
        sentence = next(line for line in cli.splitlines() if line.startswith(variant.title))
        assert sentence.endswith(f"; {written} chance that its harms alone reach a catastrophe.")
        for page in (record, numbers):
            row = page[page.index(variant.title):].split("\n")[0]
            assert written in row
    assert shown >= 1
    chosen = analysis.variants[analysis.chosen]
    brief = " ".join(summary_sentences(review, [], analysis.to_json(), template=template))
    assert probability(chosen.p_catastrophe, chosen.p_catastrophe_low,
                       chosen.p_catastrophe_high) in brief


def test_a_record_made_before_p_catastrophe_renders_without_it(tmp_path: Path) -> None:
    from deliberation.record.render import render_tradeoffs, summary_sentences
    from deliberation.review.opening import open_review

    review, template, _ = open_review(ROOT / "workbooks" / "example" / "review.json")
    stored = analyze(review, template, samples=5_000, seed=0, sensitivity=False).to_json()
    stored.pop("catastrophe")
    for summary in stored["variants"].values():
        for key in ("p_catastrophe", "p_catastrophe_se", "p_catastrophe_low",
                    "p_catastrophe_high"):
            summary.pop(key)
    page = _text(render_tradeoffs(review, stored, template=template))
    assert "no catastrophe threshold applied to these numbers" in page
    title = review.variants[0].title
    assert "no threshold" in page[page.index(title):].split("\n")[0]
    brief = " ".join(summary_sentences(review, [], stored, template=template))
    assert "catastrophe" not in brief


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def _walk(widget: object) -> list[object]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _walk(child)
    return found
