"""Export computes once: the record's numbers and the executed notebook's are one analysis's,
each chart is drawn once (in the exporter), and jsonschema's IRI grammar waits for an IRI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deliberation.errors import RecordError
from deliberation.record.build import export, load_record, render_record, step_fragments
from deliberation.record.mode import STEP_FRAGMENTS, RecordMode
from deliberation.workbook.static import load_fragments

from .conftest import ROOT

EXAMPLE = ROOT / "workbooks" / "example"
WORKBOOK = ROOT / "workbooks" / "release_review.ipynb"
# Appended to a copy of the workbook: what the kernel imported while showing every step.
PROBE = ('import sys\nprint(json.dumps(sorted(m for m in ("altair", "vl_convert", '
         '"jsonschema", "deliberation.engine.analysis") if m in sys.modules)))')
CELL_FRAGMENT = {"wb.setup()": "setup", "wb.benefits()": "register",
                 "wb.mitigations()": "mitigations", "wb.tradeoffs()": "tradeoffs",
                 "wb.policy()": "policy", "wb.decision()": "decision"}


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example exported with a copy of the workbook that ends by listing the kernel's
    heavy imports."""
    import nbformat

    folder = tmp_path_factory.mktemp("once")
    review = folder / "review"
    shutil.copytree(EXAMPLE, review)
    notebook = nbformat.read(WORKBOOK, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import json\n" + PROBE))
    nbformat.write(notebook, review / "release_review.ipynb")
    result = export(review, folder / "archive", clock=lambda: "2026-12-03T07:00:00Z")
    executed = json.loads((result.path / "review.ipynb").read_text(encoding="utf-8"))
    return result, executed


def _cell_html(executed: dict[str, Any]) -> dict[str, str]:
    shown = {}
    for cell in executed["cells"]:
        source = "".join(cell["source"]).strip()
        if source in CELL_FRAGMENT:
            outputs = [o for o in cell["outputs"] if "text/html" in o.get("data", {})]
            assert len(outputs) == 1, source
            shown[CELL_FRAGMENT[source]] = "".join(outputs[0]["data"]["text/html"])
    return shown


def test_the_notebook_shows_the_sections_record_json_renders_to(probed: Any) -> None:
    result, executed = probed
    record = load_record(result.path)
    fresh = step_fragments(record)  # rendered anew here, from record.json's bytes
    shown = _cell_html(executed)
    assert sorted(shown) == sorted(STEP_FRAGMENTS)
    page = (result.path / "record.html").read_text(encoding="utf-8")
    for step in STEP_FRAGMENTS:
        assert shown[step] == fresh[step], step
        assert fresh[step] in page, step
    assert shown["tradeoffs"].count("<svg") >= 3


def test_the_notebooks_numbers_are_a_fresh_analysis_of_the_review(probed: Any) -> None:
    """Independently of the exporter: analyse the review here with the record's seed and
    samples; the notebook's trade-offs and decision are what that analysis renders to, as
    record.json holds it (sorted keys: the options in id order, as record.html shows them;
    the kernel used to show them in the review's order)."""
    from deliberation.engine.analysis import analyze
    from deliberation.record import render
    from deliberation.review.opening import open_review
    from deliberation.review.policy import evaluate_policy

    result, executed = probed
    record = load_record(result.path)
    review, template, _ = open_review(EXAMPLE)
    analysis = analyze(review, template, samples=record["samples"], seed=record["seed"])
    analysis_json = json.loads(json.dumps(analysis.to_json(), sort_keys=True))
    gates = [g.to_json() for g in evaluate_policy(review, template, analysis)]
    assert analysis_json == record["analysis"]
    assert gates == record["policy"]["gates"]
    shown = _cell_html(executed)
    assert shown["tradeoffs"] == render.render_tradeoffs(review, analysis_json,
                                                         template=template)
    assert shown["policy"] == render.render_policy(gates)
    assert shown["decision"] == render.render_decision(review, gates, analysis_json,
                                                       template=template)


def test_the_kernel_neither_analyses_nor_draws(probed: Any) -> None:
    _, executed = probed
    probe = executed["cells"][-1]
    printed = "".join("".join(o["text"]) for o in probe["outputs"] if o["output_type"] == "stream")
    assert json.loads(printed) == []


def test_record_html_still_re_renders_from_record_json_alone(probed: Any) -> None:
    result, _ = probed
    record = load_record(result.path)
    assert render_record(record).encode("utf-8") == (result.path / "record.html").read_bytes()


def test_record_mode_carries_the_fragments_file(tmp_path: Path) -> None:
    mode = RecordMode(review=tmp_path / "review.json", seed=3, samples=500,
                      fragments=tmp_path / "fragments.json")
    assert RecordMode.from_env(mode.to_env()) == mode
    plain = RecordMode(review=tmp_path / "review.json", seed=3, samples=500)
    assert RecordMode.from_env(plain.to_env()) == plain


def test_a_fragments_file_without_a_step_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "fragments.json"
    path.write_text(json.dumps({step: "<p>x</p>" for step in STEP_FRAGMENTS if step != "policy"}))
    with pytest.raises(RecordError, match="policy") as caught:
        load_fragments(path)
    assert "fragments.json" in str(caught.value)
    path.write_text("[]")
    with pytest.raises(RecordError, match="expected an object"):
        load_fragments(path)


IRI_CHECK = """
import json, sys
{before}
assert "rfc3987_syntax" not in sys.modules or {eager}
import jsonschema
checker = jsonschema.Draft7Validator.FORMAT_CHECKER
loaded = "rfc3987_syntax" in sys.modules
print(json.dumps({{"loaded_at_import": loaded, "formats": sorted(checker.checkers),
    "valid": [checker.conforms(v, f) for v, f in (("http://example.org/\\u00fcber", "iri"),
              ("http://exa mple.org/", "iri"), ("#frag", "iri-reference"),
              ("http://[x", "iri-reference"))],
    "real": hasattr(sys.modules["rfc3987_syntax"], "parse")}}))
"""


def _iri_check(before: str, *, eager: bool) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", IRI_CHECK.format(before=before, eager=eager)],
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_the_iri_grammar_is_deferred_not_dropped() -> None:
    deferred = _iri_check("from deliberation.record.quick_import import defer_iri_grammar\n"
                          "defer_iri_grammar()", eager=False)
    plain = _iri_check("", eager=True)
    assert plain["loaded_at_import"] is True
    assert deferred["loaded_at_import"] is False
    assert "iri" in deferred["formats"]
    assert deferred["formats"] == plain["formats"]
    assert deferred["valid"] == plain["valid"] == [True, False, True, False]
    assert deferred["real"] is True  # the module loaded on first use is the real one
