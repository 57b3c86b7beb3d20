"""Undo, per step: each step reverts its own last change, and nothing else.

A step's edit is remembered as the review's data before and after it (a short stack
per step; edits of one field in a row count as one change, so undo reverts a typed
title, not its last letter). Undoing computes what that change touched: the fields
of the review's objects, a list counting as one value (``items``, a variant's
``mitigations``), and puts back each old value, but only where the review still
holds what the change wrote; if someone or something else changed that place since,
undo refuses in plain words rather than revert their work.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from ..journal.events import LOG_FIELD

DEPTH = 20  # changes remembered per step
MISSING: Any = object()  # a field the data does not hold

Path = tuple[str, ...]


@dataclass
class Change:
    group: Hashable | None
    before: dict[str, Any]
    after: dict[str, Any]


def differences(before: Any, after: Any, path: Path = ()) -> list[tuple[Path, Any, Any]]:
    """(path, old, new) for every field that differs; lists are compared whole. The store's
    stamp (``event_log``) is the store's to write, never a change to undo."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[tuple[Path, Any, Any]] = []
        for key in list(before) + [k for k in after if k not in before]:
            if not path and key == LOG_FIELD:
                continue
            found += differences(before.get(key, MISSING), after.get(key, MISSING),
                                 (*path, key))
        return found
    return [] if before == after else [(path, before, after)]


def _at(data: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return MISSING
        data = data[key]
    return data


def _put(data: dict[str, Any], path: Path, value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    if value is MISSING:
        data.pop(path[-1], None)
    else:
        data[path[-1]] = value


def revert(data: dict[str, Any], change: Change) -> None:
    """Put back what ``change`` replaced, in place; ValueError if it changed since."""
    patches = differences(change.before, change.after)
    moved = [".".join(path) for path, _, new in patches if _at(data, path) != new]
    if moved:
        raise ValueError(f"nothing undone: {', '.join(moved[:3])} changed since this step's "
                         "last change (by another step or participant)")
    for path, old, _ in patches:
        # The remembered data is shared (the session's snapshots): put copies, never it.
        _put(data, path, old if old is MISSING else copy.deepcopy(old))


class UndoStacks:
    """The last :data:`DEPTH` changes of each step."""

    def __init__(self) -> None:
        self.stacks: dict[str, list[Change]] = {}

    def remember(self, step: str, before: dict[str, Any], after: dict[str, Any],
                 group: Hashable | None = None) -> None:
        stack = self.stacks.setdefault(step, [])
        if group is not None and stack and stack[-1].group == group:
            stack[-1].after = after  # the same field again: one change
            return
        stack.append(Change(group, before, after))
        del stack[:-DEPTH]

    def can_undo(self, step: str) -> bool:
        return bool(self.stacks.get(step))

    def last(self, step: str) -> Change:
        stack = self.stacks.get(step)
        if not stack:
            raise ValueError("nothing to undo in this step")
        return stack[-1]

    def forget_last(self, step: str) -> None:
        self.stacks[step].pop()
