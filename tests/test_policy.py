"""Policy gates without the simulation: each rule passes, fails or warns for its reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deliberation.review.model import parse_review
from deliberation.review.policy import evaluate_policy, needs_analysis, passed
from deliberation.review.templates import load_template

from .conftest import TEST_TEMPLATES


@pytest.fixture
def data(minimal_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(minimal_path.read_text())
    return loaded


def results(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    template = load_template("test-minimal", search=[TEST_TEMPLATES])
    return {r.id: (r.status, r.message) for r in evaluate_policy(parse_review(data), template)}


def test_the_minimal_review_passes_with_one_warning(data: dict[str, Any]) -> None:
    outcome = results(data)
    assert {k: v[0] for k, v in outcome.items()} == {
        "categories": "pass",
        "participants": "pass",
        "severe-mitigated": "pass",
        "signoffs": "warn",
        "estimated": "pass",
        "decided": "pass",
    }
    assert outcome["signoffs"][1] == "no sign-off from the role legal"


def test_a_category_neither_covered_nor_set_aside_fails(data: dict[str, Any]) -> None:
    data["items"][0]["category"] = None
    assert results(data)["categories"] == (
        "fail",
        "1 category neither covered by an item nor marked not applicable: education",
    )
    data["not_applicable"] = [{"category": "education", "reason": "internal tool"}]
    assert results(data)["categories"][0] == "pass"


def test_a_severe_harm_needs_an_owned_mitigation(data: dict[str, Any]) -> None:
    data["mitigations"][0]["owner"] = None
    assert results(data)["severe-mitigated"] == (
        "fail",
        "harms at or above 'severe' without a mitigation that has an owner: phishing",
    )


def test_severity_by_label_and_by_interval(data: dict[str, Any]) -> None:
    data["mitigations"] = []
    data["variants"][1]["mitigations"] = []
    # Below the severe level (its low end, 3000) in every participant's estimate: passes.
    data["estimates"][1]["impact"] = [500, 2000]
    data["estimates"][2]["impact"] = "moderate"
    assert results(data)["severe-mitigated"][0] == "pass"
    data["estimates"][2]["impact"] = "catastrophic"
    assert results(data)["severe-mitigated"][0] == "fail"


def test_participants_count_distinct_estimators(data: dict[str, Any]) -> None:
    data["estimates"] = [e for e in data["estimates"] if e["participant"] == "ana"]
    assert results(data)["participants"] == (
        "fail",
        "estimates from 1 participant; at least 2 required",
    )


def test_unestimated_items_and_missing_decision(data: dict[str, Any]) -> None:
    data["items"].append({"id": "spam", "kind": "harm", "title": "Spam"})
    del data["decision"]
    outcome = results(data)
    assert outcome["estimated"] == ("fail", "1 item without an estimate: spam")
    assert outcome["decided"] == ("fail", "no decision recorded")
    assert outcome["signoffs"] == ("warn", "no sign-off from the roles safety, legal")


@dataclass
class _Summary:
    mean: float
    p_extreme_bad: float
    p_extreme_good: float
    mean_se: float = 0.0


@dataclass
class _Analysis:
    variants: dict[str, _Summary]
    chosen: str = "monitored"
    chosen_by: str = "decision"


def test_probability_rules_read_the_chosen_variant(data: dict[str, Any]) -> None:
    template = load_template("test-minimal", search=[TEST_TEMPLATES])
    assert not needs_analysis(template)
    from deliberation.review.template import MaxProbabilityExtremeBad, PositiveExpectedValue

    gated = template.model_copy(
        update={
            "policy": [
                MaxProbabilityExtremeBad(
                    id="tail", rule="max-p-extreme-bad", value=0.01, clause="MANAGE 1.3"
                ),
                PositiveExpectedValue(
                    id="worth-it", rule="positive-expected-value", severity="warn"
                ),
            ]
        }
    )
    assert needs_analysis(gated)
    review = parse_review(data)
    without = {r.id: r for r in evaluate_policy(review, gated)}
    assert without["tail"].status == "fail"
    assert "needs the analysis" in without["tail"].message
    analysis = _Analysis(
        {"open": _Summary(900.0, 0.04, 0.2), "monitored": _Summary(-10.0, 0.008, 0.1)}
    )
    with_analysis = {r.id: r for r in evaluate_policy(review, gated, analysis)}
    assert with_analysis["tail"].status == "pass"
    assert with_analysis["tail"].message == "monitored: P(extremely bad) = 0.800%, limit 1.00%"
    assert with_analysis["tail"].clause_text.startswith("Responses to high-priority risks")
    assert with_analysis["worth-it"].status == "warn"
    assert passed(with_analysis.values())
    # the analysis decides the chosen variant (engine.choice); the policy reads it
    data["decision"]["variant"] = "open"
    analysis.chosen = "open"
    chosen_open = {r.id: r for r in evaluate_policy(parse_review(data), gated, analysis)}
    assert chosen_open["tail"].status == "fail"
    assert not passed(chosen_open.values())
