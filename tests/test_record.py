"""Export, record.json and record.html: real nbclient, real nbconvert, real files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from deliberation.errors import RecordError, RecordTampered, ReviewInvalid
from deliberation.record.archive import read_entries, verify_archive
from deliberation.record.build import (
    export,
    load_record,
    render_record,
    verify_record,
)

from .conftest import ROOT

EXAMPLE = ROOT / "workbooks" / "example"
CLOCK = "2026-11-28T12:00:00Z"


def fixed_clock() -> str:
    return CLOCK


# --------------------------------------------------------------------------- static scan

ALLOWED_META = {"content-security-policy"}
FORBIDDEN_TAGS = {"script", "iframe", "frame", "object", "embed", "link", "base", "form",
                  "applet", "img", "image", "video", "audio", "source", "foreignobject", "use",
                  "a", "animate", "set", "input", "button", "textarea", "template"}


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.csp = 0
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element")
        if tag == "style":
            self.in_style = True
        values = dict(attrs)
        if tag == "meta" and values.get("http-equiv") is not None:
            if str(values["http-equiv"]).lower() not in ALLOWED_META:
                self.problems.append(f"meta http-equiv={values['http-equiv']}")
            else:
                self.csp += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name} on <{tag}>")
            text = (value or "").strip().lower()
            if name in {"href", "src", "xlink:href", "action", "formaction", "srcset", "poster",
                        "data", "background"}:
                self.problems.append(f"{name}= on <{tag}>")
            if "url(" in text or "javascript:" in text or ("://" in text and name != "content"):
                self.problems.append(f"external reference in {name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style and re.search(r"url\(|@import|://", data):
            self.problems.append("external reference in <style>")


def static_problems(html: str) -> list[str]:
    """Everything in the page that could load, run or send something; [] when clean."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    problems = list(scanner.problems)
    if scanner.csp != 1:
        problems.append(f"{scanner.csp} Content-Security-Policy meta tags, expected 1")
    return problems


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One real export of the shipped example: nbclient runs the workbook in record mode."""
    archive = tmp_path_factory.mktemp("records") / "archive"
    messages: list[str] = []
    result = export(EXAMPLE, archive, clock=fixed_clock, progress=messages.append)
    return result, archive, messages


def test_export_publishes_the_record_files(exported: Any) -> None:
    result, archive, messages = exported
    folder = result.published.path
    assert folder == archive / "records" / "000001-lumen-v2-release"
    assert sorted(p.name for p in folder.iterdir()) == ["attestation.json", "record.html",
                                                        "record.json", "review.ipynb"]
    assert result.published.head == (archive / "HEAD").read_text().strip()
    assert any("executing the workbook" in m for m in messages)
    assert any(re.search(r"\[\d+/\d+\]", m) for m in messages)  # per-cell progress
    assert verify_archive(archive, anchor=result.published.head).notes == []


def test_record_html_rebuilds_byte_for_byte_from_record_json(exported: Any,
                                                            tmp_path: Path) -> None:
    folder = exported[0].published.path
    target = tmp_path / "again.html"
    run = subprocess.run(
        [sys.executable, "-m", "deliberation", "render", str(folder / "record.json"), "-o",
         str(target)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert target.read_bytes() == (folder / "record.html").read_bytes()
    assert render_record(load_record(folder)).encode() == (folder / "record.html").read_bytes()
    # Without -o, render writes beside record.json: refused inside the write-once archive.
    refused = subprocess.run([sys.executable, "-m", "deliberation", "render", str(folder)],
                             capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert "give -o FILE" in refused.stderr
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(folder / "record.json", loose / "record.json")
    beside = subprocess.run([sys.executable, "-m", "deliberation", "render",
                             str(loose / "record.json")], capture_output=True, text=True,
                            check=False)
    assert beside.returncode == 0, beside.stderr
    assert (loose / "record.html").read_bytes() == (folder / "record.html").read_bytes()


def test_record_json_holds_review_analysis_gates_template_seed_versions(exported: Any) -> None:
    folder = exported[0].published.path
    record = load_record(folder)
    review = json.loads((EXAMPLE / "review.json").read_text())
    assert record["review"]["id"] == review["id"]
    assert record["review"]["estimates"] == review["estimates"]
    assert record["created"] == CLOCK
    assert record["seed"] == 0
    assert record["samples"] == 20_000
    assert set(record["analysis"]["variants"]) == {v["id"] for v in review["variants"]}
    assert record["policy"]["gates"]
    assert all({"id", "status", "clause", "clause_text"} <= g.keys()
               for g in record["policy"]["gates"])
    template = record["template"]
    assert template["id"] == "text-to-image"
    from deliberation.review.template import Template

    assert Template.model_validate(template["definition"]).sha256() == template["sha256"]
    assert {"python", "deliberation", "numpy", "nbconvert"} <= record["versions"].keys()
    assert record["supersedes"] is None


def test_record_html_is_static_and_reads_decision_first(exported: Any) -> None:
    html = (exported[0].published.path / "record.html").read_text()
    assert static_problems(html) == []
    assert "default-src 'none'" in html
    for code in ("import deliberation", "wb.setup()", "jp-InputArea", "In&nbsp;["):
        assert code not in html  # no code cells
    order = [html.index(marker) for marker in (
        'id="decision-heading"', "In brief", 'id="policy-heading"', 'id="tradeoffs-heading"',
        'id="chart-tails"', 'id="register-heading"', 'id="mitigations-heading"',
        'id="setup-heading"', 'id="provenance-heading"')]
    assert order == sorted(order)
    assert html.count("<svg") == html.count("<figure class=\"chart\"") >= 3
    assert html.count("<title id=") == html.count("<desc id=") == html.count("<svg")
    assert "@media print" in html


def test_executed_workbook_shows_the_static_steps(exported: Any) -> None:
    notebook = json.loads((exported[0].published.path / "review.ipynb").read_text())
    html = "".join(
        "".join(output.get("data", {}).get("text/html", ""))
        for cell in notebook["cells"] for output in cell.get("outputs", [])
    )
    assert "application/vnd.jupyter.widget-view+json" not in json.dumps(notebook)
    for step in ("step-setup", "step-register", "step-mitigations", "step-tradeoffs",
                 "step-policy", "step-decision"):
        assert step in html
    errors = [o for c in notebook["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []


def test_same_review_seed_and_clock_give_the_same_bytes(exported: Any, tmp_path: Path) -> None:
    again = export(EXAMPLE, tmp_path / "archive", clock=fixed_clock)
    first = exported[0].published.path
    assert (again.published.path / "record.html").read_bytes() == (
        first / "record.html").read_bytes()
    assert (again.published.path / "record.json").read_bytes() == (
        first / "record.json").read_bytes()


def test_re_review_supersedes_and_verifies(exported: Any, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(exported[1], archive)
    review = tmp_path / "review"
    shutil.copytree(EXAMPLE, review)
    data = json.loads((review / "review.json").read_text())
    data["id"] = "lumen-v2-rereview"
    data["decision"]["conditions"].append("Quarterly re-estimation of the deepfake items.")
    (review / "review.json").write_text(json.dumps(data))
    second = export(review, archive, clock=lambda: "2026-12-01T09:00:00Z")
    record = load_record(second.published.path)
    first = read_entries(archive)[0]
    assert record["supersedes"] == {"record": "000001-lumen-v2-release", "seq": 1,
                                    "sha256": first.hash}
    assert record["created"] == "2026-12-01T09:00:00Z"
    html = (second.published.path / "record.html").read_text()
    assert "Supersedes record 000001-lumen-v2-release" in html
    verify_archive(archive, anchor=exported[0].published.head)  # the old anchor still holds


def test_verify_record_folder(exported: Any, tmp_path: Path) -> None:
    folder = exported[0].published.path
    notes = verify_record(folder)
    assert any("chain intact" in n for n in notes)
    assert any("byte for byte" in n for n in notes)
    loose = tmp_path / "000001-lumen-v2-release"
    shutil.copytree(folder, loose)
    assert any("not inside an archive" in n for n in verify_record(loose))
    html = loose / "record.html"
    html.chmod(0o644)
    html.write_text(html.read_text().replace("Approved with conditions", "Approved", 1))
    with pytest.raises(RecordTampered, match=r"does not match what record\.json renders"):
        verify_record(loose)
    run = subprocess.run([sys.executable, "-m", "deliberation", "verify", "--record", str(loose)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert "TAMPERED" in run.stderr


def test_export_of_an_invalid_review_publishes_nothing(tmp_path: Path) -> None:
    review = tmp_path / "review"
    review.mkdir()
    data = json.loads((EXAMPLE / "review.json").read_text())
    data["estimates"][0]["likelihood"] = [0.5, 0.1]
    (review / "review.json").write_text(json.dumps(data))
    with pytest.raises(ReviewInvalid, match=r"estimates\[0\]\.likelihood"):
        export(review, tmp_path / "archive")
    assert not (tmp_path / "archive").exists()
    run = subprocess.run([sys.executable, "-m", "deliberation", "export", str(review),
                          "--archive", str(tmp_path / "archive")],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "estimates[0].likelihood" in run.stderr


def test_a_workbook_that_fails_in_record_mode_publishes_nothing(tmp_path: Path) -> None:
    import nbformat

    review = tmp_path / "review"
    shutil.copytree(EXAMPLE, review)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from deliberation.record.mode import RecordMode\n"
            "assert RecordMode.from_env().samples == 20_000"),
        nbformat.v4.new_code_cell("raise RuntimeError('widget broke')"),
    ]
    nbformat.write(notebook, review / "release_review.ipynb")
    with pytest.raises(RecordError, match=r"in cell 2 of 2: RuntimeError: widget broke"):
        export(review, tmp_path / "archive")
    assert not (tmp_path / "archive" / "manifest.jsonl").exists()


def test_pdf_is_printed_by_chromium_and_archived(exported: Any, tmp_path: Path) -> None:
    result = export(EXAMPLE, tmp_path / "archive", clock=fixed_clock, pdf=True)
    pdf = result.published.path / "record.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 20_000
    assert "record.pdf" in read_entries(tmp_path / "archive")[0].files
    verify_archive(tmp_path / "archive")


def test_export_cli_prints_record_and_head(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "deliberation", "export", str(EXAMPLE),
                          "--archive", str(tmp_path / "archive")],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    head = (tmp_path / "archive" / "HEAD").read_text().strip()
    assert f"HEAD: {head}" in run.stdout
    assert "records/000001-lumen-v2-release/record.html" in run.stdout
    assert "[1/" in run.stderr  # progress while the workbook runs
