"""Step 7, policy: every gate of the template's policy, live."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..fields import Step, escape
from ..live import LiveAnalysis
from ..session import ReviewSession


class PolicyStep(Step):
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
        self.table.value = gates_table(live.gates)


_MARK = {"pass": "✔ pass", "fail": "✘ fail", "warn": "! warn"}


def gates_table(gates: list[Any]) -> str:
    if not gates:
        return '<p class="dl-muted">The template sets no policy gates.</p>'
    rows = []
    for gate in gates:
        clause = escape(gate.clause)
        if gate.clause_text:
            clause += f'<div class="dl-hint">{escape(gate.clause_text)}</div>'
        rows.append(
            f"<tr class='dl-gate dl-gate-{escape(gate.status)}' data-gate='{escape(gate.id)}'>"
            f"<td class='dl-{escape(gate.status)}'>{_MARK.get(gate.status, gate.status)}</td>"
            f"<td style='text-align:left'>{escape(gate.id)}</td>"
            f"<td style='text-align:left'>{escape(gate.message)}</td>"
            f"<td style='text-align:left'>{clause}</td></tr>"
        )
    passed = sum(g.status == "pass" for g in gates)
    return (f"<p><b>{passed} of {len(gates)} gates pass.</b></p>"
            "<table class='dl-table'><tr><th>status</th><th style='text-align:left'>gate</th>"
            "<th style='text-align:left'>finding</th><th style='text-align:left'>clause</th></tr>"
            + "".join(rows) + "</table>")
