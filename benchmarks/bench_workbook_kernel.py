"""The workbook at meeting pace, kernel side (issue 12): what the kernel spends per action.

No browser: the example review (workbooks/example/review.json) is copied to a temp
folder and opened as the notebook does (``Workbook.open``, so through the SQLite store),
inside a running asyncio loop as in a kernel (the chart painter then draws in its
worker thread, the live analysis debounces). The example notebook's cells are built
(setup, benefits, harms, estimates, mitigations, tradeoffs, policy, decision, export and
the tabbed ``app()``: 17 live steps), then, 20 times each after two warm-ups:

- **build**: a fresh workbook and every cell's step (what Run All costs the kernel);
- **add a harm**: a title typed into the harms step's new-harm field, Add clicked;
- **add a variant**: the same in the mitigations step;
- **edit an estimate**: an impact field of the estimates step given a new value.

Each action is timed from its start to the return of the widget callback (the kernel is
free again), on the wall clock and on the thread's CPU; an estimate's edit also until the
tradeoffs cell's chart is redrawn (wall clock, the worker's drawing included). Between
actions the loop runs for 1.5 s so debounced work and the chart worker settle and are
not charged to the next.
Also counted: the widget models each action leaves alive (``ipywidgets.Widget.widgets``).

With ``--baseline REF`` (default ``main``) the same is measured, alternating, on the
package as it is at git REF (exported to a temp folder and imported as
``deliberation_baseline``), so the ratios compare both under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Budget  # noqa: E402
from bench_edit_latency import _first_estimated_item  # noqa: E402

REPEATS = 20
WARM_UPS = 2
STEP_BUDGET_MS = 300.0
SETTLE = 1.5
NOTEBOOK = ("setup", "benefits", "harms", "estimates", "mitigations", "tradeoffs", "policy",
            "decision", "export")


def baseline_package(ref: str, folder: Path) -> Any:
    """The package ``deliberation`` as at git ``ref``, importable as deliberation_baseline."""
    # with the built-in templates beside it, where an editable install finds them
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src/deliberation",
                              "templates"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "src" / "deliberation").rename(folder / "src" / "deliberation_baseline")
    sys.path.insert(0, str(folder / "src"))
    return importlib.import_module("deliberation_baseline")


def walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def find(root: Any, css: str) -> Any:
    for widget in walk(root):
        if css in getattr(widget, "_dom_classes", ()):
            return widget
    raise LookupError(css)


def models() -> int:
    from ipywidgets.widgets import widget

    return len(widget._instances)  # Widget.widgets, without its deprecation warning


class Side:
    """One package under test, with its own copy of the example and its own workbook."""

    def __init__(self, name: str, package: Any, folder: Path) -> None:
        self.name = name
        self.package = package
        self.folder = folder
        folder.mkdir()
        self.timings: dict[str, list[tuple[float, float]]] = {}
        self.models: dict[str, list[int]] = {}
        self.wb: Any = None
        self.roots: dict[str, Any] = {}
        self.adds = 0
        self.builds = 0

    def timed(self, what: str, action: Callable[[], Any]) -> Any:
        before = models()
        wall, cpu = time.perf_counter(), time.thread_time()
        result = action()
        self.timings.setdefault(what, []).append(
            ((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000))
        self.models.setdefault(what, []).append(models() - before)
        return result

    def build(self) -> None:
        # each workbook on its own copy: the ones left behind (as Run All leaves them)
        # follow their own store, not the one the next actions edit
        self.builds += 1
        folder = self.folder / str(self.builds)
        folder.mkdir()
        shutil.copyfile(ROOT / "workbooks" / "example" / "review.json", folder / "review.json")
        workbook = self.package.Workbook.open(folder / "review.json")
        roots = {name: workbook.step(name) for name in NOTEBOOK}
        roots["app"] = workbook.app()
        self.wb, self.roots = workbook, roots

    def add_harm(self) -> None:
        self.adds += 1
        find(self.roots["harms"], "dl-new-harm-title").value = f"Bench harm {self.adds}"
        find(self.roots["harms"], "dl-add-harm").click()

    def add_variant(self) -> None:
        self.adds += 1
        find(self.roots["mitigations"], "dl-new-variant-title").value = f"Bench option {self.adds}"
        find(self.roots["mitigations"], "dl-add-variant").click()

    def edit_estimate(self, index: int) -> None:
        item, _ = _first_estimated_item(self.wb.session.path)
        high = 20_000 + 1_000 * (index % 2 + 1) * (index + 1)
        find(self.roots["estimates"], f"dl-impact-{item}").value = f"100 to {high}"


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} ms, worst {max(values):.0f} ms"


async def run(sides: list[Side], repeats: int) -> None:
    async def settle() -> None:
        await asyncio.sleep(SETTLE)

    for index in range(WARM_UPS + repeats):
        for side in sides:
            side.timed("build" if index >= WARM_UPS else "warm-up", side.build)
            await settle()
    for what, action in (("add a harm", Side.add_harm), ("add a variant", Side.add_variant)):
        for side in sides:  # one workbook per side for the edits: its own, just built
            side.build()
            await settle()
        for index in range(WARM_UPS + repeats):
            for side in sides:
                side.timed(what if index >= WARM_UPS else "warm-up", partial(action, side))
                await settle()
    for side in sides:
        side.build()
        await settle()
    for index in range(WARM_UPS + repeats):
        for side in sides:
            chart = find(side.roots["tradeoffs"], "dl-tradeoff-chart")
            shown, started = chart.value, time.perf_counter()
            side.timed("edit an estimate" if index >= WARM_UPS else "warm-up",
                       partial(side.edit_estimate, index))
            while chart.value == shown and time.perf_counter() - started < 10:
                await asyncio.sleep(0.005)
            if index >= WARM_UPS:
                side.timings.setdefault("edit to redrawn chart", []).append(
                    ((time.perf_counter() - started) * 1000, float("nan")))
            await settle()


def main(argv: list[str] | None = None) -> list[Budget]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main",
                        help="git ref to compare with in the same process ('' for none)")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    options = parser.parse_args([] if argv is None else argv)  # run.py passes none
    import os

    os.environ.pop("DELIBERATION_RECORD", None)
    import deliberation

    with tempfile.TemporaryDirectory(prefix="bench-workbook-") as temp:
        folder = Path(temp)
        sides = [Side("this tree", deliberation, folder / "this")]
        if options.baseline:
            baseline = baseline_package(options.baseline, folder / "baseline")
            sides.append(Side(options.baseline, baseline, folder / "base"))
        load = os.getloadavg()
        asyncio.run(run(sides, options.repeats))
        load_after = os.getloadavg()
    print(f"load average {load[0]:.2f} at the start, {load_after[0]:.2f} at the end "
          f"({os.cpu_count()} CPUs)")
    results = []
    for what in ("build", "add a harm", "add a variant", "edit an estimate",
                 "edit to redrawn chart"):
        for side in sides:
            walls = [wall for wall, _ in side.timings[what]]
            cpus = [cpu for _, cpu in side.timings[what]]
            cpu = "" if what == "edit to redrawn chart" else f"; thread CPU {summary(cpus)}"
            print(f"{what:17} {side.name:10}: wall {summary(walls)}{cpu}")
        if len(sides) == 2:
            ratio = (statistics.median(w for w, _ in sides[0].timings[what])
                     / statistics.median(w for w, _ in sides[1].timings[what]))
            print(f"{what:17} this tree / {sides[1].name}: {ratio:.2f}x (wall medians)")
        if what not in ("build", "edit to redrawn chart"):
            walls = [wall for wall, _ in sides[0].timings[what]]
            results.append(Budget(f"{what}, kernel side (median of {len(walls)})",
                                  statistics.median(walls), STEP_BUDGET_MS, "ms"))
            results.append(Budget(f"{what}, kernel side (worst of {len(walls)})",
                                  max(walls), STEP_BUDGET_MS, "ms"))
    for what in ("build", "add a harm", "add a variant", "edit an estimate"):
        print(f"widget models left alive per {what}: " + ", ".join(
            f"{side.name} {statistics.mean(side.models[what]):.0f}" for side in sides))
    return results


if __name__ == "__main__":
    results = main(sys.argv[1:])
    for result in results:
        print(result.line())
    sys.exit(0 if all(r.ok for r in results) else 1)
