"""Monte Carlo simulation of a review's net value, every variant from one set of draws.

Per sample (under the linear pool, one participant's view: see ``draws``), each
estimated item happens with its drawn likelihood (one uniform draw
per item per sample, shared by all variants) and then adds its drawn impact if it is a
benefit and subtracts it if it is a harm. A variant's mitigations multiply the
likelihood (clipped to [0, 1]) and the impact of the items they target, by factors
drawn once per mitigation per sample (one mitigation's uncertain efficacy is shared by
everything it targets).

Random streams are keyed by what they are for, not by position: each item draws from
its own stream, derived from the seed and a hash of the item's id, and each mitigation
from one keyed by its id. A stream is read one row of uniforms per sample, so
reordering items, or editing one item, changes no other item's draws, and the chunk
size changes no number at all. Normals come from those uniforms by Box-Muller.

Work proceeds in chunks of samples so memory stays bounded whatever the size of the
review: only the per-variant net values (float32, one per sample) are kept whole.
Items that take the same steps are drawn a block at a time (``engine.blocks``), with
the same numbers as item by item. Each
sample's net value is accumulated in float64 and rounded to float32 once, so large
terms that cancel leave no rounding that depends on the items' order or ids. So is each
sample's harm total (benefits left out), kept only as whether it reached ``catastrophe``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..review.template import Template
from .block_swings import BlockSwings
from .blocks import accumulate, item_blocks, tally_blocks
from .copula import Coupling, DriverSampler, Wide, couplings
from .draws import (
    _DRIVER,
    DrawCache,
    Factor,
    Floats,
    Indices,
    ParticipantSampler,
    _Arena,
    _ItemDraws,
    _ItemSampler,
    _MitigationSampler,
    _product,
    _stream,
)
from .estimates import ItemModel, Pool, factor_parameters, item_models
from .factor_swings import block_partials
from .swings import SwingPlan, SwingTally
from .thresholds import catastrophe_of, reach_catastrophe, thresholds_of
from .voi import VOI_SAMPLES, VoiCapture

ProgressCallback = Callable[[int, int], None]

BASELINE = "baseline"
# Item-samples held in memory per chunk: a few dozen bytes each (draws, contributions,
# masks and swings kept for the tallies), so tens of MB whatever the size of the review
# (benchmarks/README.md has the measured peak).
CHUNK_ITEM_SAMPLES = 1 << 21
MIN_CHUNK = 1024

@dataclass
class ItemTally:
    """Sums over samples for one item under one mitigation set (unsigned contributions)."""

    happened: int = 0
    contribution: float = 0.0
    happened_bad: dict[int, int] = field(default_factory=dict)
    contribution_bad: dict[int, float] = field(default_factory=dict)


@dataclass
class Simulation:
    """The draws' summaries: net value per variant (kept whole) and per-item tallies.

    ``sets`` are the distinct mitigation sets simulated (set 0 is always no mitigation);
    ``variant_sets`` maps each reported variant, ``mitigation_sets`` each mitigation on
    its own, to its set.
    """

    samples: int
    pool: Pool
    extreme_bad: float
    extreme_good: float
    variants: list[str]
    variant_titles: dict[str, str]
    sets: list[frozenset[str]]
    variant_sets: dict[str, int]
    mitigation_sets: dict[str, int]
    net: Floats  # shape (len(sets), samples)
    catastrophe: float | None  # the harm-total threshold (None: not set)
    catastrophic: npt.NDArray[np.bool_] | None  # (len(sets), samples): harm total >= it
    items: list[ItemModel]
    unestimated: list[str]
    tallies: dict[str, dict[frozenset[str], ItemTally]]
    item_keys: dict[str, list[frozenset[str]]]  # per item: the key of each set
    swings: list[SwingTally]
    chunk: int
    # each uncertain quantity's bin on the first samples, for the value of information
    # (None: sensitivity off, or no choice between variants)
    voi: VoiCapture | None = None

    def net_of(self, variant: str) -> Floats:
        row: Floats = self.net[self.variant_sets[variant]]
        return row


def _variants(review: Any) -> list[tuple[str, str, frozenset[str]]]:
    if not review.variants:
        return [(BASELINE, "Baseline (no mitigations)", frozenset())]
    return [(v.id, v.title, frozenset(v.mitigations)) for v in review.variants]


def simulate(
    review: Any,
    template: Template,
    *,
    samples: int = 20_000,
    rng: np.random.Generator,
    pool: Pool = "linear",
    progress: ProgressCallback | None = None,
    sensitivity: bool = True,
    chunk: int | None = None,
    cache: DrawCache | None = None,
) -> Simulation:
    """Simulate every variant of ``review`` (and each mitigation on its own) from one set
    of draws.

    ``rng`` supplies one 64-bit root from which every stream is derived; pass
    ``np.random.default_rng(seed)`` and record the seed. ``progress(done, total)`` is
    called after each chunk with the samples done so far. ``chunk`` overrides the
    number of samples per chunk (it changes memory use, never the numbers). A
    ``cache`` reuses unchanged items' draws from the previous run with it.
    """
    if samples < 2:
        raise ValueError(f"samples: expected at least 2, got {samples}")
    entropy = int(rng.integers(0, 2**63))
    extreme_bad, extreme_good = thresholds_of(review, template)
    models = item_models(review, template, pool=pool)
    variants = _variants(review)
    mitigations = {m.id: m for m in review.mitigations}

    sets: list[frozenset[str]] = [frozenset()]
    variant_sets: dict[str, int] = {}
    for variant_id, _, mitigation_ids in variants:
        if mitigation_ids not in sets:
            sets.append(mitigation_ids)
        variant_sets[variant_id] = sets.index(mitigation_ids)
    mitigation_sets: dict[str, int] = {}
    for mitigation_id in mitigations:
        alone = frozenset({mitigation_id})
        if alone not in sets:
            sets.append(alone)
        mitigation_sets[mitigation_id] = sets.index(alone)

    item_keys = {
        model.id: [
            frozenset(m for m in mitigation_set if model.id in mitigations[m].targets)
            for mitigation_set in sets
        ]
        for model in models
    }
    reported_sets = sorted(set(variant_sets.values()))
    swing_plan = SwingPlan(
        models, mitigations, item_keys, reported_sets, sets, enabled=sensitivity,
        mean_errors=any(rule.rule == "positive-expected-value" for rule in template.policy),
    )
    swings = swing_plan.tallies

    if chunk is None:
        chunk = max(MIN_CHUNK, CHUNK_ITEM_SAMPLES // max(1, len(models)))
    chunk = min(chunk, samples)
    if chunk < samples:
        cache = None  # only whole runs are cached; a chunked run is too big to keep
    plan = _Plan(
        entropy=entropy, samples=samples, models=models, item_keys=item_keys,
        mitigations={m: mitigations[m] for m in sorted(set().union(*sets))},
        reported_sets=reported_sets, swing_plan=swing_plan,
        extreme_bad=extreme_bad, extreme_good=extreme_good, cache=cache,
        catastrophe=catastrophe_of(review, template), couplings=couplings(review),
    )
    if sensitivity and len(reported_sets) > 1:
        plan.voi = VoiCapture(
            min(samples, VOI_SAMPLES),
            sorted({m for index in reported_sets for m in sets[index]}),
        )
    swing_plan.target_blocks = [[m.id for m in block.models] for block in plan.blocks]
    if plan.cache is None and swings:
        scratch: dict[str, Any] = {}
        swing_plan.blocks = [BlockSwings(block, swing_plan, scratch, chunk)
                             for block in plan.blocks]
        swing_plan.block_items = {m.id for block in plan.blocks for m in block.models}
    tallies = {model.id: {key: ItemTally() for key in item_keys[model.id]} for model in models}
    net = np.empty((len(sets), samples), np.float32)
    catastrophic = None if plan.catastrophe is None else np.empty(net.shape, np.bool_)
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        plan.harm_reached = None if catastrophic is None else catastrophic[:, done:done + size]
        plan.run_chunk(size, net[:, done:done + size], tallies, swings)
        done += size
        if progress is not None:
            progress(done, samples)
    for block_swings in swing_plan.blocks:
        block_swings.flush()
    if cache is not None:
        cache.items = plan.used_items
        cache.factors = plan.used_factors

    return Simulation(
        samples=samples, pool=pool, extreme_bad=extreme_bad, extreme_good=extreme_good,
        variants=[v[0] for v in variants], variant_titles={v[0]: v[1] for v in variants},
        sets=sets, variant_sets=variant_sets, mitigation_sets=mitigation_sets, net=net,
        catastrophe=plan.catastrophe, catastrophic=catastrophic,
        items=models, unestimated=review.unestimated_items(), tallies=tallies,
        item_keys=item_keys, swings=swings, chunk=chunk, voi=plan.voi,
    )


class _Plan:
    """The fixed parts of one run, and the chunk loop over them."""

    def __init__(
        self,
        *,
        entropy: int,
        samples: int,
        models: list[ItemModel],
        item_keys: dict[str, list[frozenset[str]]],
        mitigations: dict[str, Any],
        reported_sets: list[int],
        swing_plan: SwingPlan,
        extreme_bad: float,
        extreme_good: float,
        cache: DrawCache | None,
        catastrophe: float | None,
        couplings: dict[str, Coupling],
    ) -> None:
        self.entropy = entropy
        self.couplings = couplings
        self.driver_samplers = {
            c.driver: DriverSampler(c.driver, _stream(entropy, _DRIVER, c.driver, 0))
            for c in couplings.values()
        }
        self.driver_normals: dict[str, tuple[Wide, Wide]] = {}  # this chunk's, drawn once
        self.catastrophe = catastrophe
        self.harm_reached: npt.NDArray[np.bool_] | None = None  # this chunk's rows to fill
        self.voi: VoiCapture | None = None
        self.samples = samples
        # In id order (and blocks, engine.blocks, by their first id), so the order items
        # were listed in changes no rounding.
        self.models = sorted(models, key=lambda model: model.id)
        self.item_keys = item_keys
        self.reported_sets = reported_sets
        self.swing_plan = swing_plan
        self.extreme_bad = np.float32(extreme_bad)
        self.extreme_good = np.float32(extreme_good)
        self.cache = cache
        self.used_items: dict[Any, _ItemDraws] = {}
        self.used_factors: dict[Any, tuple[Factor, Factor]] = {}
        self.mitigation_parameters = {
            m_id: (factor_parameters(m.likelihood_factor), factor_parameters(m.impact_factor))
            for m_id, m in mitigations.items()
        }
        self.mitigation_samplers = {
            m_id: _MitigationSampler(m, entropy) for m_id, m in mitigations.items()
        }
        # The linear pool's participants: everyone with an estimate, in id order.
        self.participants = sorted(
            {c.participant for model in models for c in model.components}
        ) if any(len(model.components) > 1 for model in models) else []
        self.participant_sampler = ParticipantSampler(self.participants, entropy)
        self.item_samplers = {
            model.id: _ItemSampler(
                model, entropy, self.participants, couplings.get(model.id)
            )
            for model in models
        }
        # items drawn a block at a time (engine.blocks; a cached run draws them item by
        # item), and the others
        self.blocks = item_blocks(self.models, self.item_samplers, item_keys, entropy)
        in_blocks = {model.id for block in self.blocks for model in block.models}
        self.singles = [model for model in self.models if model.id not in in_blocks]

    def _factors(self, size: int, arena: _Arena) -> dict[str, tuple[Factor, Factor]]:
        factors = {}
        for m_id, sampler in self.mitigation_samplers.items():
            cache_key = (self.entropy, self.samples, m_id, self.mitigation_parameters[m_id])
            drawn = self.cache.factors.get(cache_key) if self.cache is not None else None
            if drawn is None:
                drawn = sampler.draw(size, arena)
            self.used_factors[cache_key] = drawn
            factors[m_id] = drawn
        return factors

    def _item(
        self,
        model: ItemModel,
        size: int,
        factors: dict[str, tuple[Factor, Factor]],
        arena: _Arena,
        picked: Indices | None,
    ) -> _ItemDraws:
        keys = sorted(set(self.item_keys[model.id]), key=sorted)
        coupling = self.couplings.get(model.id)
        cache_key = (
            self.entropy, self.samples, model, tuple(self.participants),
            tuple((tuple(sorted(k)), tuple(self.mitigation_parameters[m] for m in sorted(k)))
                  for k in keys),
            self.swing_plan.cache_key(model), tuple(self.reported_sets),
            None if coupling is None else coupling.key,
        )
        if self.cache is not None and cache_key in self.cache.items:
            draws = self.cache.items[cache_key]
            self.used_items[cache_key] = draws
            return draws
        driver = None
        if coupling is not None:
            # Drawn on first use in the chunk: a driver whose items all come from the
            # cache is never drawn; every chunk of a chunked run draws it (no cache).
            if coupling.driver not in self.driver_normals:
                self.driver_normals[coupling.driver] = self.driver_samplers[
                    coupling.driver].draw(size)
            driver = self.driver_normals[coupling.driver]
        draws = self.item_samplers[model.id].draw(size, arena, picked, driver)
        happened = np.less(draws.uniform, draws.likelihood, out=arena.take(np.bool_))
        contribution = np.multiply(draws.impact, happened, out=arena.take(np.float32))
        draws.by_key[frozenset()] = (None, None, draws.impact, happened, contribution)
        for key in keys:
            if key in draws.by_key:
                continue
            likelihood_factor = _product([factors[m][0] for m in sorted(key)])
            impact_factor = _product([factors[m][1] for m in sorted(key)])
            # u < p * f is the same event as u < min(p * f, 1), since u < 1.
            key_happened = happened
            if likelihood_factor is not None:
                scaled = np.multiply(draws.likelihood, likelihood_factor, out=arena.radius)
                key_happened = np.less(draws.uniform, scaled, out=arena.take(np.bool_))
            key_impact: Factor = draws.impact
            if impact_factor is not None:
                key_impact = np.multiply(draws.impact, impact_factor, out=arena.take(np.float32))
            key_contribution = np.multiply(key_impact, key_happened, out=arena.take(np.float32))
            draws.by_key[key] = (
                likelihood_factor, impact_factor, key_impact, key_happened, key_contribution,
            )
        self.swing_plan.swing_item(model, draws, factors, arena)
        if self.cache is not None:
            self.used_items[cache_key] = draws
        return draws

    def _draw_blocks(self, size: int, factors: dict[str, tuple[Factor, Factor]],
                     arena: _Arena) -> bool:
        """Draw the chunk's blocks (engine.blocks): false when this run draws item by
        item (a cached run)."""
        if self.cache is not None:
            return False
        for index, block in enumerate(self.blocks):
            block.draw(size, factors, arena)
            if self.swing_plan.tallies:
                block_partials(self.swing_plan, index, block, factors)
        return True

    def run_chunk(
        self,
        size: int,
        net: Floats,
        tallies: dict[str, dict[frozenset[str], ItemTally]],
        swings: list[SwingTally],
    ) -> None:
        arena = _Arena(size)
        try:
            self._run_chunk(size, net, tallies, swings, arena)
        finally:
            if self.cache is None:
                arena.release()

    def _run_chunk(
        self,
        size: int,
        net: Floats,
        tallies: dict[str, dict[frozenset[str], ItemTally]],
        swings: list[SwingTally],
        arena: _Arena,
    ) -> None:
        factors = self._factors(size, arena)
        picked = self.participant_sampler.draw(size)
        self.driver_normals = {}
        fresh = self._draw_blocks(size, factors, arena)
        by_id = {model.id: self._item(model, size, factors, arena, picked)
                 for model in (self.singles if fresh else self.models)}
        # float64 sums in an order fixed by the items' ids and keys (engine.blocks): the
        # order of the terms changes no digit that float32 keeps
        base = np.zeros(size, np.float64)
        deltas = np.zeros((len(net), size), np.float64)
        accumulate(self.blocks, self.singles, by_id, self.item_keys, fresh=fresh,
                   base=base, deltas=deltas, arena=arena)
        np.add(base, deltas, out=deltas)
        np.copyto(net, deltas, casting="same_kind")
        # every item's draws, when the catastrophe or the value of information still
        # wants them; else a fresh block's items are tallied by their blocks
        voi = self.voi if self.voi is not None and not self.voi.complete else None
        listed = self.models
        if fresh and (self.catastrophe is not None or voi is not None):
            for block in self.blocks:
                by_id.update(zip([m.id for m in block.models], block.items(), strict=True))
        elif fresh:
            listed = self.singles
        chunk_draws = [by_id[model.id] for model in listed]
        if self.catastrophe is not None and self.harm_reached is not None:
            reach_catastrophe(self.catastrophe, self.models, self.item_keys, chunk_draws,
                              out=self.harm_reached)

        self._tally_items(net, tallies, by_id, fresh)
        if voi is not None:
            voi.add(size, self.models, chunk_draws, factors, picked=picked,
                    participants=len(self.participants))
        if swings:
            self.swing_plan.tally(net, listed, chunk_draws, self.extreme_bad,
                                  self.extreme_good)

    def _tally_items(
        self,
        net: Floats,
        tallies: dict[str, dict[frozenset[str], ItemTally]],
        by_id: dict[str, _ItemDraws],
        fresh: bool,
    ) -> None:
        """Add the chunk's items to their tallies (``fresh``: the blocks were drawn as
        blocks, and are tallied as blocks)."""
        # Conditional on the bad tail: gather the (usually few) extremely bad samples
        # instead of masking every sample once per item and set.
        # Only the variants and the no-mitigation baseline are reported per item.
        tally_sets = sorted({0, *self.reported_sets})
        bad = net[tally_sets] <= self.extreme_bad
        bad_samples = {i: np.flatnonzero(row) for i, row in zip(tally_sets, bad, strict=True)}
        for model in self.singles if fresh else self.models:
            draws = by_id[model.id]
            item_tallies = tallies[model.id]
            for key, (_, _, _, happened, contribution) in draws.by_key.items():
                tally = item_tallies.get(key)
                if tally is None:
                    continue
                if key not in draws.sums:  # item-local, so a cached item keeps them
                    draws.sums[key] = (
                        int(np.count_nonzero(happened)),
                        float(contribution.sum(dtype=np.float64)),
                    )
                happened_count, contribution_sum = draws.sums[key]
                tally.happened += happened_count
                tally.contribution += contribution_sum
            keys = self.item_keys[model.id]
            for set_index in tally_sets:
                key = keys[set_index]
                _, _, _, happened, contribution = draws.by_key[key]
                tally = item_tallies[key]
                rows = bad_samples[set_index]
                tally.happened_bad[set_index] = tally.happened_bad.get(set_index, 0) + int(
                    np.count_nonzero(happened[rows])
                )
                tally.contribution_bad[set_index] = tally.contribution_bad.get(
                    set_index, 0.0
                ) + float(contribution[rows].sum(dtype=np.float64))
        if fresh:
            tally_blocks(self.blocks, tallies, tally_sets, bad)
