"""Executing a review's workbook headless for its record (nbclient, a fresh kernel).

The kernel is told what it records through :mod:`.mode`; export hands it the step
fragments it rendered, so the executed notebook shows the record's own sections.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import RecordError
from ..resources import shipped_workbook
from .mode import RecordMode
from .quick_import import defer_iri_grammar

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """The default progress reporter: says nothing."""


def find_workbook(review_folder: Path) -> Path:
    """The review folder's workbook, else the one deliberation ships."""
    notebooks = sorted(p for p in review_folder.glob("*.ipynb") if not p.name.startswith("."))
    preferred = [p for p in notebooks if p.name == "release_review.ipynb"]
    if preferred or len(notebooks) == 1:
        return (preferred or notebooks)[0]
    if len(notebooks) > 1:
        raise RecordError(
            "expected one workbook (.ipynb) in the review folder, found "
            + ", ".join(p.name for p in notebooks), path=review_folder,
        )
    workbook = shipped_workbook()
    if not workbook.is_file():
        raise RecordError("no workbook in the review folder, and none shipped",
                          path=review_folder)
    return workbook


def execute_workbook(
    notebook_path: Path,
    review_folder: Path,
    *,
    seed: int,
    samples: int,
    template_dirs: Sequence[Path] = (),
    timeout: int = 600,
    progress: Progress = _quiet,
    fragments: Path | None = None,
) -> bytes:
    """Run the workbook headless in record mode in the review folder; the executed notebook.
    ``fragments``: the JSON file of the step fragments it shows (else it renders them)."""
    defer_iri_grammar()
    nbformat: Any = importlib.import_module("nbformat")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except (OSError, ValueError) as error:
        raise RecordError(f"expected a Jupyter notebook ({error})", path=notebook_path) from None
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    done = started = 0

    def starting(cell: Any, cell_index: int) -> None:
        nonlocal started
        if cell.cell_type == "code":
            started += 1

    def executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        nonlocal done
        done += 1
        step = cell.get("metadata", {}).get("deliberation", {}).get("step") or (
            cell.source.strip().splitlines() or [""])[0][:50]
        progress(f"  [{done}/{code_cells}] {step}")

    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", allow_errors=False,
        resources={"metadata": {"path": str(review_folder)}}, on_cell_executed=executed,
        on_cell_start=starting,
    )
    # absolute paths: the kernel runs in the review folder
    mode = RecordMode(review=(review_folder / "review.json").resolve(), seed=seed,
                      samples=samples, templates=tuple(p.resolve() for p in template_dirs),
                      fragments=fragments.resolve() if fragments is not None else None)
    env = {**os.environ, **mode.to_env()}
    try:
        # The kernel's own log (a warning about its local TCP transport) is noise on a
        # terminal; what a cell prints or raises comes back through the messages.
        client.execute(env=env, stderr=subprocess.DEVNULL)
    except CellExecutionError as error:
        lines = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().splitlines()
        raise RecordError(
            f"the workbook failed in record mode, in cell {started} of {code_cells}: "
            f"{lines[-1] if lines else 'error'}", path=notebook_path) from None
    except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as error:
        raise RecordError(f"the workbook could not be executed: {error}",
                          path=notebook_path) from None
    return str(nbformat.writes(notebook)).encode("utf-8") + b"\n"
