"""Record mode: how a workbook executed for an exported record is told what to record.

``deliberation export`` runs the review's workbook in a fresh kernel, a separate
process, so the settings travel in one environment variable, ``DELIBERATION_RECORD``,
holding this object as JSON. Inside the kernel :meth:`RecordMode.from_env` reads it
back; outside an export it is absent and nothing in the environment changes what a
workbook does.

The exporter analyses the review once and renders each step's fragment from the record
it will publish; ``fragments`` names the JSON file (``{step: html}``) it wrote them to, so
the kernel shows those very fragments instead of analysing and drawing the charts again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import RecordError

ENV_VAR = "DELIBERATION_RECORD"
# The record's sections a workbook shows in record mode, one per agenda step (the
# register holds benefits, harms and the estimates); none depends on the record's
# name or time, so the exporter renders them before the archive gives it a slot.
STEP_FRAGMENTS = ("setup", "register", "mitigations", "tradeoffs", "policy", "decision")


@dataclass(frozen=True)
class RecordMode:
    """The review being recorded, the seed and sample count of its numbers, its templates,
    and the file of the step fragments the exporter rendered (None: render them here)."""

    review: Path
    seed: int
    samples: int
    templates: tuple[Path, ...] = ()
    fragments: Path | None = None

    def to_env(self) -> dict[str, str]:
        """The environment entry that hands this mode to a kernel."""
        data = {"review": str(self.review), "seed": self.seed, "samples": self.samples,
                "templates": [str(folder) for folder in self.templates],
                "fragments": str(self.fragments) if self.fragments is not None else None}
        return {ENV_VAR: json.dumps(data)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RecordMode | None:
        """The mode an exporter set, or None in an ordinary kernel."""
        text = (os.environ if environ is None else environ).get(ENV_VAR)
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(review=Path(data["review"]), seed=int(data["seed"]),
                       samples=int(data["samples"]),
                       templates=tuple(Path(p) for p in data.get("templates", [])),
                       fragments=Path(data["fragments"]) if data.get("fragments") else None)
        except (ValueError, KeyError, TypeError) as error:
            raise RecordError(f"${ENV_VAR} is not a record mode set by `deliberation export` "
                              f"({error})") from None
