"""Peak memory of a large run: 500 items x 1,000,000 samples, 3 variants, the whole analysis.

Measured in a fresh subprocess as the growth of its peak resident set: ``ru_maxrss``
after the run minus the resident set just before it (from /proc/self/statm), with numpy,
pydantic and the review already loaded and lazy imports warmed up by a 20-item analysis
(a warm-up on the 500 items would itself allocate the simulation's chunk buffers, which
the big run then reuses, and hide them from the figure). RSS counts everything the run
touched (numpy buffers, Python objects, allocator slack), so it is the stricter of the two
measures the issue allows; tracemalloc (which slows the run several-fold) is not used.
The budget (the budget: under 200 MB) is checked against it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from _common import ROOT, Budget

ITEMS, SAMPLES = 500, 1_000_000

CHILD = textwrap.dedent(
    f"""
    import json, resource, sys, time
    sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
    from _common import review, template
    from deliberation.engine.analysis import analyze
    review_, template_ = review({ITEMS}), template()
    analyze(review(20), template_, samples=200, seed=0)  # load everything lazily imported
    with open("/proc/self/statm") as statm:  # resident pages now, not the peak so far
        before = int(statm.read().split()[1]) * resource.getpagesize() // 1024
    started, cpu = time.perf_counter(), time.process_time()
    analysis = analyze(review_, template_, samples={SAMPLES}, seed=0)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({{"rss_growth": (after - before) * 1024, "cpu": cpu,
                      "seconds": seconds, "before": before * 1024,
                      "p_extreme_bad": analysis.variants["open"].p_extreme_bad}}))
    """
)


def main() -> list[Budget]:
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    rss = figures["rss_growth"] / 2**20
    print(f"{ITEMS} items x {SAMPLES:,} samples, 3 variants, full analysis with sensitivity: "
          f"{figures['seconds']:.0f} s ({figures['cpu']:.0f} s CPU); peak RSS growth "
          f"{rss:.0f} MB (the process held {figures['before'] / 2**20:.0f} MB before the run)")
    return [Budget(f"peak memory, {ITEMS} items x {SAMPLES:,} samples (ru_maxrss growth)",
                   rss, 200, "MB")]


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
