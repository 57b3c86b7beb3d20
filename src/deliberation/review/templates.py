"""Review templates: YAML files that carry a standard's scales, categories and policy.

Templates are loaded with a safe YAML loader that also rejects duplicate keys and
aliases (a template is a record of what a team committed to; YAML's shortcuts
make it ambiguous), then validated with pydantic. Errors name the file, the line
where the YAML parser knows it, and the field.

A template may ``extends: OTHER``: mappings merge key by key, lists of things
with ids merge by id (a local entry replaces the base's), other lists replace.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import TemplateInvalid, TemplateNotFound
from ..resources import builtin_templates_dir
from .model import Identifier, Interval, Thresholds, check_quantity, field_path, split_field

ENV_VAR = "DELIBERATION_TEMPLATES"


# --------------------------------------------------------------------------- YAML


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in templates", event.start_mark
            )
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if getattr(event, "anchor", None):
            raise yaml.constructor.ConstructorError(
                None, None, "anchors (&name) are not allowed in templates", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "keys must be plain strings", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _line_index(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each YAML path to the line it starts on, for error messages."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                lines[(*path, key)] = key_node.start_mark.line + 1
                walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for position, child in enumerate(node.value):
                walk(child, (*path, position))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def parse_yaml(text: str, path: Path | str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        raise TemplateInvalid(f"{where}{problem}", path=path) from None
    except yaml.reader.ReaderError as error:
        raise TemplateInvalid(
            f"character {error.position + 1}: {error.reason} ({error.character!r} is not "
            "allowed in YAML)",
            path=path,
        ) from None
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())  # one line, whatever the parser said
        raise TemplateInvalid(f"invalid YAML ({detail})", path=path) from None
    except RecursionError:
        raise TemplateInvalid("invalid YAML (nested too deeply)", path=path) from None


# --------------------------------------------------------------------------- model


class _Model(BaseModel):
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
    count: int = Field(ge=1)


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
    | MinProbabilityExtremeGood
    | PositiveExpectedValue,
    Field(discriminator="rule"),
]

_RULE_NAMES = frozenset(
    kind.model_fields["rule"].annotation.__args__[0] for kind in get_args(get_args(Rule)[0])
)
ANALYSIS_RULES = ("max-p-extreme-bad", "min-p-extreme-good", "positive-expected-value")


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


# --------------------------------------------------------------------------- loading

# Lists of things with ids merge by id. The scales are not here: a scale is ordered,
# so a template that gives one replaces its base's whole.
_ID_LISTS = (
    "categories",
    "clauses",
    "suggested_mitigations",
    "policy",
)


def _merge(base: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in local.items():
        if key in _ID_LISTS and isinstance(value, list) and isinstance(base.get(key), list):
            by_id = {entry.get("id"): entry for entry in base[key] if isinstance(entry, dict)}
            order = list(by_id)
            for entry in value:
                entry_id = entry.get("id") if isinstance(entry, dict) else None
                if entry_id not in by_id:
                    order.append(entry_id)
                by_id[entry_id] = entry
            merged[key] = [by_id[i] for i in order]
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


def _path_to_loc(field_text: str) -> tuple[str | int, ...]:
    """``policy[2].at_least`` -> ("policy", 2, "at_least")."""
    loc: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+", field_text):
        loc.append(int(part) if part.isdigit() else part)
    return tuple(loc)


def _describe(error: ValidationError, lines: dict[tuple[Any, ...], int]) -> str:
    first = error.errors(include_url=False)[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    named = split_field(message)
    if named is not None:
        field_text, message = named
    else:
        field_text = field_path(tuple(first["loc"]))
        if first["type"] == "missing":
            message = "this field is required"
        elif first["type"] == "extra_forbidden":
            message = "unknown field"
        elif first["type"] == "union_tag_invalid":
            message = "expected rule to be one of " + ", ".join(sorted(_RULE_NAMES))
    probe = _path_to_loc(field_text)
    line = None
    while probe:
        if probe in lines:
            line = lines[probe]
            break
        probe = probe[:-1]
    where = f"line {line}: " if line else ""
    return f"{where}{field_text}: {message}" if field_text else f"{where}{message}"




def _read(path: Path) -> tuple[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise TemplateInvalid(f"cannot read: {error.strerror}", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TemplateInvalid(f"expected UTF-8 text ({error.reason})", path=path) from None
    data = parse_yaml(text, path)
    if not isinstance(data, dict):
        raise TemplateInvalid(
            f"expected a mapping of template fields at the top level, got {type(data).__name__}",
            path=path,
        )
    return text, data


def template_dirs(extra: Iterable[Path | str] = ()) -> list[Path]:
    """Where templates are looked up: given folders, then $DELIBERATION_TEMPLATES, then built-in."""
    folders = [Path(p) for p in extra]
    env = os.environ.get(ENV_VAR)
    if env:
        folders += [Path(p) for p in env.split(os.pathsep) if p]
    folders.append(builtin_templates_dir())
    return folders


def _find(template_id: str, folders: list[Path]) -> Path:
    for folder in folders:
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{template_id}{suffix}"
            if candidate.is_file():
                return candidate
    known = sorted({p.stem for f in folders if f.is_dir() for p in f.glob("*.y*ml")})
    raise TemplateNotFound(
        f"unknown template {template_id!r}; expected one of: {', '.join(known)}",
        field="template.id",
    )


def load_template_file(
    path: Path | str, *, search: Iterable[Path | str] = (), _chain: tuple[str, ...] = ()
) -> Template:
    """Load one template file, resolving ``extends`` through the search folders."""
    path = Path(path)
    text, data = _read(path)
    parent = data.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            raise TemplateInvalid("extends: expected a template id", path=path)
        if parent in _chain or parent == data.get("id"):
            raise TemplateInvalid(f"extends: template {parent!r} extends itself", path=path)
        folders = [path.parent, *template_dirs(search)]
        try:
            base_path = _find(parent, folders)
        except TemplateNotFound as error:
            raise TemplateInvalid(f"extends: {error.detail}", path=path) from None
        if base_path.resolve() == path.resolve():
            raise TemplateInvalid(f"extends: template {parent!r} extends itself", path=path)
        base = load_template_file(base_path, search=search, _chain=(*_chain, str(data.get("id"))))
        data = _merge(base.model_dump(mode="json", exclude={"extends"}), data)
    try:
        return Template.model_validate(data)
    except ValidationError as error:
        raise TemplateInvalid(_describe(error, _line_index(text)), path=path) from None


def load_template(template_id: str, *, search: Iterable[Path | str] = ()) -> Template:
    """Find a template by id in the search folders and load it."""
    return load_template_file(_find(template_id, template_dirs(search)), search=search)


def list_templates(search: Iterable[Path | str] = ()) -> list[tuple[str, Path, Template | str]]:
    """Every template on the search path: (id, file, template or the error that stops it)."""
    found: list[tuple[str, Path, Template | str]] = []
    seen: set[str] = set()
    for folder in template_dirs(search):
        if not folder.is_dir():
            continue
        for file in sorted(folder.glob("*.y*ml")):
            if file.stem in seen:
                continue  # an earlier folder shadows it
            seen.add(file.stem)
            try:
                found.append((file.stem, file, load_template_file(file, search=search)))
            except (TemplateInvalid, TemplateNotFound) as error:
                found.append((file.stem, file, str(error)))
    return found


# --------------------------------------------------------------------------- review vs template


def resolve_likelihood(value: Any, template: Template) -> tuple[float, float]:
    """A likelihood as a numeric 90% interval: labels looked up, points doubled."""
    if isinstance(value, str):
        return template.likelihood_of(value)
    if isinstance(value, tuple | list):
        return (float(value[0]), float(value[1]))
    return (float(value), float(value))


def resolve_impact(value: Any, template: Template) -> tuple[float, float]:
    """An impact as a numeric 90% interval: labels looked up, points doubled."""
    if isinstance(value, str):
        return template.impact_of(value)
    if isinstance(value, tuple | list):
        return (float(value[0]), float(value[1]))
    return (float(value), float(value))


def check_review_against(review: Any, template: Template, path: Path | str | None = None) -> None:
    """Raise ReviewInvalid unless every label and category of ``review`` exists in ``template``."""
    from ..errors import ReviewInvalid

    likelihoods = [level.label for level in template.likelihood_scale]
    impacts = [level.label for level in template.impact_scale]
    if review.template.id != template.id:
        raise ReviewInvalid(
            f"expected template {template.id!r}, got {review.template.id!r}",
            path=path,
            field="template.id",
        )
    for index, estimate in enumerate(review.estimates):
        if isinstance(estimate.likelihood, str) and estimate.likelihood not in likelihoods:
            raise ReviewInvalid(
                f"expected [low, high], a probability or one of {', '.join(likelihoods)}; "
                f"got {estimate.likelihood!r}",
                path=path,
                field=f"estimates[{index}].likelihood",
            )
        if isinstance(estimate.impact, str) and estimate.impact not in impacts:
            raise ReviewInvalid(
                f"expected [low, high], a number or one of {', '.join(impacts)}; "
                f"got {estimate.impact!r}",
                path=path,
                field=f"estimates[{index}].impact",
            )
    categories = {c.id: c for c in template.categories}
    for index, item in enumerate(review.items):
        if item.category is None:
            continue
        category = categories.get(item.category)
        if category is None:
            raise ReviewInvalid(
                f"expected one of the template's categories ({', '.join(categories)}), "
                f"got {item.category!r}",
                path=path,
                field=f"items[{index}].category",
            )
        if category.kind != item.kind:
            raise ReviewInvalid(
                f"category {item.category!r} is a {category.kind} category, but the item is a "
                f"{item.kind}",
                path=path,
                field=f"items[{index}].category",
            )
    for index, entry in enumerate(review.not_applicable):
        if entry.category not in categories:
            raise ReviewInvalid(
                f"expected one of the template's categories, got {entry.category!r}",
                path=path,
                field=f"not_applicable[{index}].category",
            )


def open_review(
    path: Path | str, *, search: Iterable[Path | str] = ()
) -> tuple[Any, Template, Path]:
    """Load ``review.json`` (or a folder holding one), find its template, check them together.

    Templates are searched in ``search``, then a ``templates/`` folder beside the review,
    then $DELIBERATION_TEMPLATES, then the built-in ones.
    """
    from ..errors import ReviewInvalid
    from .model import load_review

    path = Path(path)
    if path.is_dir():
        path = path / "review.json"
    review = load_review(path)
    try:
        template = load_template(review.template.id, search=(*search, path.parent / "templates"))
    except TemplateNotFound as error:
        raise ReviewInvalid(error.detail, path=path, field="template.id") from None
    check_review_against(review, template, path)
    return review, template, path
