"""The whole analysis against the plain simulation, and the plain simulation against numpy's
own normal draws, at 50 items x 20k samples and 500 items x 1M (issue 14, item 3).

The budgets (docs/design.md, *Budgets*):

- **full analysis / plain simulation <= 1.5x**: ``analyze`` (summaries, comparisons,
  every mitigation on its own, sensitivity with the factor swings, value of
  information, the gates) against ``simulate(..., sensitivity=False)`` of the same
  review with the same samples;
- **plain simulation / ziggurat floor <= 1.2x**: the floor draws the random numbers
  the model needs per item and sample (a normal for the likelihood, a uniform for
  happen/not, a normal for the impact, the factors' normals) with numpy's own
  ziggurat ``standard_normal`` and ``random`` in float32, into nothing else;
- **at least 3x faster than squigglepy written with arrays**: the same review as a
  squigglepy user writes it when the distribution tree is too slow: each primitive
  sampled to an array with ``sq.sample(..., n)``, combined with numpy, one net per
  variant.

CPU time of the measuring thread (numpy runs these on one core), the least of a few
runs alternating the two sides at 50 x 20k; one run each at 500 x 1M (about a minute).
``BENCH_BIG=0`` leaves the big size out.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from _common import Budget, least_cpu_pair, review, template
from bench_simulation import numpy_draws
from deliberation.engine.analysis import analyze
from deliberation.engine.estimates import logit_normal_parameters
from deliberation.engine.simulate import simulate

SIZES = ((50, 20_000), (500, 1_000_000))


def plain(review_: Any, template_: Any, samples: int) -> Any:
    return simulate(review_, template_, samples=samples, rng=np.random.default_rng(0),
                    sensitivity=False)


def full(review_: Any, template_: Any, samples: int) -> Any:
    return analyze(review_, template_, samples=samples, seed=0)


def squigglepy_arrays(review_: Any, samples: int) -> dict[str, Any]:
    """The review in squigglepy's array style: every primitive sampled once to an array
    (``sq.sample``), then numpy arithmetic; a variant multiplies in its factors."""
    import squigglepy as sq

    mitigations = {m.id: m for m in review_.mitigations}
    estimates = {e.item: e for e in review_.estimates}
    base = {}
    for item in review_.items:
        estimate = estimates[item.id]
        mu, sigma = logit_normal_parameters(*estimate.likelihood)
        z = sq.sample(sq.norm(mu - 1.6448536 * sigma, mu + 1.6448536 * sigma), n=samples)
        base[item.id] = (1 / (1 + np.exp(-z)), sq.sample(sq.uniform(0, 1), n=samples),
                         sq.sample(sq.lognorm(*estimate.impact), n=samples))
    factors = {m.id: (sq.sample(sq.lognorm(*m.likelihood_factor), n=samples),
                      sq.sample(sq.lognorm(*m.impact_factor), n=samples))
               for m in review_.mitigations}
    nets = {}
    for variant in review_.variants:
        net = np.zeros(samples)
        for item in review_.items:
            likelihood, uniform, impact = base[item.id]
            for m_id in variant.mitigations:
                if item.id in mitigations[m_id].targets:
                    likelihood = likelihood * factors[m_id][0]
                    impact = impact * factors[m_id][1]
            contribution = (uniform < likelihood) * impact
            net += contribution if item.kind == "benefit" else -contribution
        nets[variant.id] = net
    return nets


def _once(function: Any) -> float:
    started = time.thread_time()
    function()
    return time.thread_time() - started


def measure(items: int, samples: int, template_: Any) -> list[Budget]:
    """The budgets at one size."""
    review_ = review(items, participants=1)
    label = f"{items} items x {samples:,} samples, 3 variants"

    def full_run() -> Any:
        return full(review_, template_, samples)

    def plain_run() -> Any:
        return plain(review_, template_, samples)

    def floor_run() -> Any:
        return numpy_draws(review_, template_, samples)

    if samples <= 100_000:
        full_time, plain_time = least_cpu_pair(full_run, plain_run, repeat=7)
        plain_again, floor_time = least_cpu_pair(plain_run, floor_run, repeat=7)
        plain_time = min(plain_time, plain_again)
    else:
        floor_time, plain_time, full_time = _once(floor_run), _once(plain_run), _once(full_run)
    print(f"{label}: full analysis {full_time * 1e3:,.0f} ms, plain simulation "
          f"{plain_time * 1e3:,.0f} ms, numpy's ziggurat draws alone "
          f"{floor_time * 1e3:,.0f} ms (CPU)")
    results = [Budget(f"full analysis / plain simulation ({label})",
                      full_time / plain_time, 1.5, "x"),
               Budget(f"plain simulation / ziggurat floor ({label})",
                      plain_time / floor_time, 1.2, "x")]
    if samples > 100_000:
        return results
    try:
        import squigglepy  # noqa: F401
    except ImportError:
        print("squigglepy is not installed (pip install -e '.[dev]'): skipped")
        return results
    theirs, ours = least_cpu_pair(lambda: squigglepy_arrays(review_, samples), plain_run,
                                  repeat=5)
    print(f"{label}: squigglepy with arrays {theirs * 1e3:,.0f} ms; ours "
          f"{ours * 1e3:,.0f} ms plain, {full_time * 1e3:,.0f} ms full analysis")
    results.append(Budget(f"speed-up over squigglepy with arrays ({label})",
                          theirs / ours, 3.0, "x", higher_is_better=True))
    return results


def main() -> list[Budget]:
    template_ = template()
    sizes = SIZES if os.environ.get("BENCH_BIG", "1") != "0" else SIZES[:1]
    return [budget for items, samples in sizes for budget in measure(items, samples, template_)]


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
