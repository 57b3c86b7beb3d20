"""decision.overrides: approving a variant that fails a gate takes an override on the record.

`check` fails such an approval without one and passes it with one (the gate still reads
FAIL, with who overrode it and why); an override naming an unknown gate or participant is
a one-line error; the record's brief states every override in its first paragraph; the
workbook's decision step warns before and at approval.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deliberation.engine.analysis import analyze
from deliberation.errors import ReviewInvalid
from deliberation.record.build import build_record, dumps_record, render_record
from deliberation.record.document import validate_record
from deliberation.record.summary import summary_sentences
from deliberation.review.model import parse_review
from deliberation.review.opening import check_review_against, open_review
from deliberation.review.policy import evaluate_policy, passed
from deliberation.workbook.workbook import Workbook

from .conftest import DATA, ROOT, TEST_TEMPLATES

OVERRIDE = {"gate": "extreme-bad", "reason": "accepted by the board, see minutes", "by": "ana"}
GATE_LINE = "- {id: extreme-bad, rule: max-p-extreme-bad, value: 0.01, clause: \"MANAGE 1.3\"}"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deliberation", *args], capture_output=True,
                          text=True, cwd=ROOT, env=dict(os.environ), check=False)


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """test-minimal plus a 1% gate on P(extremely bad)."""
    folder = tmp_path / "templates"
    folder.mkdir()
    text = (TEST_TEMPLATES / "test-minimal.yaml").read_text(encoding="utf-8")
    (folder / "test-minimal.yaml").write_text(text.rstrip("\n") + "\n  " + GATE_LINE + "\n",
                                              encoding="utf-8")
    return folder


def failing_review(**decision: Any) -> dict[str, Any]:
    """The minimal review made dangerous: Ana is sure phishing happens and costs 100,000.

    Her world (half the samples, in the linear pool) keeps the harm with the monitor's
    likelihood factor, 0.3 to 0.6, and any such sample is far below extreme_bad (-5000,
    the benefit is at most 20,000 at its 95th percentile); so P(extremely bad) is about
    0.5 x 0.45, twenty times the 1% limit: the gate fails whatever the seed.
    """
    data: dict[str, Any] = json.loads((DATA / "good" / "minimal.json").read_text())
    data["estimates"][1].update(likelihood=1, impact=100_000)
    data["decision"].update(decision)
    return data


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "review" / "review.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def check(path: Path, templates: Path) -> subprocess.CompletedProcess[str]:
    return run("check", "--samples", "2000", "--templates", str(templates), str(path))


# --------------------------------------------------------------------------- check


def test_check_fails_an_approval_of_a_failing_variant_without_override(
        tmp_path: Path, templates: Path) -> None:
    result = check(write(tmp_path, failing_review()), templates)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    gate = next(line for line in lines if line.startswith("FAIL  extreme-bad:"))
    assert "limit 1.00%" in gate
    assert "overridden" not in gate
    required = next(line for line in lines if line.startswith("FAIL  override-required:"))
    assert "approves monitored, which fails 1 gate without an override: extreme-bad" in required
    assert '{"gate": "extreme-bad", "reason": "...", "by": PARTICIPANT}' in required
    assert lines[-1] == "8 gates: 5 passed, 2 failed, 1 warned"


def test_check_passes_it_with_an_override_and_still_shows_the_failed_gate(
        tmp_path: Path, templates: Path) -> None:
    result = check(write(tmp_path, failing_review(overrides=[OVERRIDE])), templates)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    gate = next(line for line in lines if "extreme-bad:" in line)
    assert gate.startswith("FAIL  extreme-bad: monitored: P(extremely bad) = ")
    assert gate.endswith("  [MANAGE 1.3]; overridden by ana: accepted by the board, see minutes")
    assert not any("override-required" in line for line in lines)
    assert lines[-1] == "7 gates: 5 passed, 0 failed, 1 failed but overridden, 1 warned"


def test_check_json_marks_the_gate_overridden(tmp_path: Path, templates: Path) -> None:
    path = write(tmp_path, failing_review(overrides=[OVERRIDE]))
    result = run("check", "--json", "--samples", "2000", "--templates", str(templates),
                 str(path))
    report = json.loads(result.stdout)
    assert report["passed"] is True
    gates = {g["id"]: g for g in report["gates"]}
    assert gates["extreme-bad"]["status"] == "overridden"
    assert gates["extreme-bad"]["override"] == OVERRIDE
    assert "override" not in gates["categories"]  # only an overridden gate carries one


def test_an_override_does_not_excuse_a_second_failing_gate(tmp_path: Path,
                                                           templates: Path) -> None:
    data = failing_review(overrides=[OVERRIDE])
    data["decision"]["rationale"] = ""  # decision-recorded fails
    result = check(write(tmp_path, data), templates)
    assert result.returncode == 1
    assert "FAIL  override-required: the decision (approve-with-conditions) approves " \
           "monitored, which fails 1 gate without an override: decided;" in result.stdout


def test_the_reason_reaches_the_terminal_escaped(tmp_path: Path, templates: Path) -> None:
    sneaky = {**OVERRIDE, "reason": "fine\u202e enif\nsecond line"}
    result = check(write(tmp_path, failing_review(overrides=[sneaky])), templates)
    assert result.returncode == 0
    assert "\u202e" not in result.stdout
    assert "overridden by ana: fine\\u202e enif second line" in result.stdout


def test_overriding_a_passing_gate_is_a_warning(tmp_path: Path) -> None:
    data: dict[str, Any] = json.loads((DATA / "good" / "minimal.json").read_text())
    data["decision"]["overrides"] = [{"gate": "categories", "reason": "just in case",
                                      "by": "ben"}]
    result = check(write(tmp_path, data), TEST_TEMPLATES)
    assert result.returncode == 0
    assert ("WARN  override-unneeded: categories (by ben): override of a passing gate; "
            "remove the override") in result.stdout.splitlines()


def test_an_override_needs_an_approval(tmp_path: Path, templates: Path) -> None:
    review, template, _ = open_review(write(tmp_path, failing_review(
        outcome="reject", overrides=[OVERRIDE])), search=[templates])
    results = evaluate_policy(review, template, analyze(review, template, samples=2000))
    by_id = {r.id: r for r in results}
    assert by_id["extreme-bad"].status == "fail"  # a rejection leaves the gate failed
    assert "override-required" not in by_id  # nothing is approved, nothing to justify
    assert by_id["override-unneeded"].message == (
        "extreme-bad (by ana): the decision (reject) is not an approval, so there is nothing "
        "to override; remove the override")
    assert not passed(results)


@pytest.mark.parametrize(("override", "message"), [
    ({"gate": "risk-accepted", "reason": "board", "by": "ana"},
     "decision.overrides[0].gate: expected one of the template's gates (categories, "
     "participants, severe-mitigated, signoffs, estimated, decided, extreme-bad), got "
     "'risk-accepted'"),
    ({"gate": "extreme-bad", "reason": "board", "by": "zoe"},
     "decision.overrides[0].by: expected one of the participants' ids, got 'zoe'"),
    ({"gate": "extreme-bad", "reason": "", "by": "ana"},
     "decision.overrides[0].reason: expected the reason the gate is overridden, got ''"),
])
def test_a_bad_override_is_one_line_and_exit_2(tmp_path: Path, templates: Path,
                                               override: dict[str, str], message: str) -> None:
    path = write(tmp_path, failing_review(overrides=[override]))
    result = check(path, templates)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {path}: {message}\n"


def test_one_override_per_gate() -> None:
    data = failing_review(overrides=[OVERRIDE, {**OVERRIDE, "by": "ben"}])
    with pytest.raises(ReviewInvalid) as caught:
        parse_review(data)
    assert caught.value.field == "decision.overrides[1].gate"
    assert "already overridden (decision.overrides[0])" in caught.value.detail


def test_the_template_check_names_the_gate(templates: Path) -> None:
    review = parse_review(failing_review(overrides=[{**OVERRIDE, "gate": "extreme"}]))
    _, template, _ = open_review(DATA / "good" / "minimal.json", search=[templates])
    with pytest.raises(ReviewInvalid) as caught:
        check_review_against(review, template)
    assert caught.value.field == "decision.overrides[0].gate"


# --------------------------------------------------------------------------- record


def _record(tmp_path: Path, templates: Path, data: dict[str, Any]) -> tuple[Any, Any, Any]:
    review, template, _ = open_review(write(tmp_path, data), search=[templates])
    analysis = analyze(review, template, samples=2000, seed=0)
    gates = [g.to_json() for g in evaluate_policy(review, template, analysis)]
    return review, gates, analysis.to_json()


def test_the_briefs_first_paragraph_states_the_override(tmp_path: Path,
                                                        templates: Path) -> None:
    review, gates, analysis = _record(tmp_path, templates, failing_review(overrides=[OVERRIDE]))
    gate = next(g for g in gates if g["id"] == "extreme-bad")
    sentences = summary_sentences(review, gates, analysis)
    assert sentences[0] == (
        f"This approval overrides 1 failed policy gate: gate extreme-bad ({gate['message']}), "
        "overridden by Ana Ruiz (safety): “accepted by the board, see minutes”.")
    assert "limit 1.00%" in sentences[0]  # the value against its limit
    assert sentences[1].startswith("The review of chat 1.0 approved the release")
    assert "1 failed and was overridden (extreme-bad)" in sentences[4]
    # The record: its JSON carries the override, and its page says it first.
    record = json.loads(dumps_record(build_record(
        review=review, template=open_review(DATA / "good" / "minimal.json",
                                            search=[templates])[1],
        analysis_json=analysis, gate_results_json=gates, seed=0, samples=2000,
        created="2026-01-02T03:04:05Z")))
    validate_record(record, "record.json")
    assert record["review"]["decision"]["overrides"] == [OVERRIDE]
    recorded = next(g for g in record["policy"]["gates"] if g["id"] == "extreme-bad")
    assert recorded["status"] == "overridden"
    assert recorded["override"] == OVERRIDE
    assert record["policy"]["passed"] is True
    html = render_record(record)
    brief = html[html.index("<h3>In brief</h3>"):]
    first = brief[brief.index("<p"):brief.index("</p>")]
    assert "This approval overrides 1 failed policy gate: gate extreme-bad" in first
    assert "accepted by the board, see minutes" in first
    assert '<span class="status status-fail">FAIL</span> ' \
           '<span class="status status-overridden">overridden</span>' in html


def test_the_brief_states_an_approval_without_override_first(tmp_path: Path,
                                                             templates: Path) -> None:
    review, gates, analysis = _record(tmp_path, templates, failing_review())
    sentences = summary_sentences(review, gates, analysis)
    assert sentences[0].startswith(
        "It approves although 1 policy gate failed without an override, so `deliberation "
        "check` fails it: extreme-bad (monitored: P(extremely bad) = ")
    assert "2 failed (extreme-bad and override-required)" in sentences[4]


def test_no_override_paragraph_when_nothing_is_contradicted(tmp_path: Path) -> None:
    review, template, _ = open_review(DATA / "good" / "minimal.json", search=[TEST_TEMPLATES])
    gates = [g.to_json() for g in evaluate_policy(review, template)]
    assert summary_sentences(review, gates, None)[0].startswith("The review of chat 1.0")


# --------------------------------------------------------------------------- workbook


def _find(root: Any, css: str) -> Any:
    stack = [root]
    while stack:
        widget = stack.pop()
        if css in getattr(widget, "_dom_classes", ()):
            return widget
        stack.extend(reversed(getattr(widget, "children", ())))
    raise AssertionError(f"no widget with class {css}")


def test_the_decision_step_warns_and_records_an_override(tmp_path: Path) -> None:
    path = tmp_path / "review.json"
    shutil.copyfile(DATA / "workbook" / "review.json", path)
    wb = Workbook.open(path, debounce=0)
    step = wb.decision()
    warning = _find(step, "dl-override-warning")
    # Before approving: the preferred option fails the 1% gate on its numbers.
    assert "Before you approve" in warning.value
    assert "extreme-bad-at-most-1pct" in warning.value
    assert 'role="alert"' in warning.value
    _find(step, "dl-outcome").value = "approve"
    _find(step, "dl-decision-variant").value = "api-filtered"
    assert "This approves variant “API with filters”, which fails" in warning.value
    assert "extreme-bad-at-most-1pct" in warning.value
    gate = _find(step, "dl-override-gate")
    assert gate.description == "Gate"  # its accessible name (the label) ...
    assert gate.tooltip == "The policy gate this approval overrides"  # ... and description
    assert _find(step, "dl-override-by").description == "By"
    assert _find(step, "dl-override-reason").description == "Reason"
    assert gate.options[0][0].endswith("(fails)")  # failing gates are offered first
    gate.value = "extreme-bad-at-most-1pct"
    _find(step, "dl-override-by").value = "ana"
    _find(step, "dl-override-add").click()
    assert "expected the reason" in _find(step, "dl-override-error").value  # nothing saved
    assert "overrides" not in json.loads(path.read_text())["decision"]
    _find(step, "dl-override-gate").value = "extreme-bad-at-most-1pct"
    _find(step, "dl-override-by").value = "ana"
    _find(step, "dl-override-reason").value = "<b>pilot</b> with 50 partners"
    _find(step, "dl-override-add").click()
    assert json.loads(path.read_text())["decision"]["overrides"] == [
        {"gate": "extreme-bad-at-most-1pct", "reason": "<b>pilot</b> with 50 partners",
         "by": "ana"}]
    gates = {g.id: g for g in wb.live().gates}
    assert gates["extreme-bad-at-most-1pct"].status == "overridden"
    assert "Overridden gates" in warning.value
    assert "&lt;b&gt;pilot&lt;/b&gt; with 50 partners" in warning.value  # escaped
    assert "<b>pilot</b>" not in warning.value
    _find(step, "dl-override-remove").click()
    assert "overrides" not in json.loads(path.read_text())["decision"]
    assert wb.live().gates[-1].id == "override-required"


def test_diff_names_an_added_override() -> None:
    from deliberation.record.diff import Side, diff_reviews

    before = parse_review(failing_review())
    after = parse_review(failing_review(overrides=[OVERRIDE]))
    result = diff_reviews(Side("old", before, {}, "review"), Side("new", after, {}, "review"))
    assert [(c.kind, c.key, c.detail) for c in result.section("decision")] == [
        ("added", "override", "extreme-bad by ana: accepted by the board, see minutes")]


def test_the_reason_is_escaped_in_the_record(tmp_path: Path, templates: Path) -> None:
    payload = '</p><script>alert("x")</script><img src=x onerror=alert(1)>'
    review, gates, analysis = _record(tmp_path, templates, failing_review(
        overrides=[{**OVERRIDE, "reason": payload}]))
    template = open_review(DATA / "good" / "minimal.json", search=[templates])[1]
    html = render_record(json.loads(dumps_record(build_record(
        review=review, template=template, analysis_json=analysis, gate_results_json=gates,
        seed=0, samples=2000, created="2026-01-02T03:04:05Z"))))
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(") >= 2  # the brief and the policy table
