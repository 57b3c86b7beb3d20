"""A swung variant's mean, or a swung lead of one variant over another, from a swing's sums."""

from __future__ import annotations

import math

from .swings import SwingTally

CANCELLED = 1e-5  # the share of float32 sums' size below which a variance is rounding


def swung_lead(tally: SwingTally, first: int, second: int, *, means: dict[int, float],
               variance: float, samples: int) -> tuple[float, float]:
    """Mean of (first - second) under the swing, and its standard error.

    ``first``/``second`` are set indices, ``means`` the unswung mean net value of each
    set, ``variance`` the (population) variance of the unswung per-sample difference
    net_first - net_second (``second`` = -1: compare with 0, a swung mean on its own).
    """
    r = tally.sets.index(first)
    q = tally.sets.index(second) if second >= 0 else -1
    n = samples
    products, cross, shifts = tally.products, tally.cross, tally.shift  # .item: plain floats
    shift = shifts.item(r) - (shifts.item(q) if q >= 0 else 0.0)
    base = means[first] - (means[second] if q >= 0 else 0.0)
    squares = products.item(r, r)
    net_change = cross.item(r, r)
    size = abs(squares) + abs(net_change)  # how large the float32 sums cancelling are
    if q >= 0:
        squares += products.item(q, q) - 2 * products.item(r, q)
        net_change += cross.item(q, q) - cross.item(r, q) - cross.item(q, r)
        size += abs(products.item(q, q)) + 2 * abs(products.item(r, q)) + abs(
            cross.item(q, q)) + abs(cross.item(r, q)) + abs(cross.item(q, r))
    change_mean = shift / n
    covariance = net_change / n - base * change_mean
    change_variance = squares / n - change_mean * change_mean
    swung_variance = variance + 2 * covariance + change_variance
    if not math.isfinite(swung_variance):  # float32 sums overflow near validation's limit
        return base + change_mean, math.nan
    # float32 sums keep about 5 of 7 digits over 20,000 products: a variance cancelled
    # below that is rounding, kept that large (a certain lead still "flips")
    swung_variance = max(swung_variance, CANCELLED * size / n, 0.0)
    return base + change_mean, math.sqrt(swung_variance / (n - 1)) if n > 1 else 0.0
