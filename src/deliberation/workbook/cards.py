"""A step's body kept across rebuilds: cards cached by what they show, the rest closed.

A step rebuilds its body when the review's structure changes (an item added, a variant
removed). Building every card anew cost seconds per click at a meeting's size and left
thousands of widget models alive in the kernel and the page per click (issue 12). So a
step asks :class:`Cards` for each piece of its body by a key naming everything the piece
was built from (an item card: the template and the item's id and kind); a piece whose
key is unchanged is reused with its bound fields, and only new keys are built. Whatever
the old body held that the new one no longer shows (boxes, their children, layouts and
styles; never the shared default layouts and styles of :mod:`.shared`) is closed by
:func:`retire`, so the number of live widget models stays bounded
however many adds and removes a meeting makes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from .shared import is_shared

# The traits through which a widget holds other widgets in this package's layouts.
_HOLDS = ("children", "layout", "style")


def root_of(value: Any) -> Any:
    """The widget a cached value shows: the value itself, or its ``box``."""
    return value if isinstance(value, widgets.Widget) else value.box


def reachable(roots: Iterable[Any], stop: frozenset[int] | set[int] = frozenset()
              ) -> dict[int, Any]:
    """Every widget under ``roots`` (children, layouts, styles), by id; the widgets in
    ``stop`` are counted but not descended into."""
    seen: dict[int, Any] = {}
    stack = [widget for widget in roots if isinstance(widget, widgets.Widget)]
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen[id(widget)] = widget
        if id(widget) in stop:
            continue
        for name in _HOLDS:
            held = getattr(widget, name, None)
            if isinstance(held, widgets.Widget):
                stack.append(held)
            elif isinstance(held, (tuple, list)):
                stack.extend(w for w in held if isinstance(w, widgets.Widget))
    return seen


def retire(old: Iterable[Any], new: Iterable[Any], kept: Iterable[Any] = ()) -> int:
    """Close every widget under ``old`` that is not under ``new``; ``kept`` are roots
    shown in both, whole (not walked). Returns how many were closed."""
    stop = {id(widget) for widget in kept}
    still = reachable(new, stop)
    closed = 0
    for key, widget in reachable(old, stop).items():
        if key not in still and key not in stop and not is_shared(widget):
            widget.close()
            closed += 1
    return closed


@dataclass
class _Card:
    value: Any
    owned: list[list[Any]]  # what building it added to each of the step's registries


class Cards:
    """The pieces of one step's body, by key, from one build to the next.

    ``registries()`` gives the step's lists that building a piece appends to (its bound
    fields first): a reused piece puts its own entries back in them.
    """

    def __init__(self, registries: Callable[[], list[list[Any]]]) -> None:
        self._registries = registries
        self._old: dict[Hashable, _Card] = {}
        self._new: dict[Hashable, _Card] = {}
        self._reused: list[Hashable] = []
        self.reused: list[Any] = []  # the reused pieces' root widgets, this build

    def begin(self) -> None:
        """A new build starts: pieces not asked for again are dropped at :meth:`end`."""
        self._old, self._new, self._reused, self.reused = self._new, {}, [], []

    def end(self) -> list[Any]:
        """The bound fields of the pieces reused in this build (to re-read the review)."""
        self._old = {}
        return [field for key in self._reused for field in self._new[key].owned[0]]

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The piece ``key`` from the last build, or ``make()``'s."""
        registries = self._registries()
        card = self._old.pop(key, None)
        if card is not None and key not in self._new:
            for registry, owned in zip(registries, card.owned, strict=True):
                registry.extend(owned)
            self._new[key] = card
            self._reused.append(key)
            self.reused.append(root_of(card.value))
            return card.value
        starts = [len(registry) for registry in registries]
        value = make()
        self._new[key] = _Card(value, [registry[start:] for registry, start
                                       in zip(registries, starts, strict=True)])
        return value
