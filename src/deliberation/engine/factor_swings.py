"""A factor swing's change to net value, summed over the mitigation's targets.

The targets' changes are summed in float32 in one order whatever the run: block by
block (engine.blocks; each block's rows first to last, as ``np.add.reduce`` sums
them), then the other targets in id order. A block drawn as a block sums its rows at
once (``block_partials``); drawn item by item (a cached run), row after row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .draws import Factor, Floats, _ItemDraws, _product

if TYPE_CHECKING:
    from .blocks import ItemBlock
    from .swings import SwingPlan


def _change(draws: _ItemDraws, m_id: str, position: int, key: frozenset[str]) -> Floats:
    swung = draws.swung[(m_id, position)]
    values: Floats = swung.changes[swung.keys.index(key)].values
    return values


def factor_total(plan: SwingPlan, m_id: str, position: int,
                 key_of: dict[str, frozenset[str]], by_id: dict[str, _ItemDraws]) -> Floats:
    """The change the factor swing makes to a set's net value, whose targets' keys are
    ``key_of``."""
    totals: list[Floats] = []  # the sum so far, once started

    def add(change: Floats) -> None:
        if not totals:
            totals.append(np.zeros_like(change))
        totals[0] += change

    done: set[str] = set()
    for index, members in enumerate(plan.target_blocks):
        if members[0] not in key_of:
            continue  # a block's items are all targets of a mitigation, or none
        key = key_of[members[0]]
        done.update(members)
        partial = plan.partials.get((index, m_id, position, key))
        if partial is None:  # drawn item by item: the rows one by one
            partial = np.zeros_like(_change(by_id[members[0]], m_id, position, key))
            for member in members:
                partial += _change(by_id[member], m_id, position, key)
        add(partial)
    for target in sorted(key_of):
        if target not in done:
            add(_change(by_id[target], m_id, position, key_of[target]))
    if not totals:
        raise ValueError(f"mitigation {m_id!r} has no estimated target")
    return totals[0]


def block_partials(plan: SwingPlan, index: int, block: ItemBlock,
                   factors: dict[str, tuple[Factor, Factor]]) -> None:
    """Each factor swing's change to the block's items, summed over its rows, into
    ``plan.partials`` (the block's rows are all targets of a mitigation, or none)."""
    from .swings import FACTOR_SWINGS

    keys = sorted({block.set_keys[s] for s in plan.reported}, key=sorted)
    first = block.models[0].id
    sign = np.float32(block.sign)
    _, _, impact, _, _ = block.by_key[frozenset()]
    with np.errstate(over="ignore", invalid="ignore"):  # see swung.swung_lead
        for m_id, swings in plan.factor_values.items():
            if first not in plan.targets[m_id]:
                continue
            for position, value in swings:
                likelihood = FACTOR_SWINGS[position][0] == "likelihood_factor"
                which = 0 if likelihood else 1
                for key in keys:
                    if m_id not in key:
                        continue
                    _, _, key_impact, key_happened, key_contribution = block.by_key[key]
                    # as swings.SwingPlan._swing_factor, all rows at once
                    others = _product([factors[m][which] for m in sorted(key) if m != m_id])
                    swung: Any = np.float32(value)
                    if others is not None:
                        swung = np.multiply(others, swung)
                    if likelihood:
                        difference = key_impact * np.less(block.happen,
                                                          block.likelihood * swung)
                    else:
                        difference = impact * swung
                        difference *= key_happened
                    difference -= key_contribution
                    difference *= sign
                    plan.partials[index, m_id, position, key] = np.add.reduce(difference,
                                                                              axis=0)
