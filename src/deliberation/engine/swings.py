"""Sensitivity swings: one estimate, or one mitigation factor, moved to an end of its interval.

An **item swing** replaces one item's pooled likelihood (or impact) by the 5th or the
95th percentile of its pooled distribution; a **factor swing** replaces one mitigation's
likelihood (or impact) factor by the low or the high end of its 90% interval (factors
given as intervals only: a point has nothing to swing), in every variant that uses it.
Every other draw of every sample stays as it was (common random numbers), so a swing
is a per-sample change to each variant's net value, and only that change is computed.

Per chunk, each swing's tally keeps, for every reported mitigation set: the sum of the
change and the swung extreme counts; and over pairs of sets (s, t) the sums of
change_s * change_t and of net_s * change_t. From those sums alone the analysis gets a
swung variant's mean with its standard error, and the swung lead of one variant over
another with the standard error of the per-sample difference (``swung_lead``), without
keeping any sample. An item's own changes are item-local: a DrawCache keeps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .draws import Factor, Floats, Indices, _Arena, _ItemDraws, _product
from .estimates import ItemModel, factor_parameters, pooled_interval
from .factor_swings import factor_total

Quantity = Literal["likelihood", "impact", "likelihood_factor", "impact_factor"]
End = Literal["low", "high"]

SWINGS: tuple[tuple[Literal["likelihood", "impact"], End], ...] = (
    ("likelihood", "low"), ("likelihood", "high"), ("impact", "low"), ("impact", "high"),
)
FACTOR_SWINGS: tuple[tuple[Literal["likelihood_factor", "impact_factor"], End], ...] = (
    ("likelihood_factor", "low"), ("likelihood_factor", "high"),
    ("impact_factor", "low"), ("impact_factor", "high"),
)


@dataclass
class SwingTally:
    """One swing (an item's or a mitigation's quantity moved to one end), summed over samples.

    ``item`` is the item's id, or the mitigation's when ``subject`` is "mitigation".
    ``products[r, q]`` is the sum of change_r * change_q and ``cross[r, q]`` the sum of
    net_r * change_q, over the sets ``sets`` (rows r, q are positions in it).
    """

    item: str
    quantity: Quantity
    end: End
    value: float
    subject: Literal["item", "mitigation"] = "item"
    sets: tuple[int, ...] = ()
    # per position in ``sets``: the sum of the change, and the swung extreme counts
    shift: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    bad: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    good: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    products: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    cross: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def mean_shift(self) -> dict[int, float]:
        """Per set index: the sum over samples of the change the swing makes."""
        return {s: float(v) for s, v in zip(self.sets, self.shift, strict=True)}

    @property
    def extreme_bad(self) -> dict[int, int]:
        return {s: int(v) for s, v in zip(self.sets, self.bad, strict=True)}

    @property
    def extreme_good(self) -> dict[int, int]:
        return {s: int(v) for s, v in zip(self.sets, self.good, strict=True)}


@dataclass
class Change:
    """A swing's signed change to one contribution: at ``changed`` (None: every sample)."""

    changed: Indices | None
    values: Floats
    total: float
    squares: float


@dataclass
class Swung:
    """A swing's distinct changes (one per distinct mitigation key of the reported sets)
    and, for an item swing, their sums of products (``gram[k, l]``; a factor swing's
    are taken when its targets' changes are added up)."""

    keys: list[frozenset[str]]
    changes: list[Change]
    gram: npt.NDArray[np.float64]


def _change(difference: Floats, arena: _Arena) -> Change:
    # Sparse when it pays: a swing changes only where the item happens (impact) or would
    # at one likelihood, not the other (found in a bool mask: 4x faster than in float32).
    mask = np.not_equal(difference, 0, out=arena.mask)
    if np.count_nonzero(mask) * 4 < len(difference):
        changed: Indices | None = np.flatnonzero(mask)
        values: Floats = difference[changed]
    else:
        changed, values = None, arena.take(np.float32)
        np.copyto(values, difference)
    return Change(changed, values, float(values.sum(dtype=np.float64)),
                  float(np.dot(values, values)))


def _dot(first: Change, second: Change, scratch: Floats) -> float:
    """The sum over samples of first * second (``scratch``: zeros, left as zeros)."""
    if first.changed is None and second.changed is None:
        return float(np.dot(first.values, second.values))
    if first.changed is None:
        first, second = second, first
    if second.changed is None:
        return float(np.dot(first.values, second.values[first.changed]))
    scratch[first.changed] = first.values
    product = float(np.dot(scratch[second.changed], second.values))
    scratch[first.changed] = 0
    return product


_ITEM_POSITION: dict[tuple[Quantity, End], int] = {
    swing: position for position, swing in enumerate(SWINGS)
}
_FACTOR_POSITION: dict[tuple[Quantity, End], int] = {
    swing: position for position, swing in enumerate(FACTOR_SWINGS)
}
_NO_GRAM = np.zeros((0, 0))  # a factor swing's products are taken over all its targets


class SwingPlan:
    """Which swings a run makes, their tallies, and the per-chunk work for them."""

    def __init__(
        self,
        models: list[ItemModel],
        mitigations: dict[str, Any],
        item_keys: dict[str, list[frozenset[str]]],
        reported_sets: list[int],
        sets: list[frozenset[str]],
        *,
        enabled: bool,
        mean_errors: bool = True,
    ) -> None:
        # mean_errors: whether swung means need their standard errors (a gate on the
        # mean); the leads between variants always get theirs
        self.mean_errors = mean_errors
        self.reported = list(reported_sets)
        self.tallies: list[SwingTally] = []
        self.item_values: dict[str, list[float]] = {}
        # per mitigation: (position in FACTOR_SWINGS, value) of each swing it makes
        self.factor_values: dict[str, list[tuple[int, float]]] = {}
        self.item_keys = item_keys
        self.sets = sets
        self.key_index: dict[str, list[int]] = {}  # per item: its change for each set
        self.targets: dict[str, list[str]] = {}
        # the items whose item swings engine.block_swings tallies (BlockSwings, by block)
        self.block_items: set[str] = set()
        self.blocks: list[Any] = []
        self.item_tally: dict[tuple[str, int], SwingTally] = {}
        # engine.blocks' blocks (their items' ids): a factor swing's change is summed
        # block by block (``partials``: a fresh block's sums, this chunk's)
        self.target_blocks: list[list[str]] = []
        self.partials: dict[tuple[int, str, int, frozenset[str]], Floats] = {}
        if not enabled:
            return
        rows = tuple(self.reported)
        size = len(rows)

        def tally(item: str, quantity: Quantity, end: End, value: float,
                  subject: Literal["item", "mitigation"]) -> None:
            self.tallies.append(SwingTally(
                item, quantity, end, value, subject, rows, shift=np.zeros(size),
                bad=np.zeros(size, np.int64), good=np.zeros(size, np.int64),
                products=np.zeros((size, size)), cross=np.zeros((size, size)),
            ))

        for model in models:
            ends = {q: pooled_interval(model, q) for q in ("likelihood", "impact")}
            values = []
            for position, (quantity, end) in enumerate(SWINGS):
                value = ends[quantity][0 if end == "low" else 1]
                values.append(value)
                tally(model.id, quantity, end, value, "item")
                self.item_tally[model.id, position] = self.tallies[-1]
            self.item_values[model.id] = values
            keys = self._keys_of(model)  # the order swing_item keeps changes in
            self.key_index[model.id] = [keys.index(item_keys[model.id][s]) for s in self.reported]
        used = set().union(*(sets[index] for index in self.reported))
        estimated = {model.id for model in models}
        for m_id in sorted(used):
            mitigation = mitigations[m_id]
            swings = []
            for position, (factor, end) in enumerate(FACTOR_SWINGS):
                interval = getattr(mitigation, factor)
                if factor_parameters(interval)[1] == 0:
                    continue  # a point: nothing to swing
                value = float(interval[0 if end == "low" else 1])
                swings.append((position, value))
                tally(m_id, factor, end, value, "mitigation")
            targets = [t for t in mitigation.targets if t in estimated]
            if swings and targets:
                self.factor_values[m_id] = swings
                self.targets[m_id] = sorted(targets)
            elif swings:
                del self.tallies[len(self.tallies) - len(swings):]
        self._scratch: Floats = np.zeros(0, np.float32)

    def cache_key(self, model: ItemModel) -> tuple[Any, ...]:
        """What an item's swings depend on beyond its own draws and mitigation keys."""
        factors = tuple(
            (m_id, tuple(self.factor_values[m_id]))
            for m_id in sorted(self.factor_values) if model.id in self.targets[m_id]
        )
        return tuple(self.item_values.get(model.id, ())), factors

    def _keys_of(self, model: ItemModel) -> list[frozenset[str]]:
        keys = {self.item_keys[model.id][index] for index in self.reported}
        return sorted(keys, key=sorted)

    def _zeros(self, size: int) -> Floats:
        if len(self._scratch) != size:
            self._scratch = np.zeros(size, np.float32)
        return self._scratch

    # ------------------------------------------------------------------ item-local

    def swing_item(
        self,
        model: ItemModel,
        draws: _ItemDraws,
        factors: dict[str, tuple[Factor, Factor]],
        arena: _Arena,
    ) -> None:
        """Fill ``draws.swung`` with this item's changes under every swing touching it."""
        values = self.item_values.get(model.id)
        if values is None:
            return
        with np.errstate(over="ignore", invalid="ignore"):  # see swung_lead
            if model.id in self.block_items:  # its swings are its block's
                return
            else:
                self._swing_item(model, values, draws, factors, arena)

    def _swing_item(
        self,
        model: ItemModel,
        values: list[float],
        draws: _ItemDraws,
        factors: dict[str, tuple[Factor, Factor]],
        arena: _Arena,
    ) -> None:
        keys = self._keys_of(model)
        sign = np.float32(model.sign)
        scratch = self._zeros(len(draws.uniform))
        for swing, ((quantity, _), value) in enumerate(zip(SWINGS, values, strict=True)):
            changes = []
            for key in keys:
                likelihood_factor, impact_factor, key_impact, key_happened, key_contribution = (
                    draws.by_key[key]
                )
                difference = arena.wide32
                if quantity == "likelihood":
                    swung_likelihood: Factor = np.float32(value)
                    if likelihood_factor is not None:
                        swung_likelihood = np.multiply(
                            likelihood_factor, swung_likelihood, out=arena.radius
                        )
                    swung_happened = np.less(draws.uniform, swung_likelihood, out=arena.mask)
                    np.multiply(key_impact, swung_happened, out=difference)
                else:
                    swung_impact: Factor = np.float32(value)
                    if impact_factor is not None:
                        swung_impact = np.multiply(impact_factor, swung_impact, out=arena.radius)
                    np.multiply(swung_impact, key_happened, out=difference)
                difference -= key_contribution
                difference *= sign
                changes.append(_change(difference, arena))
            gram = np.empty((len(keys), len(keys)))
            for k, first in enumerate(changes):
                gram[k, k] = first.squares
                for j in range(k):
                    gram[k, j] = gram[j, k] = _dot(first, changes[j], scratch)
            draws.swung[swing] = Swung(keys, changes, gram)
        self._swing_factors(model, draws, factors, keys, arena)

    def _swing_factors(self, model: ItemModel, draws: _ItemDraws,
                       factors: dict[str, tuple[Factor, Factor]],
                       keys: list[frozenset[str]], arena: _Arena) -> None:
        for m_id, swings in self.factor_values.items():
            if model.id in self.targets[m_id]:
                self._swing_factor(model, m_id, swings, draws, factors=factors, keys=keys,
                                   arena=arena)

    def _swing_factor(
        self,
        model: ItemModel,
        m_id: str,
        swings: list[tuple[int, float]],
        draws: _ItemDraws,
        *,
        factors: dict[str, tuple[Factor, Factor]],
        keys: list[frozenset[str]],
        arena: _Arena,
    ) -> None:
        sign = np.float32(model.sign)
        with_it = [key for key in keys if m_id in key]
        for position, value in swings:
            likelihood = FACTOR_SWINGS[position][0] == "likelihood_factor"
            changes = []
            for key in with_it:
                _, _, key_impact, key_happened, key_contribution = draws.by_key[key]
                which = 0 if likelihood else 1
                others = _product([factors[m][which] for m in sorted(key) if m != m_id])
                swung: Factor = np.float32(value)
                if others is not None:
                    swung = np.multiply(others, swung, out=arena.radius)
                difference = arena.wide32
                if likelihood:
                    scaled = np.multiply(draws.likelihood, swung, out=arena.radius)
                    swung_happened = np.less(draws.uniform, scaled, out=arena.mask)
                    np.multiply(key_impact, swung_happened, out=difference)
                else:
                    np.multiply(draws.impact, swung, out=difference)
                    difference *= key_happened
                values = arena.take(np.float32)
                np.subtract(difference, key_contribution, out=values)
                values *= sign
                # kept dense: the targets' changes are added up into one per set anyway
                changes.append(Change(None, values, math.nan, math.nan))
            draws.swung[(m_id, position)] = Swung(with_it, changes, _NO_GRAM)

    # ------------------------------------------------------------------ per chunk

    def tally(self, net: Floats, models: list[ItemModel], chunk_draws: list[_ItemDraws],
              bad: np.float32, good: np.float32) -> None:
        """Add one chunk's swings to the tallies (``net``: every set's net value)."""
        if not self.tallies:
            return
        with np.errstate(over="ignore", invalid="ignore"):  # see swung_lead
            self._tally(net, models, chunk_draws, bad, good)

    def _tally(self, net: Floats, models: list[ItemModel], chunk_draws: list[_ItemDraws],
               bad: np.float32, good: np.float32) -> None:
        chunk = _Chunk(net[self.reported], bad, good, mean_errors=self.mean_errors)
        by_id = {model.id: draws for model, draws in zip(models, chunk_draws, strict=True)}
        scratch = self._zeros(net.shape[1])
        for block in self.blocks:
            block.add(chunk)
        for tally in self.tallies:
            if tally.subject == "item" and tally.item in self.block_items:
                continue
            if tally.subject == "mitigation":
                position = _FACTOR_POSITION[tally.quantity, tally.end]
                self._tally_factor(tally, position, by_id, chunk, scratch)
                continue
            swung = by_id[tally.item].swung[_ITEM_POSITION[tally.quantity, tally.end]]
            chunk.add(tally, swung.changes, self.key_index[tally.item], swung.gram)

    def _tally_factor(self, tally: SwingTally, position: int, by_id: dict[str, _ItemDraws],
                      chunk: _Chunk, scratch: Floats) -> None:
        m_id = tally.item
        targets = self.targets[m_id]
        groups: dict[tuple[frozenset[str], ...], int] = {}
        index = []
        for s in self.reported:
            if m_id not in self.sets[s]:
                index.append(-1)  # the set does not use the mitigation: no change
                continue
            # sets that apply the same factors to every target change net value alike
            signature = tuple(self.item_keys[t][s] for t in targets)
            index.append(groups.setdefault(signature, len(groups)))
        changes = []
        for signature in groups:
            total = factor_total(self, m_id, position, dict(zip(targets, signature,
                                                                strict=True)), by_id)
            changes.append(Change(None, total, float(total.sum(dtype=np.float64)),
                                  float(np.dot(total, total))))
        gram = np.empty((len(changes), len(changes)))
        for k, first in enumerate(changes):
            for j in range(k + 1):
                gram[k, j] = gram[j, k] = _dot(first, changes[j], scratch)
        chunk.add(tally, changes, index, gram)


class _Chunk:
    """One chunk's reported net values, centred, and their extreme counts."""

    def __init__(self, net: Floats, bad: np.float32, good: np.float32, *,
                 mean_errors: bool) -> None:
        self.net = net  # (reported sets, chunk samples), a copy
        self.size = net.shape[1]
        self.bad, self.good = bad, good
        self.mean_errors = mean_errors
        # centred on the chunk's mean (as float32, so the centring is exact), so float32
        # products with a change do not cancel; the mean's part is added back in float64
        self.centre = net.mean(axis=1, dtype=np.float64).astype(np.float32)[:, None]
        self.means = self.centre[:, 0].astype(np.float64)
        self.centred = net - self.centre
        self.bad_counts = np.array([np.count_nonzero(row <= bad) for row in net], np.int64)
        self.good_counts = np.array([np.count_nonzero(row >= good) for row in net], np.int64)
        self.moved = np.empty(self.size, np.float32)
        self.mask = np.empty(self.size, np.bool_)
        self.no_products = np.zeros(len(net))

    def _moved(self, change: Change, members: Any = None, *,
               products: bool = True) -> tuple[Any, Any, Any]:
        """The extreme counts of the sets ``members`` (None: all) with ``change`` added
        (0 for the others), and every set's sum of centred net value times it (zeros
        when ``products`` is false)."""
        sets = len(self.net)
        bad = np.zeros(sets, np.int64)
        good = np.zeros(sets, np.int64)
        counted = [True] * sets if members is None else list(members)
        if change.changed is None:
            moved, mask = self.moved, self.mask
            for r in range(sets):
                if counted[r]:
                    np.add(self.net[r], change.values, out=moved)
                    bad[r] = np.count_nonzero(np.less_equal(moved, self.bad, out=mask))
                    good[r] = np.count_nonzero(np.greater_equal(moved, self.good, out=mask))
            return bad, good, self.centred @ change.values if products else self.no_products
        # np.take gathers a few columns of every set at once far faster than fancy
        # indexing; numpy's counts along an axis are slow, so rows are counted one by one
        before = np.take(self.net, change.changed, axis=1)
        after = before + change.values
        for counts, start, ended in (
            (bad, np.less_equal(before, self.bad), np.less_equal(after, self.bad)),
            (good, np.greater_equal(before, self.good), np.greater_equal(after, self.good)),
        ):
            for r in range(sets):
                if counted[r]:
                    counts[r] = np.count_nonzero(ended[r]) - np.count_nonzero(start[r])
        bad += self.bad_counts
        good += self.good_counts
        if not products:
            return bad, good, self.no_products
        before -= self.centre
        return bad, good, before @ change.values

    def add(self, tally: SwingTally, changes: list[Change], index: list[int],
            gram: npt.NDArray[np.float64]) -> None:
        """Add a swing whose reported set r changes by ``changes[index[r]]`` (-1: none)."""
        if len(changes) == 1 and min(index) == 0:
            # every set changes alike (the item is under no mitigation of any variant)
            # the sums of net value times the change matter only to a swung mean's
            # standard error here: every lead's cancel, the change being the same
            change = changes[0]
            bad, good, product = self._moved(change, products=self.mean_errors)
            tally.shift += change.total
            tally.bad += bad
            tally.good += good
            tally.products += change.squares
            tally.cross += (product + self.means * change.total)[:, None]
            return
        # a few sets and keys: plain Python beats numpy's per-call cost here
        count = len(changes)
        column = [k if k >= 0 else count for k in index]  # count: the all-zero change
        totals = [change.total for change in changes] + [0.0]
        grams = [[*row, 0.0] for row in gram.tolist()] + [[0.0] * (count + 1)]
        bad, good = self.bad_counts.copy(), self.good_counts.copy()
        products: list[list[float]] = []  # per change: each set's sum of centred net x it
        for k, change in enumerate(changes):
            members = [c == k for c in column]
            moved_bad, moved_good, product = self._moved(change, members)
            products.append(product.tolist())
            for r, member in enumerate(members):
                if member:
                    bad[r], good[r] = moved_bad[r], moved_good[r]
        products.append([0.0] * len(column))
        means = self.means.tolist()
        tally.products += np.array([[grams[k][j] for j in column] for k in column])
        tally.cross += np.array([[products[j][r] + means[r] * totals[j] for j in column]
                                 for r in range(len(column))])
        tally.shift += np.array([totals[k] for k in column])
        tally.bad += bad
        tally.good += good
