"""Review templates: YAML files that carry a standard's scales, categories and policy.

Templates are loaded with a safe YAML loader that also rejects duplicate keys and
aliases (a template is a record of what a team committed to; YAML's shortcuts
make it ambiguous), then validated with pydantic. Errors name the file, the line
where the YAML parser knows it, and the field.

A template may ``extends: OTHER``: mappings merge key by key, lists of things
with ids merge by id (a local entry replaces the base's), other lists replace.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import DeliberationError, TemplateInvalid, TemplateNotFound
from ..files import read_regular
from ..resources import builtin_templates_dir
from .messages import field_path, plain_message, split_field
from .strict_yaml import _line_index, parse_yaml
from .template import (
    _RULE_NAMES,
    Template,
)

ENV_VAR = "DELIBERATION_TEMPLATES"
MAX_TEMPLATE_BYTES = 1 << 20  # a template is a page of YAML; 1 MiB is generous
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")


# --------------------------------------------------------------------------- loading

# Lists of things with ids merge by id. The scales are not here: a scale is ordered,
# so a template that gives one replaces its base's whole.
_ID_LISTS = (
    "categories",
    "clauses",
    "suggested_mitigations",
    "policy",
)


def _merge_key(entry: Any) -> Any:
    """An entry's id to merge by; an entry without a string id (a list, a mapping: a
    mistake validation then reports with its line) merges with nothing."""
    entry_id = entry.get("id") if isinstance(entry, dict) else None
    return entry_id if isinstance(entry_id, str) else ("unmerged", id(entry))


def _merge(base: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in local.items():
        if key in _ID_LISTS and isinstance(value, list) and isinstance(base.get(key), list):
            by_id = {_merge_key(entry): entry for entry in base[key] if isinstance(entry, dict)}
            order = list(by_id)
            for entry in value:
                entry_id = _merge_key(entry)
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
        if first["loc"]:  # a nested model's own check (thresholds): under its location
            field_text = f"{field_path(tuple(first['loc']))}.{field_text}"
    else:
        field_text = field_path(tuple(first["loc"]))
        if first["type"] == "union_tag_invalid":
            message = "expected rule to be one of " + ", ".join(sorted(_RULE_NAMES))
        else:
            message = plain_message(first)
    probe = _path_to_loc(field_text)
    line = None
    while probe:
        if probe in lines:
            line = lines[probe]
            break
        probe = probe[:-1]
    where = f"line {line}: " if line else ""
    return f"{where}{field_text}: {message}" if field_text else f"{where}{message}"


_PARSED: dict[tuple[str, str], Any] = {}  # (path, text) -> its YAML, for _read
_PARSED_MAX = 32


def _read(path: Path) -> tuple[str, Any]:
    raw = read_regular(path, limit=MAX_TEMPLATE_BYTES, error=TemplateInvalid)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TemplateInvalid(f"expected UTF-8 text ({error.reason})", path=path) from None
    # The file is read each time; its parse (30 ms for a built-in template, and opening
    # a workbook read the same one up to seven times) is kept while the text is the same.
    key = (str(path), text)
    data = _PARSED.get(key)
    if data is None:
        data = parse_yaml(text, path)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = data
    data = copy.deepcopy(data)  # each caller its own: nobody changes the one kept
    if not isinstance(data, dict):
        raise TemplateInvalid(
            f"expected a mapping of template fields at the top level, got {type(data).__name__}",
            path=path,
        )
    return text, data


# --------------------------------------------------------------------------- where from
#
# Precedence, stated (and printed by `check` and `templates`): a folder given on the
# command line (--templates) wins over the organisation's ($DELIBERATION_TEMPLATES),
# which wins over the built-in templates; each says what it shadows. A review's own
# templates/ folder may only add templates: an id it shares with the organisation's or
# the built-in ones is an error naming both files, so the team under review can not
# replace (and weaken) the standard's template. The same id twice within one level is
# an error too: nothing decides between them.

COMMAND_LINE = "--templates"
ORGANISATION = f"${ENV_VAR}"
BUILT_IN = "built-in"
REVIEW = "the review's templates/"
BESIDE = "beside the template"


@dataclass(frozen=True)
class Level:
    """Folders of equal precedence, and whether the level may shadow the ones below it."""

    origin: str
    folders: tuple[Path, ...]
    may_shadow: bool = True


@dataclass(frozen=True)
class Found:
    """Where a template id was found: the file, its level, the files it shadows."""

    id: str
    path: Path
    origin: str
    shadows: tuple[tuple[Path, str], ...] = ()

    def describe(self) -> str:
        text = f"{self.path} ({self.origin})"
        for path, origin in self.shadows:
            text += f", shadowing {path} ({origin})"
        return text


def _existing(origin: str, folders: Iterable[Path]) -> tuple[Path, ...]:
    """The folders, each one that exists: a mistyped or unmounted organisation folder
    would otherwise drop its templates silently, and the built-in one of the same id
    would be used in its place. (Callers' own folders, such as a review's templates/,
    may be missing.)"""
    folders = tuple(folders)
    for folder in folders:
        if not folder.is_dir():
            found = "a file" if folder.exists() else "nothing"
            raise DeliberationError(f"expected a folder of templates, found {found}",
                                    path=folder, field=origin)
    return folders


def search_levels(
    extra: Iterable[Path | str] = (), *, review_folder: Path | None = None
) -> list[Level]:
    """The template search path, highest precedence first."""
    levels = []
    given = tuple(Path(p) for p in extra)  # the command line's are checked by click
    if given:
        levels.append(Level(COMMAND_LINE, given))
    env = os.environ.get(ENV_VAR)
    if env:
        levels.append(Level(ORGANISATION, _existing(
            ORGANISATION, (Path(p) for p in env.split(os.pathsep) if p))))
    levels.append(Level(BUILT_IN, (builtin_templates_dir(),)))
    if review_folder is not None:
        levels.append(Level(REVIEW, (review_folder / "templates",), may_shadow=False))
    return levels


def template_dirs(extra: Iterable[Path | str] = ()) -> list[Path]:
    """Where templates are looked up: given folders, then $DELIBERATION_TEMPLATES, then built-in."""
    return [folder for level in search_levels(extra) for folder in level.folders]


def _files_of(template_id: str, folder: Path) -> list[Path]:
    found = []
    for suffix in (".yaml", ".yml"):
        candidate = folder / f"{template_id}{suffix}"
        if candidate.exists() or candidate.is_symlink():
            found.append(candidate)
    return found


def locate(template_id: str, levels: Sequence[Level]) -> Found:
    """The one file that provides ``template_id`` under the stated precedence."""
    if not isinstance(template_id, str) or not _ID.fullmatch(template_id):
        raise TemplateNotFound(
            f"expected a template id (letters, digits, '-', '_' or '.', starting with a letter "
            f"or digit; never a path), got {template_id!r}", field="template.id")
    hits: list[tuple[Path, Level]] = []
    for level in levels:
        in_level = [(file, level) for folder in level.folders
                    for file in _files_of(template_id, folder)]
        if len(in_level) > 1:
            raise TemplateInvalid(
                f"template {template_id!r} is defined twice in {level.origin}: "
                f"{in_level[0][0]} and {in_level[1][0]}; keep one", path=in_level[0][0])
        hits += in_level
    if not hits:
        known = sorted({p.stem for level in levels for f in level.folders if f.is_dir()
                        for p in f.glob("*.y*ml")})
        raise TemplateNotFound(
            f"unknown template {template_id!r}; expected one of: {', '.join(known)}",
            field="template.id",
        )
    (path, level), rest = hits[0], hits[1:]
    for other_path, other in rest:
        if not other.may_shadow or not level.may_shadow:
            raise TemplateInvalid(
                f"template {template_id!r} is defined both in {level.origin} ({path}) and in "
                f"{other.origin} ({other_path}); a review's own templates/ may add templates "
                "but not replace its standard's: rename or remove it", path=other_path)
    return Found(template_id, path, level.origin,
                 tuple((other_path, other.origin) for other_path, other in rest))


# --------------------------------------------------------------------------- resolving


def _levels_for(path: Path, levels: Sequence[Level]) -> list[Level]:
    """The search path for a template's ``extends``: a file loaded from outside the
    search folders also sees the templates beside it, first."""
    folder = path.parent.resolve()
    if any(f.resolve() == folder for level in levels for f in level.folders):
        return list(levels)
    return [Level(BESIDE, (path.parent,)), *levels]


def resolve_file(
    path: Path | str, levels: Sequence[Level], *, cache: dict[Path, Template] | None = None
) -> tuple[Template, list[Found]]:
    """Load one template file with its ``extends`` chain, iteratively (a long chain costs
    one read per file; ``cache`` shares the work across a listing). Returns the template
    and where each link of the chain came from, the file itself first."""
    cache = {} if cache is None else cache
    path = Path(path)
    levels = _levels_for(path, levels)
    chain: list[tuple[Path, str, dict[str, Any], Found | None]] = []
    seen: dict[Path, int] = {}
    current, found = path, None
    base: Template | None = None
    while True:
        key = current.resolve()
        if key in seen:
            names = " -> ".join(p.name for p, *_ in chain[seen[key]:]) + f" -> {current.name}"
            raise TemplateInvalid(f"extends: a cycle of templates: {names}", path=path)
        if key in cache:
            base = cache[key]
            break
        seen[key] = len(chain)
        text, data = _read(current)
        chain.append((current, text, data, found))
        parent = data.get("extends")
        if parent is None:
            break
        if not isinstance(parent, str):
            raise TemplateInvalid(
                f"extends: expected a template id, got {type(parent).__name__}", path=current)
        try:
            found = locate(parent, levels)
        except TemplateNotFound as error:
            raise TemplateInvalid(f"extends: {error.detail}", path=current) from None
        current = found.path
    for file, text, data, _ in reversed(chain):
        merged = data
        if base is not None:
            merged = _merge(base.model_dump(mode="json", exclude={"extends"}), data)
        try:
            base = Template.model_validate(merged)
        except ValidationError as error:
            raise TemplateInvalid(_describe(error, _line_index(text)), path=file) from None
        except RecursionError:
            raise TemplateInvalid("nested too deeply", path=file) from None
        cache[file.resolve()] = base
    assert base is not None  # noqa: S101 - the loop above ran at least once
    sources = [found for *_, found in chain if found is not None]
    return base, sources


def load_template_file(path: Path | str, *, search: Iterable[Path | str] = ()) -> Template:
    """Load one template file, resolving ``extends`` through the search folders."""
    return resolve_file(path, search_levels(search))[0]


def resolve_template(
    template_id: str, *, search: Iterable[Path | str] = (), review_folder: Path | None = None
) -> tuple[Template, list[Found]]:
    """Find a template by id under the stated precedence and load it; where each part
    of it came from (the template first, then what it extends)."""
    levels = search_levels(search, review_folder=review_folder)
    found = locate(template_id, levels)
    template, sources = resolve_file(found.path, levels)
    return template, [found, *sources]


def load_template(template_id: str, *, search: Iterable[Path | str] = ()) -> Template:
    """Find a template by id in the search folders and load it."""
    return resolve_template(template_id, search=search)[0]


def list_templates(search: Iterable[Path | str] = ()) -> list[tuple[str, Path, Template | str]]:
    """Every template on the search path: (id, file, template or the error that stops it)."""
    levels = search_levels(search)
    found: list[tuple[str, Path, Template | str]] = []
    seen: set[str] = set()
    cache: dict[Path, Template] = {}
    for level in levels:
        for folder in level.folders:
            if not folder.is_dir():
                continue
            for file in sorted(folder.glob("*.y*ml")):
                if file.stem in seen:
                    continue  # a higher level shadows it (locate says which)
                seen.add(file.stem)
                try:
                    where = locate(file.stem, levels)
                    template = resolve_file(where.path, levels, cache=cache)[0]
                    found.append((file.stem, where.path, template))
                except (TemplateInvalid, TemplateNotFound) as error:
                    found.append((file.stem, file, str(error)))
    return found
