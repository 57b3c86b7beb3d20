"""The template's contract: scales, categories, clauses and policy rules (pydantic).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, field_validator, model_validator

from .model import CheckedText, Identifier, Interval, Thresholds
from .quantities import check_quantity

# --------------------------------------------------------------------------- model


class _Model(CheckedText):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class ScaleLevel(_Model):
    label: str = Field(min_length=1)
    interval: Interval
    description: str = ""


class Category(_Model):
    id: Identifier
    kind: Literal["benefit", "harm"]
    title: str = Field(min_length=1)
    questions: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)


class SuggestedMitigation(_Model):
    id: Identifier
    title: str = Field(min_length=1)
    description: str = ""
    categories: list[str] = Field(default_factory=list)
    likelihood_factor: Interval | float = 1
    impact_factor: Interval | float = 1

    @field_validator("likelihood_factor", "impact_factor")
    @classmethod
    def _factor(cls, value: Any) -> Any:
        check_quantity(value, kind="factor")
        return value


class Clause(_Model):
    id: str = Field(min_length=1)
    text: str = ""


class _Rule(_Model):
    id: Identifier
    clause: str = ""
    severity: Literal["fail", "warn"] = "fail"
    description: str = ""


class CategoriesConsidered(_Rule):
    """Every template category has an item, or is marked not applicable with a reason."""

    rule: Literal["categories-considered"]


class SevereHarmsMitigated(_Rule):
    """Every harm estimated at or above ``at_least`` (default the template's severe level)
    is targeted by a mitigation with an owner."""

    rule: Literal["severe-harms-mitigated"]
    at_least: str | None = None


class MinParticipants(_Rule):
    """Estimates from at least ``count`` distinct participants."""

    rule: Literal["min-participants"]
    count: int = Field(ge=1, le=1000)  # bounded where it enters, as Delphi rounds are


class SignoffsFromRoles(_Rule):
    """The decision is signed off by a participant holding each of ``roles``."""

    rule: Literal["signoffs-from-roles"]
    roles: list[str] = Field(min_length=1)


class AllItemsEstimated(_Rule):
    """Every item has at least one estimate."""

    rule: Literal["all-items-estimated"]


class DecisionRecorded(_Rule):
    """The review has a decision with a rationale."""

    rule: Literal["decision-recorded"]


class MaxProbabilityExtremeBad(_Rule):
    """The chosen variant's P(extremely bad) is at most ``value`` (needs the analysis)."""

    rule: Literal["max-p-extreme-bad"]
    value: float = Field(ge=0, le=1)


class MaxProbabilityCatastrophe(_Rule):
    """The chosen variant's P(catastrophe), the chance that its harms alone reach the
    ``catastrophe`` threshold, is at most ``value`` (needs the analysis)."""

    rule: Literal["max-p-catastrophe"]
    value: float = Field(ge=0, le=1)


class MinProbabilityExtremeGood(_Rule):
    """The chosen variant's P(extremely good) is at least ``value`` (needs the analysis)."""

    rule: Literal["min-p-extreme-good"]
    value: float = Field(ge=0, le=1)


class PositiveExpectedValue(_Rule):
    """The chosen variant's mean net value is above zero (needs the analysis)."""

    rule: Literal["positive-expected-value"]


Rule = Annotated[
    CategoriesConsidered
    | SevereHarmsMitigated
    | MinParticipants
    | SignoffsFromRoles
    | AllItemsEstimated
    | DecisionRecorded
    | MaxProbabilityExtremeBad
    | MaxProbabilityCatastrophe
    | MinProbabilityExtremeGood
    | PositiveExpectedValue,
    Field(discriminator="rule"),
]

_RULE_NAMES = frozenset(
    kind.model_fields["rule"].annotation.__args__[0] for kind in get_args(get_args(Rule)[0])
)
ANALYSIS_RULES = (
    "max-p-extreme-bad", "max-p-catastrophe", "min-p-extreme-good", "positive-expected-value",
)


class Standard(_Model):
    name: str = Field(min_length=1)
    version: str = ""
    url: str = ""


class Template(_Model):
    """A validated, fully resolved template (``extends`` already applied)."""

    id: Identifier
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    guidance: str = ""
    extends: str | None = None
    standard: Standard | None = None
    value_unit: str = "value points"
    likelihood_scale: list[ScaleLevel] = Field(min_length=2)
    impact_scale: list[ScaleLevel] = Field(min_length=2)
    severe: str
    thresholds: Thresholds
    categories: list[Category] = Field(min_length=1)
    clauses: list[Clause] = Field(default_factory=list)
    suggested_mitigations: list[SuggestedMitigation] = Field(default_factory=list)
    policy: list[Rule] = Field(default_factory=list)
    required_roles: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Template:
        for name, scale, kind in (
            ("likelihood_scale", self.likelihood_scale, "likelihood"),
            ("impact_scale", self.impact_scale, "impact"),
        ):
            labels = [level.label for level in scale]
            for index, level in enumerate(scale):
                try:
                    check_quantity(level.interval, kind=kind)  # type: ignore[arg-type]
                except ValueError as error:
                    raise ValueError(f"{name}[{index}].interval: {error}") from None
                if labels.count(level.label) > 1:
                    raise ValueError(f"{name}[{index}].label: label {level.label!r} is used twice")
        if self.severe not in {level.label for level in self.impact_scale}:
            raise ValueError(f"severe: expected a label of impact_scale, got {self.severe!r}")
        ids = [c.id for c in self.categories]
        for index, category in enumerate(self.categories):
            if ids.count(category.id) > 1:
                raise ValueError(f"categories[{index}].id: id {category.id!r} is used twice")
        clause_ids = {c.id for c in self.clauses}
        category_ids = set(ids)
        for index, category in enumerate(self.categories):
            for position, reference in enumerate(category.references):
                if reference not in clause_ids:
                    raise ValueError(
                        f"categories[{index}].references[{position}]: expected one of the "
                        f"clauses' ids, got {reference!r}"
                    )
        for index, mitigation in enumerate(self.suggested_mitigations):
            for position, category_id in enumerate(mitigation.categories):
                if category_id not in category_ids:
                    raise ValueError(
                        f"suggested_mitigations[{index}].categories[{position}]: expected one "
                        f"of the categories' ids, got {category_id!r}"
                    )
        rule_ids = [r.id for r in self.policy]
        for index, rule in enumerate(self.policy):
            if rule_ids.count(rule.id) > 1:
                raise ValueError(f"policy[{index}].id: id {rule.id!r} is used twice")
            if rule.clause and rule.clause not in clause_ids:
                raise ValueError(
                    f"policy[{index}].clause: expected one of the clauses' ids, got {rule.clause!r}"
                )
            if rule.rule == "max-p-catastrophe" and self.thresholds.catastrophe is None:
                raise ValueError(
                    f"policy[{index}]: rule max-p-catastrophe needs thresholds.catastrophe "
                    "(a positive total harm)"
                )
            at_least = getattr(rule, "at_least", None)
            if at_least is not None and at_least not in {lv.label for lv in self.impact_scale}:
                raise ValueError(
                    f"policy[{index}].at_least: expected a label of impact_scale, got {at_least!r}"
                )
        return self

    # ------------------------------------------------------------------ views
    def likelihood_of(self, label: str) -> tuple[float, float]:
        return _scale_lookup(self.likelihood_scale, label)

    def impact_of(self, label: str) -> tuple[float, float]:
        return _scale_lookup(self.impact_scale, label)

    def impact_rank(self, label: str) -> int:
        return [level.label for level in self.impact_scale].index(label)

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def clause_text(self, clause_id: str) -> str:
        return next((c.text for c in self.clauses if c.id == clause_id), "")

    def sha256(self) -> str:
        """Hash of the resolved template's canonical JSON: what the review was held to.

        Fields left at their defaults are left out, so adding an optional field to the
        template format does not change the hash of every existing template.
        """
        canonical = json.dumps(
            self.model_dump(mode="json", exclude_defaults=True),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _scale_lookup(scale: Iterable[ScaleLevel], label: str) -> tuple[float, float]:
    for level in scale:
        if level.label == label:
            return (float(level.interval[0]), float(level.interval[1]))
    raise KeyError(label)
