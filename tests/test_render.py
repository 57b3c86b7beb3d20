"""The static step fragments: escaped, deterministic, readable."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from deliberation.record import render
from deliberation.review.model import load_review, parse_review
from deliberation.review.templates import load_template

from .conftest import DATA, ROOT, TEST_TEMPLATES

PAYLOAD = '</script><script>alert("x")</script>{{7*7}}{% raw %}<img src=x onerror=alert(1)>'
ANALYSIS: dict[str, Any] = {
    "samples": 20000, "seed": 0, "extreme_bad": -5000, "extreme_good": 5000,
    "variants": {
        "open": {"mean": 4200.5, "mean_se": 30.1, "p5": -3000, "p50": 3900, "p95": 12000,
                 "p_extreme_bad": 0.041, "p_extreme_bad_se": 0.0014, "p_extreme_good": 0.35,
                 "p_extreme_good_se": 0.0034},
        "monitored": {"mean": 5100.5, "mean_se": 28.1, "p5": -1000, "p50": 4900, "p95": 12500,
                      "p_extreme_bad": 0.008, "p_extreme_bad_se": 0.0006,
                      "p_extreme_good": 0.41, "p_extreme_good_se": 0.0035},
    },
}
GATES = [{"id": "signoffs", "rule": "signoffs-from-roles", "status": "warn",
          "message": "no sign-off from the role legal", "clause": "GOVERN 2.1",
          "clause_text": "Roles are documented."}]


@pytest.fixture
def review() -> Any:
    return load_review(DATA / "good" / "minimal.json")


@pytest.fixture
def template() -> Any:
    return load_template("test-minimal", search=[TEST_TEMPLATES])


def poisoned(review: Any) -> Any:
    """The review with the payload in every free-text field."""
    data = json.loads(json.dumps(review.model_dump(mode="json", by_alias=True)))
    data["title"] = data["subject"]["name"] = data["subject"]["version"] = PAYLOAD
    data["horizon"] = PAYLOAD
    for person in data["participants"]:
        person["name"] = person["role"] = PAYLOAD
    for item in data["items"]:
        item["title"] = item["description"] = PAYLOAD
        item["references"] = [PAYLOAD]
    for estimate in data["estimates"]:
        estimate["rationale"] = PAYLOAD
    for mitigation in data["mitigations"]:
        mitigation["title"] = mitigation["description"] = PAYLOAD
    for variant in data["variants"]:
        variant["title"] = variant["description"] = PAYLOAD
    decision = data["decision"]
    decision["rationale"] = PAYLOAD
    decision["conditions"] = decision["dissent"] = [PAYLOAD]
    data["not_applicable"] = [{"category": PAYLOAD, "reason": PAYLOAD}]
    data["drivers"] = [{"id": "leak", "title": PAYLOAD, "description": PAYLOAD,
                        "items": ["tutoring", "phishing"], "strength": "strong"}]
    return parse_review(data)


def all_fragments(review: Any, template: Any, gates: Any = GATES) -> dict[str, str]:
    return {
        "setup": render.render_setup(review, template),
        "register": render.render_register(review, template),
        "mitigations": render.render_mitigations(review),
        "estimates": render.render_estimates(review, template),
        "tradeoffs": render.render_tradeoffs(review, ANALYSIS, template=template),
        "policy": render.render_policy(gates),
        "decision": render.render_decision(review, gates, ANALYSIS),
    }


def test_every_user_string_is_escaped(review: Any, template: Any) -> None:
    gates = [{**GATES[0], "message": PAYLOAD, "id": PAYLOAD, "clause_text": PAYLOAD}]
    for step, html in all_fragments(poisoned(review), template, gates).items():
        assert "<script" not in html, step
        assert "<img" not in html, step
        assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", ""), step
        assert "&lt;/script&gt;&lt;script&gt;alert(&#34;x&#34;)" in html, step
        assert "{{7*7}}{% raw %}" in html, step  # template syntax is text, never evaluated


def test_the_register_shows_the_shared_drivers(review: Any, template: Any) -> None:
    data = review.model_dump(mode="json", by_alias=True)
    assert "drivers-heading" not in render.render_register(review, template)
    data["drivers"] = [{"id": "leak", "title": "Weights leak", "description": "If they leak",
                        "items": ["phishing", "tutoring"], "strength": 0.45}]
    tied = parse_review(data)
    html = render.render_register(tied, template)
    assert html.count("Shares a driver: <span class=\"text\">Weights leak</span>") == 2
    row = re.search(r'<tr id="driver-leak">(.*?)</tr>', html)
    assert row is not None
    assert "Phishing emails at scale</span>; <span class=\"text\">Tutoring" in row.group(1)
    assert "<td>rank correlation 0.45</td>" in row.group(1)
    assert "If they leak" in row.group(1)
    # the benefits' step lists a driver that touches a benefit; one of harms only is not
    data["drivers"][0]["strength"] = "strong"
    data["items"] += [{"id": "spam", "kind": "harm", "title": "Spam"},
                      {"id": "fraud", "kind": "harm", "title": "Fraud"}]
    data["drivers"].append({"id": "scale", "title": "Scale", "items": ["fraud", "spam"],
                            "strength": "weak"})
    both = parse_review(data)
    benefits = render.render_register(both, template, kind="benefit")
    assert 'id="driver-leak"' in benefits
    assert 'id="driver-scale"' not in benefits
    harms = render.render_register(both, template, kind="harm")
    assert "strong (rank correlation 0.9)" in harms
    assert "weak (rank correlation 0.3)" in harms


def test_fragments_are_pure(review: Any, template: Any) -> None:
    assert all_fragments(review, template) == all_fragments(review, template)


def test_policy_fragment_exact(review: Any) -> None:
    assert render.render_policy(GATES) == (
        '<section class="step step-policy" aria-labelledby="policy-heading">\n'
        '<h2 id="policy-heading">Policy gates</h2>\n'
        '<p class="lead">0 passed, 0 failed, 1 warned. Each gate is a rule of the template, '
        "checked mechanically, with the clause of the standard it enforces.</p>\n"
        '<table class="grid gates">\n'
        '<thead><tr><th scope="col">Result</th><th scope="col">Gate</th><th scope="col">Finding'
        '</th><th scope="col">Clause enforced</th></tr></thead>\n'
        "<tbody>\n"
        '<tr class="gate-warn" data-gate="signoffs">'
        '<td><span class="status status-warn">WARN</span></td>'
        '<td class="text">signoffs</td><td class="text">no sign-off from the role legal</td>'
        '<td><span class="text strong">GOVERN 2.1</span><br><span class="text small">Roles are '
        "documented.</span></td></tr>\n"
        "</tbody>\n</table>\n</section>"
    )


def test_charts_have_titles_text_alternatives_and_sizes(review: Any, template: Any) -> None:
    from deliberation.engine.analysis import analyze

    analysis = analyze(review, template, samples=4000, seed=1).to_json()
    html = render.render_tradeoffs(review, analysis, template=template)
    svgs = re.findall(r"<svg [^>]*>", html)
    figures = re.findall(r'<figure class="chart" id="(chart-[a-z-]+)">', html)
    assert figures == ["chart-tails", "chart-net-value", "chart-mitigations", "chart-risk-matrix",
                       "chart-tornado", "chart-disagreement", "chart-information"]
    assert len(svgs) == len(figures)
    for tag, chart_id in zip(svgs, figures, strict=True):
        assert 'role="img"' in tag
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in tag
        assert re.search(r'width="\d+" height="\d+" viewBox="0 0 \d+ \d+"', tag)
    assert html.count("<title id=") == html.count("<desc id=") == len(figures)
    assert html.count('class="chart-alt"') == html.count('class="chart-title"') == len(figures)
    assert html.count('class="chart-caption"') == len(figures)
    # The text alternative states the numbers the chart draws, names in full.
    monitored = analysis["variants"]["monitored"]
    assert (f"API with abuse monitoring (chosen): {render.percent(monitored['p_extreme_good'])} "
            f"extremely good, {render.percent(monitored['p_extreme_bad'])} extremely bad") in html
    assert "Each mitigation on its own" in html
    assert "Abuse monitoring" in html
    # vl-convert's SVG, rewritten: no script, handler, link or namespace URL
    assert "<script" not in html
    assert "://" not in html
    assert "href" not in html
    assert not re.search(r"<[^>]+\son\w+=", html)
    assert render.render_tradeoffs(review, analysis, template=template) == html


def test_numbers_without_a_full_analysis_show_the_tables_only(review: Any,
                                                             template: Any) -> None:
    html = render.render_tradeoffs(review, ANALYSIS, template=template)
    assert "<svg" not in html
    assert "41.0%" in html


def test_chart_labels_carry_hostile_titles_as_text(review: Any, template: Any) -> None:
    from deliberation.engine.analysis import analyze

    bad = poisoned(review)
    analysis = analyze(bad, template, samples=2000, seed=1).to_json()
    html = render.render_tradeoffs(bad, analysis, template=template)
    assert html.count("<svg") >= 5
    assert "<script" not in html
    assert "<img" not in html
    assert not re.search(r"<[^>]+\son\w+=", html)
    assert "&lt;/script&gt;&lt;script&gt;alert(" in html  # in the SVG labels and the desc


def test_summary_reads_in_plain_language(review: Any, template: Any) -> None:
    sentences = render.summary_sentences(review, GATES, ANALYSIS, template=template)
    assert sentences[0] == ("The review of chat 1.0 approved the release, with conditions, "
                            "choosing the option “API with abuse monitoring”.")
    assert "0.800% chance of an extremely bad outcome" in sentences[1]
    assert "41.0% chance of an extremely good one within 12 months after release" in sentences[1]
    assert "“Open release”" in sentences[2]
    assert "4.10% and 35.0%" in sentences[2]
    assert sentences[3] == "0 of 1 policy check passed; 1 gave a warning (signoffs)."
    assert sentences[4] == ("The decision carries 1 condition and records no dissent, and was "
                            "signed off by Ana Ruiz (safety).")


def test_without_a_decision(review: Any, template: Any) -> None:
    undecided = review.model_copy(update={"decision": None})
    html = render.render_decision(undecided, [], ANALYSIS)
    assert "has not recorded a decision yet" in html
    assert "Sign-offs" not in html


def test_undecided_review_without_options(review: Any, template: Any) -> None:
    from deliberation.engine.analysis import analyze
    from deliberation.record.build import build_record, dumps_record, render_record

    bare = review.model_copy(update={"decision": None, "variants": []})
    analysis = analyze(bare, template, samples=2000, seed=0).to_json()
    assert list(analysis["variants"]) == ["baseline"]
    record = build_record(review=bare, template=template, analysis_json=analysis,
                          gate_results_json=[], seed=0, samples=2000,
                          created="2026-01-02T03:04:05Z")
    html = render_record(json.loads(dumps_record(record)))
    assert "has not recorded a decision yet" in html
    assert "the release has a" in html
    assert html.count("<svg") == html.count('<figure class="chart"') >= 4
    assert 'id="chart-tails"' in html
    assert 'id="chart-net-value"' in html
    assert "2 January 2026, 03:04 UTC" in html


def test_estimates_matrix(review: Any, template: Any) -> None:
    html = render.render_estimates(review, template)
    assert html.count("<tr>") == 1 + len(review.items)
    assert "round 1: 60% to 90% × 2,000 to 20,000" in html  # ana on tutoring
    assert '<span class="empty">none</span>' in html  # ben did not estimate tutoring


def test_register_by_kind(review: Any, template: Any) -> None:
    harms = render.render_register(review, template, kind="harm")
    assert "Phishing emails at scale" in harms
    assert "Tutoring for students" not in harms
    both = render.render_register(review, template)
    assert "Tutoring for students" in both
    assert "pilot schools" in both  # rationale shown
    assert "5% to 20%" in both
    assert "500 to 8,000" in both


@pytest.mark.parametrize(("value", "text"), [
    (0, "0%"), (0.0004, "0.0400%"), (0.0123, "1.23%"), (0.9995, ">99.9%"), (1, "100%"),
    (float("nan"), "n/a"), (None, "n/a"),
])
def test_percent(value: Any, text: str) -> None:
    assert render.percent(value) == text


@pytest.mark.parametrize(("value", "kind", "text"), [
    ("likely", "likelihood", "likely"), ((0.05, 0.2), "likelihood", "5% to 20%"),
    (0.1, "likelihood", "10%"), ((50, 2000), "impact", "50 to 2,000"),
    ((0.3, 0.6), "factor", "×0.3 to ×0.6"), (1, "factor", "×1"), ((7, 7), "impact", "7"),
])
def test_quantity(value: Any, kind: str, text: str) -> None:
    assert render.quantity(value, kind) == text


def test_points_use_a_true_minus() -> None:
    assert render.points(-5000) == "−5,000"
    assert render.signed_points(5000) == "+5,000"
    assert render.points(-0.2) == "−0.200"  # small, never a signless "0"
    assert render.points(-0.0) == "0"


def test_example_renders_every_step() -> None:
    from deliberation.engine.analysis import analyze
    from deliberation.review.opening import open_review
    from deliberation.review.policy import evaluate_policy

    review, template, _ = open_review(ROOT / "workbooks" / "example")
    analysis = analyze(review, template, samples=2000, seed=0)
    gates = [g.to_json() for g in evaluate_policy(review, template, analysis)]
    html = render.render_tradeoffs(review, analysis.to_json(), template=template)
    assert "What the chosen mitigations changed" in html
    assert all(v.title in html for v in review.variants)
    decision = render.render_decision(review, gates, analysis.to_json(), template=template)
    for condition in review.decision.conditions:
        assert str(render.escape_text(condition)) in decision
