"""Cross-site scripting: hostile text in every free-text field, rendered and opened in Chromium.

The payloadbox corpus (tests/data/xss/xss-payloads.txt, MIT, see its README) plus our
own breakouts go into reviews; their records must open with no dialog, no request,
no CSP violation (nothing even tried to run), no element we did not write, and
show every payload back as the text that was typed.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from deliberation.engine.analysis import analyze
from deliberation.record.build import (
    build_record,
    dumps_record,
    export,
    render_record,
)
from deliberation.review.model import load_review, parse_review
from deliberation.review.opening import open_review
from deliberation.review.policy import evaluate_policy
from deliberation.review.template import Template
from deliberation.review.templates import load_template

from ..conftest import DATA, ROOT, TEST_TEMPLATES
from ..test_record import static_problems
from .test_record_page import Watched

CORPUS = DATA / "xss" / "xss-payloads.txt"
OWN = [
    "</script><script>alert('own-1')</script>",
    "</SCRIPT ><script>alert(2)</script >",
    "</style><script>alert(3)</script>",
    "</title><script>alert(4)</script>",
    "</textarea><script>alert(5)</script>",
    "<svg><script>alert(6)</script></svg>",
    "</text></svg><svg onload=alert(7)>",
    "]]><script>alert(8)</script>",
    "<!-- <script>alert(9)</script> -->",
    "-->",
    "<![CDATA[<script>alert(10)</script>]]>",
    "{{7*7}}",
    "{{ config.items() }}",
    "{% raw %}",
    "{% endraw %}{{ 7*7 }}",
    "{# comment #}",
    "${alert(11)}",
    "javascript:alert(12)",
    '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/">',
    '<base href="http://127.0.0.1:9/">',
    "<link rel=stylesheet href=//127.0.0.1:9/x.css>",
    "<style>@import '//127.0.0.1:9/x.css';</style>",
    "<img src=//127.0.0.1:9/1.png>",
    '<a href="javascript:alert(13)">click</a>',
    "\u2028\u2029<script>alert(14)</script>",
    "&lt;script&gt;alert(15)&lt;/script&gt;",
    "&#60;script&#62;alert(16)&#60;/script&#62;",
    '" onmouseover="alert(17)',
    "' onfocus='alert(18)' autofocus='",
]


def load_payloads() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").split("\n")
    payloads = [line.removesuffix("\r") for line in lines if line.strip()]
    assert len(payloads) >= 700
    return [*payloads, *OWN]


PAYLOADS = load_payloads()
CHUNK = 90


def poisoned_review(chunk: list[str]) -> Any:
    """A valid review whose every free-text field holds payloads from ``chunk``."""
    base = load_review(DATA / "good" / "minimal.json").model_dump(mode="json", by_alias=True)
    data = json.loads(json.dumps(base))
    pick = iter(chunk * 8).__next__

    def line() -> str:
        # Single-line fields refuse control characters at validation (a payload with a
        # tab never reaches the page there); they get the payload with spaces instead,
        # and the multi-line fields get it as it is.
        return re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", pick())

    data["title"], data["horizon"] = line(), line()
    data["subject"] = {"name": line(), "version": line()}
    data["participants"] = [{"id": f"p{n}", "name": line(), "role": line()} for n in range(3)]
    items, estimates = [], []
    for n, payload in enumerate(chunk):
        kind = "harm" if n % 2 else "benefit"
        title = re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", payload)
        items.append({"id": f"i{n}", "kind": kind, "title": title, "description": pick(),
                      "references": [line()]})
        estimates.append({"item": f"i{n}", "participant": f"p{n % 3}",
                          "likelihood": [0.1, 0.5], "impact": [10, 1000 + n],
                          "rationale": pick()})
    data["items"], data["estimates"] = items, estimates
    data["mitigations"] = [{"id": "m0", "title": line(), "description": pick(),
                            "targets": ["i1"], "likelihood_factor": [0.3, 0.6],
                            "owner": "p0", "status": "planned"}]
    data["variants"] = [{"id": "v0", "title": line(), "description": pick(), "mitigations": []},
                        {"id": "v1", "title": line(), "description": pick(),
                         "mitigations": ["m0"]}]
    data["decision"] = {"outcome": "approve-with-conditions", "variant": "v1",
                        "rationale": "\n".join(chunk[:5]), "conditions": chunk[:30],
                        "dissent": chunk[30:60],
                        "signoffs": [{"participant": "p1", "at": "2026-11-28T10:00:00Z"}]}
    data["not_applicable"] = [{"category": line(), "reason": pick()}]
    return parse_review(data)


def poisoned_record(chunk: list[str]) -> bytes:
    review = poisoned_review(chunk)
    template = load_template("test-minimal", search=[TEST_TEMPLATES])
    definition = template.model_dump(mode="json")
    definition["title"] = chunk[0]
    definition["clauses"] = [{"id": c["id"], "text": chunk[-1]} for c in definition["clauses"]]
    template = Template.model_validate(definition)
    analysis = analyze(review, template, samples=2000, seed=0)
    gates = [{**g.to_json(), "message": chunk[n % len(chunk)]}
             for n, g in enumerate(evaluate_policy(review, template, analysis))]
    record = build_record(review=review, template=template, analysis_json=analysis.to_json(),
                          gate_results_json=gates, seed=0, samples=2000,
                          created="2026-11-28T12:00:00Z")
    record["record"] = chunk[1]  # even the record name, should a record.json be forged
    return render_record(json.loads(dumps_record(record))).encode()


def check_page(page: Any, html_path: Path, chunk: list[str]) -> None:
    watcher = Watched(page, html_path.as_uri())
    watcher.open()
    watcher.assert_quiet()
    assert page.evaluate("document.querySelectorAll('script, iframe, object, embed, img, "
                         "link, base, form, a').length") == 0
    assert page.evaluate("[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
                         ".some(a => a.name.startsWith('on'))).length") == 0
    text = page.evaluate("document.body.textContent")
    inner = page.evaluate("document.body.innerText")
    missing = [p for p in chunk if p not in text]
    assert missing == []  # every payload shown back exactly as typed
    # innerText (what a reader sees and copies) keeps each payload too; the fields are
    # white-space: pre-wrap, so only line-separator characters may be normalised.
    normalise = str.maketrans({"\u2028": "\n", "\u2029": "\n", "\r": "\n"})
    unseen = [p for p in chunk if p.strip().translate(normalise) not in inner.translate(
        normalise)]
    assert unseen == []


@pytest.mark.parametrize("start", range(0, len(PAYLOADS), CHUNK))
def test_payloads_in_every_field_stay_text(page: Any, tmp_path: Path, start: int) -> None:
    chunk = PAYLOADS[start:start + CHUNK]
    html = poisoned_record(chunk)
    assert static_problems(html.decode()) == []
    path = tmp_path / "record.html"
    path.write_bytes(html)
    check_page(page, path, chunk)


def test_a_real_export_with_payloads(page: Any, tmp_path: Path) -> None:
    """Through nbclient, the workbook's record mode, nbconvert and the archive."""
    review = tmp_path / "review"
    shutil.copytree(ROOT / "workbooks" / "example", review)
    data = json.loads((review / "review.json").read_text())
    chosen = [*OWN, *PAYLOADS[:40:3]]
    pick = iter(chosen * 20).__next__
    data["title"], data["horizon"] = pick(), pick()
    data["subject"]["name"], data["subject"]["version"] = pick(), pick()
    for person in data["participants"]:
        person["name"] = pick()
    for item in data["items"]:
        item["title"], item["description"] = pick(), pick()
    for estimate in data["estimates"]:
        estimate["rationale"] = pick()
    for mitigation in data["mitigations"]:
        mitigation["title"], mitigation["description"] = pick(), pick()
    for variant in data["variants"]:
        variant["title"], variant["description"] = pick(), pick()
    data["decision"]["rationale"] = pick()
    data["decision"]["conditions"] = chosen[:15]
    data["decision"]["dissent"] = chosen[15:30]
    (review / "review.json").write_text(json.dumps(data, ensure_ascii=False))
    open_review(review)  # still a valid review
    result = export(review, tmp_path / "archive")
    html = result.html.read_text()
    assert static_problems(html) == []
    check_page(page, result.html, chosen)
    notebook = json.loads((result.published.path / "review.ipynb").read_text())
    outputs = "".join("".join(o.get("data", {}).get("text/html", ""))
                      for c in notebook["cells"] for o in c.get("outputs", []))
    assert [p for p in static_problems(outputs) if "Content-Security-Policy" not in p] == []
