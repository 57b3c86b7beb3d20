"""YAML read strictly: a safe loader that rejects duplicate keys and aliases.

It also keeps the line of every key, so an error can name where it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import TemplateInvalid

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

    def construct_yaml_int(self, node: Any) -> Any:
        """An integer as YAML reads it, except one of thousands of digits, which Python
        refuses to convert: read as a power of ten of the same length, so validation
        names its field, its line and the bound (as it does for 400 digits)."""
        text = str(self.construct_scalar(node)).replace("_", "")
        digits = text.lstrip("+-").lstrip("0")
        if len(digits) > _LONG_INTEGER and digits.isascii() and digits.isdigit():
            return (-1 if text.startswith("-") else 1) * 10 ** (len(digits) - 1)
        return super().construct_yaml_int(node)


_LONG_INTEGER = 1000  # digits: far beyond any bound, far below Python's 4300
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


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
    except (ValueError, OverflowError) as error:  # an integer of thousands of digits
        detail = " ".join(str(error).split())
        raise TemplateInvalid(f"invalid YAML ({detail})", path=path) from None
