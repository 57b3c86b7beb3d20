"""The agenda: one registry of the workbook's steps, in meeting order.

Each entry names the widget class that shows the step live and the record fragment
that shows it in an exported record; :class:`~deliberation.workbook.Workbook`,
the tabbed view and record mode all read this table, so adding a step is one line
here plus its module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepSpec:
    """One agenda step: its method name, tab title, widget class and record fragment."""

    name: str
    title: str
    widget: str  # "module:Class" inside this package
    fragment: str  # the record fragment shown in record mode (see workbook.static)
    live: bool = False  # needs the shared live analysis
    options: dict[str, Any] = field(default_factory=dict)  # extra arguments of the widget
    in_app: bool = True  # a tab of ``Workbook.app()``

    def widget_class(self) -> Any:
        module, name = self.widget.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)


STEPS: tuple[StepSpec, ...] = (
    StepSpec("setup", "Set-up", "setup:SetupStep", "setup"),
    StepSpec("items", "Benefits & harms", "items:ItemsStep", "register"),
    StepSpec("benefits", "Benefits", "items:ItemsStep", "register",
             options={"kinds": ("benefit",)}, in_app=False),
    StepSpec("harms", "Harms", "items:ItemsStep", "register",
             options={"kinds": ("harm",)}, in_app=False),
    StepSpec("estimates", "Estimates", "estimates:EstimatesStep", "register"),
    StepSpec("mitigations", "Mitigations", "mitigations:MitigationsStep", "mitigations"),
    StepSpec("tradeoffs", "Tradeoffs", "tradeoffs:TradeoffsStep", "tradeoffs", live=True),
    StepSpec("policy", "Policy", "policy:PolicyStep", "policy", live=True),
    StepSpec("decision", "Decision", "decision:DecisionStep", "decision", live=True),
    StepSpec("export", "Export", "export:ExportStep", "export"),
)

BY_NAME = {spec.name: spec for spec in STEPS}
