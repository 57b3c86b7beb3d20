"""The built-in templates and the finished example review that uses one of them."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from deliberation.review.model import Review, dumps_review, load_review
from deliberation.review.opening import check_review_against
from deliberation.review.template import Rule, Template
from deliberation.review.templates import load_template, load_template_file

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = ROOT / "templates"
BUILTIN_FILES = sorted(TEMPLATE_DIR.glob("*.yaml"))
EXAMPLE = ROOT / "workbooks" / "example" / "review.json"
NIST_CLAUSE = re.compile(r"^(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+$")
# Every rule kind the Template model accepts, read from the discriminated union itself so
# a new kind added to templates.py shows up here without editing this test.
RULE_KINDS = {
    typing.get_args(member.model_fields["rule"].annotation)[0]
    for member in typing.get_args(typing.get_args(Rule)[0])
}


@pytest.fixture(autouse=True)
def _only_builtin_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own template folder must not shadow the built-ins under test.
    monkeypatch.delenv("DELIBERATION_TEMPLATES", raising=False)


def _ids(files: list[Path]) -> list[str]:
    return [f.stem for f in files]


def test_the_required_templates_are_built_in() -> None:
    assert {"release-review", "text-to-image", "nist-ai-rmf"} <= set(_ids(BUILTIN_FILES))


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=_ids(BUILTIN_FILES))
def test_builtin_template_loads_under_its_file_name(path: Path) -> None:
    template = load_template_file(path)
    assert template.id == path.stem
    assert load_template(path.stem) == template
    assert template.guidance.count("\n\n") >= 2, "guidance should be a few paragraphs"


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=_ids(BUILTIN_FILES))
def test_every_reference_names_a_clause_of_the_template(path: Path) -> None:
    template = load_template_file(path)
    clauses = {clause.id for clause in template.clauses}
    for category in template.categories:
        assert category.references, f"category {category.id} cites no clause"
        assert set(category.references) <= clauses, category.id
    for rule in template.policy:
        assert rule.clause in clauses, rule.id
        assert rule.description, rule.id


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=_ids(BUILTIN_FILES))
def test_builtin_clauses_are_nist_ai_rmf_subcategories(path: Path) -> None:
    template = load_template_file(path)
    ids = [clause.id for clause in template.clauses]
    assert ids, "a built-in template cites the NIST AI RMF"
    assert all(NIST_CLAUSE.match(clause_id) for clause_id in ids), ids
    assert len(ids) == len(set(ids))
    assert all(clause.text for clause in template.clauses)


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=_ids(BUILTIN_FILES))
def test_suggested_mitigations_apply_to_categories_of_the_template(path: Path) -> None:
    template = load_template_file(path)
    categories = {category.id for category in template.categories}
    assert template.suggested_mitigations
    for mitigation in template.suggested_mitigations:
        assert mitigation.categories, mitigation.id
        assert set(mitigation.categories) <= categories, mitigation.id
        assert (mitigation.likelihood_factor, mitigation.impact_factor) != (1, 1), mitigation.id


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=_ids(BUILTIN_FILES))
def test_builtin_scales_are_ordered_and_match_the_thresholds(path: Path) -> None:
    template = load_template_file(path)
    for scale in (template.likelihood_scale, template.impact_scale):
        lows = [level.interval[0] for level in scale]
        highs = [level.interval[1] for level in scale]
        assert lows == sorted(lows)
        assert highs == sorted(highs)
        assert all(level.description for level in scale)
    assert [level.label for level in template.likelihood_scale] == [
        "rare", "unlikely", "possible", "likely", "almost certain",
    ]
    assert [level.label for level in template.impact_scale] == [
        "negligible", "minor", "moderate", "major", "severe", "catastrophic",
    ]
    # A single severe harm, at its low end, is enough for an extremely bad outcome.
    assert template.impact_of(template.severe)[0] >= -template.thresholds.extreme_bad
    assert template.thresholds.extreme_bad < 0 < template.thresholds.extreme_good


def test_release_review_uses_every_rule_kind() -> None:
    template = load_template("release-review")
    assert {rule.rule for rule in template.policy} == RULE_KINDS
    rules = {rule.rule: rule for rule in template.policy}
    assert getattr(rules["min-participants"], "count", None) == 3
    assert getattr(rules["max-p-extreme-bad"], "value", None) == 0.01
    # an unestimated harm is left out of every sum, so it must stop the release
    assert rules["all-items-estimated"].severity == "fail"
    assert rules["min-p-extreme-good"].severity == "warn"
    assert rules["positive-expected-value"].severity == "warn"
    assert set(getattr(rules["signoffs-from-roles"], "roles", [])) == set(template.required_roles)


def test_text_to_image_extends_release_review() -> None:
    parent = load_template("release-review")
    child = load_template("text-to-image")
    assert child.extends == "release-review"
    for field in ("likelihood_scale", "impact_scale", "severe", "thresholds", "value_unit",
                  "policy", "required_roles", "standard"):
        assert getattr(child, field) == getattr(parent, field), field
    parent_categories = {c.id: c for c in parent.categories}
    child_categories = {c.id: c for c in child.categories}
    assert set(parent_categories) < set(child_categories)
    assert {"harassment", "sexual-content", "violent-content", "copyright",
            "creative-expression"} <= set(child_categories) - set(parent_categories)
    # Overridden by id: same category, made specific to images.
    assert child_categories["disinformation"] != parent_categories["disinformation"]
    assert "real people" in child_categories["disinformation"].title
    assert {c.id for c in parent.clauses} < {c.id for c in child.clauses}
    assert {"prompt-filter", "refuse-real-people", "delayed-weights"} <= {
        m.id for m in child.suggested_mitigations
    }


def test_nist_template_maps_the_framework() -> None:
    template = load_template("nist-ai-rmf")
    assert template.extends is None
    assert template.standard is not None
    assert "NIST" in template.standard.name
    functions = {clause.id.split()[0] for clause in template.clauses}
    assert functions == {"GOVERN", "MAP", "MEASURE", "MANAGE"}
    assert "likelihood and magnitude" in template.clause_text("MAP 5.1")
    rules = {rule.rule: rule.clause for rule in template.policy}
    assert rules["all-items-estimated"] == "MAP 5.1"
    assert rules["severe-harms-mitigated"] == "MANAGE 1.3"
    assert rules["signoffs-from-roles"] == "GOVERN 2.1"
    assert rules["categories-considered"] == "MAP 1.1"
    harms = {c.id for c in template.categories if c.kind == "harm"}
    assert {"valid-reliable", "safe", "secure-resilient", "accountable-transparent",
            "explainable-interpretable", "privacy-enhanced", "fair-bias-managed"} <= harms
    assert any(c.kind == "benefit" for c in template.categories)
    # Same scales as release-review, so an estimate means the same under both.
    general = load_template("release-review")
    assert template.likelihood_scale == general.likelihood_scale
    assert template.impact_scale == general.impact_scale


# --------------------------------------------------------------------------- the example


@pytest.fixture
def example() -> tuple[Review, Template]:
    review = load_review(EXAMPLE)
    return review, load_template(review.template.id)


def test_example_checks_against_its_template(example: tuple[Review, Template]) -> None:
    review, template = example
    check_review_against(review, template, EXAMPLE)
    assert review.template.id == "text-to-image"
    assert review.template.version == template.version
    assert review.template.sha256 == template.sha256()


def test_example_considers_every_category(example: tuple[Review, Template]) -> None:
    review, template = example
    considered = {item.category for item in review.items}
    considered |= {entry.category for entry in review.not_applicable}
    assert considered == {category.id for category in template.categories}


def test_example_is_estimated_by_everyone_in_delphi_rounds(
    example: tuple[Review, Template],
) -> None:
    review, _ = example
    people = {p.id for p in review.participants}
    assert {p.role for p in review.participants} == {"safety", "legal", "product"}
    for item in review.items:
        assert {e.participant for e in review.estimates if e.item == item.id} == people, item.id
    assert all(e.rationale for e in review.estimates)
    second_round = {e.item for e in review.estimates if e.round == 2}
    assert len(second_round) == 2
    moved = [
        e for e in review.estimates if e.round == 2
        and next(
            r for r in review.estimates
            if (r.item, r.participant, r.round) == (e.item, e.participant, 1)
        ).likelihood != e.likelihood
    ]
    assert moved, "someone should have moved in round 2"
    kinds = {type(e.likelihood) for e in review.estimates}
    kinds |= {type(e.impact) for e in review.estimates}
    assert {str, tuple} <= kinds, "a mix of scale labels and intervals"


def test_example_mitigations_variants_and_decision(example: tuple[Review, Template]) -> None:
    review, _ = example
    assert all(m.owner for m in review.mitigations)
    benefits = {i.id for i in review.items if i.kind == "benefit"}
    assert any(set(m.targets) & benefits for m in review.mitigations), "a mitigation with a cost"
    variants = {v.id: set(v.mitigations) for v in review.variants}
    assert variants["open-weights"] == set()
    assert variants["api-preview"] < variants["api-preview-provenance"]
    decision = review.decision
    assert decision is not None
    assert decision.outcome == "approve-with-conditions"
    assert decision.variant in variants
    assert decision.rationale
    assert decision.conditions
    assert len(decision.dissent) == 1
    assert {s.participant for s in decision.signoffs} == {p.id for p in review.participants}
    assert all(s.at.year == 2026 and s.at.month == 11 for s in decision.signoffs)


def test_example_is_saved_in_canonical_form() -> None:
    # The workbook autosaves with dumps_review; the committed file must not change on open.
    assert dumps_review(load_review(EXAMPLE)) == EXAMPLE.read_text(encoding="utf-8")
