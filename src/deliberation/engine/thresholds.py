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
    summed in float64 in the models' order, reach ``threshold``; benefits do not count."""
    harms = np.zeros(out.shape, np.float64)
    for model, item in zip(models, draws, strict=True):
        if model.sign < 0:
            for set_index, key in enumerate(item_keys[model.id]):
                harms[set_index] += item.by_key[key][4]  # the contribution under the set
    np.greater_equal(harms, threshold, out=out)
