"""The README's examples stay true: its review file loads and checks against its template."""

from __future__ import annotations

from pathlib import Path

from deliberation.review.opening import open_review

from .conftest import ROOT


def test_the_readme_review_example_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A review in one file", 1)[1]
    example = section.split("```json", 1)[1].split("```", 1)[0]
    (tmp_path / "review.json").write_text(example, encoding="utf-8")
    review, template, _ = open_review(tmp_path)
    assert template.id == "release-review"
    assert [v.id for v in review.variants] == ["open", "monitored"]
