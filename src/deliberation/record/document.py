"""record.json's contract, checked before anything reads a record (render, verify, diff).

A record is validated as review.json is: the review by the review model, the template
by the template model, the analysis by the analysis model (or, for a record of the
numbers alone, the per-variant summaries), and every other field by its type and
bounds here. A mistake is one :class:`~deliberation.errors.RecordError` naming the
path given and the field, so a malformed but schema-tagged file never reaches a
renderer as a KeyError, an AttributeError or a multi-line dump.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..engine.results import Analysis
from ..errors import DeliberationError, RecordError, ReviewInvalid, TemplateInvalid
from ..files import load_json
from ..review.messages import describe_validation_error
from ..review.model import parse_review
from ..review.template import Template

RECORD_SCHEMA = "deliberation/record@1"
RECORD_JSON = "record.json"
MAX_RECORD_BYTES = 64 << 20  # 64 MiB: the example's record.json is about 200 kB
MAX_SEED = 2**63 - 1
MAX_SAMPLES = 10**9
_NAME = r"^[0-9]{6}-[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"  # Rust regex: $ is the very end
_HEX64 = r"^[0-9a-f]{64}$"
# The keys of a record that holds the per-variant numbers only (no full analysis).
_SUMMARY_KEYS = frozenset({"samples", "seed", "extreme_bad", "extreme_good", "catastrophe",
                           "variants"})


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False, strict=True)


class Supersedes(_Part):
    record: str = Field(pattern=_NAME)
    seq: int = Field(ge=1)
    sha256: str = Field(pattern=_HEX64)


class TemplateEntry(_Part):
    id: str
    version: str
    sha256: str = Field(pattern=_HEX64)
    definition: dict[str, Any]


class OverrideEntry(_Part):
    gate: str
    reason: str
    by: str


class GateEntry(_Part):
    id: str
    status: Literal["pass", "fail", "warn", "overridden"]
    message: str = ""
    clause: str = ""
    clause_text: str = ""
    override: OverrideEntry | None = None


class PolicyEntry(_Part):
    passed: bool
    gates: list[GateEntry]


class VariantNumbers(_Part):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    title: str | None = None
    mean: float | None = None
    p_extreme_bad: float | None = Field(default=None, ge=0, le=1)
    p_extreme_good: float | None = Field(default=None, ge=0, le=1)
    p_catastrophe: float | None = Field(default=None, ge=0, le=1)
    p5: float | None = None
    p50: float | None = None
    p95: float | None = None

    @field_validator("mean", "p_extreme_bad", "p_extreme_good", "p_catastrophe", "p5", "p50",
                     "p95", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Numbers(_Part):
    """A record of the numbers alone: the per-variant summaries a page's tables show."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    samples: int | None = Field(default=None, ge=1, le=MAX_SAMPLES)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    extreme_bad: float | int | None = None
    extreme_good: float | int | None = None
    catastrophe: float | int | None = Field(default=None, gt=0)
    variants: dict[str, VariantNumbers] = Field(default_factory=dict)


class RecordDocument(_Part):
    """The fields of record.json besides the review, the template and the analysis."""

    schema_: Literal["deliberation/record@1"] = Field(alias="schema")
    record: str | None = Field(default=None, pattern=_NAME)
    seq: int | None = Field(default=None, ge=1)
    created: str
    supersedes: Supersedes | None = None
    review: dict[str, Any]
    template: TemplateEntry
    seed: int = Field(ge=0, le=MAX_SEED)
    samples: int = Field(ge=1, le=MAX_SAMPLES)
    analysis: dict[str, Any]
    policy: PolicyEntry
    versions: dict[str, str] = Field(default_factory=dict)

    @field_validator("created")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected an ISO 8601 time, got {value!r}") from None
        return value


def _error(error: ValidationError, path: Path | str, prefix: str = "") -> RecordError:
    described = describe_validation_error(error, path)
    field = ".".join(p for p in (prefix, described.field) if p)
    return RecordError(described.detail, path=path, field=field)


def validate_record(data: Any, path: Path | str) -> dict[str, Any]:
    """``data`` if it is a well-formed record (raises RecordError naming path and field).

    The review and template are validated by their own models, which also refuse control
    characters; the rest by the types and bounds above."""
    if not isinstance(data, dict):
        raise RecordError(f"expected a JSON object at the top level, got {type(data).__name__}",
                          path=path)
    if data.get("schema") != RECORD_SCHEMA:
        raise RecordError(f"expected {RECORD_SCHEMA!r}", path=path, field="schema")
    try:
        RecordDocument.model_validate(data)
    except ValidationError as error:
        raise _error(error, path) from None
    try:
        parse_review(data["review"], path=path)
    except ReviewInvalid as error:
        raise RecordError(error.detail, path=path,
                          field=".".join(p for p in ("review", error.field) if p)) from None
    try:
        Template.model_validate(data["template"]["definition"])
    except ValidationError as error:
        raise _error(error, path, "template.definition") from None
    except TemplateInvalid as error:
        raise RecordError(error.detail, path=path, field="template.definition") from None
    analysis = data["analysis"]
    try:
        if analysis.keys() <= _SUMMARY_KEYS:
            Numbers.model_validate(analysis)
        else:
            Analysis.from_json(analysis)
    except ValidationError as error:
        raise _error(error, path, "analysis") from None
    return data


def is_record(path: Path) -> bool:
    """Whether ``path`` is a record.json or a record folder (rather than a review)."""
    if path.is_dir():
        return (path / RECORD_JSON).is_file()
    if path.suffix != ".json":
        return False
    if path.name == RECORD_JSON:
        return True  # read as a record, so its errors are a record's (its size limit too)
    try:  # never blocks or reads without bound: load_json opens regular files only
        head = load_json(path, limit=MAX_RECORD_BYTES)
    except DeliberationError:
        return False  # the review reader then says what is wrong with it
    return isinstance(head, dict) and head.get("schema") == RECORD_SCHEMA
