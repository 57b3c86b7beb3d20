"""Asking first: a button for what cannot be undone shows a confirm row before acting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .fields import Step, error_line, escape
from .shared import layout


def confirm(step: Step, description: str, css: str, question: str,
            action: Callable[[], None], *, yes: str, icon: str = "") -> Any:
    """A button that asks ``question`` first, with ``yes`` and Cancel (Cancel changes
    nothing); ``yes`` runs ``action`` as any of the step's buttons does. Classes: ``css``
    (the button), ``{css}-confirm-row``, ``{css}-question``, ``{css}-confirm``,
    ``{css}-cancel``, ``{css}-error``."""
    errors = error_line(f"{css}-error")
    ask = widgets.HTML(value=f"<b>{escape(question)}</b>")
    ask.add_class(f"{css}-question")
    row = widgets.HBox(layout=widgets.Layout(display="none", align_items="center"))
    row.add_class(f"{css}-confirm-row")

    def hide() -> None:
        row.layout.display = "none"

    def go() -> None:
        hide()
        action()

    trigger = widgets.Button(description=description, icon=icon,
                             layout=layout(width="auto"))
    trigger.add_class(css)
    trigger.on_click(lambda _: setattr(row.layout, "display", None))
    row.children = [ask, step.button(yes, f"{css}-confirm", go, style="warning", error=errors),
                    step.button("Cancel", f"{css}-cancel", hide)]
    return widgets.VBox([trigger, row, errors])
