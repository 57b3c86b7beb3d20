"""How deliberation writes a number, everywhere: the CLI, the workbook and the record.

One vocabulary, so the same number has the same digits on every surface.

Probabilities to three significant figures with their 95% interval, values with a
true minus sign and thousands separators, ``±`` always the 95% half-width, estimates
as typed (a label, a point, or a 90% interval), times as people write them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

_MINUS = "\u2212"


# --------------------------------------------------------------------------- formatting


PLUS_MINUS = "± is the 95% Monte Carlo interval (1.96 standard errors)"
"""What ``±`` means wherever deliberation writes it: say it once beside every table."""

Z95 = 1.959963984540054
"""The standard normal's 97.5th percentile: a 95% interval is ± Z95 standard errors."""


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value)


def _significant(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures, in fixed notation."""
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    # rounding up can add a digit (9.996 -> "10.00"): redo with one decimal fewer
    if decimals and len(text.replace("-", "").replace(".", "").lstrip("0")) > digits:
        text = f"{value:.{decimals - 1}f}"
    return text


def percent(value: Any, digits: int = 3) -> str:
    """A probability as a percentage to three significant figures: 1.02%, 41.2%, 0.0351%.

    The one way deliberation writes a probability, in the CLI, the workbook and the
    record: 0% and 100% only when exact, below 0.001% as "<0.001%", never rounded to a
    value a gate could be read against wrongly (1.02% is not "1.0%").
    """
    if not _finite(value):
        return "n/a"
    if value <= 0:
        return "0%"
    if value >= 1:
        return "100%"
    share = value * 100
    if share < 0.001:
        return "<0.001%"
    if share > 99.999:
        return ">99.999%"
    text = _significant(share, digits)
    if text.startswith("100") and text.strip("0.") == "1":
        return ">99.9%"
    return text + "%"


def percent_beside(value: Any, limit: Any) -> str:
    """:func:`percent` with as many more digits (up to 7) as it takes to read differently
    from ``limit`` unless it equals it: 1.0004% beside a limit of 1%, never "1.00%"."""
    if not (_finite(value) and _finite(limit)) or value == limit:
        return percent(value)
    for digits in range(3, 8):
        text = percent(value, digits)
        if text != percent(limit, digits):
            return text
    return percent(value, 7)


def percent_interval(low: Any, high: Any, *, limit: Any = None) -> str:
    """A 95% interval of a probability: "0.93–1.11%", "0–0.0184%" (each end to as many
    digits as it takes to tell it from ``limit``, when one is given)."""
    if not (_finite(low) and _finite(high)):
        return "n/a"
    return f"{percent_beside(low, limit).rstrip('%')}–{percent_beside(high, limit)}"


def confidence(level: float) -> str:
    """A confidence level as written beside an interval: "95%", "99.4%"."""
    return f"{level * 100:.3g}%"


def probability(value: Any, low: Any = None, high: Any = None, *, level: float = 0.95,
                limit: Any = None) -> str:
    """A probability with its 95% interval: "1.02% (95%: 0.93–1.11%)".

    No hit at all is said as a bound, "below 0.0184% (95%)", never "0% ± 0%". Without
    an interval (a record made before intervals existed) only the point is written.
    ``level`` names another confidence level (a sequential gate's per-look interval);
    beside a gate's ``limit`` every figure has the digits to tell it from the limit.
    """
    if not (_finite(low) and _finite(high)):
        return percent_beside(value, limit)
    named = confidence(level)
    if _finite(value) and value <= 0 and low <= 0:
        return f"below {percent_beside(high, limit)} ({named})"
    if _finite(value) and value >= 1 and high >= 1:
        return f"above {percent_beside(low, limit)} ({named})"
    return (f"{percent_beside(value, limit)} ({named}: "
            f"{percent_interval(low, high, limit=limit)})")


NO_THRESHOLD = "no threshold"
"""Said in place of P(catastrophe) when no catastrophe threshold is set."""


def catastrophe_probability(value: Any, low: Any = None, high: Any = None) -> str:
    """P(catastrophe) as :func:`probability` writes it, or :data:`NO_THRESHOLD` when it
    was not computed (``None``: neither the review nor its template sets a threshold)."""
    return NO_THRESHOLD if value is None else probability(value, low, high)


def points(value: Any) -> str:
    """A net value with a true minus sign and thousands separators: −1,234, 12.5, 0."""
    if not _finite(value):
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 100 else _significant(float(value))
    if text.strip("-0.") == "":
        return "0"
    return text.replace("-", _MINUS)


def plus_minus(value: Any, standard_error: Any) -> str:
    """A Monte Carlo estimate and its 95% half-width: "1,234 ± 136" (see PLUS_MINUS)."""
    if not _finite(standard_error):
        return points(value)
    return f"{points(value)} ± {points(Z95 * float(standard_error)).lstrip(_MINUS)}"


TAIL_DOMINATED = "tail-dominated: ± unreliable"
"""Said of a mean whose variance comes mostly from a handful of extreme samples."""


def mean_value(value: Any, standard_error: Any, *, reliable: Any = True,
               median: Any = None) -> str:
    """A mean net value with its 95% half-width: "5,307 ± 49.5"; a tail-dominated mean
    says so and points to the median: "4,787 ± 74.7 (tail-dominated: ± unreliable;
    median 4,906)"."""
    text = plus_minus(value, standard_error)
    if reliable is False:
        text += f" ({TAIL_DOMINATED}" + (f"; median {points(median)})" if _finite(median)
                                         else ")")
    return text


def points_interval(value: Any, low: Any, high: Any, *, level: float = 0.95) -> str:
    """A value with an interval at a confidence level: "5,307 (99.4%: 5,240 to 5,374)"."""
    if not (_finite(low) and _finite(high)):
        return points(value)
    return f"{points(value)} ({confidence(level)}: {points(low)} to {points(high)})"


def when(value: Any) -> str:
    """An ISO time as a reader writes it: 28 November 2026, 12:00 UTC (as stored otherwise)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def signed_points(value: Any) -> str:
    """A change of net value with its sign: +1,200, −35."""
    text = points(value)
    return text if text.startswith(_MINUS) or text in {"0", "n/a"} else "+" + text


def percentage_points(value: Any, standard_error: Any = None) -> str:
    """A change of probability in percentage points, to three significant figures,
    with its 95% half-width when given: "−3.60 ± 0.410 percentage points"."""
    if not _finite(value):
        return "n/a"
    spread = ""
    if _finite(standard_error) and standard_error > 0:
        spread = f" ± {_significant(Z95 * standard_error * 100)}"
    elif value == 0:
        return "no change"
    text = _significant(value * 100)
    signed = "+" + text if value > 0 else text.replace("-", _MINUS)
    return f"{signed}{spread} percentage points"


def quantity(value: Any, kind: str) -> str:
    """An estimate as typed: a label, a point, or a 90% interval."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        low, high = value
        if low == high:
            return quantity(low, kind)
        if kind == "likelihood":
            return f"{_share(low)} to {_share(high)}"
        if kind == "factor":
            return f"×{_factor(low)} to ×{_factor(high)}"
        return f"{_magnitude(low)} to {_magnitude(high)}"
    if kind == "likelihood":
        return _share(value)
    if kind == "factor":
        return f"×{_factor(value)}"
    return _magnitude(value)


def _share(value: float) -> str:
    text = f"{value * 100:.3g}"
    return f"{text}%"


def _factor(value: float) -> str:
    return f"{value:.3g}"


def _magnitude(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def join_words(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def number(summary: Mapping[str, Any], key: str) -> float:
    """A figure of an analysis summary as a float; NaN when absent."""
    value = summary.get(key)
    return float(value) if isinstance(value, int | float) else math.nan
