"""The thresholds a review is judged against: the review's own, else its template's.

``extreme_bad`` and ``extreme_good`` are net values and come as a pair; ``catastrophe``
is a size of total harm (benefits do not offset it) and falls back on its own, so a
review that sets only the extreme thresholds keeps the template's catastrophe.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..review.template import Template
from .draws import _ItemDraws
from .estimates import ItemModel


def thresholds_of(review: Any, template: Template) -> tuple[float, float]:
    """(extreme_bad, extreme_good): the review's own thresholds, else the template's."""
    thresholds = review.thresholds if review.thresholds is not None else template.thresholds
    return float(thresholds.extreme_bad), float(thresholds.extreme_good)


def catastrophe_of(review: Any, template: Template) -> float | None:
    """The harm total that counts as a catastrophe: the review's own, else the template's."""
    own = review.thresholds.catastrophe if review.thresholds is not None else None
    value = own if own is not None else template.thresholds.catastrophe
    return None if value is None else float(value)


def reach_catastrophe(
    threshold: float, models: list[ItemModel], item_keys: dict[str, list[frozenset[str]]],
    draws: list[_ItemDraws], *, out: npt.NDArray[np.bool_],
) -> None:
    """Per mitigation set (row of ``out``) and sample: whether the harms that happened,
    summed in float64 in the models' order, reach ``threshold``; benefits do not count.

    Each harm adds its unmitigated contribution once, to a row every set shares, and
    its change under a mitigation only to the sets holding one: most sets leave most
    harms alone, so this costs a fraction of one sum per set and harm. The change of
    two float32 values is exact in float64, so the totals are those of summing each
    set's contributions outright.
    """
    unmitigated_total = np.zeros(out.shape[1], np.float64)
    harms = np.zeros(out.shape, np.float64)
    for model, item in zip(models, draws, strict=True):
        if model.sign > 0:
            continue
        unmitigated = item.by_key[frozenset()][4]
        unmitigated_total += unmitigated
        changes: dict[frozenset[str], npt.NDArray[np.float64]] = {}
        for set_index, key in enumerate(item_keys[model.id]):
            if key:
                if key not in changes:
                    changes[key] = np.subtract(item.by_key[key][4], unmitigated,
                                               dtype=np.float64)
                harms[set_index] += changes[key]
    harms += unmitigated_total
    np.greater_equal(harms, threshold, out=out)
