"""Recompute after an edit: what a widget pays when one estimate changes.

50 items, 20,000 samples, 3 variants, the whole analysis (summaries, comparisons, what
each mitigation buys, sensitivity, disagreement). The workbook keeps a ``DrawCache``, so
an edit redraws only the edited item; the cold figure (no cache) is printed beside it.

The budget (docs/design.md: under 25 ms) is read on the CPU time of the measuring
thread, which is what a recompute costs whatever else the machine runs; the wall-clock
median is printed beside it (the same on a quiet machine).
"""

from __future__ import annotations

import statistics
import time

from _common import Budget, review_data, template
from deliberation.engine.analysis import analyze
from deliberation.engine.draws import DrawCache
from deliberation.review.model import parse_review

ITEMS, SAMPLES, EDITS = 50, 20_000, 25


def main() -> list[Budget]:
    template_ = template()
    data = review_data(ITEMS, participants=3)
    cache = DrawCache()
    analyze(parse_review(data), template_, samples=SAMPLES, cache=cache)
    times, cpu = [], []
    for edit in range(EDITS):
        estimate = data["estimates"][(7 * edit) % len(data["estimates"])]
        low = estimate["impact"][0] * (1.1 if edit % 2 else 0.9)
        estimate["impact"] = [low, max(low, estimate["impact"][1])]
        edited = parse_review(data)
        started, started_cpu = time.perf_counter(), time.thread_time()
        analyze(edited, template_, samples=SAMPLES, cache=cache)
        cpu.append(time.thread_time() - started_cpu)
        times.append(time.perf_counter() - started)
    cold = []
    for _ in range(5):
        started = time.perf_counter()
        analyze(parse_review(data), template_, samples=SAMPLES)
        cold.append(time.perf_counter() - started)
    median = statistics.median(cpu)
    print(f"recompute after an edit ({ITEMS} items x 3 participants, {SAMPLES:,} samples, "
          f"3 variants, full analysis): median {median * 1e3:.1f} ms of CPU, fastest "
          f"{min(cpu) * 1e3:.1f} ms over {EDITS} edits (wall-clock median "
          f"{statistics.median(times) * 1e3:.1f} ms); cold (no cache) "
          f"{statistics.median(cold) * 1e3:.1f} ms")
    return [Budget("recompute after an edit (median, CPU)", median * 1e3, 25, "ms")]


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
