"""Progress of a long analysis or export, drawn by tqdm: in a terminal or a notebook.

``Progress()`` is a ``progress(done, total)`` callback for ``analyze`` and ``simulate``;
its bar appears only once a run has lasted ``after`` seconds (tqdm's ``delay``), so
quick runs stay quiet. ``Progress(notebook=True)`` draws tqdm's ipywidgets bar.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """A ``progress(done, total)`` callback that shows a tqdm bar for long runs."""

    def __init__(self, *, label: str = "simulating", unit: str = "samples",
                 after: float = 1.0, notebook: bool = False,
                 file: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        self.after = after
        self.notebook = notebook
        self.file = file
        self.bar: Any = None

    def _make(self, total: int) -> Any:
        if self.notebook:
            from tqdm.notebook import tqdm
        else:
            from tqdm import tqdm
        return tqdm(total=total, desc=self.label, unit=self.unit, unit_scale=True,
                    delay=self.after, file=self.file if self.file is not None else sys.stderr,
                    dynamic_ncols=True, leave=True)

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = self._make(total)
        self.bar.update(min(done, total) - self.bar.n)
        if done >= total:
            self.bar.close()
