"""pydantic's validation errors as our one-line messages: the field as the user reads it
(``estimates[3].likelihood``) and what was expected, in words."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ReviewInvalid


def field_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's ``loc`` as the user reads a field: ``estimates[3].likelihood``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in {"str", "float", "int", "bool"} or "[" in part or "-" in part:
            # pydantic names union branches in loc ("float", "constrained-str",
            # "tuple[...]", a template rule's "min-participants"); the user never typed
            # these, and our fields have no '-'.
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


_FIELD_PREFIX = re.compile(r"([a-z_]+(?:\[\d+\]|\.[a-z_]+)*):\s*(.*)", re.DOTALL)


def split_field(message: str) -> tuple[str, str] | None:
    """``"items[1].id: id 'x' is used twice"`` -> (field, rest), for the model-level checks
    that name their own field path (pydantic reports those at the model's location)."""
    match = _FIELD_PREFIX.fullmatch(message)
    return (match.group(1), match.group(2)) if match else None


_BOUNDS = {
    "less_than_equal": "at most {}",
    "less_than": "less than {}",
    "greater_than_equal": "at least {}",
    "greater_than": "more than {}",
    "string_too_long": "text of at most {} characters",
    "too_long": "at most {} entries",
}


_TYPES = {
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "a list",
    "tuple_type": "a list",
    "string_type": "text",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "int_from_float": "an integer",
}


def _brief(value: Any) -> str:
    """A value for an error message, never longer than a line."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 190:
        # repr of an integer of thousands of digits is refused by Python itself
        digits = int(value.bit_length() * 0.30102999566398120) + 1
        if 10 ** (digits - 1) > abs(value):
            digits -= 1
        return f"an integer of {digits} digits"
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _pick_error(errors: list[Any]) -> Any:
    """Of a union's failed branches, report the one that got furthest (the user's intent)."""
    custom = [e for e in errors if e["type"] == "value_error"]
    # A "wrong type" error from a union branch the user did not mean is the least helpful.
    specific = [e for e in errors if not str(e["type"]).endswith("_type")]
    return (custom or specific or errors)[0]


def plain_message(error: Any) -> str:
    """One pydantic error's message in our words ("expected at most 1000, got 5000"),
    for reviews and templates alike."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "this field is required"
    elif error["type"] == "literal_error":
        message = "expected " + str(error["msg"]).removeprefix("Input should be ")
        message += f", got {error['input']!r}"
    elif error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "finite_number":
        message = f"expected a finite number, got {error['input']!r}"
    elif error["type"] in _TYPES:
        message = f"expected {_TYPES[error['type']]}, got {_brief(error['input'])}"
    elif error["type"] in _BOUNDS:
        bound = next(iter((error.get("ctx") or {}).values()), "")
        message = (f"expected {_BOUNDS[error['type']].format(bound)}, "
                   f"got {_brief(error['input'])}")
    return message


def describe_validation_error(error: ValidationError, path: Path | str | None) -> ReviewInvalid:
    """Turn pydantic's error list into our one-line error naming file and field."""
    errors = error.errors(include_url=False)
    first = _pick_error(errors)
    field = field_path(tuple(first["loc"]))
    message = plain_message(first)
    named = None if field else split_field(message)
    if named is not None:
        field, message = named
    distinct = {field_path(tuple(e["loc"])) for e in errors}
    if len(distinct) > 1:
        message += f" (and {len(distinct) - 1} more problem{'s' if len(distinct) > 2 else ''})"
    return ReviewInvalid(message, path=path, field=field)
