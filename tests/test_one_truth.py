"""One rule, one place: the surfaces that show the same thing agree on it.

``report`` and ``check`` decide every gate alike; the CLI report, the workbook's
tradeoffs step and the record write each variant's P(extremely bad) with the same
digits; the public front resolves every name to one object in any order.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deliberation.cli import main

from .conftest import DATA, ROOT, TEST_TEMPLATES

REVIEWS = [DATA / "good" / "minimal.json", ROOT / "workbooks" / "example" / "review.json"]
LINE = re.compile(r"^\s*(PASS|FAIL|WARN)\s+([a-z0-9-]+): (.*?)(?:\s+\[[^\]]*\])?$")


def _gates(output: str) -> dict[str, tuple[str, str]]:
    return {m[2]: (m[1], m[3]) for line in output.splitlines() if (m := LINE.match(line))}


def _without_decision(path: Path, tmp_path: Path) -> Path:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("decision", None)
    target = tmp_path / "review.json"
    target.write_text(json.dumps(data), encoding="utf-8")
    return target


@pytest.mark.parametrize("decided", [True, False], ids=["decided", "undecided"])
@pytest.mark.parametrize("path", REVIEWS, ids=lambda p: p.parent.name + "/" + p.name)
def test_report_and_check_agree_on_every_gate(path: Path, decided: bool,
                                              tmp_path: Path) -> None:
    review = path if decided else _without_decision(path, tmp_path)
    runner = CliRunner()
    options = ["--templates", str(TEST_TEMPLATES)]
    checked = runner.invoke(main, ["check", *options, str(review)])
    reported = runner.invoke(main, ["report", *options, str(review)])
    assert reported.exit_code == 0, reported.output
    assert checked.exit_code in {0, 1}, checked.output
    check_gates, report_gates = _gates(checked.output), _gates(reported.output)
    assert check_gates, checked.output
    assert report_gates == check_gates


def test_the_example_undecided_reads_its_gates_for_the_preferred_option(tmp_path: Path) -> None:
    review = _without_decision(REVIEWS[1], tmp_path)
    output = CliRunner().invoke(main, ["check", str(review)]).output
    _status, message = _gates(output)["extreme-bad-at-most-1pct"]
    assert "(preferred; no decision)" in message


def _digits(text: str, title: str) -> str:
    """The P(extremely bad) written in the row of variant ``title`` of an HTML table."""
    plain = re.sub(r"<[^>]+>", " ", text)
    row = plain[plain.index(title):]
    return re.findall(r"\d[\d.]*% \(95%: [^)]*\)|below [\d.]+% \(95%\)", row)


def test_p_extreme_bad_has_the_same_digits_in_cli_workbook_and_record(tmp_path: Path) -> None:
    from deliberation.engine.analysis import analyze
    from deliberation.numbers import probability
    from deliberation.record.render import render_tradeoffs
    from deliberation.review.opening import open_review
    from deliberation.workbook.workbook import Workbook

    path = tmp_path / "review.json"  # a copy: a workbook opens a store beside its review
    path.write_bytes(REVIEWS[1].read_bytes())
    review, template, _ = open_review(path)
    analysis = analyze(review, template, samples=20_000, seed=0)
    cli = CliRunner().invoke(main, ["report", str(path)]).output
    record = render_tradeoffs(review, analysis.to_json(), template=template)
    step = Workbook.open(path, debounce=0).tradeoffs()
    numbers = next(w for w in _walk(step) if "dl-tradeoff-numbers" in w._dom_classes).value
    for variant in analysis.variants.values():
        written = probability(variant.p_extreme_bad, variant.p_extreme_bad_low,
                              variant.p_extreme_bad_high)
        sentence = next(line for line in cli.splitlines() if line.startswith(variant.title))
        assert f"{variant.title}: {written} chance of an extremely bad outcome" == \
            sentence.split(" chance")[0] + " chance of an extremely bad outcome"
        assert written in _digits(record, variant.title)
        assert written in _digits(numbers, variant.title)


def _walk(widget: object) -> list[object]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _walk(child)
    return found


PUBLIC_SCRIPT = """
import random, sys
import deliberation as dl
order = list(dl.__all__)
random.Random(int(sys.argv[1])).shuffle(order)
first = {}
for name in order:
    value = getattr(dl, name)
    if name[0].islower():
        assert callable(value), (name, value)
    first[name] = value
for name in order:
    assert getattr(dl, name) is first[name], name
    assert not isinstance(getattr(dl, name), type(sys)), name  # never a submodule
print(len(order))
"""


@pytest.mark.parametrize("seed", range(5))
def test_public_names_resolve_to_one_object_in_any_order(seed: int) -> None:
    import deliberation as dl

    result = subprocess.run([sys.executable, "-c", PUBLIC_SCRIPT, str(seed)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(dl.__all__)


def test_touching_a_submodule_first_does_not_shadow_a_function() -> None:
    code = ("import deliberation as dl, deliberation.engine.simulate, "
            "deliberation.engine.analysis; assert callable(dl.simulate) and callable(dl.analyze)")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def own_template_review(tmp_path: Path) -> Path:
    """A review folder whose template exists only in its own templates/ folder."""
    folder = tmp_path / "review"
    (folder / "templates").mkdir(parents=True)
    (folder / "templates" / "test-minimal.yaml").write_bytes(
        (TEST_TEMPLATES / "test-minimal.yaml").read_bytes())
    (folder / "review.json").write_bytes((DATA / "good" / "minimal.json").read_bytes())
    return folder


def test_a_folder_template_opens_in_check_and_report(own_template_review: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(main, ["check", str(own_template_review)])
    assert checked.exit_code == 0, checked.output
    assert "6 gates" in checked.output
    reported = runner.invoke(main, ["report", str(own_template_review), "--samples", "500"])
    assert reported.exit_code == 0, reported.output


def test_a_folder_template_opens_in_the_workbook(own_template_review: Path) -> None:
    from deliberation.workbook.workbook import Workbook

    wb = Workbook.open(own_template_review, debounce=0)
    assert wb.session.template.id == "test-minimal"
    assert wb.tradeoffs() is not None


@pytest.mark.slow
def test_a_folder_template_opens_in_the_exported_kernel(own_template_review: Path,
                                                        tmp_path: Path) -> None:
    from deliberation.record.build import export

    result = export(own_template_review, tmp_path / "archive", samples=500)
    record = json.loads((result.path / "record.json").read_text(encoding="utf-8"))
    assert record["template"]["id"] == "test-minimal"
