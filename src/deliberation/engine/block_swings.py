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
import numpy.typing as npt

from .blocks import ROWS, ItemBlock
from .swings import SWINGS, SwingPlan, _Chunk

Wide = npt.NDArray[np.float64]


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
        swings = len(SWINGS)
        self.shift = np.zeros((count, swings, sets))
        self.bad = np.zeros((count, swings, sets), np.int64)
        self.good = np.zeros((count, swings, sets), np.int64)
        self.products = np.zeros((count, swings, sets, sets))
        self.cross = np.zeros((count, swings, sets, sets))

    def _work(self, name: str, dtype: type[Any], count: int, size: int) -> Any:
        """A (count, size) work array (contiguous), shared by the run's blocks."""
        array = self.scratch.get(name)
        if array is None:
            array = self.scratch[name] = np.empty(ROWS * self.chunk, dtype)
        return array[:count * size].reshape(count, size)

    def add(self, chunk: _Chunk) -> None:
        """Add one chunk's swings of every item of the block."""
        with np.errstate(over="ignore", invalid="ignore"):  # see swung.swung_lead
            for position, (quantity, _) in enumerate(SWINGS):
                self._add(chunk, position, likelihood=quantity == "likelihood")

    def _add(self, chunk: _Chunk, position: int, *, likelihood: bool) -> None:
        block = self.block
        count, size = len(block.models), chunk.size
        sets, keys = len(self.column), len(self.keys)
        value = self.values[:, position:position + 1]
        totals = np.zeros((count, keys))
        gram = np.zeros((count, keys, keys))
        moved_bad = np.zeros((count, keys, sets), np.int64)
        moved_good = np.zeros((count, keys, sets), np.int64)
        products = np.zeros((count, keys, sets))
        changes = []
        work = self._work("work", np.float32, count, size)
        mask = self._work("mask", np.bool_, count, size)
        for k, key in enumerate(self.keys):
            likelihood_factor, impact_factor, key_impact, key_happened, key_contribution = (
                block.by_key[key])
            change = self._work(f"change{k}", np.float32, count, size)
            # as swings.SwingPlan._swing_item
            if likelihood:
                swung: Any = value
                if likelihood_factor is not None:
                    swung = np.multiply(likelihood_factor, value, out=work)
                np.less(block.happen, swung, out=mask)
                np.multiply(key_impact, mask, out=change)
            else:
                swung = value
                if impact_factor is not None:
                    swung = np.multiply(impact_factor, value, out=work)
                np.multiply(swung, key_happened, out=change)
            change -= key_contribution
            change *= self.sign
            changes.append(change)
            np.not_equal(change, 0, out=mask)
            rows = _Rows(np.flatnonzero(mask), count, size)
            # every entry list below has one more, zero-valued entry at the end (see _Rows)
            values = np.zeros(rows.entries + 1, np.float32)
            np.take(change.ravel(), rows.flat, out=values[:-1])
            totals[:, k] = rows.sum(values, np.float64)
            gram[:, k, k] = rows.sum(values * values, np.float64)
            for j in range(k):
                gram[:, k, j] = gram[:, j, k] = np.einsum(
                    "ij,ij->i", change, changes[j], dtype=np.float64)
            before = np.take(chunk.net, rows.columns, axis=1)
            before[:, -1] = 0  # the padding entry (an infinite net value times 0 is nan)
            for r in range(sets):
                if self.column[r] == k:
                    after = before[r] + values
                    for moved, limit, below in ((moved_bad, chunk.bad, True),
                                                (moved_good, chunk.good, False)):
                        moved[:, k, r] = rows.sum(
                            _moved(before[r], after, limit, below=below), np.int64)
            if self.products_wanted:
                before -= chunk.centre
                before *= values
                products[:, k, :] = np.add.reduceat(before, rows.starts, axis=1,
                                                    dtype=np.float64).T
                products[rows.empty, k, :] = 0
        self._sum(chunk, position, totals, gram, moved=(moved_bad, moved_good),
                  products=products)

    def _sum(self, chunk: _Chunk, position: int, totals: Wide, gram: Wide, *,
             moved: tuple[Any, Any], products: Wide) -> None:
        moved_bad, moved_good = moved
        column = self.column
        sets = np.arange(len(column))
        self.shift[:, position] += totals[:, column]
        self.bad[:, position] += chunk.bad_counts + moved_bad[:, column, sets]
        self.good[:, position] += chunk.good_counts + moved_good[:, column, sets]
        self.products[:, position] += gram[:, column][:, :, column]
        # cross[r, q]: net value of set r times the change of set q
        chunk_totals = totals[:, column]  # (items, q)
        self.cross[:, position] += (np.transpose(products[:, column, :], (0, 2, 1))
                                    + chunk.means[None, :, None] * chunk_totals[:, None, :])

    def flush(self) -> None:
        """Add the run's sums to the items' tallies."""
        for row, tallies in enumerate(self.tallies):
            for position, tally in enumerate(tallies):
                tally.shift += self.shift[row, position]
                tally.bad += self.bad[row, position]
                tally.good += self.good[row, position]
                tally.products += self.products[row, position]
                tally.cross += self.cross[row, position]


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
        self.columns = np.zeros(self.entries + 1, np.intp)
        np.remainder(flat, size, out=self.columns[:-1])
        bounds = np.searchsorted(flat, np.arange(count + 1) * size)
        self.starts = bounds[:-1]
        self.empty = bounds[1:] == self.starts

    def sum(self, entries: Any, dtype: type[Any]) -> Any:
        """Each row's sum of ``entries`` (one per entry, and the zero at the end)."""
        sums = np.add.reduceat(entries, self.starts, dtype=dtype)
        sums[self.empty] = 0
        return sums


def _moved(before: Any, after: Any, limit: np.float32, *, below: bool) -> Any:
    """Per entry: +1 where the change takes the sample to or beyond ``limit``, -1 where
    it takes it back, 0 elsewhere (int8)."""
    if below:
        ended, started = np.less_equal(after, limit), np.less_equal(before, limit)
    else:
        ended, started = np.greater_equal(after, limit), np.greater_equal(before, limit)
    return ended.view(np.int8) - started.view(np.int8)
