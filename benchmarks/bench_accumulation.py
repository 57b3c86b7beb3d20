"""The cost of accumulating net value in float64 (issue 9), against float32 accumulation.

The engine sums each sample's item contributions into float64 arrays and rounds the
net value to float32 once, so terms that cancel leave no rounding that depends on the
items' ids or order. Before, it summed into float32 arrays. The float32 side here is
the same engine with only that changed: its accumulators made float32 (the simulate
module's ``np.zeros`` of float64 made float32 for the run), so the ratio is the price
of the float64 sums alone, measured in one process, alternating, fastest of several
runs, in CPU time of the measuring thread (numpy's element-wise work runs on it), which
time spent waiting for a core on a loaded machine does not inflate. The draws, the
contributions and the per-variant net values stay float32 either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from _common import ROOT, Budget, least_cpu_pair, review, template
from deliberation.engine import simulate as simulate_module
from deliberation.engine.analysis import analyze
from deliberation.review.opening import open_review


class _Float32Sums:
    """numpy, except that ``zeros(..., float64)`` (the accumulators) is float32."""

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def zeros(shape: Any, dtype: Any = float) -> Any:
        return np.zeros(shape, np.float32 if np.dtype(dtype) == np.float64 else dtype)


def float32_sums(run: Any) -> Any:
    def patched() -> Any:
        simulate_module.np = _Float32Sums()  # type: ignore[assignment]
        try:
            return run()
        finally:
            simulate_module.np = np
    return patched


def main() -> list[Budget]:
    cases: list[tuple[str, Any]] = []
    bench_template = template()
    for items, participants, samples in ((50, 1, 20_000), (50, 3, 20_000), (500, 1, 20_000)):
        model = review(items, participants=participants)
        cases.append((
            f"simulate, {items} items x {samples:,} samples, {participants} participant(s)",
            lambda model=model, samples=samples: simulate_module.simulate(
                model, bench_template, samples=samples, rng=np.random.default_rng(0),
                sensitivity=False),
        ))
    example, example_template, _ = open_review(ROOT / "workbooks" / "example" / "review.json")
    cases.append(("analyze the example, 20,000 samples (with sensitivity)",
                  lambda: analyze(example, example_template, samples=20_000, seed=0)))
    budgets = []
    for name, run in cases:
        wide, narrow = least_cpu_pair(run, float32_sums(run), repeat=15)
        ratio = wide / narrow
        print(f"{name}: float64 sums {wide * 1e3:.1f} ms, float32 sums {narrow * 1e3:.1f} ms "
              f"({ratio:.2f} x)")
        if name.startswith("simulate, 50 items") and "3 participant" in name:
            budgets.append(Budget("float64 accumulation / float32 (50 items, 3 participants)",
                                  ratio, 1.15, "x", note="not a project budget"))
    return budgets


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
