"""The sums of importance samples and the interval a look reads from them (:mod:`.rare`).

The estimate is m = Σ w 1(event) / n, its variance the sample variance of w 1(event)
over n, read cautiously (plus :data:`VARIANCE_MARGIN` of its own standard errors), and
the interval Wilson's at the effective sample size n_eff = m (1 - m) / s². A look with
fewer than :data:`MIN_HITS` tilted hits, or whose largest weighted hit is over
:data:`MAX_SHARE` of the sum, decides nothing (its interval is [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_HITS = 50
VARIANCE_MARGIN = 1.0  # standard errors of the variance added to it (skewed weights)
MAX_SHARE = 0.1


@dataclass(frozen=True)
class Weighted:
    """The sums a look needs of the tilted samples."""

    samples: int = 0
    hits: int = 0  # tilted samples in the event
    total: float = 0.0  # Σ w 1(event)
    squares: float = 0.0  # Σ (w 1(event))²
    largest: float = 0.0  # max w 1(event)
    cubes: float = 0.0  # Σ (w 1(event))³
    fourths: float = 0.0  # Σ (w 1(event))⁴

    def __add__(self, other: Weighted) -> Weighted:
        return Weighted(self.samples + other.samples, self.hits + other.hits,
                        self.total + other.total, self.squares + other.squares,
                        max(self.largest, other.largest), self.cubes + other.cubes,
                        self.fourths + other.fourths)

    @property
    def estimate(self) -> float:
        return self.total / self.samples if self.samples else 0.0

    @property
    def variance(self) -> float:
        """The estimate's variance (the sample variance of w 1(event), over n)."""
        n = self.samples
        if n < 2:
            return math.inf
        mean = self.estimate
        return max(0.0, (self.squares - n * mean * mean) / (n - 1)) / n

    @property
    def cautious_variance(self) -> float:
        """:attr:`variance` plus :data:`VARIANCE_MARGIN` standard errors of itself.

        Skewed weights make the sample variance too small in most runs and far too
        large in a few; the interval uses this upper reading of it. The standard error
        of a sample variance is sqrt((m4 - s⁴) / n), m4 the fourth central moment.
        """
        n = self.samples
        variance = self.variance
        if n < 2 or math.isinf(variance):
            return variance
        mean = self.estimate
        second = self.squares / n - mean * mean
        fourth = (self.fourths - 4 * mean * self.cubes + 6 * mean * mean * self.squares) / n \
            - 3 * mean ** 4
        spread = math.sqrt(max(0.0, fourth - second * second) / n)
        return variance + VARIANCE_MARGIN * spread / n

    @property
    def effective(self) -> float:
        """The plain samples whose binomial error equals this estimate's (n_eff, from
        the cautious variance)."""
        mean, variance = self.estimate, self.cautious_variance
        if variance == 0:
            return math.inf
        return mean * (1 - mean) / variance

    @property
    def trusted(self) -> bool:
        return self.hits >= MIN_HITS and self.largest <= MAX_SHARE * self.total

    def interval(self, z: float) -> tuple[float, float, float]:
        """(estimate, low, high): Wilson's interval at the effective sample size."""
        mean = self.estimate
        if not self.trusted:
            return mean, 0.0, 1.0
        n = self.effective
        if math.isinf(n):
            return mean, mean, mean
        z2 = z * z
        centre = (mean + z2 / (2 * n)) / (1 + z2 / n)
        half = z * math.sqrt(mean * (1 - mean) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return mean, max(0.0, centre - half), min(1.0, centre + half)
