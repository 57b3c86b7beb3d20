"""Sequential gate decisions on the example: samples used and time, by distance to the limit.

`deliberation check` on the shipped example decides every gate at its first look
(20,000 samples), so it must cost nothing beyond the analysis. With the
P(extremely bad) limit moved towards the chosen option's true value (about 0.12%),
the gate needs more looks; at the value itself it draws to the cap (2,000,000
samples) and fails as undecided. Each row is the whole ``analyze`` as ``check`` runs
it, against the same analysis with its gates read at one look (``gate_cap`` = the
samples), in one process, alternating, fastest of several runs.
"""

from __future__ import annotations

from _common import ROOT, Budget, best_of_pair
from deliberation.engine.analysis import analyze
from deliberation.review.opening import open_review

SAMPLES = 20_000
LIMITS = (0.01, 0.002, 0.0016, 0.0012, 0.0014)  # the last is nearest the true 0.134%
RULE = "extreme-bad-at-most-1pct"


def _with_limit(template: object, limit: float) -> object:
    policy = [rule.model_copy(update={"value": limit}) if rule.id == RULE else rule
              for rule in template.policy]  # type: ignore[attr-defined]
    return template.model_copy(update={"policy": policy})  # type: ignore[attr-defined]


def main() -> list[Budget]:
    review, template, _ = open_review(ROOT / "workbooks" / "example" / "review.json")
    budgets = []
    for limit in LIMITS:
        limited = _with_limit(template, limit)
        analysis = analyze(review, limited, samples=SAMPLES, seed=0)
        gate = next(g for g in analysis.gates if g.rule == RULE)
        repeat = 15 if (gate.samples or 0) <= 200_000 else 2
        decided, first = best_of_pair(
            lambda limited=limited: analyze(review, limited, samples=SAMPLES, seed=0),
            lambda limited=limited: analyze(review, limited, samples=SAMPLES, seed=0,
                                            gate_cap=SAMPLES),
            repeat=repeat,
        )
        print(f"limit {limit:.2%}: {gate.status} at {gate.samples:,} samples, look "
              f"{gate.looks} of {gate.planned_looks} (estimate {gate.estimate:.4%}); "
              f"{decided:.3f} s against {first:.3f} s for one look ({decided / first:.2f} x)")
        if limit == LIMITS[0]:
            budgets.append(Budget("check's gates on the example / one look", decided / first,
                                  1.1, "x", note=f"decided at {gate.samples:,} samples"))
        if limit == LIMITS[-1]:
            budgets.append(Budget("a gate at its limit, drawn to the cap (example)", decided,
                                  15, "s", note=f"{gate.status} at {gate.samples:,} samples"))
    return budgets


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
