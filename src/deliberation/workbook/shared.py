"""Layout and style models shared by every workbook widget that looks the same.

ipywidgets gives each widget its own ``Layout`` model and, for most kinds, its own style
model (``HTMLStyle``, ``TextStyle``, ...), even when nothing is set on them: of the 2,830
models a Run All of the example made, 1,750 were layouts and styles (issue 12). Each is
a comm the kernel opens and a model the page builds. A layout or style can be shared by
any number of widgets (each view still styles its own element), so:

- while :func:`shared_defaults` is active, a widget made without ``layout=`` or
  ``style=`` gets the one default instance of that class, and a ``style={...}`` given
  as a dict the one instance made from that dict;
- :func:`layout` gives one ``Layout`` per set of properties;
- while it is active, a widget made is opened (its comm, the ``comm_open`` message with
  its whole state) only when the outermost context ends, or when a widget already open
  first refers to it, so the classes, values and children set just after making it
  travel in that one message instead of one update message each (1,435 updates in a
  Run All of the example, 1,200 of them ``add_class`` on a widget just made).

The workbook's own building runs inside the context (a step's build, the review's
listeners, a step button's action; a listener you subscribe to ``wb.session`` too: give a
widget made there its own ``layout=`` before changing its layout in place), and only the
workbook's widgets take :func:`layout`. None of them changes a shared layout or style in place:
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
from ipywidgets.widgets.widget import Widget

_DEFAULT = InstanceDict.make_dynamic_default
_VALIDATE = InstanceDict.validate
_SHARED: dict[Hashable, Any] = {}  # the shared instances, by class and properties
_IDS: set[int] = set()
_DEPTH = [0]  # how deep shared_defaults() is nested
_OPEN = Widget.open
_SEND_STATE = Widget.send_state
_CLOSE = Widget.close
_REPR = Widget._repr_mimebundle_
_PENDING: dict[int, Any] = {}  # widgets made in the context, not opened yet, in order


def _open_pending(widget: Any) -> None:
    """Open ``widget`` if it waits, after every waiting widget its state refers to."""
    if _PENDING.pop(id(widget), None) is None:
        return
    _open_referred(widget, None)
    _OPEN(widget)


def _open_referred(widget: Any, key: Any) -> None:
    names = widget.keys if key is None else [key] if isinstance(key, str) else list(key)
    for name in names:
        value = getattr(widget, name, None)
        if isinstance(value, Widget):
            _open_pending(value)
        elif isinstance(value, (list, tuple)):
            for element in value:
                if isinstance(element, Widget):
                    _open_pending(element)


def _deferred_open(self: Any) -> None:
    if self.comm is None:
        _PENDING[id(self)] = self


def _deferred_send_state(self: Any, key: Any = None) -> None:
    if id(self) in _PENDING:
        return  # its comm_open will carry it
    if _PENDING:
        _open_referred(self, key)  # an open widget's state names only open widgets
    _SEND_STATE(self, key)


def _deferred_repr(self: Any, **kwargs: Any) -> Any:
    _open_pending(self)  # displayed (by a listener of yours, say): open now
    return _REPR(self, **kwargs)


def _deferred_close(self: Any) -> None:
    if _PENDING.pop(id(self), None) is not None:
        return  # never opened: nothing to close
    _CLOSE(self)


def _interned(key: Hashable, make: Any) -> Any:
    instance = _SHARED.get(key)
    if instance is None or (getattr(instance, "comm", None) is None
                            and id(instance) not in _PENDING):  # closed meanwhile
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


# (class, attribute, ipywidgets' own, the context's): swapped in and back as one table
_PATCHES = (
    (InstanceDict, "make_dynamic_default", _DEFAULT, _shared_default),
    (InstanceDict, "validate", _VALIDATE, _shared_validate),
    (Widget, "open", _OPEN, _deferred_open),
    (Widget, "send_state", _SEND_STATE, _deferred_send_state),
    (Widget, "close", _CLOSE, _deferred_close),
    (Widget, "_repr_mimebundle_", _REPR, _deferred_repr),
)


def _patch(*, use_shared: bool) -> None:
    for owner, name, original, shared in _PATCHES:
        setattr(owner, name, shared if use_shared else original)


@contextmanager
def shared_defaults() -> Iterator[None]:
    """Inside: widgets made without their own layout or style, or with a style given
    as a dict, share one instance per class and properties, and the widgets made are
    opened as the outermost context ends (see above)."""
    if _DEPTH[0] == 0:
        _patch(use_shared=True)
    _DEPTH[0] += 1
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        if _DEPTH[0] == 0:
            try:
                # in the order they were made, each after what it names (a default
                # layout made now, on first reading, is the shared one and opens first)
                while _PENDING:
                    _open_pending(next(iter(_PENDING.values())))
            finally:
                _patch(use_shared=False)


def layout(**properties: Any) -> Any:
    """The one ``Layout`` with these properties, shared: never change it in place."""
    key = (widgets.Layout, tuple(sorted(properties.items())))
    return _interned(key, lambda: widgets.Layout(**properties))


def is_shared(widget: Any) -> bool:
    """Whether ``widget`` is one of the shared layouts or styles (never closed with a card)."""
    return id(widget) in _IDS
