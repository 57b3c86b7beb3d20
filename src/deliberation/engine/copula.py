"""Correlated harms: a Gaussian copula over the draws the engine already makes.

A review's driver (``review.drivers``) names items that share a cause. For each of
its items, the happen/not uniform u and the standard normal z of the likelihood are
rebuilt from a draw of the driver's own (one pair of normals per sample, from a
stream keyed by the driver's id) and the item's own:

    z_i = sqrt(rho) * z_driver + sqrt(1 - rho) * z_i_own,   u_i = Phi(z_i)

where z_i_own = Phi^-1(u_i_own) for the happen/not draw and is the item's own
Box-Muller normal for the likelihood. z_i is again a standard normal, so u_i is
uniform and each item's distribution is exactly what it was; any two items of a
driver have normals correlated by rho. The stated ``strength`` is a rank
correlation r (Spearman), and for a Gaussian copula r = (6 / pi) arcsin(rho / 2),
so rho = 2 sin(pi r / 6): 0 leaves the items independent, 1 makes them happen
together (rho = 1: u_i = Phi(z_driver) for all of them). Impacts stay independent.

numpy has no erf, so Phi and its inverse are written out here: Phi from the
Chebyshev fit of erfc in Numerical Recipes (relative error below 1.2e-7 everywhere,
the precision of the float32 happen/not draw) and Phi^-1 by Acklam's rational
approximation (relative error below 1.2e-9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..review.drivers import rank_correlation

Wide = npt.NDArray[np.float64]

_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
         -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def copula_rho(strength: str | float) -> float:
    """The normal correlation of a Gaussian copula with the stated rank correlation."""
    return 2 * math.sin(math.pi * rank_correlation(strength) / 6)


def normal_cdf(z: Wide) -> Wide:
    """Phi(z), the standard normal distribution function, elementwise."""
    x = np.abs(z) * (1 / math.sqrt(2))
    t = 1 / (1 + 0.5 * x)
    poly = np.full_like(t, _ERFC[-1])
    for coefficient in reversed(_ERFC[:-1]):
        poly *= t
        poly += coefficient
    poly -= x * x
    with np.errstate(under="ignore"):
        tail = 0.5 * t * np.exp(poly)  # Phi(-|z|)
    result: Wide = np.where(z < 0, tail, 1 - tail)
    return result


_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)
_LOW = 0.02425


def _polynomial(coefficients: Sequence[float], x: Wide) -> Wide:
    result = np.full_like(x, coefficients[0])
    for coefficient in coefficients[1:]:
        result *= x
        result += coefficient
    return result


def normal_quantile(u: Wide) -> Wide:
    """Phi^-1(u) for u in (0, 1), elementwise (Acklam's approximation)."""
    tail = np.minimum(u, 1 - u)
    central = tail >= _LOW
    result = np.empty_like(u)
    q = u[central] - 0.5
    r = q * q
    result[central] = q * _polynomial(_A, r) / (_polynomial(_B, r) * r + 1)
    outer = ~central
    s = np.sqrt(-2 * np.log(tail[outer]))
    value = _polynomial(_C, s) / (_polynomial(_D, s) * s + 1)
    result[outer] = np.where(u[outer] < 0.5, value, -value)
    return result


class DriverSampler:
    """One driver's pair of standard normals per sample (happen/not, likelihood)."""

    def __init__(self, driver_id: str, stream: np.random.Generator) -> None:
        self.id = driver_id
        self.stream = stream

    def draw(self, size: int) -> tuple[Wide, Wide]:
        # Sample-major uniforms (one row per sample), so chunking changes no number;
        # Box-Muller in float64, as the copula's arithmetic is.
        uniforms = self.stream.random((size, 2))
        radius = np.sqrt(-2 * np.log1p(-uniforms[:, 0]))
        angle = 2 * np.pi * uniforms[:, 1]
        return radius * np.cos(angle), radius * np.sin(angle)


class Coupling:
    """How one item is tied to its driver: the driver's id and the copula's weights."""

    __slots__ = ("driver", "own", "rho", "shared")

    def __init__(self, driver: str, rho: float) -> None:
        self.driver = driver
        self.rho = rho
        self.shared = math.sqrt(rho)
        self.own = math.sqrt(max(0.0, 1 - rho))

    @property
    def key(self) -> tuple[str, float]:
        return (self.driver, self.rho)

    def happen(self, own_uniform: Wide, driver_normal: Wide) -> Wide:
        """The item's happen/not uniform, correlated through the driver."""
        # u = 0 (a chance of 2**-53) would give an infinite normal, and 0 * inf = nan.
        own = normal_quantile(np.maximum(own_uniform, 2.0**-60))
        own *= self.own
        own += self.shared * driver_normal
        return normal_cdf(own)

    def normal(self, own_normal: Any, driver_normal: Wide) -> None:
        """Correlate the item's likelihood normal (float32, in place) through the driver."""
        own_normal *= np.float32(self.own)
        own_normal += (self.shared * driver_normal).astype(np.float32)


def couplings(review: Any) -> dict[str, Coupling]:
    """Each item in a driver, and how it is tied to it (items in none are absent)."""
    return {
        item_id: Coupling(driver.id, copula_rho(driver.strength))
        for driver in getattr(review, "drivers", ())
        for item_id in driver.items
    }
