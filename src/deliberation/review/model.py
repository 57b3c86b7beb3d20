"""The review's nouns (docs/design.md, *The review file*) and their validation.

A review is plain data: pydantic models with no behaviour beyond checking
themselves. Field names are a contract shared with pipelines and records; new
fields may be added, existing ones are never renamed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..atomic import write_atomic
from ..errors import ReviewInvalid
from ..files import load_json
from ..text import check_text
from .drivers import StrengthWord, check_strength, driver_problems
from .elicitation import Elicitation
from .messages import describe_validation_error
from .quantities import (
    _finite,
    check_quantity,
)

SCHEMA_ID = "deliberation/review@1"
# The extreme thresholds are net values, sums over items of at most MAX_IMPACT each.
MAX_THRESHOLD = 1e18
MAX_ROUND = 1000  # Delphi rounds; a meeting holds two or three
MAX_REVIEW_BYTES = 16 << 20  # 16 MiB: a review of 500 items is under 1 MiB

Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="A short id: letters, digits, '-', '_' or '.'; starts with a letter or digit.",
    ),
]
Number = StrictFloat | StrictInt
Interval = tuple[Number, Number]
# An estimate is a [low, high] 90% interval, a single number (a point), or a label of
# the template's scale, resolved when the review is checked against its template.
Quantity = Interval | Number | Annotated[str, Field(min_length=1)]


# Fields whose text may run over several lines; every other string is one line.
MULTILINE_FIELDS = frozenset({
    "description", "rationale", "reason", "conditions", "dissent", "guidance", "text",
    "questions",
})


def _check_strings(value: Any, multiline: bool) -> None:
    if isinstance(value, str):
        check_text(value, multiline=multiline)
    elif isinstance(value, list | tuple):
        for entry in value:
            _check_strings(entry, multiline)


class CheckedText(BaseModel):
    """Refuses control characters in every string field (see :mod:`deliberation.text`)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        _check_strings(value, info.field_name in MULTILINE_FIELDS)
        return value


class _Model(CheckedText):
    model_config = ConfigDict(
        extra="allow",  # "add fields freely": unknown fields survive a round trip
        populate_by_name=True,
        allow_inf_nan=False,
        validate_assignment=True,
    )


class Subject(_Model):
    name: str = Field(min_length=1)
    version: str = ""


class TemplateRef(_Model):
    id: Identifier
    version: str = ""
    sha256: str = ""


class Participant(_Model):
    id: Identifier
    name: str = Field(min_length=1)
    role: str = ""


class Item(_Model):
    id: Identifier
    kind: Literal["benefit", "harm"]
    title: str = Field(min_length=1)
    description: str = ""
    category: str | None = None
    references: list[str] = Field(default_factory=list)


class Estimate(_Model):
    item: str
    participant: str
    round: int = Field(default=1, ge=1, le=MAX_ROUND)
    likelihood: Quantity
    impact: Quantity
    rationale: str = ""

    @field_validator("likelihood")
    @classmethod
    def _likelihood(cls, value: Any) -> Any:
        check_quantity(value, kind="likelihood")
        return value

    @field_validator("impact")
    @classmethod
    def _impact(cls, value: Any) -> Any:
        check_quantity(value, kind="impact")
        return value


MitigationStatus = Literal["proposed", "planned", "in-progress", "done", "rejected"]


class Mitigation(_Model):
    id: Identifier
    title: str = Field(min_length=1)
    description: str = ""
    targets: list[str] = Field(min_length=1)
    likelihood_factor: Interval | Number = 1
    impact_factor: Interval | Number = 1
    owner: str | None = None
    status: MitigationStatus = "proposed"

    @field_validator("likelihood_factor", "impact_factor")
    @classmethod
    def _factor(cls, value: Any) -> Any:
        check_quantity(value, kind="factor")
        return value


class Variant(_Model):
    id: Identifier
    title: str = Field(min_length=1)
    description: str = ""
    mitigations: list[str] = Field(default_factory=list)


class Driver(_Model):
    """Items that share a cause (a weights leak), so they happen together more often.

    ``strength`` is the rank correlation of their happen/not draws (and likelihoods):
    weak 0.3, moderate 0.6, strong 0.9, or a number from 0 to 1. An item has at most
    one driver."""

    id: Identifier
    title: str = Field(min_length=1)
    description: str = ""
    items: list[str]
    strength: Number | StrengthWord

    @field_validator("strength")
    @classmethod
    def _strength(cls, value: Any) -> Any:
        return check_strength(value)

class Link(_Model):
    """Where a removed entry was named: a mitigation's targets or a variant's mitigations."""

    mitigation: str | None = None
    variant: str | None = None
    position: int = Field(default=0, ge=0)


class Removed(_Model):
    """An item, mitigation or variant taken out of the review, kept whole (with an item's
    estimates and every link to it) so it can be restored; see :mod:`.removal`."""

    at: datetime
    position: int = Field(default=0, ge=0)  # its place in its list
    item: Item | None = None
    mitigation: Mitigation | None = None
    variant: Variant | None = None
    estimates: list[Estimate] = Field(default_factory=list)
    estimate_positions: list[int] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one(self) -> Removed:
        if [self.item, self.mitigation, self.variant].count(None) != 2:
            raise ValueError("expected exactly one of item, mitigation or variant")
        return self


class Signoff(_Model):
    participant: str
    at: datetime


Outcome = Literal["approve", "approve-with-conditions", "defer", "reject"]
APPROVALS = ("approve", "approve-with-conditions")


class Override(_Model):
    """Approving a variant that fails ``gate`` (a rule id of the template), on the record:
    who takes responsibility (``by``, a participant) and why."""

    gate: Identifier
    reason: str
    by: str

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(f"expected the reason the gate is overridden, got {value!r}")
        return value


class Decision(_Model):
    outcome: Outcome
    variant: str | None = None
    rationale: str = ""
    conditions: list[str] = Field(default_factory=list)
    dissent: list[str] = Field(default_factory=list)
    signoffs: list[Signoff] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)


class Thresholds(_Model):
    extreme_bad: Number
    extreme_good: Number
    # A size of total harm (benefits do not offset it): P(catastrophe) is the chance the
    # harms alone reach it. Optional; a review's own overrides the template's.
    catastrophe: Number | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        for name in ("extreme_bad", "extreme_good"):
            value = getattr(self, name)
            _finite(value, name)
            if abs(value) > MAX_THRESHOLD:
                raise ValueError(f"{name}: expected a net value between -{MAX_THRESHOLD:.0e} and "
                                 f"{MAX_THRESHOLD:.0e}, got {value:.6g}")
        if self.catastrophe is not None:
            _finite(self.catastrophe, "catastrophe")
            if not 0 < self.catastrophe <= MAX_THRESHOLD:
                raise ValueError("catastrophe: expected a positive total harm of at most "
                                 f"{MAX_THRESHOLD:.0e}, got {self.catastrophe:.6g}")
        if not self.extreme_bad < self.extreme_good:
            raise ValueError(
                "expected extreme_bad < extreme_good, "
                f"got {self.extreme_bad} and {self.extreme_good}"
            )
        return self


class NotApplicable(_Model):
    """A template category the team considered and set aside, with the reason why."""

    category: str
    reason: str = Field(min_length=1)


class Review(_Model):
    """One release review: the document ``review.json`` holds."""

    schema_: Literal["deliberation/review@1"] = Field(
        default="deliberation/review@1", alias="schema"
    )
    id: Identifier
    title: str = Field(min_length=1)
    subject: Subject
    template: TemplateRef
    horizon: str = ""
    participants: list[Participant] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    estimates: list[Estimate] = Field(default_factory=list)
    mitigations: list[Mitigation] = Field(default_factory=list)
    variants: list[Variant] = Field(default_factory=list)
    drivers: list[Driver] = Field(default_factory=list)
    decision: Decision | None = None
    thresholds: Thresholds | None = None
    not_applicable: list[NotApplicable] = Field(default_factory=list)
    supersedes: str | None = None
    elicitation: Elicitation | None = None
    removed: list[Removed] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Review:
        problems = list(_reference_problems(self))
        if problems:
            # pydantic reports a ValueError here under the model's own location; the
            # message carries the precise field path.
            raise ValueError(problems[0])
        return self

    # Convenience views used across the package.
    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    def latest_estimates(self) -> list[Estimate]:
        """Each participant's estimate of each item from their latest round."""
        return _latest(self.estimates)

    def rounds(self) -> Elicitation:
        """The elicitation state, stored or implied (see :meth:`Elicitation.implied`)."""
        if self.elicitation is not None:
            return self.elicitation
        return Elicitation.implied(e.round for e in self.estimates)

    def shown_estimates(self) -> list[Estimate]:
        """The estimates every view may show by participant: those of revealed rounds."""
        rounds = self.rounds()
        return [e for e in self.estimates if not rounds.hidden(e.round)]

    def latest_shown_estimates(self) -> list[Estimate]:
        """Each participant's latest estimate of each item among the revealed rounds."""
        return _latest(self.shown_estimates())

    def unestimated_items(self) -> list[str]:
        estimated = {e.item for e in self.estimates}
        return [i.id for i in self.items if i.id not in estimated]


def _latest(estimates: Iterable[Estimate]) -> list[Estimate]:
    latest: dict[tuple[str, str], Estimate] = {}
    for estimate in estimates:
        key = (estimate.item, estimate.participant)
        if key not in latest or estimate.round >= latest[key].round:
            latest[key] = estimate
    return list(latest.values())


def _duplicates(ids: Iterable[str]) -> list[str]:
    return [value for value, count in Counter(ids).items() if count > 1]


def _reference_problems(review: Review) -> Iterable[str]:
    for name, values in (
        ("participants", review.participants),
        ("items", review.items),
        ("mitigations", review.mitigations),
        ("variants", review.variants),
    ):
        ids = [v.id for v in values]
        for duplicate in _duplicates(ids):
            index = ids.index(duplicate, ids.index(duplicate) + 1)  # the second use
            yield f"{name}[{index}].id: id {duplicate!r} is used twice; ids must be unique"
    in_use: dict[str, set[str]] = {"item": {i.id for i in review.items},
                                   "mitigation": {m.id for m in review.mitigations},
                                   "variant": {v.id for v in review.variants}}
    for index, gone in enumerate(review.removed):
        for kind, taken in in_use.items():
            entry = getattr(gone, kind)
            if entry is not None and entry.id in taken:
                yield (f"removed[{index}].{kind}.id: id {entry.id!r} is used by a {kind} too; "
                       "ids must be unique")
    items = {i.id for i in review.items}
    people = {p.id for p in review.participants}
    mitigations = {m.id for m in review.mitigations}
    variants = {v.id for v in review.variants}
    for index, estimate in enumerate(review.estimates):
        if estimate.item not in items:
            yield f"estimates[{index}].item: expected one of the items' ids, got {estimate.item!r}"
        if estimate.participant not in people:
            yield (
                f"estimates[{index}].participant: expected one of the participants' ids, "
                f"got {estimate.participant!r}"
            )
    seen: dict[tuple[str, str, int], int] = {}
    for index, estimate in enumerate(review.estimates):
        key = (estimate.item, estimate.participant, estimate.round)
        if key in seen:
            yield (
                f"estimates[{index}]: {estimate.participant!r} already estimated {estimate.item!r} "
                f"in round {estimate.round} (estimates[{seen[key]}]); use a new round"
            )
        seen[key] = index
    for index, mitigation in enumerate(review.mitigations):
        for position, target in enumerate(mitigation.targets):
            if target not in items:
                yield (
                    f"mitigations[{index}].targets[{position}]: expected one of the items' ids, "
                    f"got {target!r}"
                )
        if mitigation.owner is not None and mitigation.owner not in people:
            yield (
                f"mitigations[{index}].owner: expected one of the participants' ids, "
                f"got {mitigation.owner!r}"
            )
    for index, variant in enumerate(review.variants):
        for position, mitigation_id in enumerate(variant.mitigations):
            if mitigation_id not in mitigations:
                yield (
                    f"variants[{index}].mitigations[{position}]: expected one of the mitigations' "
                    f"ids, got {mitigation_id!r}"
                )
    yield from driver_problems(review)
    decision = review.decision
    if decision is not None:
        if decision.variant is not None and decision.variant not in variants | {"baseline"}:
            yield f"decision.variant: expected one of the variants' ids, got {decision.variant!r}"
        for index, signoff in enumerate(decision.signoffs):
            if signoff.participant not in people:
                yield (
                    f"decision.signoffs[{index}].participant: expected one of the participants' "
                    f"ids, got {signoff.participant!r}"
                )
        gates: dict[str, int] = {}
        for index, override in enumerate(decision.overrides):
            if override.by not in people:
                yield (f"decision.overrides[{index}].by: expected one of the participants' ids, "
                       f"got {override.by!r}")
            if override.gate in gates:
                yield (f"decision.overrides[{index}].gate: gate {override.gate!r} is already "
                       f"overridden (decision.overrides[{gates[override.gate]}]); one per gate")
            gates.setdefault(override.gate, index)


# --------------------------------------------------------------------------- I/O


def parse_review(data: Any, *, path: Path | str | None = None) -> Review:
    """Validate plain data (parsed JSON) as a review, raising ReviewInvalid on a mistake."""
    if not isinstance(data, dict):
        raise ReviewInvalid(
            f"expected a JSON object at the top level, got {type(data).__name__}", path=path
        )
    schema = data.get("schema")
    if schema != SCHEMA_ID:
        raise ReviewInvalid(f"expected {SCHEMA_ID!r}, got {schema!r}", path=path, field="schema")
    try:
        return Review.model_validate(data)
    except ValidationError as error:
        raise describe_validation_error(error, path) from None


def load_review(path: Path | str) -> Review:
    """Read and validate ``review.json`` (labels are resolved later, against the template)."""
    path = Path(path)
    if path.is_dir():
        path = path / "review.json"
    # NaN, Infinity and overflowing numbers parse to floats here so that validation
    # rejects them with the field's path (allow_inf_nan=False), not just a position.
    data = load_json(path, limit=MAX_REVIEW_BYTES, error=ReviewInvalid)
    return parse_review(data, path=path)


def review_to_data(review: Review) -> dict[str, Any]:
    """The review as plain JSON-ready data, fields in contract order, unset defaults omitted."""
    data: dict[str, Any] = review.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["schema"] = SCHEMA_ID
    return {"schema": SCHEMA_ID, **{k: v for k, v in data.items() if k != "schema"}}


def dumps_review(review: Review) -> str:
    # allow_nan=False: never write a file that strict JSON readers cannot parse.
    return json.dumps(review_to_data(review), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def save_review(review: Review, path: Path | str) -> str:
    """Write the review atomically; returns the sha256 of the bytes written."""
    data = dumps_review(review).encode("utf-8")
    write_atomic(Path(path), data)
    return hashlib.sha256(data).hexdigest()


def review_json_schema() -> dict[str, Any]:
    """The JSON Schema of review.json, as published by ``deliberation schema``."""
    schema: dict[str, Any] = Review.model_json_schema(by_alias=True, mode="validation")
    schema["$id"] = "https://deliberation.invalid/schema/review@1.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
