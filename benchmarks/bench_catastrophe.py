"""What P(catastrophe) costs: the harm-only totals (float64) and their counts.

The other benchmarks use the suite's small template, which sets no catastrophe
threshold; every built-in template sets one. Here the same analyses run with and
without a threshold, alternating (``best_of_pair``), so the ratio is the cost of the
harm totals alone: on the recompute after an edit (50 items x 3 participants, 20,000
samples, 3 variants, cached draws, as the workbook runs it) and on the shipped
example's whole analysis. The recompute with a threshold is held to the recompute
budget.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from _common import ROOT, Budget, best_of_pair, review_data, template
from deliberation.engine.analysis import analyze
from deliberation.engine.draws import DrawCache
from deliberation.review.model import parse_review

ITEMS, SAMPLES, EDITS = 50, 20_000, 25
THRESHOLD = 2_000.0  # the benchmark review's harms total a few thousand points


def _with(template_: Any, catastrophe: float | None) -> Any:
    thresholds = template_.thresholds.model_copy(update={"catastrophe": catastrophe})
    policy = [rule for rule in template_.policy
              if catastrophe is not None or rule.rule != "max-p-catastrophe"]
    return template_.model_copy(update={"thresholds": thresholds, "policy": policy})


def main() -> list[Budget]:
    plain = template()
    harms = _with(plain, THRESHOLD)
    data = review_data(ITEMS, participants=3)
    review = parse_review(data)
    caches = DrawCache(), DrawCache()
    on, off = best_of_pair(
        lambda: analyze(review, harms, samples=SAMPLES, cache=caches[0]),
        lambda: analyze(review, plain, samples=SAMPLES, cache=caches[1]), repeat=25)
    times = []
    cache = DrawCache()
    analyze(review, harms, samples=SAMPLES, cache=cache)
    for edit in range(EDITS):
        estimate = data["estimates"][(7 * edit) % len(data["estimates"])]
        low = estimate["impact"][0] * (1.1 if edit % 2 else 0.9)
        estimate["impact"] = [low, max(low, estimate["impact"][1])]
        edited = parse_review(data)
        started = time.perf_counter()
        analyze(edited, harms, samples=SAMPLES, cache=cache)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)

    from deliberation.review.opening import open_review

    example, shipped, _ = open_review(ROOT / "workbooks" / "example" / "review.json")
    without = _with(shipped, None)
    full_on, full_off = best_of_pair(
        lambda: analyze(example, shipped, samples=SAMPLES, seed=0),
        lambda: analyze(example, without, samples=SAMPLES, seed=0), repeat=15)
    print(f"P(catastrophe) on the cached recompute ({ITEMS} items x 3 participants, "
          f"{SAMPLES:,} samples, 3 variants): {on * 1e3:.1f} ms against {off * 1e3:.1f} ms "
          f"without a threshold ({on / off:.2f}x); after an edit, median {median * 1e3:.1f} ms "
          f"over {EDITS} edits")
    print(f"P(catastrophe) on the example's whole analysis (its gate included): "
          f"{full_on * 1e3:.1f} ms against {full_off * 1e3:.1f} ms ({full_on / full_off:.2f}x)")
    return [Budget("recompute after an edit, with a catastrophe threshold (median)",
                   median * 1e3, 50, "ms")]


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
