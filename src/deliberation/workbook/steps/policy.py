"""Step 7, policy: every gate of the template's policy, live."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..fields import Step
from ..live import LiveAnalysis
from ..session import ReviewSession


class PolicyStep(Step):
    undoable = False  # it shows the review; it changes nothing
    name = "policy"
    title = "Policy gates"
    lead = "The template's rules, checked live against the review and its analysis."

    def __init__(self, session: ReviewSession, live: LiveAnalysis) -> None:
        self.live = live
        self.table = widgets.HTML(value="")
        self.table.add_class("dl-policy-table")
        super().__init__(session)
        live.subscribe(self.show)
        self.show(live)

    def build(self, data: dict[str, Any]) -> list[Any]:
        return [self.table]

    def show(self, live: LiveAnalysis) -> None:
        from ...record.render import render_policy

        self.table.value = render_policy([gate.to_json() for gate in live.gates])
