"""What the value of information costs: ``analyze`` with it against ``analyze`` without it.

The benchmark review (50 items, 20,000 samples, 3 variants over 4 mitigations, one and
three participants), with sensitivity on, alternating the two sides, least CPU time of
the measuring thread over 21 runs each (wall time swings by half on a loaded machine).
"Without" sets ``engine.simulate.VOI_SAMPLES`` to 0, so the run records no bins and
computes no EVPPI; every other number is the same.
"""

from __future__ import annotations

from typing import Any

from _common import Budget, least_cpu_pair, review, template
from deliberation.engine import simulate as simulate_module
from deliberation.engine.analysis import analyze

ITEMS, SAMPLES = 50, 20_000
BUDGET = 1.2  # the value of information may add at most 20% to a full analysis


def _without(review_: Any, template_: Any) -> Any:
    saved = simulate_module.VOI_SAMPLES
    simulate_module.VOI_SAMPLES = 0
    try:
        return analyze(review_, template_, samples=SAMPLES)
    finally:
        simulate_module.VOI_SAMPLES = saved


def main() -> list[Budget]:
    template_ = template()
    results = []
    for participants in (1, 3):
        review_ = review(ITEMS, participants=participants)
        entries = analyze(review_, template_, samples=SAMPLES).value_of_information
        assert entries is not None
        assert _without(review_, template_).value_of_information is None
        with_voi, without = least_cpu_pair(
            lambda r=review_: analyze(r, template_, samples=SAMPLES),
            lambda r=review_: _without(r, template_), repeat=21,
        )
        ratio = with_voi / without
        print(f"{ITEMS} items x {participants} participant(s), {SAMPLES:,} samples, "
              f"3 variants, {len(entries.entries)} quantities: analyze {with_voi * 1e3:.1f} ms "
              f"with the value of information, {without * 1e3:.1f} ms without (CPU): {ratio:.2f}x")
        results.append(Budget(
            f"analyze with / without value of information ({participants} participant(s))",
            ratio, BUDGET, "x",
        ))
    return results


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
