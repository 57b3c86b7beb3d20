"""Numbers a review may hold: the bounds of likelihoods, impacts and factors, and the
one check every entry passes (review.json, templates' scales, the workbook's fields, the
meeting's participant page)."""

from __future__ import annotations

import math
from typing import Any, Literal

# Bounds that keep the simulation's float32 arithmetic finite: 1e15 value points is
# eight orders of magnitude above the built-in "catastrophic" level, and a mitigation
# that multiplies a likelihood or impact by more than 1000 is a typo, not a model.
MAX_IMPACT = 1e15
MAX_FACTOR = 1e3
# A 90% interval of an impact or factor spanning more than 8 powers of ten puts the
# lognormal's far draws (8.6 standard deviations out) beyond what float32 holds.
MAX_SPAN = 1e8
# Below one in a million the logit-normal cannot place a 90% interval's end faithfully
# (the engine's floor); a likelihood interval must keep its ends inside it.
PROBABILITY_FLOOR = 1e-6

def _finite(value: Any, what: str) -> None:
    numbers = value if isinstance(value, tuple) else (value,)
    for number in numbers:
        if isinstance(number, int) and abs(number) > 10**18:
            # YAML reads any number of digits as an int; float() of it overflows
            digits = int(number.bit_length() * math.log10(2)) + 1
            raise ValueError(f"expected {what} numbers of at most 1e+18, got an integer of "
                             f"about {digits} digits")
        if isinstance(number, (int, float)) and not math.isfinite(number):
            raise ValueError(f"{what} must be finite numbers, got {number!r}")


def check_quantity(value: Any, *, kind: Literal["likelihood", "impact", "factor"]) -> None:
    """Raise ValueError unless ``value`` is a well-formed number or interval of its kind.

    Labels (strings) pass here; they are resolved against the template elsewhere.
    """
    if isinstance(value, str):
        return
    _finite(value, kind)
    low, high = value if isinstance(value, tuple) else (value, value)
    if low > high:
        raise ValueError(f"expected [low, high] with low <= high, got [{low}, {high}]")
    if kind == "likelihood" and not (low >= 0 and high <= 1):
        raise ValueError(
            f"expected a probability between 0 and 1, got {_show(value)}",
        )
    if kind == "likelihood" and low != high and (
        low < PROBABILITY_FLOOR or high > 1 - PROBABILITY_FLOOR
    ):
        raise ValueError(
            f"expected the ends of a likelihood interval between 0.000001 and 0.999999, got "
            f"{_show(value)}: an interval is a 90% range (its low end is the 5th percentile), "
            "and 'never' or 'certain' can not be one; give the smallest (largest) chance "
            "you would not rule out, e.g. [0.001, 0.1], or a single number"
        )
    if kind == "impact" and low <= 0:
        raise ValueError(
            "expected a positive magnitude (harms are entered as positive sizes), "
            f"got {_show(value)}",
        )
    if kind == "impact" and high > MAX_IMPACT:
        raise ValueError(
            f"expected an impact of at most {MAX_IMPACT:.0e} (larger values overflow the "
            f"simulation's float32 sums), got {_show(value)}"
        )
    if kind == "factor" and high > MAX_FACTOR:
        raise ValueError(f"expected a factor of at most {MAX_FACTOR:g}, got {_show(value)}")
    if kind == "factor":
        if low < 0:
            raise ValueError(f"expected a factor of 0 or more, got {_show(value)}")
        if isinstance(value, tuple) and low != high and low <= 0:
            raise ValueError(
                "expected an interval of positive factors (a single 0 removes the item), "
                f"got {_show(value)}"
            )
    if kind in ("impact", "factor") and low != high and low > 0 and high / low > MAX_SPAN:
        raise ValueError(
            f"expected {'an impact' if kind == 'impact' else 'a factor'} interval spanning "
            "at most 8 powers of ten (high / low at "
            f"most 1e+08), got [{low:g}, {high:g}]: wider, the far draws overflow the "
            "simulation"
        )


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return f"[{value[0]}, {value[1]}]"
    return repr(value)
