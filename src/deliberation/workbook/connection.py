"""Whether a page still talks to a live kernel: when not, every step says so and is veiled.

A form whose kernel is gone still takes typing, and its status line still says "saved",
while nothing reaches review.json. Two signals turn every step read-only with a banner:

* **The kernel restarted or stopped** (JupyterLab's *Restart kernel*, a crash the
  server restarted, or a saved notebook opened with its widget state): the widget
  manager marks each view ``jupyter-widgets-disconnected`` (``comm_live`` false). The
  style below shows the veil at once on such a step.
* **No heartbeat**: one small HTML widget, shown at the foot of every step, is
  rewritten by the kernel every :data:`BEAT_SECONDS`. Each rewrite replaces its
  element, which restarts a CSS animation that makes the veil visible after
  :data:`SILENT_SECONDS` without one. A lost connection, a paused or dead kernel, a
  page whose server stopped: the beats stop and the veil appears; when they resume
  (the connection comes back) the next beat replaces the element and the veil is gone.
  A cell that keeps the kernel busy longer than that also shows it, and says so: edits
  made meanwhile would wait, not be saved yet.

No script runs: it works the same in JupyterLab and Voila, and the veil (an overlay
over the step) takes the pointer, so a click can not reach a field (the keyboard still
can: what is typed there is not sent while the kernel is gone, as the banner says). The
record has no widgets and no veil.
"""

from __future__ import annotations

import asyncio
from typing import Any

BEAT_SECONDS = 2.0
SILENT_SECONDS = 8

MESSAGE = (
    "Not connected to the kernel: this step is read-only and nothing typed here is "
    "saved. In JupyterLab run the notebook again (Run ▸ Run All Cells) once the kernel "
    "is back; on the presentation page, reload it."
)

STYLE = f"""
.dl-step {{ position: relative; }}
.dl-heartbeat.lm-Widget, .dl-heartbeat .widget-html-content {{
  position: static !important; overflow: visible !important;
  height: 0 !important; min-height: 0 !important; margin: 0 !important;
  padding: 0 !important; line-height: 0 !important; }}
.dl-offline {{ position: absolute; inset: 0; z-index: 20; visibility: hidden;
  background: rgba(255, 255, 255, 0.78); cursor: not-allowed; line-height: normal;
  animation: dl-offline-after-silence 0s linear {SILENT_SECONDS}s forwards; }}
@keyframes dl-offline-after-silence {{ to {{ visibility: visible; }} }}
.dl-step.jupyter-widgets-disconnected .dl-offline {{ visibility: visible; animation: none; }}
.dl-offline-text {{ position: sticky; top: 0; margin: 8px; padding: 8px 12px;
  background: #fff4ce; border: 2px solid #8a6d00; color: #3d3000; font-weight: 600;
  font-size: 14px; white-space: normal; overflow-wrap: anywhere; }}
"""


def _banner(beat: int) -> str:
    return (f'<style>{STYLE}</style><div class="dl-offline" data-beat="{beat}">'
            f'<p class="dl-offline-text" role="alert">{MESSAGE}</p></div>')


class Heartbeat:
    """The kernel's beat: one HTML widget (every step shows a view of it)."""

    def __init__(self) -> None:
        import ipywidgets as widgets

        self.beats = 0
        self.widget = widgets.HTML(value=_banner(0), layout=widgets.Layout(margin="0"))
        self.widget.add_class("dl-heartbeat")
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Beat on the kernel's event loop; nothing outside one (plain Python, tests)."""
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(BEAT_SECONDS, self.beat)

    def beat(self) -> None:
        self.beats += 1
        self.widget.value = _banner(self.beats)
        self._timer = None
        self.start()


_HEARTBEAT: list[Heartbeat] = []  # the kernel's one heartbeat, made on first use


def heartbeat() -> Any:
    """The kernel's heartbeat widget (one per kernel), started on first use."""
    if not _HEARTBEAT:
        _HEARTBEAT.append(Heartbeat())
    _HEARTBEAT[0].start()
    return _HEARTBEAT[0].widget
