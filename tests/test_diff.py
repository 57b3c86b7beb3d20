"""deliberation diff: between two reviews, two records, or one of each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deliberation.record.diff import diff_reviews, format_diff, load_side

from .conftest import ROOT

EXAMPLE = ROOT / "workbooks" / "example"


def changed_review(tmp_path: Path) -> Path:
    """The example with one item added, one removed, an estimate moved and a new decision."""
    data = json.loads((EXAMPLE / "review.json").read_text())
    removed = next(i for i in data["items"] if i["kind"] == "benefit")
    data["items"] = [i for i in data["items"] if i["id"] != removed["id"]]
    data["estimates"] = [e for e in data["estimates"] if e["item"] != removed["id"]]
    harm_category = next(i["category"] for i in data["items"] if i["kind"] == "harm")
    data["items"].append({"id": "voice-clones", "kind": "harm", "title": "Voice clone scams",
                          "category": harm_category})
    data["estimates"].append({"item": "voice-clones", "participant": "ana",
                              "likelihood": [0.1, 0.3], "impact": [100, 1000]})
    moved = next(e for e in data["estimates"] if e["item"] != "voice-clones")
    moved["likelihood"] = [0.5, 0.9]
    data["decision"]["outcome"] = "defer"
    data["decision"]["variant"] = "open-weights"
    data["decision"]["conditions"] = data["decision"]["conditions"][1:]
    folder = tmp_path / "changed"
    folder.mkdir()
    (folder / "review.json").write_text(json.dumps(data))
    return folder


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("diff")
    folder = changed_review(tmp)
    return (load_side(EXAMPLE, samples=5000), load_side(folder, samples=5000),
            json.loads((folder / "review.json").read_text()))


def test_items_estimates_and_decision(sides: Any) -> None:
    old, new, _data = sides
    result = diff_reviews(old, new)
    original = json.loads((EXAMPLE / "review.json").read_text())
    removed = next(i for i in original["items"] if i["kind"] == "benefit")
    assert [(c.kind, c.key) for c in result.section("items")] == [
        ("added", "voice-clones"), ("removed", removed["id"])]
    estimates = {(c.kind, c.key) for c in result.section("estimates")}
    assert ("added", "voice-clones / ana") in estimates
    assert any(kind == "removed" and key.startswith(removed["id"]) for kind, key in estimates)
    changed = [c for c in result.section("estimates") if c.kind == "changed"]
    assert len(changed) == 1
    assert "likelihood" in changed[0].detail
    assert "50% to 90%" in changed[0].detail
    decision = {(c.kind, c.key): c.detail for c in result.section("decision")}
    assert decision[("changed", "outcome")] == "approve-with-conditions → defer"
    assert decision[("changed", "chosen option")] == "api-preview-provenance → open-weights"
    assert ("removed", "condition") in decision
    assert result.section("participants") == []


def test_tails_come_from_the_analysis(sides: Any) -> None:
    old, new, _ = sides
    result = diff_reviews(old, new)
    tails = {t.variant: t for t in result.tails}
    assert set(tails) == set(old.analysis["variants"])
    for variant, tail in tails.items():
        assert tail.old is not None
        assert tail.new is not None
        assert tail.old["p_extreme_bad"] == old.analysis["variants"][variant]["p_extreme_bad"]
        assert tail.new["p_extreme_bad"] == new.analysis["variants"][variant]["p_extreme_bad"]
    # The new harm moves the tails of every option.
    assert any(t.old != t.new for t in tails.values())
    text = format_diff(result)
    assert "Tails per release option" in text
    assert "  + voice-clones: harm: Voice clone scams" in text


def test_identical_reviews_have_no_changes() -> None:
    side = load_side(EXAMPLE, samples=2000)
    result = diff_reviews(side, side)
    assert result.changes == []
    assert all(t.old == t.new for t in result.tails)


def test_records_use_the_stored_analysis(tmp_path: Path) -> None:
    from deliberation.record.build import export

    first = export(EXAMPLE, tmp_path / "archive", samples=2000)
    second = export(changed_review(tmp_path), tmp_path / "archive", samples=2000)
    run = subprocess.run(
        [sys.executable, "-m", "deliberation", "diff", str(first.published.path),
         str(second.published.path / "record.json"), "--json"],
        capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    stored = json.loads((second.published.path / "record.json").read_text())["analysis"]
    tails = {t["variant"]: t for t in data["tails"]}
    assert tails["open-weights"]["new"]["p_extreme_bad"] == (
        stored["variants"]["open-weights"]["p_extreme_bad"])
    assert any(c["section"] == "decision" for c in data["changes"])
    text = subprocess.run(
        [sys.executable, "-m", "deliberation", "diff", str(EXAMPLE),
         str(second.published.path)], capture_output=True, text=True, check=False)
    assert text.returncode == 0
    assert "outcome: approve-with-conditions → defer" in text.stdout


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "review.json").write_text("{")
    run = subprocess.run([sys.executable, "-m", "deliberation", "diff", str(tmp_path),
                          str(EXAMPLE)], capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "review.json" in run.stderr


def test_shared_drivers_added_changed_and_removed() -> None:
    from deliberation.record.diff import Side
    from deliberation.review.model import review_to_data

    data = json.loads((EXAMPLE / "review.json").read_text())
    harms = [i["id"] for i in data["items"] if i["kind"] == "harm"]
    base = parse(data)
    data["drivers"] = [{"id": "leak", "title": "Weights leak", "items": harms[:2],
                        "strength": "strong"}]
    tied = parse(data)
    data["drivers"][0]["strength"] = 0.5
    weaker = parse(data)
    sides = [Side(label, review, {}, "review") for label, review in
             (("a", base), ("b", tied), ("c", weaker))]
    added = diff_reviews(sides[0], sides[1])
    assert [(c.kind, c.key, c.detail) for c in added.section("drivers")] == [
        ("added", "leak", f"Weights leak: {', '.join(harms[:2])} (strong (rank correlation 0.9))")]
    changed = diff_reviews(sides[1], sides[2]).section("drivers")
    assert [(c.kind, c.detail) for c in changed] == [("changed", "strength 'strong' → 0.5")]
    removed = diff_reviews(sides[2], sides[0])
    assert [c.kind for c in removed.section("drivers")] == ["removed"]
    assert "Shared drivers: 1 change" in format_diff(removed)
    assert "Shared drivers: no change" in format_diff(diff_reviews(sides[0], sides[0]))
    assert review_to_data(tied)["drivers"][0]["items"] == harms[:2]


def parse(data: dict[str, Any]) -> Any:
    from deliberation.review.model import parse_review

    return parse_review(json.loads(json.dumps(data)))
