"""Layout and style models shared by every workbook widget that looks the same.

ipywidgets gives each widget its own ``Layout`` model and, for most kinds, its own style
model (``HTMLStyle``, ``TextStyle``, ...), even when nothing is set on them: of the 2,830
models a Run All of the example made, 1,750 were layouts and styles (issue 12). Each is
a comm the kernel opens and a model the page builds. A layout or style can be shared by
any number of widgets (each view still styles its own element), so:

- while :func:`shared_defaults` is active, a widget made without ``layout=`` or
  ``style=`` gets the one default instance of that class, and a ``style={...}`` given
  as a dict the one instance made from that dict;
- :func:`layout` gives one ``Layout`` per set of properties.

Only the workbook's own building runs inside the context, and only the workbook's
widgets take :func:`layout`. None of them changes a shared layout or style in place:
a widget whose layout changes (a button shown and hidden, a confirm row) is made with a
``widgets.Layout`` of its own. :mod:`.cards` never closes a shared one when it retires a
card. Outside the context, ipywidgets behaves as always.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets
from ipywidgets.widgets.trait_types import InstanceDict

_DEFAULT = InstanceDict.make_dynamic_default
_VALIDATE = InstanceDict.validate
_SHARED: dict[Hashable, Any] = {}  # the shared instances, by class and properties
_IDS: set[int] = set()
_DEPTH = [0]  # how deep shared_defaults() is nested


def _interned(key: Hashable, make: Any) -> Any:
    instance = _SHARED.get(key)
    if instance is None or getattr(instance, "comm", None) is None:  # closed meanwhile
        if instance is not None:
            _IDS.discard(id(instance))
        instance = _SHARED[key] = make()
        _IDS.add(id(instance))
    return instance


def _shared_default(trait: InstanceDict) -> Any:
    if trait.default_args or trait.default_kwargs:
        return _DEFAULT(trait)
    return _interned((trait.klass, ()), lambda: _DEFAULT(trait))


def _shared_validate(trait: InstanceDict, obj: Any, value: Any) -> Any:
    if isinstance(value, dict):
        try:
            key = (trait.klass, tuple(sorted(value.items())))
            hash(key)
        except TypeError:
            return _VALIDATE(trait, obj, value)
        value = _interned(key, lambda: trait.klass(**value))
    return _VALIDATE(trait, obj, value)


@contextmanager
def shared_defaults() -> Iterator[None]:
    """Inside: widgets made without their own layout or style, or with a style given
    as a dict, share one instance per class and properties."""
    if _DEPTH[0] == 0:
        InstanceDict.make_dynamic_default = _shared_default  # type: ignore[method-assign]
        InstanceDict.validate = _shared_validate  # type: ignore[method-assign]
    _DEPTH[0] += 1
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        if _DEPTH[0] == 0:
            InstanceDict.make_dynamic_default = _DEFAULT  # type: ignore[method-assign]
            InstanceDict.validate = _VALIDATE  # type: ignore[method-assign]


def layout(**properties: Any) -> Any:
    """The one ``Layout`` with these properties, shared: never change it in place."""
    key = (widgets.Layout, tuple(sorted(properties.items())))
    return _interned(key, lambda: widgets.Layout(**properties))


def is_shared(widget: Any) -> bool:
    """Whether ``widget`` is one of the shared layouts or styles (never closed with a card)."""
    return id(widget) in _IDS
