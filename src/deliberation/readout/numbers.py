"""How the record states a number or an estimate to a reader.

Percentages a reader can take in (``<0.1%``, never ``0.0004``), values with a true
minus sign and thousands separators, estimates as typed (a label, a point, or a 90%
interval), times as people write them. Shared by the page's text and its charts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

_MINUS = "\u2212"


# --------------------------------------------------------------------------- formatting


def percent(value: Any) -> str:
    """A probability as a percentage a reader can take in: 0%, <0.1%, 3.4%, >99.9%."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    if value <= 0:
        return "0%"
    if value >= 1:
        return "100%"
    if value < 0.001:
        return "<0.1%"
    if value > 0.999:
        return ">99.9%"
    return f"{value * 100:.1f}%"


def points(value: Any) -> str:
    """A net value with a true minus sign and thousands separators."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    text = f"{value:,.0f}"
    if text in {"-0", "0"}:
        return "0"
    return text.replace("-", _MINUS)


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
    text = points(value)
    return text if text.startswith(_MINUS) or text in {"0", "n/a"} else "+" + text


def percentage_points(value: float) -> str:
    """A change of probability, in percentage points."""
    text = f"{value * 100:+.1f}".replace("-", _MINUS)
    return "no change" if text in {"+0.0", _MINUS + "0.0"} else f"{text} points"


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
