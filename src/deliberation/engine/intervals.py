"""Confidence intervals for Monte Carlo probabilities.

A probability estimated as ``hits`` of ``samples`` is reported with its 95% Wilson
score interval: unlike p ± 1.96·sqrt(p(1-p)/n) it stays inside [0, 1] and is right at
zero counts ("0 of 20,000" is "below 0.019%", never "0% ± 0%").
"""

from __future__ import annotations

import math

from ..numbers import Z95  # the standard normal's 97.5th percentile


def wilson(hits: int, samples: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``hits / samples`` (95% by default)."""
    if samples <= 0:
        return 0.0, 1.0
    p = hits / samples
    z2 = z * z
    centre = (p + z2 / (2 * samples)) / (1 + z2 / samples)
    half = z * math.sqrt(p * (1 - p) / samples + z2 / (4 * samples * samples)) / (1 + z2 / samples)
    low = 0.0 if hits == 0 else max(0.0, centre - half)
    high = 1.0 if hits == samples else min(1.0, centre + half)
    return low, high
