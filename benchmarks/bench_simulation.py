"""Simulation speed: against numpy drawing the same random numbers, and against squigglepy.

The model: 50 items (half benefits, half harms), 20,000 samples, 3 variants over 4
mitigations, as the budgets state it. Timings are the best of several runs in
this one process, alternating the two sides, so the ratios hold on a noisy machine.

"Numpy drawing the same random numbers" is what the model needs per item and sample
(a standard normal for the likelihood, one for the impact, a uniform for happen/not,
a participant pick when several estimated it) drawn with numpy's own
``standard_normal``/``random``/``integers`` in float32. The simulation makes its
normals from uniforms by Box-Muller, so the raw uniforms it consumes are printed too.
The simulation timed is ``simulate(..., sensitivity=False)``: every variant and every
mitigation on its own, with the per-item tallies, without the sensitivity swings.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import numpy as np

from _common import Budget, best_of, best_of_pair, review, template
from deliberation.engine.estimates import item_models, logit_normal_parameters
from deliberation.engine.simulate import simulate

ITEMS, SAMPLES = 50, 20_000


def numpy_draws(review_: Any, template_: Any, samples: int) -> None:
    """Just the random numbers the simulation consumes, drawn the cheapest way numpy
    can: the same counts, kinds and dtypes, from one generator, into nothing else."""
    rng = np.random.default_rng(0)
    for model in item_models(review_, template_):
        count = len(model.components)
        if count > 1:
            rng.integers(0, count, size=samples)
        if any(c.likelihood_sigma > 0 for c in model.components):
            rng.standard_normal(samples, dtype=np.float32)
        rng.random(samples, dtype=np.float32)
        if any(c.impact_sigma > 0 for c in model.components):
            rng.standard_normal(samples, dtype=np.float32)
    for mitigation in review_.mitigations:
        for factor in (mitigation.likelihood_factor, mitigation.impact_factor):
            if isinstance(factor, tuple) and factor[0] != factor[1]:
                rng.standard_normal(samples, dtype=np.float32)


def raw_uniforms(review_: Any, template_: Any, samples: int) -> None:
    """The uniforms the simulation itself consumes (it makes its normals from them by
    Box-Muller): a stricter baseline, printed for transparency, not a budget."""
    rng = np.random.default_rng(0)
    for model in item_models(review_, template_):
        normals = any(c.likelihood_sigma > 0 or c.impact_sigma > 0 for c in model.components)
        rng.random((samples, 1 + (len(model.components) > 1) + 2 * normals))
    for mitigation in review_.mitigations:
        if any(isinstance(f, tuple) and f[0] != f[1]
               for f in (mitigation.likelihood_factor, mitigation.impact_factor)):
            rng.random((samples, 2))


def ours(review_: Any, template_: Any, samples: int, **options: Any) -> Any:
    return simulate(review_, template_, samples=samples, rng=np.random.default_rng(0), **options)


def squigglepy_model(review_: Any) -> dict[str, Any]:
    """The same review written the way a squigglepy user would: one distribution per
    variant, logit-normal likelihoods as expit of a normal, mitigations as factors."""
    import squigglepy as sq

    def expit(x: Any) -> Any:
        return 1 / (1 + np.exp(-x))

    def happens(u: Any, p: Any) -> Any:
        return np.less(u, p).astype(float)

    mitigations = {m.id: m for m in review_.mitigations}
    estimates = {e.item: e for e in review_.estimates}
    nets = {}
    for variant in review_.variants:
        net: Any = None
        for item in review_.items:
            estimate = estimates[item.id]
            mu, sigma = logit_normal_parameters(*estimate.likelihood)
            z = sq.norm(mu - 1.6448536 * sigma, mu + 1.6448536 * sigma)
            likelihood: Any = sq.dist_fn(z, fn=expit)
            impact: Any = sq.lognorm(*estimate.impact)
            for m_id in variant.mitigations:
                if item.id in mitigations[m_id].targets:
                    likelihood = likelihood * sq.lognorm(*mitigations[m_id].likelihood_factor)
                    impact = impact * sq.lognorm(*mitigations[m_id].impact_factor)
            contribution = sq.dist_fn(sq.uniform(0, 1), likelihood, fn=happens) * impact
            signed = contribution if item.kind == "benefit" else -contribution
            net = signed if net is None else net + signed
        nets[variant.id] = net
    return nets


def run_squigglepy(review_: Any, samples: int) -> dict[str, Any]:
    import squigglepy as sq

    return {name: sq.sample(net, n=samples) for name, net in squigglepy_model(review_).items()}


def main() -> list[Budget]:
    template_ = template()
    results = []
    for participants in (1, 3):
        review_ = review(ITEMS, participants=participants)
        simulate_time, draws_time = best_of_pair(
            lambda r=review_: ours(r, template_, SAMPLES, sensitivity=False),
            lambda r=review_: numpy_draws(r, template_, SAMPLES),
        )
        ratio = simulate_time / draws_time
        uniforms_time = best_of(lambda r=review_: raw_uniforms(r, template_, SAMPLES), repeat=15)
        print(f"{ITEMS} items x {participants} participant(s), {SAMPLES:,} samples, 3 variants: "
              f"simulate {simulate_time * 1e3:.1f} ms, numpy draws alone "
              f"{draws_time * 1e3:.1f} ms, ratio {ratio:.2f} (the raw uniforms it consumes "
              f"alone: {uniforms_time * 1e3:.1f} ms, ratio {simulate_time / uniforms_time:.2f})")
        results.append(Budget(
            f"simulation / numpy draws ({participants} participant(s) per item)", ratio, 1.3, "x",
        ))

    review_ = review(ITEMS, participants=1)
    ours_time = best_of(lambda: ours(review_, template_, SAMPLES, sensitivity=False))
    ours_full = best_of(lambda: ours(review_, template_, SAMPLES))
    try:
        import squigglepy  # noqa: F401
    except ImportError:
        print("squigglepy is not installed (pip install -e '.[dev]'): comparison skipped")
        return results
    theirs = best_of(lambda: run_squigglepy(review_, SAMPLES), repeat=3)
    speedup = theirs / ours_time
    print(f"squigglepy, same model: {theirs * 1e3:.0f} ms; ours {ours_time * 1e3:.1f} ms "
          f"({ours_full * 1e3:.1f} ms with the sensitivity swings): {speedup:.1f}x faster")
    results.append(Budget("speed-up over squigglepy (50 items, 20k samples, 3 variants)",
                          speedup, 3.0, "x", higher_is_better=True))

    big = review(500, participants=1)
    started = time.perf_counter()
    ours(big, template_, SAMPLES)
    ours_big = time.perf_counter() - started
    print(f"500 items, 20,000 samples, 3 variants: ours {ours_big:.2f} s")
    started = time.perf_counter()
    try:
        run_squigglepy(big, SAMPLES)
        outcome = f"finished in {time.perf_counter() - started:.1f} s"
        failed = False
    except RecursionError as error:
        outcome = (f"RecursionError after {time.perf_counter() - started:.1f} s "
                   f"({error}; recursion limit {sys.getrecursionlimit()})")
        failed = True
    except Exception as error:  # we report whatever squigglepy does
        outcome = f"{type(error).__name__} after {time.perf_counter() - started:.1f} s: {error}"
        failed = True
    print(f"500 items with squigglepy: {outcome}")
    results.append(Budget(
        "500 items where squigglepy " + ("fails" if failed else "succeeds"), 1.0, 1.0,
        "run(s) completed", higher_is_better=True, note=f"squigglepy: {outcome[:80]}",
    ))
    assert math.isfinite(ours_big)
    return results


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
