"""Random streams keyed by what they are for, and the per-chunk draws of items and mitigations.

Each item draws from its own stream, derived from the seed and a hash of the item's id;
each mitigation from one keyed by its id. Normals come from the uniforms by Box-Muller,
so reordering or editing one item changes no other item's draws.

Under the linear pool one participant is picked per *sample*, from a stream of its own,
and every item of that sample uses that participant's estimate: a sample is one
participant's view of the world, not a mix of everyone's item by item. An item that
participant did not estimate uses one of those who did, picked uniformly from the
item's own stream.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .copula import Coupling, Wide
from .estimates import Z_GRID, ItemModel, factor_parameters

Floats = npt.NDArray[np.float32]
Bools = npt.NDArray[np.bool_]
Factor = Floats | np.float32
Indices = npt.NDArray[np.intp]
_ITEM, _MITIGATION, _PARTICIPANT, _DRIVER = 0, 1, 2, 3


def _key_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def _stream(entropy: int, namespace: int, name: str, purpose: int) -> np.random.Generator:
    sequence = np.random.SeedSequence(entropy, spawn_key=(namespace, _key_hash(name), purpose))
    return np.random.Generator(np.random.PCG64(sequence))


# (likelihood factor, impact factor, impact after factor, happened, contribution)
_Keyed = tuple[Factor | None, Factor | None, Factor, Bools, Floats]


class _ItemDraws:
    """One item's draws for one chunk, and its contribution under each mitigation key.

    ``by_key[key]`` holds (likelihood factor, impact factor, impact after the factor,
    happened, contribution) for the item's mitigation key (frozenset() is no
    mitigation); ``swung[swing]`` the signed changes in contribution a sensitivity swing
    makes (:mod:`.swings`). None of it depends on other items, so it can be cached.
    """

    __slots__ = ("binned", "by_key", "differences", "impact", "likelihood", "sums", "swung",
                 "uniform")

    def __init__(self, uniform: Floats, likelihood: Factor, impact: Factor) -> None:
        # uniform: the happen/not draw, in [0, 1 - 2**-24]; the item happens if it is
        # below the likelihood, so a probability is resolved to within 2**-24.
        self.uniform = uniform
        self.likelihood = likelihood
        self.impact = impact
        self.by_key: dict[frozenset[str], _Keyed] = {}
        self.sums: dict[frozenset[str], tuple[int, float]] = {}  # happened, contribution
        # key -> contribution under the key minus the unmitigated one
        self.differences: dict[frozenset[str], Floats] = {}
        # swing -> engine.swings.Swung (item-local, so a cached item keeps it)
        self.swung: dict[Any, Any] = {}
        # (quantity, bins, samples) -> engine.voi's bin codes of a whole run (item-local)
        self.binned: dict[Any, Any] = {}


class DrawCache:
    """Keeps each item's draws between runs, so recomputing after an edit redraws only
    what the edit changed (the widgets' case). Only single-chunk runs are cached, and
    each run drops what it did not use, so it holds one review's worth at most.
    """

    def __init__(self) -> None:
        self.items: dict[Any, _ItemDraws] = {}
        self.factors: dict[Any, tuple[Factor, Factor]] = {}

    def __len__(self) -> int:
        return len(self.items) + len(self.factors)


def _expit_inplace(values: Floats) -> Floats:
    np.negative(values, out=values)
    return _expit_of_negated(values)


def _expit_of_negated(values: Floats) -> Floats:
    """expit(x) in place, from -x (negation is exact, so either way gives one result)."""
    with np.errstate(over="ignore"):
        np.exp(values, out=values)
    values += np.float32(1)
    np.reciprocal(values, out=values)
    return values


class _Arena:
    """Hands out rows of a few large blocks instead of thousands of small arrays.

    A fresh array per item per chunk made glibc map, fault and unmap pages on nearly
    every allocation, which cost as much as the arithmetic. Blocks go back to a small
    shared pool when a run ends (unless a cache still refers to their rows), so the
    next run (the next edit in the workbook) writes into memory that is already mapped.
    The pool holds memory, never numbers: results do not depend on it.
    """

    ROWS = 64
    POOL_BYTES = 96 << 20
    _pool: ClassVar[dict[tuple[str, tuple[int, ...]], list[npt.NDArray[Any]]]] = {}
    _pooled_bytes: ClassVar[int] = 0
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, size: int) -> None:
        self.size = size
        self.owned: list[npt.NDArray[Any]] = []
        self.blocks: dict[np.dtype[Any], tuple[npt.NDArray[Any], int]] = {}
        self.uniforms = self._block(np.float64, (size * 4,))
        self.wide = self._block(np.float64, (size,))
        self.radius = self._block(np.float32, (size,))
        self.wide32 = self._block(np.float32, (size,))
        self.mask = self._block(np.bool_, (size,))
        self.index = self._block(np.intp, (size,))
        self.scratches: dict[str, npt.NDArray[Any]] = {}

    def _block(self, dtype: type[Any], shape: tuple[int, ...]) -> npt.NDArray[Any]:
        key = (np.dtype(dtype).str, shape)
        with self._lock:
            free = self._pool.get(key)
            block = free.pop() if free else None
            if block is not None:
                _Arena._pooled_bytes -= block.nbytes
        if block is None:
            block = np.empty(shape, dtype)
        self.owned.append(block)
        return block

    def take(self, dtype: type[Any]) -> npt.NDArray[Any]:
        kind = np.dtype(dtype)
        block, used = self.blocks.get(kind, (None, self.ROWS))
        if block is None or used == self.ROWS:
            block, used = self._block(dtype, (self.ROWS, self.size)), 0
        self.blocks[kind] = (block, used + 1)
        row: npt.NDArray[Any] = block[used]
        return row

    def take_rows(self, dtype: type[Any], count: int) -> npt.NDArray[Any]:
        """``count`` (at most ROWS) consecutive rows of one block: a (count, size) array."""
        kind = np.dtype(dtype)
        block, used = self.blocks.get(kind, (None, self.ROWS))
        if block is None or used + count > self.ROWS:
            block, used = self._block(dtype, (self.ROWS, self.size)), 0
        self.blocks[kind] = (block, used + count)
        rows: npt.NDArray[Any] = block[used:used + count]
        return rows

    def scratch(self, name: str, dtype: type[Any], shape: tuple[int, ...]) -> npt.NDArray[Any]:
        """A work array kept for the arena's life under ``name`` (its contents are not)."""
        array = self.scratches.get(name)
        if array is None:
            array = self.scratches[name] = self._block(dtype, shape)
        return array

    def release(self) -> None:
        """Give the blocks back to the pool: call only when no row is referred to."""
        with self._lock:
            for block in self.owned:
                if _Arena._pooled_bytes + block.nbytes > self.POOL_BYTES:
                    break
                key = (block.dtype.str, block.shape)
                self._pool.setdefault(key, []).append(block)
                _Arena._pooled_bytes += block.nbytes
        self.owned = []
        self.blocks = {}
        self.scratches = {}


class ParticipantSampler:
    """Picks the participant of each sample (the linear pool), one uniform per sample."""

    def __init__(self, participants: Sequence[str], entropy: int) -> None:
        self.participants = tuple(participants)
        self.stream = _stream(entropy, _PARTICIPANT, "participant", 0)

    def draw(self, size: int) -> Indices | None:
        """Each sample's index into ``participants``; None when there are fewer than two."""
        count = len(self.participants)
        if count < 2:
            return None
        uniforms = self.stream.random(size)
        picked: Indices = np.minimum((uniforms * count).astype(np.intp), count - 1)
        return picked


class _ItemSampler:
    """Draws one item's likelihood, happen/not uniform and impact, chunk after chunk."""

    def __init__(
        self,
        model: ItemModel,
        entropy: int,
        participants: Sequence[str] = (),
        coupling: Coupling | None = None,
    ) -> None:
        self.model = model
        self.coupling = coupling  # its driver (engine.copula), or None: independent
        components = model.components
        self.count = len(components)
        # For each participant of the review, the position of their estimate of this
        # item (-1: they did not estimate it).
        positions = {c.participant: index for index, c in enumerate(components)}
        self.lookup = np.array([positions.get(p, -1) for p in participants], np.intp)
        self.missing = bool(np.any(self.lookup < 0))
        self.likelihood_mu = np.array([c.likelihood_mu for c in components], np.float32)
        self.likelihood_sigma = np.array([c.likelihood_sigma for c in components], np.float32)
        self.impact_mu = np.array([c.impact_mu for c in components], np.float32)
        self.impact_sigma = np.array([c.impact_sigma for c in components], np.float32)
        # A geometric pool's impact is tabulated (one component): its normal draw is read
        # through the table's log quantiles instead of mu + sigma * z.
        table = components[0].impact_table if len(components) == 1 else None
        self.impact_table = None if table is None else np.array(table, np.float32)
        # Points are used exactly (not through exp/expit), so a point likelihood gives
        # exactly a Bernoulli of that probability.
        self.likelihood_points = (
            np.array([c.likelihood[0] for c in components], np.float32)
            if all(c.likelihood_sigma == 0 for c in components) else None
        )
        self.impact_points = (
            np.array([c.impact[0] for c in components], np.float32)
            if all(c.impact_sigma == 0 for c in components) else None
        )
        self.entropy = entropy
        self.stream: np.random.Generator | None = None
        # engine.rare's importance sampling: the last draw's shifted normals (likelihood,
        # impact), kept only when a shift was asked for
        self.shifted: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None

    def draw(
        self,
        size: int,
        arena: _Arena,
        picked: Indices | None = None,
        driver: tuple[Wide, Wide] | None = None,
        shift: tuple[float, float] | None = None,
    ) -> _ItemDraws:
        """One chunk's draws; ``picked`` is each sample's participant (the linear pool),
        ``driver`` the chunk's normals of the item's driver (happen/not, likelihood).
        ``shift`` moves the mean of the item's own likelihood and impact normals (for
        importance sampling, :mod:`.rare`); the shifted normals are kept in
        ``self.shifted``."""
        coupling = self.coupling if driver is not None else None
        if self.stream is None:
            # Created on first use: an item served from the cache never pays for it.
            self.stream = _stream(self.entropy, _ITEM, self.model.id, 0)
        # One row of uniforms per sample (sample-major, so any chunking of the samples
        # reads the same numbers): the happen/not draw, the participant pick when there
        # are several, and two uniforms that Box-Muller turns into the two standard
        # normals of the likelihood and the impact.
        normals = self.likelihood_points is None or self.impact_points is None
        columns = 1 + (self.count > 1) + 2 * normals
        uniforms = arena.uniforms[: size * columns].reshape(size, columns)
        self.stream.random(out=uniforms)
        # float32 is plenty for the happen/not draw, but rounding could make it 1.0, and
        # "u < 1" must hold for a certain item to happen: cap it just below 1.
        happen = arena.take(np.float32)
        if coupling is None or driver is None:
            np.copyto(happen, uniforms[:, 0], casting="same_kind")
        else:
            np.copyto(happen, coupling.happen(uniforms[:, 0], driver[0]), casting="same_kind")
        np.minimum(happen, _BELOW_ONE, out=happen)
        index = None
        if self.count > 1:
            # The item's own pick: used for every sample without a per-sample
            # participant, and for samples whose participant did not estimate the item.
            own = arena.index
            np.multiply(uniforms[:, 1], self.count, out=own, casting="unsafe")
            np.minimum(own, self.count - 1, out=own)
            index = own
            if picked is not None and len(self.lookup):
                index = np.take(self.lookup, picked)
                if self.missing:
                    np.copyto(index, own, where=index < 0)
        first = second = None
        if normals:
            first, second = _box_muller(
                uniforms[:, columns - 2], uniforms[:, columns - 1], arena
            )
            if shift is not None:
                first += np.float32(shift[0])
                second += np.float32(shift[1])
                self.shifted = (first.astype(np.float64), second.astype(np.float64))
            if coupling is not None and driver is not None and self.likelihood_points is None:
                coupling.normal(first, driver[1])  # uncertain likelihoods co-move too
        likelihood = self._quantity(
            index, self.likelihood_points, self.likelihood_mu, self.likelihood_sigma,
            first, arena=arena, logistic=True,
        )
        if self.impact_table is not None and second is not None:
            np.copyto(second, np.interp(second, Z_GRID, self.impact_table), casting="unsafe")
            with np.errstate(over="ignore"):
                impact: Factor = np.exp(second, out=second)
        else:
            impact = self._quantity(
                index, self.impact_points, self.impact_mu, self.impact_sigma, second,
                arena=arena, logistic=False,
            )
        return _ItemDraws(happen, likelihood, impact)

    @staticmethod
    def _quantity(
        index: npt.NDArray[np.intp] | None,
        points: Floats | None,
        mu: Floats,
        sigma: Floats,
        normal: Floats | None,
        *,
        arena: _Arena,
        logistic: bool,
    ) -> Factor:
        if points is not None:
            if index is None:
                point: np.float32 = points[0]
                return point
            picked_points: Floats = np.take(
                points, index, out=arena.take(np.float32), mode="wrap"
            )
            return picked_points
        if normal is None:
            raise ValueError("an interval estimate needs its normal draws")
        if index is None:
            normal *= sigma[0]
            normal += mu[0]
        else:
            # indices are in range by construction; "wrap" skips numpy's bounds checks
            picked = np.take(sigma, index, out=arena.radius, mode="wrap")
            normal *= picked
            np.take(mu, index, out=picked, mode="wrap")
            normal += picked
        if logistic:
            return _expit_inplace(normal)
        with np.errstate(over="ignore"):
            return np.exp(normal, out=normal)


_BELOW_ONE = np.nextafter(np.float32(1), np.float32(0))


def _box_muller(
    radius_uniform: npt.NDArray[np.float64],
    angle_uniform: npt.NDArray[np.float64],
    arena: _Arena,
) -> tuple[Floats, Floats]:
    """Two independent standard normals per pair of uniforms (Box-Muller).

    Cheaper than drawing normals one by one: the radius is taken from a float64
    uniform (its tail reaches 8.6 standard deviations), the trigonometry runs in
    float32, where numpy vectorises it.
    """
    # 1 - u is in (0, 1] in float64 and stays above 0 in float32 (u itself could round
    # up to 1.0 in float32), so the log is finite.
    np.subtract(1.0, radius_uniform, out=arena.wide)
    radius = arena.radius
    np.copyto(radius, arena.wide, casting="same_kind")
    np.log(radius, out=radius)
    radius *= np.float32(-2)
    np.sqrt(radius, out=radius)
    first, second = arena.take(np.float32), arena.take(np.float32)
    np.multiply(angle_uniform, 2 * np.pi, out=second, casting="same_kind", dtype=np.float32)
    np.cos(second, out=first)
    np.sin(second, out=second)
    first *= radius
    second *= radius
    return first, second


class _MitigationSampler:
    """Draws one mitigation's likelihood and impact factors, one pair per sample."""

    def __init__(self, mitigation: Any, entropy: int) -> None:
        self.likelihood = factor_parameters(mitigation.likelihood_factor)
        self.impact = factor_parameters(mitigation.impact_factor)
        self.stream = _stream(entropy, _MITIGATION, mitigation.id, 0)

    @staticmethod
    def _factor(parameters: tuple[float, float], normal: Floats) -> Factor:
        mu, sigma = parameters
        if sigma == 0:
            return np.float32(math.exp(mu) if math.isfinite(mu) else 0.0)
        normal *= np.float32(sigma)
        normal += np.float32(mu)
        return np.exp(normal, out=normal)

    def draw(self, size: int, arena: _Arena) -> tuple[Factor, Factor]:
        if self.likelihood[1] == 0 and self.impact[1] == 0:
            return self._factor(self.likelihood, _NO_NORMAL), self._factor(self.impact, _NO_NORMAL)
        uniforms = arena.uniforms[: size * 2].reshape(size, 2)
        self.stream.random(out=uniforms)
        first, second = _box_muller(uniforms[:, 0], uniforms[:, 1], arena)
        return self._factor(self.likelihood, first), self._factor(self.impact, second)


_NO_NORMAL: Floats = np.empty(0, np.float32)


def _product(factors: Sequence[Factor]) -> Factor | None:
    if not factors:
        return None
    result = factors[0]
    for factor in factors[1:]:
        result = result * factor
    return result
