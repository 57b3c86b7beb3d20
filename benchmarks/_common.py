"""Shared parts of the benchmarks: the benchmark review, timing, budget lines."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Budget:
    """One measured figure against its project budget."""

    name: str
    measured: float
    limit: float
    unit: str
    higher_is_better: bool = False
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.measured >= self.limit if self.higher_is_better else self.measured <= self.limit

    def line(self) -> str:
        relation = ">=" if self.higher_is_better else "<="
        mark = "ok  " if self.ok else "MISS"
        note = f"  ({self.note})" if self.note else ""
        return (f"{mark} {self.name}: {self.measured:.3g} {self.unit} "
                f"(budget {relation} {self.limit:g} {self.unit}){note}")


def best_of(function: Callable[[], Any], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs, in seconds (the least disturbed by other load)."""
    function()  # warm up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def best_of_pair(
    first: Callable[[], Any], second: Callable[[], Any], repeat: int = 15
) -> tuple[float, float]:
    """The fastest of ``repeat`` runs of each, alternating them, so a burst of load from
    elsewhere on the machine hits both alike (the ratio is what we report)."""
    for _ in range(3):  # warm up: glibc raises its mmap threshold after the first big frees
        first()
        second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for function, bucket in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            function()
            bucket.append(time.perf_counter() - started)
    return min(times[0]), min(times[1])


def least_cpu_pair(
    first: Callable[[], Any], second: Callable[[], Any], repeat: int = 15
) -> tuple[float, float]:
    """The least CPU time of the measuring thread for each, alternating them after a
    warm-up of both: on a machine shared with other jobs, CPU time is what a run costs,
    where the wall clock also counts the time other processes held the core."""
    for _ in range(2):
        first()
        second()
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for side, function in enumerate((first, second)):
            started = time.thread_time()
            function()
            best[side] = min(best[side], time.thread_time() - started)
    return best[0], best[1]


def median_of(function: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def template() -> Any:
    from deliberation.review.templates import load_template_file

    return load_template_file(ROOT / "tests" / "data" / "templates" / "test-minimal.yaml")


def review_data(items: int, *, participants: int = 1, mitigations: int = 4,
                seed: int = 0) -> dict[str, Any]:
    """A synthetic review: half benefits, half harms, interval estimates, and three
    variants (no mitigations, half of them, all of them) over harm-targeting mitigations."""
    rng = np.random.default_rng(seed)
    people = [f"p{j}" for j in range(participants)]
    item_rows, estimates = [], []
    for i in range(items):
        kind = "benefit" if i % 2 == 0 else "harm"
        item_rows.append({"id": f"i{i:03d}", "kind": kind, "title": f"Item {i}"})
        for person in people:
            low = float(rng.uniform(0.01, 0.3))
            high = float(min(0.99, low * rng.uniform(1.5, 3)))
            impact = float(rng.uniform(10, 500))
            estimates.append({
                "item": f"i{i:03d}", "participant": person, "likelihood": [low, high],
                "impact": [impact, float(impact * rng.uniform(2, 20))],
            })
    harms = [row["id"] for row in item_rows if row["kind"] == "harm"]
    mitigation_rows = [
        {"id": f"m{j}", "title": f"Mitigation {j}", "targets": harms[j::mitigations],
         "likelihood_factor": [0.3, 0.7], "impact_factor": [0.5, 1.0]}
        for j in range(mitigations)
    ]
    ids = [m["id"] for m in mitigation_rows]
    return {
        "schema": "deliberation/review@1", "id": "bench", "title": "Benchmark review",
        "subject": {"name": "bench"}, "template": {"id": "test-minimal"},
        "participants": [{"id": p, "name": p} for p in people],
        "items": item_rows, "estimates": estimates, "mitigations": mitigation_rows,
        "variants": [
            {"id": "open", "title": "Open", "mitigations": []},
            {"id": "some", "title": "Some mitigations", "mitigations": ids[: len(ids) // 2]},
            {"id": "all", "title": "All mitigations", "mitigations": ids},
        ],
    }


def review(items: int, **options: Any) -> Any:
    from deliberation.review.model import parse_review

    return parse_review(review_data(items, **options))
