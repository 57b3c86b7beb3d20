"""Sequential gate decisions on the example: samples used and time, by distance to the limit.

`deliberation check` on the shipped example decides every gate at its first look
(20,000 samples), so it must cost nothing beyond the analysis. With the
P(extremely bad) limit moved towards the chosen option's true value (about 0.220%;
0.2196% in a 1,000,000-sample run),
the gate needs more looks; at the value itself it draws to the cap (2,000,000
samples) and fails as undecided. Each row is the whole ``analyze`` as ``check`` runs
it, against the same analysis with its gates read at one look (``gate_cap`` = the
samples), in one process, alternating, fastest of several runs.

Rare tails (``engine.rare``): gates with a small limit near their true value, decided
from the same first look by ``decide_gates`` with importance sampling and without
(``rare=False``: plain looks only), least thread CPU of a few alternating runs, with
the samples each drew. The example's own tail comes from large drawn impacts, not
rare occurrences: the tilt of the impacts' normals is what helps it. A tail from a
mitigation's uncertain factor is one the tilt cannot reach, so its pilot gives up and
plain looks decide: that row is the pilot's overhead.
"""

from __future__ import annotations

import time
from typing import Any

from _common import ROOT, Budget, best_of_pair, least_cpu_pair, template
from deliberation.engine.analysis import analyze
from deliberation.engine.rare import Model, cross_entropy
from deliberation.engine.sequential import decide_gates
from deliberation.review.model import parse_review
from deliberation.review.opening import open_review
from deliberation.review.template import Template

SAMPLES = 20_000
LIMITS = (0.01, 0.004, 0.003, 0.0025, 0.0022)  # the last is nearest the true 0.220%
RULE = "extreme-bad-at-most-1pct"


def _with_limit(template: object, limit: float) -> object:
    policy = [rule.model_copy(update={"value": limit}) if rule.id == RULE else rule
              for rule in template.policy]  # type: ignore[attr-defined]
    return template.model_copy(update={"policy": policy})  # type: ignore[attr-defined]


def _rare_review(harms: list[tuple[str, Any, Any]], benefit: Any = None,
                 shrink: Any = None) -> Any:
    items = [{"id": h, "kind": "harm", "title": h} for h, _, _ in harms]
    estimates = [{"item": h, "participant": "ana", "likelihood": p, "impact": i}
                 for h, p, i in harms]
    if benefit is not None:
        items.append({"id": "help", "kind": "benefit", "title": "Help"})
        estimates.append({"item": "help", "participant": "ana", "likelihood": benefit[0],
                          "impact": benefit[1]})
    data: dict[str, Any] = {
        "schema": "deliberation/review@1", "id": "rare", "title": "Rare",
        "subject": {"name": "m"}, "template": {"id": "test-minimal"},
        "participants": [{"id": "ana", "name": "Ana"}], "items": items,
        "estimates": estimates}
    if shrink is not None:  # a mitigation of every harm's impact, and its variant
        data["mitigations"] = [{"id": "shrink", "title": "Shrink", "impact_factor": shrink,
                                "targets": [h for h, _, _ in harms]}]
        data["variants"] = [{"id": "as-is", "title": "As is"},
                            {"id": "mitigated", "title": "Mitigated", "mitigations": ["shrink"]}]
    return parse_review(data)


def _gated(kind: str, limit: float) -> Template:
    data = template().model_dump(mode="json")
    data["thresholds"]["catastrophe"] = 100_000
    data["policy"] = [{"id": "tail", "rule": kind, "value": limit}]
    return Template.model_validate(data)


# (what, review, template, rule id): true values from closed forms, or (mixed) a
# 2,000,000-sample plain run (0.293%) and a 200,000-sample tilted one (0.297%)
MIXED = [(f"h{i}", [0.0002 * (1 + i % 3), 0.002 * (1 + i % 3)], [1500, 6000 + 1000 * i])
         for i in range(8)]


def _rare_cases() -> list[tuple[str, Any, Any, str]]:
    review, shipped, _ = open_review(ROOT / "workbooks" / "example" / "review.json")
    return [
        ("one harm, P(bad) 0.09% vs 0.1%", _rare_review([("leak", 0.0009, 12_000)]),
         _gated("max-p-extreme-bad", 0.001), "tail"),
        ("two harms, P(catastrophe) 0.11% vs 0.1%",
         _rare_review([("a", 0.025, 60_000), ("b", 0.044, 60_000)]),
         _gated("max-p-catastrophe", 0.001), "tail"),
        ("8 uncertain harms + a benefit, P(bad) 0.297% vs 0.31%",
         _rare_review(MIXED, benefit=([0.5, 0.9], [200, 2000])),
         _gated("max-p-extreme-bad", 0.0031), "tail"),
        ("the example, P(bad) 0.220% vs 0.25%", review, _with_limit(shipped, 0.0025), RULE),
        ("the example, P(bad) 0.220% vs 0.23%", review, _with_limit(shipped, 0.0023), RULE),
        # a certain harm that an uncertain factor rarely leaves past the threshold
        # (P = 1 - Φ(2.89), 0.19%): nothing the tilt moves, so the pilot gives up
        ("a tail from a mitigation's factor, P(bad) 0.19% vs 0.25%",
         _rare_review([("leak", 1.0, 5500)], shrink=[0.2, 0.6]),
         _gated("max-p-extreme-bad", 0.0025), "tail"),
    ]


def _least_cpu(function: Any, repeat: int = 3) -> float:
    """The least thread CPU time of ``repeat`` runs after one warm-up."""
    function()
    best = float("inf")
    for _ in range(repeat):
        started = time.thread_time()
        function()
        best = min(best, time.thread_time() - started)
    return best


def rare_rows() -> list[Budget]:
    budgets = []
    for what, review, limited, rule in _rare_cases():
        first = analyze(review, limited, samples=SAMPLES, seed=0, gate_cap=SAMPLES,
                        sensitivity=False)
        analysis_cpu = _least_cpu(lambda review=review, limited=limited: analyze(
            review, limited, samples=SAMPLES, seed=0, gate_cap=SAMPLES))  # as check runs it

        def run(rare: bool, first: Any = first, review: Any = review,
                limited: Any = limited) -> Any:
            return decide_gates(first, review, limited, rare=rare)

        tilted = next(g for g in run(True).gates if g.rule == rule)
        plain = next(g for g in run(False).gates if g.rule == rule)
        cpu_tilted, cpu_plain = least_cpu_pair(lambda run=run: run(True),
                                               lambda run=run: run(False), repeat=3)
        print(f"{what}: importance sampling {tilted.status} at {tilted.samples:,} samples "
              f"({tilted.method or 'plain: the pilot gave up'}), {cpu_tilted:.3f} s; "
              f"plain {plain.status} at {plain.samples:,}, {cpu_plain:.3f} s; "
              f"{plain.samples / tilted.samples:.1f}x the samples, "
              f"{cpu_plain / cpu_tilted:.1f}x the CPU")
        if tilted.method is not None:
            budgets.append(Budget(f"rare gate ({what}): plain samples / importance sampling's",
                                  plain.samples / tilted.samples, 3, "x",
                                  higher_is_better=True, note="deterministic"))
            budgets.append(Budget(f"rare gate ({what}): plain CPU / importance sampling CPU",
                                  cpu_plain / cpu_tilted, 1.5, "x", higher_is_better=True,
                                  note=f"{plain.samples:,} against {tilted.samples:,} samples"))
        else:
            kind = next(r.rule for r in limited.policy if r.id == rule)
            model = Model(review, limited, pool="linear", variant=first.chosen)
            pilot_cpu = _least_cpu(lambda model=model, kind=kind: cross_entropy(model, kind, 0))
            overhead = pilot_cpu / analysis_cpu
            print(f"  the pilot's overhead: {pilot_cpu:.3f} s, {overhead:.2f}x "
                  f"the analysis' own {analysis_cpu:.3f} s")
            budgets.append(Budget(f"rare gate ({what}): the pilot's overhead / the analysis",
                                  overhead, 2, "x",
                                  note=f"{plain.samples:,} plain samples either way"))
    return budgets


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
    return budgets + rare_rows()


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
