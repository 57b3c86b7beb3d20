"""Step 9, export: publish the review's decision record into an archive."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import ipywidgets as widgets

from ...errors import DeliberationError
from ..fields import (
    Step,
    escape,
)
from ..session import ReviewSession, user_message
from ..shared import layout


class ExportStep(Step):
    undoable = False  # it shows the review; it changes nothing
    name = "export"
    title = "Export the decision record"
    lead = ("Writes the executed workbook, the review and its analysis as one write-once "
            "record, and prints the archive's HEAD: keep it somewhere else (the minutes, a "
            "ticket) to detect a rewritten archive later.")

    def __init__(self, session: ReviewSession, archive: Path | str | None = None,
                 artifact: Path | str | None = None) -> None:
        self.archive = Path(archive) if archive else session.path.parent / "archive"
        self.artifact = Path(artifact) if artifact else None
        self.result = widgets.HTML(value="")
        self.result.add_class("dl-export-result")
        super().__init__(session)

    def build(self, data: dict[str, Any]) -> list[Any]:
        folder = widgets.Text(value=str(self.archive), description="Archive",
                              style={"description_width": "110px"},
                              layout=layout(width="640px"))
        folder.add_class("dl-archive")
        artifact = widgets.Text(value=str(self.artifact or ""), description="Model artifact",
                                placeholder="the model file or folder to bind the record to",
                                style={"description_width": "110px"},
                                layout=layout(width="640px"))
        artifact.add_class("dl-artifact")
        button = widgets.Button(description="Export the record", icon="archive",
                                button_style="primary", layout=layout(width="auto"))
        button.add_class("dl-export")

        def clicked(_: Any) -> None:
            button.disabled = True
            self.result.value = '<span class="dl-hint">Exporting… (runs the workbook)</span>'

            def progress(message: str) -> None:
                # the export takes seconds: each step it reaches is shown as it starts
                self.result.value = (f'<span class="dl-hint">Exporting… '
                                     f"{escape(message.strip())}</span>")

            try:
                record_dir, head = export_record(
                    self.session, Path(folder.value), progress=progress,
                    artifact=Path(artifact.value.strip()) if artifact.value.strip() else None)
            except (DeliberationError, OSError) as error:
                self.result.value = (f'<div class="dl-field-error">'
                                     f"{escape(user_message(error))}</div>")
            else:
                page = Path(record_dir) / "record.html"
                self.result.value = (
                    f"<div>Record written to <code>{escape(record_dir)}</code><br>"
                    f'<a class="dl-record-link" href="{escape(_link(page, self.session))}" '
                    f'target="_blank" rel="noopener">Open record.html</a> (the page for '
                    "stakeholders; JupyterLab opens it beside the workbook)<br>"
                    f"HEAD: <code class='dl-head'>{escape(head)}</code></div>")
            finally:
                button.disabled = False

        button.on_click(clicked)
        return [folder, artifact, button, self.result]


def _link(page: Path, session: ReviewSession) -> str:
    """``page`` as a link relative to the notebook's folder, where JupyterLab resolves
    links in outputs (forward slashes, each part URL-quoted)."""
    relative = os.path.relpath(page, session.path.parent)
    return "/".join(quote(part) for part in Path(relative).parts)


def export_record(
    session: ReviewSession, archive: Path, *, progress: Callable[[str], None] | None = None,
    artifact: Path | None = None,
) -> tuple[str, str]:
    """Publish the review's record into ``archive``, bound to the model ``artifact`` when one
    is given (its sha256 is the record's subject); returns (record folder, HEAD)."""
    if session.conflict is not None:
        raise session.conflict

    from ...record import build as record

    result = record.export(session.path.parent, archive, progress=progress or (lambda _: None),
                           artifact=artifact)
    return str(result.path), result.head


