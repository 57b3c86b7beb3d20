"""Review templates: YAML files that carry a standard's scales, categories and policy.

Templates are loaded with a safe YAML loader that also rejects duplicate keys and
aliases (a template is a record of what a team committed to; YAML's shortcuts
make it ambiguous), then validated with pydantic. Errors name the file, the line
where the YAML parser knows it, and the field.

A template may ``extends: OTHER``: mappings merge key by key, lists of things
with ids merge by id (a local entry replaces the base's), other lists replace.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import TemplateInvalid, TemplateNotFound
from ..resources import builtin_templates_dir
from .model import field_path, split_field
from .strict_yaml import _line_index, parse_yaml
from .template import (
    _RULE_NAMES,
    Template,
)

ENV_VAR = "DELIBERATION_TEMPLATES"


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


