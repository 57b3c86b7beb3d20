"""Items drawn a block at a time (engine.blocks) give the numbers drawn item by item."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from deliberation.engine.analysis import analyze
from deliberation.engine.blocks import ROWS, item_blocks
from deliberation.engine.draws import DrawCache, _ItemSampler
from deliberation.engine.simulate import simulate
from deliberation.review.model import Review
from deliberation.review.template import Template

from .strategies import review_from


def _review() -> Review:
    """Blockable items of three kinds (benefits, harms under m, harms under n), plus
    items that are drawn on their own: a point estimate, two participants' estimates."""
    items = [(f"b{i}", "benefit") for i in range(5)] + [(f"h{i}", "harm") for i in range(7)]
    items += [("point", "harm"), ("pooled", "benefit")]
    estimates: list[tuple[str, str, Any, Any]] = [
        (item, "ana", [0.05 + 0.03 * k, 0.2 + 0.05 * k], [10 + 7 * k, 100 + 90 * k])
        for k, (item, _) in enumerate(items[:12])
    ]
    estimates += [("point", "ana", 0.3, 80), ("pooled", "ana", [0.1, 0.4], [20, 60]),
                  ("pooled", "bob", [0.2, 0.6], [30, 300])]
    return review_from(
        items, estimates,
        mitigations=[
            {"id": "m", "targets": ["h0", "h1", "h2", "h3", "point"],
             "likelihood_factor": [0.3, 0.7], "impact_factor": [0.5, 1.0]},
            {"id": "n", "targets": ["h4", "h5", "h6"], "likelihood_factor": [0.2, 0.9]},
        ],
        variants=[("open", []), ("some", ["m"]), ("all", ["m", "n"])],
        thresholds=(-300, 300),
    )


def test_the_review_has_blocks(template: Template) -> None:
    review = _review()
    simulation = simulate(review, template, samples=10, rng=np.random.default_rng(0))
    samplers = {m.id: _ItemSampler(m, 0) for m in simulation.items}
    blocks = item_blocks(simulation.items, samplers, simulation.item_keys, 0)
    members = sorted(len(block.models) for block in blocks)
    assert members == [3, 4, 5]  # h4-h6 under n, h0-h3 under m, the benefits b0-b4


# 40,000 samples in one chunk: the blocks count the samples a swing moves in int64,
# in int16 up to 32,767 (engine.block_swings)
@pytest.mark.parametrize(("samples", "chunk"), [(4_000, None), (4_000, 333), (40_000, None)])
def test_blocks_give_the_item_by_item_numbers(template: Template, samples: int,
                                              chunk: int | None) -> None:
    review = _review()
    # a cached single-chunk run draws item by item; an uncached one by blocks
    by_item = simulate(review, template, samples=samples, rng=np.random.default_rng(5),
                       cache=DrawCache())
    by_block = simulate(review, template, samples=samples, rng=np.random.default_rng(5),
                        chunk=chunk)
    assert np.array_equal(by_item.net, by_block.net)
    for item, per_key in by_item.tallies.items():
        for key, tally in per_key.items():
            other = by_block.tallies[item][key]
            assert tally.happened == other.happened
            assert tally.happened_bad == other.happened_bad
            assert other.contribution == pytest.approx(tally.contribution, rel=1e-9)
            for set_index, total in tally.contribution_bad.items():
                assert other.contribution_bad[set_index] == pytest.approx(total, rel=1e-9)
    assert len(by_item.swings) == len(by_block.swings) > 0
    for first, second in zip(by_item.swings, by_block.swings, strict=True):
        assert (first.item, first.quantity, first.end) == (second.item, second.quantity,
                                                           second.end)
        assert np.array_equal(first.bad, second.bad)
        assert np.array_equal(first.good, second.good)
        assert np.allclose(first.shift, second.shift, rtol=1e-6, atol=1e-3)


def test_analysis_with_a_cache_matches_one_without(template: Template) -> None:
    review = _review()
    cached = analyze(review, template, samples=3_000, seed=2, cache=DrawCache())
    fresh = analyze(review, template, samples=3_000, seed=2)
    assert fresh.sensitivity
    assert fresh.value_of_information is not None
    _close(cached.to_json(), fresh.to_json())


def _close(first: Any, second: Any) -> None:
    """Equal, floats to within float32 sums' rounding."""
    if isinstance(first, dict):
        assert first.keys() == second.keys()
        for key in first:
            _close(first[key], second[key])
    elif isinstance(first, list):
        assert len(first) == len(second)
        for a, b in zip(first, second, strict=True):
            _close(a, b)
    elif isinstance(first, float):
        assert second == pytest.approx(first, rel=1e-6, abs=1e-6, nan_ok=True)
    else:
        assert first == second


def test_a_kind_larger_than_a_block_is_split_and_gives_the_same_numbers(
    template: Template,
) -> None:
    count = ROWS + 7
    items = [(f"b{i:02d}", "benefit") for i in range(count)] + [("h", "harm")]
    estimates: list[tuple[str, str, Any, Any]] = [
        (item, "ana", [0.02 + 0.01 * k, 0.1 + 0.02 * k], [5 + k, 50 + 20 * k])
        for k, (item, _) in enumerate(items)
    ]
    review = review_from(items, estimates, thresholds=(-200, 600))
    simulation = simulate(review, template, samples=10, rng=np.random.default_rng(0))
    samplers = {m.id: _ItemSampler(m, 0) for m in simulation.items}
    blocks = item_blocks(simulation.items, samplers, simulation.item_keys, 0)
    assert [len(block.models) for block in blocks] == [ROWS, 7]
    by_item = simulate(review, template, samples=3_000, rng=np.random.default_rng(1),
                       cache=DrawCache())
    by_block = simulate(review, template, samples=3_000, rng=np.random.default_rng(1),
                        chunk=1_000)
    assert np.array_equal(by_item.net, by_block.net)
    for first, second in zip(by_item.swings, by_block.swings, strict=True):
        assert np.array_equal(first.bad, second.bad)
        assert np.array_equal(first.good, second.good)
        assert np.allclose(first.shift, second.shift, rtol=1e-6, atol=1e-3)
