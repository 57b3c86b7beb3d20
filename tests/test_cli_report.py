"""`deliberation report` on a three-variant review: text, JSON contract, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deliberation.review.model import save_review

from .conftest import ROOT, TEST_TEMPLATES
from .test_analysis import three_variants

CONTRACT = {
    "mean", "mean_se", "p5", "p50", "p95", "p_extreme_bad", "p_extreme_bad_se",
    "p_extreme_good", "p_extreme_good_se",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deliberation", *args], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "DELIBERATION_TEMPLATES": str(TEST_TEMPLATES)}, check=False,
    )


@pytest.fixture
def review_dir(tmp_path: Path) -> Path:
    save_review(three_variants(), tmp_path / "review.json")
    return tmp_path


def test_report_prints_a_sentence_per_variant(review_dir: Path) -> None:
    result = run("report", str(review_dir), "--samples", "2000")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "A review built in code"
    assert [line.split(":")[0] for line in lines[2:5]] == [
        "Variant open", "Variant filtered", "Variant api",
    ]
    assert "2,000 samples, seed 0, linear pool" in result.stdout
    assert "Items nobody estimated (left out of the sums): ghost" in result.stdout
    assert result.stderr == ""  # a short run shows no progress bar


def test_report_json_follows_the_contract(review_dir: Path) -> None:
    result = run("report", str(review_dir / "review.json"), "--samples", "3000", "--seed", "7",
                 "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["samples"] == 3000
    assert data["seed"] == 7
    assert list(data["variants"]) == ["open", "filtered", "api"]
    for summary in data["variants"].values():
        assert set(summary) >= CONTRACT
    again = json.loads(run("report", str(review_dir), "--samples", "3000", "--seed", "7",
                           "--json").stdout)
    assert again == data


def test_report_geometric_pool_changes_the_numbers(review_dir: Path) -> None:
    linear = json.loads(run("report", str(review_dir), "--samples", "2000", "--json").stdout)
    geometric = json.loads(run("report", str(review_dir), "--samples", "2000", "--json",
                               "--pool", "geometric").stdout)
    assert geometric["pool"] == "geometric"
    assert geometric["variants"]["open"]["mean"] != linear["variants"]["open"]["mean"]


def test_report_on_bad_input_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "review.json").write_text('{"schema": "deliberation/review@1", "id": "x"}')
    result = run("report", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_report_on_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run("report", str(tmp_path / "nowhere.json"))
    assert result.returncode == 2
    assert "no such file" in result.stderr
