"""The item swings of a block's items (engine.blocks), a block and a swing at a time.

The same sums as ``swings.SwingPlan`` keeps per item (``_Chunk.add``), from the same
float32 changes: each swing's change to every item of the block is one (items x chunk)
array, its non-zero entries are found in one pass over it, and the extreme counts, the
sums of the change, of its products and of net value times it are taken for every row
at once (``np.bincount`` by row). The sums go into arrays of the block's and are added
to the items' tallies once, after the last chunk (``flush``). The extreme counts are
those of the item-by-item path exactly (the same float32 additions and comparisons);
the sums agree with it to float32 rounding (they are summed in float64 here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .blocks import ROWS, ItemBlock
from .swings import SWINGS, SwingPlan, _Chunk


class BlockSwings:
    """One block's item-swing sums over the chunks of a run."""

    def __init__(self, block: ItemBlock, plan: SwingPlan, scratch: dict[str, Any],
                 chunk: int) -> None:
        self.block = block
        self.scratch = scratch  # work arrays, shared by the blocks of a run
        self.chunk = chunk
        models = block.models
        count = len(models)
        reported = plan.reported
        sets = len(reported)
        keys = sorted({block.set_keys[s] for s in reported}, key=sorted)
        self.keys = keys
        self.column = [keys.index(block.set_keys[s]) for s in reported]
        # one change for every set: the products only matter to a swung mean's error
        self.alike = len(keys) == 1
        self.products_wanted = plan.mean_errors or not self.alike
        self.values = np.array([plan.item_values[m.id] for m in models], np.float32)
        self.sign = np.float32(block.sign)
        self.tallies = [[plan.item_tally[m.id, position] for position in range(len(SWINGS))]
                        for m in models]
        swings, width = len(SWINGS), len(keys)
        # the run's sums per key (a set's are its key's, taken out in flush): the same
        # additions, in the same order, as per set, once per chunk
        self.totals = np.zeros((swings, count, width))
        self.gram = np.zeros((swings, count, width, width))
        self.moved_bad = np.zeros((swings, count, width, sets), np.int64)
        self.moved_good = np.zeros((swings, count, width, sets), np.int64)
        self.bad_counts = np.zeros(sets, np.int64)
        self.good_counts = np.zeros(sets, np.int64)
        self.cross = np.zeros((swings, count, sets, width))  # net value of r x change of k

    def _work(self, name: str, dtype: type[Any], count: int, size: int) -> Any:
        """A (count, size) work array (contiguous), shared by the run's blocks."""
        array = self.scratch.get(name)
        if array is None:
            array = self.scratch[name] = np.empty(ROWS * self.chunk, dtype)
        return array[:count * size].reshape(count, size)

    def add(self, chunk: _Chunk) -> None:
        """Add one chunk's swings of every item of the block."""
        block = self.block
        count, size = len(block.models), chunk.size
        sets, keys, swings = len(self.column), len(self.keys), len(SWINGS)
        totals = np.zeros((swings, count, keys))
        gram = np.zeros((swings, count, keys, keys))
        moved_bad = np.zeros((swings, count, keys, sets), np.int64)
        moved_good = np.zeros((swings, count, keys, sets), np.int64)
        products = np.zeros((swings, count, keys, sets))
        out = (totals, gram, moved_bad, moved_good, products)
        changed: list[dict[int, tuple[_Rows, Any]]] = [{} for _ in SWINGS]
        with np.errstate(over="ignore", invalid="ignore"):  # see swung.swung_lead
            for k, key in enumerate(self.keys):
                likelihood_factor, impact_factor, key_impact, key_happened, contribution = (
                    block.by_key[key])
                # an impact swing changes the contribution where the item happens
                rows = _Rows(np.flatnonzero(key_happened), count, size)
                before = _Before(chunk, rows)
                paid = np.take(contribution, rows.positions)
                factor = _at(impact_factor, rows.columns)
                for position in (2, 3):
                    value = rows.per_entry(self.values[:, position])
                    swung = value if factor is None else factor * value
                    # as swings: swung impact x happened (1 here) - contribution, x sign
                    np.subtract(swung, paid, out=swung)
                    self._stats(chunk, rows, before, swung, k=k, position=position,
                                out=out, changed=changed)
                # a likelihood swing changes it where the item happens at one likelihood
                # and not at the other: by + or - the impact (contribution = impact x
                # happened exactly, so impact x swung happened - contribution is that)
                work = self._work("work", np.float32, count, size)
                mask = self._work("mask", np.bool_, count, size)
                for position in (0, 1):
                    value = self.values[:, position:position + 1]
                    swung_l: Any = value if likelihood_factor is None else np.multiply(
                        likelihood_factor, value, out=work)
                    np.less(block.happen, swung_l, out=mask)
                    np.not_equal(mask, key_happened, out=mask)
                    rows = _Rows(np.flatnonzero(mask), count, size)
                    change = np.take(key_impact, rows.positions)
                    np.negative(change, out=change, where=np.take(key_happened, rows.positions))
                    self._stats(chunk, rows, _Before(chunk, rows), change, k=k,
                                position=position, out=out, changed=changed)
        self.totals += totals
        self.gram += gram
        self.moved_bad += moved_bad
        self.moved_good += moved_good
        self.bad_counts += chunk.bad_counts
        self.good_counts += chunk.good_counts
        self.cross += (np.transpose(products, (0, 1, 3, 2))
                       + chunk.means[None, None, :, None] * totals[:, :, None, :])

    def _stats(self, chunk: _Chunk, rows: _Rows, before: _Before, change: Any, *, k: int,
               position: int, out: tuple[Any, ...], changed: list[dict[int, Any]]) -> None:
        """One swing's change to one key's contributions (``change``: per entry of
        ``rows``, before the sign): its sums per row into ``out``."""
        totals, gram, moved_bad, moved_good, products = out
        change *= self.sign
        change[-1] = 0  # the padding entry
        totals[position, :, k] = rows.sum(change, np.float64)
        gram[position, :, k, k] = rows.sum(change * change, np.float64)
        for j, (other_rows, other) in changed[position].items():
            dense = self.scratch.get("dense")  # zeros, left as zeros
            if dense is None:
                dense = self.scratch["dense"] = np.zeros(ROWS * self.chunk, np.float32)
            dense[other_rows.flat] = other[:-1]
            product = np.take(dense, rows.positions) * change
            dense[other_rows.flat] = 0
            gram[position, :, k, j] = gram[position, :, j, k] = rows.sum(product, np.float64)
        changed[position][k] = (rows, change)
        net = before.net
        # a row's count of samples moved is at most its samples in magnitude: summed in
        # int16 (numpy's vector loop, several times faster than int64) when that fits
        counted = np.int16 if chunk.size <= np.iinfo(np.int16).max else np.int64
        for r, column in enumerate(self.column):
            if column == k:
                after = net[r] + change
                for moved, limit, below in ((moved_bad, chunk.bad, True),
                                            (moved_good, chunk.good, False)):
                    moved[position, :, k, r] = rows.sum(
                        _moved(net[r], after, limit, below=below), counted)
        if self.products_wanted:
            products[position, :, k, :] = np.add.reduceat(
                before.centred() * change, rows.starts, axis=1, dtype=np.float64).T
            products[position, rows.empty, k, :] = 0

    def flush(self) -> None:
        """Add the run's sums to the items' tallies (each reported set's: its key's)."""
        column = self.column
        sets = np.arange(len(column))
        shift = self.totals[:, :, column]  # (swing, item, set)
        bad = self.bad_counts + self.moved_bad[:, :, column, sets]
        good = self.good_counts + self.moved_good[:, :, column, sets]
        products = self.gram[:, :, column][:, :, :, column]
        cross = self.cross[:, :, :, column]  # [r, q]: net value of set r x the change of q
        for row, tallies in enumerate(self.tallies):
            for position, tally in enumerate(tallies):
                tally.shift += shift[position, row]
                tally.bad += bad[position, row]
                tally.good += good[position, row]
                tally.products += products[position, row]
                tally.cross += cross[position, row]


class _Rows:
    """The non-zero entries of a (rows, size) array, row by row, for sums per row.

    ``flat`` are their flat positions (in order, so row by row), ``columns`` their
    sample numbers with one more entry (0) at the end: entry lists made from them have
    that extra entry, made zero, so that ``np.add.reduceat`` at the rows' starts sums
    each row's entries (an empty row's start is the next row's; its sum is set to 0).
    """

    def __init__(self, flat: Any, count: int, size: int) -> None:
        self.flat = flat
        self.entries = len(flat)
        self.count = count
        self.positions = np.empty(self.entries + 1, np.intp)  # flat, and the padding
        self.positions[:-1] = flat
        self.positions[-1] = 0
        bounds = np.searchsorted(flat, np.arange(count + 1) * size)
        self.starts = bounds[:-1]
        counts = np.diff(bounds)
        self.empty = counts == 0
        # the padding counted in the last row (its values are never used)
        self.padded = counts.copy()
        self.padded[-1] += 1
        self.columns = np.empty(self.entries + 1, np.intp)
        np.subtract(flat, np.repeat(np.arange(0, count * size, size), counts),
                    out=self.columns[:-1])
        self.columns[-1] = 0

    def per_entry(self, values: Any) -> Any:
        """One value per row, repeated for each of the row's entries (and the padding)."""
        return np.repeat(values, self.padded)

    def sum(self, entries: Any, dtype: type[Any]) -> Any:
        """Each row's sum of ``entries`` (one per entry, and the zero at the end)."""
        sums = np.add.reduceat(entries, self.starts, dtype=dtype)
        sums[self.empty] = 0
        return sums


class _Before:
    """The reported sets' net values at the entries of ``rows`` (the padding's: 0)."""

    def __init__(self, chunk: _Chunk, rows: _Rows) -> None:
        self.size = chunk.size
        self.chunk = chunk
        self.net = np.take(chunk.net, rows.columns, axis=1)
        self.net[:, -1] = 0  # (an infinite net value times the padding's 0 is nan)
        self._centred: Any = None

    def centred(self) -> Any:
        if self._centred is None:
            self._centred = self.net - self.chunk.centre
        return self._centred


def _at(factor: Any, columns: Any) -> Any:
    """A factor (per sample, a constant, or None) at the entries' samples."""
    if factor is None or np.ndim(factor) == 0:
        return factor
    return np.take(factor, columns)


def _moved(before: Any, after: Any, limit: np.float32, *, below: bool) -> Any:
    """Per entry: +1 where the change takes the sample to or beyond ``limit``, -1 where
    it takes it back, 0 elsewhere (int8)."""
    if below:
        ended, started = np.less_equal(after, limit), np.less_equal(before, limit)
    else:
        ended, started = np.greater_equal(after, limit), np.greater_equal(before, limit)
    return ended.view(np.int8) - started.view(np.int8)
