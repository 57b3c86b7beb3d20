"""Import cost: ``import deliberation`` against ``import numpy, pandas``.

Each import runs in a fresh interpreter (so nothing is cached in the process), several
times, alternating the two; the median of each is compared. The interpreter's own
start-up is subtracted (``python -c pass``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _common import ROOT, Budget

RUNS = 9


def _seconds(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - started


def main() -> list[Budget]:
    timings: dict[str, list[float]] = {"pass": [], "numpy, pandas": [], "deliberation": [],
                                       "deliberation.engine.analysis": []}
    _seconds("import deliberation, numpy, pandas")  # warm the file cache
    for _ in range(RUNS):
        for name, runs in timings.items():
            runs.append(_seconds("pass" if name == "pass" else f"import {name}"))
    start = statistics.median(timings["pass"])
    medians = {name: statistics.median(t) - start for name, t in timings.items()}
    ratio = medians["deliberation"] / medians["numpy, pandas"]
    for name, value in medians.items():
        print(f"import {name}: {value * 1e3:.0f} ms (median of {RUNS}, start-up subtracted)")
    print(f"ratio deliberation / numpy+pandas: {ratio:.2f}; the analysis engine "
          f"(deliberation.engine.analysis) {medians['deliberation.engine.analysis'] * 1e3:.0f} ms")
    return [Budget("import deliberation / import numpy, pandas", ratio, 1.2, "x")]


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
