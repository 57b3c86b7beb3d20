"""The command line as a pipeline sees it: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DATA, ROOT, TEST_TEMPLATES

EXPECTED = json.loads((DATA / "bad" / "expected.json").read_text(encoding="utf-8"))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deliberation", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_on_a_bad_fixture_prints_one_line_and_exits_2(name: str) -> None:
    path = f"tests/data/bad/{name}"
    result = run("check", "--templates", str(TEST_TEMPLATES), path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {path}: {EXPECTED[name]}\n"


def test_check_prints_a_line_per_gate(minimal_path: Path) -> None:
    result = run("check", "--templates", str(TEST_TEMPLATES), str(minimal_path))
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert len(lines) == 8  # where the template came from, six gates and a summary
    template_file = TEST_TEMPLATES / "test-minimal.yaml"
    assert lines[0] == f"template test-minimal v1: {template_file} (--templates)"
    assert lines[1] == "PASS  categories: all 2 categories considered  [MAP 1.1]"
    assert lines[-1] == "6 gates: 5 passed, 0 failed, 1 warned"


def test_check_exits_1_when_a_gate_fails(minimal_path: Path, tmp_path: Path) -> None:
    data = json.loads(minimal_path.read_text())
    del data["decision"]
    (tmp_path / "review.json").write_text(json.dumps(data))
    result = run("check", "--templates", str(TEST_TEMPLATES), str(tmp_path))
    assert result.returncode == 1
    assert "FAIL  decided: no decision recorded" in result.stdout


def test_check_json(minimal_path: Path) -> None:
    result = run("check", "--json", "--templates", str(TEST_TEMPLATES), str(minimal_path))
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert [g["id"] for g in report["gates"]][:2] == ["categories", "participants"]


def test_missing_file_is_one_line() -> None:
    result = run("check", "no/such/review.json")
    assert result.returncode == 2
    assert result.stderr == "error: no/such/review.json: no such file\n"


def test_new_then_check(tmp_path: Path) -> None:
    folder = tmp_path / "t2i-v3"
    created = run("new", str(folder), "--template", "text-to-image")
    assert created.returncode == 0, created.stderr
    assert (folder / "review.json").is_file()
    assert (folder / "release_review.ipynb").is_file()
    review = json.loads((folder / "review.json").read_text())
    assert review["template"]["id"] == "text-to-image"
    assert len(review["template"]["sha256"]) == 64
    checked = run("check", str(folder))
    assert checked.returncode == 1  # a fresh review has considered nothing yet
    assert "FAIL" in checked.stdout
    assert checked.stderr == ""
    again = run("new", str(folder))
    assert again.returncode == 2
    assert (
        again.stderr == f"error: {folder}: expected a new or empty folder; it already holds files\n"
    )


def test_new_with_an_unknown_template() -> None:
    result = run("new", "/tmp/never-made", "--template", "nope")
    assert result.returncode == 2
    assert result.stderr.startswith("error: template.id: unknown template 'nope'; expected one of:")
    assert not Path("/tmp/never-made").exists()


def test_templates_lists_builtin_and_local(tmp_path: Path) -> None:
    result = run("templates", env={"DELIBERATION_TEMPLATES": str(TEST_TEMPLATES)})
    ids = [line.split()[0] for line in result.stdout.splitlines()]
    assert {"release-review", "text-to-image", "nist-ai-rmf", "test-minimal"} <= set(ids)


def test_schema_matches_the_committed_file() -> None:
    result = run("schema")
    committed = (ROOT / "schema" / "review.schema.json").read_text()
    assert result.stdout == committed, "run `make schema` and commit the result"
    schema = json.loads(result.stdout)
    assert schema["properties"]["schema"]["const"] == "deliberation/review@1"
    assert {"id", "title", "subject", "template"} <= set(schema["required"])


def test_check_runs_the_probability_gates_on_the_example(tmp_path: Path) -> None:
    """The example's chosen API variant passes the 1% tail gate; open weights would not."""
    example = ROOT / "workbooks" / "example" / "review.json"
    passed = run("check", str(example))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    tail_line = next(line for line in passed.stdout.splitlines() if "P(extremely bad)" in line)
    assert tail_line.startswith("PASS  extreme-bad-at-most-1pct: api-preview-provenance:")
    data = json.loads(example.read_text())
    data["decision"]["variant"] = "open-weights"
    (tmp_path / "review.json").write_text(json.dumps(data))
    failed = run("check", str(tmp_path / "review.json"))
    assert failed.returncode == 1
    tail_line = next(line for line in failed.stdout.splitlines() if "P(extremely bad)" in line)
    assert tail_line.startswith("FAIL  extreme-bad-at-most-1pct: open-weights:")
