"""Items drawn a block at a time: 2-D arrays (items x chunk samples) instead of one item's.

At hundreds of items the chunk is a few thousand samples, and an item's few dozen numpy
calls per chunk cost as much in Python and numpy overhead as the arithmetic itself.
Items whose draws take the same steps (one component, interval likelihood and impact,
no table, no driver) and that every set mitigates alike are drawn together: each reads
its own stream into its own row (streams stay keyed per item, so no number changes),
then every step runs once over the block's rows, with each item's parameters as a
column. Every element goes through exactly the float32 operations of
``draws._ItemSampler.draw`` and ``simulate._Plan._item``, so the results are equal bit
for bit (tests/test_simulate.py compares a cached run, drawn item by item, with a fresh
one); each item's ``_ItemDraws`` holds row views of the block's arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .draws import (
    _BELOW_ONE,
    _ITEM,
    Factor,
    Floats,
    _Arena,
    _expit_of_negated,
    _ItemDraws,
    _ItemSampler,
    _product,
    _stream,
)
from .estimates import ItemModel

# items per block at most (at most the rows of one of the arena's blocks): 32 keeps a
# block's arrays near the core (64 ran 14% slower at 500 items x 300k samples)
ROWS = 32

# per key of a block: (likelihood factor, impact factor, impact, happened, contribution),
# each a (items, samples) array or a factor shared by all rows
Keyed2 = tuple[Factor | None, Factor | None, Any, Any, Any]


def blockable(sampler: _ItemSampler) -> bool:
    """Whether an item's draws take the block's steps."""
    return (
        sampler.count == 1 and sampler.coupling is None and sampler.impact_table is None
        and sampler.likelihood_points is None and sampler.impact_points is None
    )


class ItemBlock:
    """Up to ``ROWS`` blockable items with the same mitigation key in every set."""

    def __init__(self, models: list[ItemModel], samplers: list[_ItemSampler],
                 keys: list[frozenset[str]], entropy: int) -> None:
        self.models = models
        self.samplers = samplers
        self.keys = sorted(set(keys), key=sorted)
        self.set_keys = keys
        self.sign = models[0].sign
        self.entropy = entropy
        self.streams: list[np.random.Generator] = []  # made on the first draw

        def column(name: str) -> Floats:
            return np.array([[getattr(s, name)[0]] for s in samplers], np.float32)

        # negated: -(mu + sigma z) = -mu + (-sigma) z exactly, which saves expit a pass
        self.likelihood_mu_negated = -column("likelihood_mu")
        self.likelihood_sigma_negated = -column("likelihood_sigma")
        self.impact_mu, self.impact_sigma = column("impact_mu"), column("impact_sigma")
        self.by_key: dict[frozenset[str], Keyed2] = {}
        self.differences: dict[frozenset[str], Any] = {}
        self.happen: Any = None
        self.likelihood: Any = None
        self._items: list[_ItemDraws] | None = None

    def _draw(self, size: int, count: int, arena: _Arena) -> tuple[Any, Any, Any, Any]:
        """The happen/not uniforms, likelihoods and impacts, as draws._ItemSampler.draw
        makes them, and a float32 work array."""
        if not self.streams:
            for sampler, model in zip(self.samplers, self.models, strict=True):
                if sampler.stream is None:
                    sampler.stream = _stream(self.entropy, _ITEM, model.id, 0)
                self.streams.append(sampler.stream)
        uniforms = arena.scratch("block uniforms", np.float64, (ROWS, size, 3))[:count]
        for row, stream in enumerate(self.streams):
            stream.random(out=uniforms[row])
        happen = arena.take_rows(np.float32, count)
        np.copyto(happen, uniforms[:, :, 0], casting="same_kind")
        np.minimum(happen, _BELOW_ONE, out=happen)
        # Box-Muller, as draws._box_muller
        wide = arena.scratch("block wide", np.float64, (ROWS, size))[:count]
        radius = arena.scratch("block radius", np.float32, (ROWS, size))[:count]
        np.subtract(1.0, uniforms[:, :, 1], out=wide)
        np.copyto(radius, wide, casting="same_kind")
        np.log(radius, out=radius)
        radius *= np.float32(-2)
        np.sqrt(radius, out=radius)
        likelihood, impact = arena.take_rows(np.float32, count), arena.take_rows(
            np.float32, count)
        np.multiply(uniforms[:, :, 2], 2 * np.pi, out=impact, casting="same_kind",
                    dtype=np.float32)
        np.cos(impact, out=likelihood)
        np.sin(impact, out=impact)
        likelihood *= radius
        impact *= radius
        # as draws._ItemSampler._quantity
        likelihood *= self.likelihood_sigma_negated
        likelihood += self.likelihood_mu_negated
        _expit_of_negated(likelihood)
        impact *= self.impact_sigma
        impact += self.impact_mu
        with np.errstate(over="ignore"):
            np.exp(impact, out=impact)
        return happen, likelihood, impact, radius

    def draw(self, size: int, factors: dict[str, tuple[Factor, Factor]],
             arena: _Arena) -> None:
        """One chunk's draws of every item of the block (``items()``: per item)."""
        count = len(self.models)
        happen, likelihood, impact, radius = self._draw(size, count, arena)
        self.likelihood = likelihood
        # as simulate._Plan._item
        happened = np.less(happen, likelihood, out=arena.take_rows(np.bool_, count))
        contribution = np.multiply(impact, happened, out=arena.take_rows(np.float32, count))
        self.by_key = {frozenset(): (None, None, impact, happened, contribution)}
        self.differences = {}
        for key in self.keys:
            if key in self.by_key:
                continue
            likelihood_factor = _product([factors[m][0] for m in sorted(key)])
            impact_factor = _product([factors[m][1] for m in sorted(key)])
            key_happened = happened
            if likelihood_factor is not None:
                scaled = np.multiply(likelihood, likelihood_factor, out=radius)
                key_happened = np.less(happen, scaled, out=arena.take_rows(np.bool_, count))
            key_impact: Any = impact
            if impact_factor is not None:
                key_impact = np.multiply(impact, impact_factor,
                                         out=arena.take_rows(np.float32, count))
            key_contribution = np.multiply(key_impact, key_happened,
                                           out=arena.take_rows(np.float32, count))
            self.by_key[key] = (likelihood_factor, impact_factor, key_impact, key_happened,
                                key_contribution)
            self.differences[key] = np.subtract(key_contribution, contribution,
                                                out=arena.take_rows(np.float32, count))
        self.happen = happen
        self._items = None

    def items(self) -> list[_ItemDraws]:
        """The last chunk's draws of each item of the block, as row views."""
        if self._items is None:
            _, _, impact, _, _ = self.by_key[frozenset()]
            likelihood = self.likelihood
            self._items = []
            for row in range(len(self.models)):
                draws = _ItemDraws(self.happen[row], likelihood[row], impact[row])
                for key, (lf, if_, key_impact, key_happened, key_contribution) in (
                        self.by_key.items()):
                    draws.by_key[key] = (lf, if_, key_impact[row], key_happened[row],
                                         key_contribution[row])
                for key, difference in self.differences.items():
                    draws.differences[key] = difference[row]
                self._items.append(draws)
        return self._items


def item_blocks(models: list[ItemModel], samplers: dict[str, _ItemSampler],
                item_keys: dict[str, list[frozenset[str]]], entropy: int) -> list[ItemBlock]:
    """The blocks of the blockable items (in id order within each), up to ROWS each;
    an item alone in its kind is not worth a block."""
    groups: dict[tuple[Any, ...], list[ItemModel]] = {}
    for model in sorted(models, key=lambda m: m.id):
        if blockable(samplers[model.id]):
            groups.setdefault((model.sign, *item_keys[model.id]), []).append(model)
    blocks = []
    for keys, members in groups.items():
        if len(members) < 2:
            continue
        for start in range(0, len(members), ROWS):
            part = members[start:start + ROWS]
            blocks.append(ItemBlock(part, [samplers[m.id] for m in part], list(keys[1:]),
                                    entropy))
    return blocks


def tally_blocks(blocks: list[ItemBlock], tallies: dict[str, dict[frozenset[str], Any]],
                 tally_sets: list[int], bad: npt.NDArray[np.bool_]) -> None:
    """Add the blocks' items' happenings and contributions to their tallies, overall and
    at each set's extremely bad samples (``bad[j]``: those of ``tally_sets[j]``).

    Both are products of a block's rows with 0/1 columns (all samples, each set's bad
    ones): one matrix product per block and key, in float64 for the contributions and
    in float32 for the counts (exact: whole numbers below 2**24).
    """
    if not blocks:
        return
    wide = np.ones((bad.shape[1], 1 + len(tally_sets)))
    wide[:, 1:] = bad.T
    narrow = wide.astype(np.float32)
    for block in blocks:
        for key in block.keys:
            _, _, _, happened, contribution = block.by_key[key]
            columns = [0] + [1 + j for j, s in enumerate(tally_sets)
                             if block.set_keys[s] == key]
            totals = (contribution.astype(np.float64) @ wide[:, columns]).tolist()
            counts = np.rint(happened.astype(np.float32) @ narrow[:, columns]).astype(
                np.int64).tolist()
            for model, count, total in zip(block.models, counts, totals, strict=True):
                tally = tallies[model.id].get(key)
                if tally is None:
                    continue
                tally.happened += count[0]
                tally.contribution += total[0]
                for position, column in enumerate(columns[1:], start=1):
                    set_index = tally_sets[column - 1]
                    tally.happened_bad[set_index] = tally.happened_bad.get(
                        set_index, 0) + count[position]
                    tally.contribution_bad[set_index] = tally.contribution_bad.get(
                        set_index, 0.0) + total[position]


def _sum_rows(rows: Any, out: npt.NDArray[np.float64]) -> None:
    """The rows' sum in float64, first row to last (numpy reduces along the first axis
    in that order, so a block and the same rows one by one give the same sum)."""
    if isinstance(rows, np.ndarray):
        np.add.reduce(rows, axis=0, dtype=np.float64, out=out)
        return
    out[:] = 0
    for row in rows:
        out += row


def _difference(draws: _ItemDraws, key: frozenset[str], arena: _Arena) -> Floats:
    """An item's contribution under ``key`` minus the unmitigated one (item-local, so
    a cached item keeps it: writing them afresh was a tenth of a recompute)."""
    difference = draws.differences.get(key)
    if difference is None:
        difference = draws.differences[key] = np.subtract(
            draws.by_key[key][4], draws.by_key[frozenset()][4], out=arena.take(np.float32))
    return difference


def accumulate(blocks: list[ItemBlock], singles: list[ItemModel],
               by_id: dict[str, _ItemDraws], item_keys: dict[str, list[frozenset[str]]], *,
               fresh: bool, base: npt.NDArray[np.float64], deltas: npt.NDArray[np.float64],
               arena: _Arena) -> None:
    """Sum the chunk's contributions into ``base`` (no mitigation) and each set's change
    from it into ``deltas``, in float64: each block's rows first to last (``fresh``: as
    the block drew them, else the items' own draws in ``by_id``), block after block,
    then the other items in id order. Every run sums in this order, whatever the
    items' listing, the chunk or the cache."""
    partial = np.empty_like(base)

    def add(into: npt.NDArray[np.float64], positive: bool) -> None:
        if positive:
            into += partial
        else:
            into -= partial

    for block in blocks:
        positive = block.sign > 0
        if fresh:
            rows: Any = block.by_key[frozenset()][4]
        else:
            rows = [by_id[model.id].by_key[frozenset()][4] for model in block.models]
        _sum_rows(rows, partial)
        add(base, positive)
        for key in block.keys:
            if not key:
                continue
            if fresh:
                rows = block.differences[key]
            else:
                rows = [_difference(by_id[model.id], key, arena) for model in block.models]
            _sum_rows(rows, partial)
            for set_index, set_key in enumerate(block.set_keys):
                if set_key == key:
                    add(deltas[set_index], positive)
    for model in singles:
        draws = by_id[model.id]
        positive = model.sign > 0
        if positive:
            base += draws.by_key[frozenset()][4]
        else:
            base -= draws.by_key[frozenset()][4]
        for set_index, key in enumerate(item_keys[model.id]):
            if key:
                if positive:
                    deltas[set_index] += _difference(draws, key, arena)
                else:
                    deltas[set_index] -= _difference(draws, key, arena)
