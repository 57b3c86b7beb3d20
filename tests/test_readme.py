"""The README's examples stay true: its review file loads and checks against its template."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


README_COMMANDS = ("check", "report")  # read-only, on committed files, location-independent


def _blocks() -> list[tuple[str, list[str]]]:
    """Each README block that runs ``deliberation`` on the repository's own files."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in readme.split("```")[1::2]:
        lines = block.splitlines()
        commands = [i for i, line in enumerate(lines) if line.startswith("$ deliberation ")]
        if len(commands) != 1:
            continue
        command = lines[commands[0]][2:].split("#")[0].split()
        if command[1] in README_COMMANDS:
            found.append((" ".join(command), lines[commands[0] + 1:]))
    return found


@pytest.mark.parametrize(("command", "shown"), _blocks(), ids=lambda value: str(value)[:60])
def test_the_readme_shows_what_its_commands_print(command: str, shown: list[str]) -> None:
    """Every line the README shows is printed, in that order ("..." elides lines)."""
    result = subprocess.run([sys.executable, "-m", "deliberation", *command.split()[1:]],
                            capture_output=True, text=True, cwd=ROOT, check=False,
                            env={**os.environ, "COLUMNS": "200"})
    printed = (result.stdout + result.stderr).splitlines()
    position = 0
    for line in (line for line in shown if line.strip() and line.strip() != "..."):
        assert line in printed[position:], f"{command}: not printed (in order): {line!r}"
        position = printed.index(line, position) + 1
