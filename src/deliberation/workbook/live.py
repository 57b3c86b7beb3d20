"""The live steps: tradeoffs and policy, recomputed shortly after every edit.

One :class:`LiveAnalysis` per workbook runs the Monte Carlo analysis and the policy
gates after each change, debounced (a burst of edits costs one recompute), with a
modest sample count so the charts follow the conversation; the exported record
uses the full count. Its draw cache redraws only the edited items.

The charts are the record's own (:mod:`.charts`, drawn by vl-convert, wrapped by
:mod:`.captions`). Drawing one takes 100 to 400 ms, so a :class:`ChartPainter` draws
them in a worker thread: the numbers table updates at once, typing never waits, and a
newer analysis replaces one not yet drawn. The headline chart (the tails) follows every
edit; the net-value chart follows once edits pause; the others sit in an accordion and
are drawn only while open.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import DeliberationError
from ..readout.progress import Progress
from .fields import escape
from .session import ReviewSession, user_message

# A gate the live samples leave undecided draws more, up to this many samples (its cost
# is in benchmarks/README.md, "Sequential gate decisions"), so an edit near a limit
# never stalls the meeting; `check` and the export decide it with the full cap
# (engine.sequential.DEFAULT_CAP).
LIVE_GATE_CAP = 200_000


class LiveAnalysis:
    """The analysis and gate results of the session's current review, kept up to date."""

    def __init__(self, session: ReviewSession, *, samples: int, seed: int,
                 debounce: float) -> None:
        self.session = session
        self.samples = samples
        self.seed = seed
        self.debounce = debounce
        self.analysis: Any = None
        self.gates: list[Any] = []
        self.error: str | None = None
        self.seconds = 0.0
        self.computations = 0
        self.listeners: list[Callable[[LiveAnalysis], None]] = []
        from ..engine.draws import DrawCache

        self.cache = DrawCache()
        # One painter and one drawing per chart and analysis, however many steps show
        # it (the notebook's tradeoffs cell and the app's tab draw the same charts).
        self.painter = ChartPainter(threaded=debounce > 0)
        self._charts_lock = threading.Lock()
        self._charts_of: Any = None
        self._charts: dict[str, str] = {}
        self._pending: asyncio.TimerHandle | None = None
        self._finished = 0.0
        session.subscribe(self._changed)
        self.compute()

    def subscribe(self, listener: Callable[[LiveAnalysis], None]) -> None:
        self.listeners.append(listener)

    def chart(self, name: str, analysis: Any, draw: Callable[[], str]) -> str:
        """Chart ``name`` of ``analysis``: ``draw()``'s, drawn once for every step that
        shows it (only the latest analysis's charts are kept)."""
        with self._charts_lock:
            if self._charts_of is not analysis:
                self._charts_of, self._charts = analysis, {}
            if name not in self._charts:
                self._charts[name] = draw()
            return self._charts[name]

    def _changed(self, _: ReviewSession) -> None:
        if self.debounce <= 0:
            self.compute()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (plain Python, tests): compute right away
            self.compute()
            return
        if self._pending is not None:
            self._pending.cancel()
        elif time.monotonic() - self._finished >= self.debounce:
            # Leading edge: an edit after a quiet spell is computed at once (the chart is
            # what the meeting waits for); edits in a burst wait for it to pause.
            self.compute()
            return
        self._pending = loop.call_later(self.debounce, self.compute)

    def compute(self) -> None:
        self._pending = None
        started = time.perf_counter()
        review, template = self.session.review, self.session.template
        try:
            from ..engine.analysis import analyze
            self.analysis = analyze(review, template, samples=self.samples, seed=self.seed,
                                    cache=self.cache,
                                    gate_cap=max(self.samples, LIVE_GATE_CAP))
            self.error = None
        except (DeliberationError, ValueError, ImportError) as error:
            self.analysis = None
            self.error = user_message(error)
        try:
            from ..review.policy import evaluate_policy
            self.gates = evaluate_policy(review, template, self.analysis)
        except (DeliberationError, ValueError, ImportError) as error:
            self.gates = []
            self.error = self.error or user_message(error)
        self.seconds = time.perf_counter() - started
        self._finished = time.monotonic()
        self.computations += 1
        for listener in list(self.listeners):
            listener(self)


def in_voila() -> bool:
    """Whether this kernel runs a Voila page (Voila starts it with ``VOILA_*`` and CGI
    variables naming itself)."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila/") or any(
        name.startswith("VOILA_") for name in os.environ)


_WARMED: list[threading.Thread] = []  # the chart engine's warm-up, once per kernel

# The smallest chart vl-convert draws: its first drawing starts its JavaScript engine
# (measured: 400 ms of CPU, the next drawings 20 ms plus the chart's own work).
_TINY_CHART = {"data": {"values": [{"x": 0}]}, "mark": "point",
               "encoding": {"x": {"field": "x", "type": "quantitative"}}}


def warm_chart_engine() -> None:
    """Start vl-convert's engine in a thread of its own, once per kernel, while the
    notebook's first cells build: the first tradeoff chart of a Run All otherwise waited
    for it after every cell had run (issue 12). vl-convert releases the GIL while it
    starts (measured: Python beside it ran at full speed). Nothing outside a running
    event loop (plain Python, the tests' workbooks without one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    if _WARMED:
        return

    def warm() -> None:
        try:
            import vl_convert

            vl_convert.vegalite_to_svg(_TINY_CHART, allowed_base_urls=[])
        except Exception:  # noqa: S110 - the first real chart then starts it, as before
            pass

    thread = threading.Thread(target=warm, name="deliberation-chart-warm-up", daemon=True)
    _WARMED.append(thread)
    thread.start()


_CLAIMED: list[threading.Event] = []  # this kernel's, once asked for


def voila_claim() -> threading.Event | None:
    """In a kernel Voila pre-heats (``--preheat_kernel``: it runs the notebook before
    any page asks for it), an event set once a page takes this kernel; None in any
    other kernel. Until then the workbook follows nobody's edits: a pooled kernel would
    otherwise rebuild its steps and rerun the analysis on every edit of the meeting, for
    a page nobody sees. Voila tells the kernel through its request-info socket
    (``voila.utils.wait_for_request``); if that fails the event is set at once (the
    workbook then follows as in any kernel)."""
    if os.environ.get("VOILA_PREHEAT") != "True":
        return None
    if not _CLAIMED:
        claimed = threading.Event()

        def wait() -> None:
            try:
                from voila.utils import wait_for_request  # type: ignore[import-untyped]
                wait_for_request()
            except Exception:  # noqa: S110 - follow rather than never
                pass
            finally:
                claimed.set()

        threading.Thread(target=wait, name="deliberation-voila-claim", daemon=True).start()
        _CLAIMED.append(claimed)
    return _CLAIMED[0]


class ChartPainter:
    """Draws chart HTML into widgets off the event loop, the newest request per widget winning.

    Not ``threaded`` (a workbook without debounce, as in the tests), without a running
    event loop (plain Python), or with ``now=True``, it draws right away. Under Voila a
    step's first drawing is made that way, so it is in the widget when the cell ends:
    Voila snapshots the widgets then, and an update sent before the page connects is
    lost. In JupyterLab the first drawing goes to the worker too, so Run All does not
    wait for it (issue 12: drawing two charts held the tradeoffs cell for 2 s).
    """

    def __init__(self, *, threaded: bool = True) -> None:
        self.threaded = threaded
        self._executor: ThreadPoolExecutor | None = None
        self._tickets: dict[int, int] = {}
        self.drawn = 0

    def paint(self, target: Any, draw: Callable[[], str], *, now: bool = False) -> None:
        try:
            loop = asyncio.get_running_loop()  # the kernel's: draw in the worker
        except RuntimeError:
            now = True
        now = now or not self.threaded
        key = id(target)
        if now:
            self._tickets[key] = self._tickets.get(key, 0) + 1  # drops any drawing under way
            target.value = self._draw(draw)
            self.drawn += 1
            return
        ticket = self._tickets.get(key, 0) + 1
        self._tickets[key] = ticket
        if self._executor is None:
            # one worker: vl-convert draws one chart at a time anyway
            self._executor = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="deliberation-charts")

        def run() -> None:
            if self._tickets.get(key) != ticket:
                return
            html = self._draw(draw)
            # Set from this thread: ipykernel's iopub socket takes messages from any
            # thread, whereas a callback handed back to the kernel's event loop can wait
            # there for the next incoming message (measured: 400 ms more per edit in Voila).
            if self._tickets.get(key) == ticket:
                target.value = html
                self.drawn += 1

        executor = self._executor

        def start() -> None:
            if self._tickets.get(key) == ticket:
                executor.submit(run)

        # Started once the kernel has handled the edit: vl-convert holds the GIL while it
        # draws (measured: an add took 370 to 1,600 ms instead of 130 to 240 ms when the
        # drawing ran beside it), so the edit's own work and messages go first.
        loop.call_soon(start)

    @staticmethod
    def _draw(draw: Callable[[], str]) -> str:
        try:
            return draw()
        except Exception as error:  # a chart that fails must not stop the meeting
            return f'<div class="dl-warn">The chart could not be drawn: {escape(str(error))}</div>'


class NotebookProgress(Progress):
    """A ``progress(done, total)`` callback for notebooks: tqdm's notebook bar, shown
    only once a run has taken longer than ``after`` seconds (short runs stay quiet).

    ``dl.analyze(review, template, samples=1_000_000, progress=dl.NotebookProgress())``
    """

    def __init__(self, *, after: float = 1.0, label: str = "simulating") -> None:
        super().__init__(label=label, after=after, notebook=True)
