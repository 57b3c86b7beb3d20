"""Numbers as people type them in a meeting, read into what review.json stores.

Pure functions, no widgets: the workbook's fields and the meeting's participant page
both read entries here, so an entry means the same thing on every screen.

What is accepted, for a likelihood, an impact or a mitigation factor:

* a single number (a point) or a range, ``low to high``, ``low – high`` (en or em
  dash), ``low - high``, ``low .. high`` or ``[low, high]``;
* thousands separators (``1,000``, ``12,500,000``), suffixes ``k``, ``M``/``m``/``mn``,
  ``bn``/``b`` and ``tn`` (and the words thousand, million, billion, trillion), a
  currency sign before an impact (``$5M``, ``€200k``, ``£1,000``);
* percents for likelihoods and factors (``5%``, ``5 to 20%``: a percent on the high end
  only applies to both);
* a label of the template's scale, in any case.

Nothing is guessed. ``0,2`` could be 0.2 with a decimal comma or the range 0 to 2, so
it is asked about (:class:`Ambiguous`), as is ``1,5`` or ``1,0000``. Every reading says
how it read the entry ("read as 5,000 to 20,000"), and a point likelihood says that it
carries no uncertainty. :func:`show` gives the text a field shows for a stored value,
and reading that text back gives the same value exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from .quantities import check_quantity

Kind = Literal["likelihood", "impact", "factor"]

_SUFFIXES = {
    "k": 1e3, "thousand": 1e3,
    "m": 1e6, "mn": 1e6, "million": 1e6,
    "b": 1e9, "bn": 1e9, "billion": 1e9,
    "t": 1e12, "tn": 1e12, "trillion": 1e12,
}
_CURRENCY = "$€£¥"
# One number as typed: optional currency, digits (with thousands commas or a decimal
# point or comma), an exponent, a suffix, a percent sign.
_NUMBER = (
    rf"[-+]?[{_CURRENCY}]?\s*(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
    r"\s*(?:k|thousand|mn|m|million|bn|b|billion|tn|t|trillion)?\s*%?"
)
_RANGE = re.compile(
    rf"^\[?\s*(?P<low>{_NUMBER})\s*(?:to|–|—|\.\.|-|,\s+|;)\s*(?P<high>{_NUMBER})\s*\]?$",
    re.IGNORECASE,
)
_BRACKETED = re.compile(rf"^\[\s*(?P<low>{_NUMBER})\s*,\s*(?P<high>{_NUMBER})\s*\]$",
                        re.IGNORECASE)
_SINGLE = re.compile(rf"^(?P<low>{_NUMBER})$", re.IGNORECASE)
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_PARTS = re.compile(
    rf"^(?P<sign>[-+])?(?P<currency>[{_CURRENCY}])?\s*(?P<digits>[\d,]*\.?\d*(?:[eE][-+]?\d+)?)"
    r"\s*(?P<suffix>[a-z]+)?\s*(?P<percent>%)?$",
    re.IGNORECASE,
)


class Ambiguous(ValueError):
    """An entry that could mean two things: the message asks which."""


@dataclass(frozen=True)
class Reading:
    """What an entry was read as: the value review.json stores, and the words saying so."""

    value: Any
    said: str


def _examples(kind: Kind) -> str:
    return {
        "likelihood": "'5% to 20%' (90% sure it is between), '0.05 to 0.2', '10%' or a label",
        "impact": "'5,000 to 20,000' (90% sure it is between), '$2M', '300' or a label",
        "factor": "'30% to 60%' or '0.3 to 0.6' (90% sure it is between), or '0.5'",
    }[kind]


def _digits(text: str, entry: str) -> float | int:
    """The number in ``text`` (no sign, suffix or percent), thousands commas allowed."""
    if "," in text:
        if not _THOUSANDS.match(text):
            plain = text.replace(",", ".", 1)
            raise Ambiguous(
                f"{entry!r}: is the comma in {text!r} a decimal comma ({plain}) or does it "
                f"separate two numbers? Type {plain} for the first, or use 'to' between "
                "two numbers"
            )
        text = text.replace(",", "")
    if re.fullmatch(r"\d+", text):
        return int(text)
    return float(text)


def _number(text: str, kind: Kind, entry: str) -> tuple[float | int, bool]:
    """(value, whether it carried a percent sign) of one end of an entry."""
    parts = _PARTS.match(text.strip())
    if parts is None or not parts["digits"]:
        raise ValueError(f"cannot read {text.strip()!r} as a number")
    value = _digits(parts["digits"], entry)
    if parts["sign"] == "-":
        value = -value  # refused below, with the reason for its kind
    if parts["currency"] and kind != "impact":
        raise ValueError(f"{entry!r}: a currency sign only makes sense for an impact, "
                         f"not a {kind}")
    suffix = (parts["suffix"] or "").lower()
    if suffix:
        if suffix not in _SUFFIXES:
            raise ValueError(f"{entry!r}: unknown suffix {parts['suffix']!r}; expected k, M, "
                             "bn or tn")
        if kind != "impact":
            raise ValueError(f"{entry!r}: a {parts['suffix']!r} suffix only makes sense "
                             f"for an impact, not a {kind}")
        value = _scale(value, _SUFFIXES[suffix])
    percent = parts["percent"] is not None
    if percent:
        if kind == "impact":
            raise ValueError(f"{entry!r}: a percentage only makes sense for a likelihood or a "
                             "factor, not an impact")
        value = _percent(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{entry!r}: expected a finite number")
    return value, percent


def _scale(value: float | int, factor: float) -> float | int:
    scaled = value * factor
    if isinstance(value, int) or (float(scaled).is_integer() and abs(scaled) < 2**53):
        return round(scaled) if abs(scaled) < 2**63 else scaled
    # 1.5k is 1500 exactly, not 1500.0000000000002: scale through the decimal text
    return float(f"{float(value)!r}e{int(math.log10(factor))}")


def _percent(value: float | int) -> float:
    # the decimal point moved in the text, so 5% is 0.05 exactly and 0.1% is 0.001
    return float(Decimal(repr(float(value))).scaleb(-2))


def read(text: str, kind: Kind, labels: Sequence[str] = ()) -> Reading | None:
    """Read an entry; None for empty text. Raises :class:`Ambiguous` when it could mean
    two things and ValueError, in plain words, when it can not be read or is out of
    range for ``kind`` (:func:`deliberation.review.quantities.check_quantity`)."""
    entry = " ".join(text.split())
    if not entry:
        return None
    by_lower = {label.lower(): label for label in labels}
    if entry.lower() in by_lower:
        label = by_lower[entry.lower()]
        return Reading(label, f"read as the label {label!r}")
    match = _BRACKETED.match(entry) or _RANGE.match(entry)
    value: Any
    if match:
        (low, low_percent), (high, high_percent) = (
            _number(match["low"], kind, entry), _number(match["high"], kind, entry))
        if high_percent and not low_percent:
            low = _percent(low)  # "5 to 20%" is 5% to 20%
        elif low_percent and not high_percent:
            raise ValueError(f"{entry!r}: put the percent on both ends, or on neither")
        value = low if low == high else (low, high)
    elif _SINGLE.match(entry):
        value, _ = _number(entry, kind, entry)
    else:
        hint = f"; or a label: {', '.join(labels)}" if labels else ""
        raise ValueError(f"cannot read {entry!r}: expected {_examples(kind)}{hint}")
    check_quantity(value, kind=kind)
    said = f"read as {show(value, kind)}"
    if kind == "likelihood" and not isinstance(value, tuple):
        said += (" exactly: a single number says you are certain of it; type a range "
                 "(e.g. 2% to 10%) to say how sure you are")
    return Reading(value, said)


def show(value: Any, kind: Kind) -> str:
    """The text a field shows for a stored value; :func:`read` gives the value back."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        low, high = value
        if low == high:
            return show(low, kind)
        if kind != "impact":  # both ends in percent, or neither ("5 to 20%" is 5% to 20%)
            percents = _shown_percent(low), _shown_percent(high)
            if None not in percents:
                return f"{percents[0]} to {percents[1]}"
            return f"{_plain(low)} to {_plain(high)}"
        return f"{_plain(low)} to {_plain(high)}"
    if kind != "impact":
        as_percent = _shown_percent(value)
        if as_percent is not None:
            return as_percent
    return _plain(value)


def _shown_percent(value: float | int) -> str | None:
    """``value`` as a percent when the percent text reads back exactly (the decimal
    point moved in the text, so 0.05 is "5%", not 5.000000000000001%)."""
    shifted = Decimal(repr(float(value))).scaleb(2).normalize()
    text = format(shifted, "f")
    if len(text) > 12 or _percent(float(text)) != value:
        return None
    return f"{text}%"


def _plain(value: float | int, *, grouping: bool = True) -> str:
    """Shortest text that reads back to ``value``, with thousands commas."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}" if grouping else str(value)
    text = repr(value)
    if "e" in text or not grouping:
        return text
    whole, _, fraction = text.partition(".")
    return f"{int(whole):,}.{fraction}"


def _one_in(probability: float) -> str:
    """A chance as people weigh it: "1 in 20" below a half, a percent above."""
    if probability <= 0:
        return "never"
    if probability >= 1:
        return "certain"
    if probability < 0.5:
        odds = 1 / probability
        shown = f"{odds:,.0f}" if odds >= 10 else f"{odds:.2g}"
        return f"1 in {shown}"
    return f"{probability * 100:.3g}%"


def feedback(value: Any, kind: Kind, interval: tuple[float, float] | None = None) -> str:
    """What an entry implies, said back as SHELF's feedback does: a likelihood range as
    "1 in 20 to 1 in 5, median about 1 in 10", an impact range with its median (the
    distributions of docs/design.md: logit-normal and lognormal medians), a label with
    the interval it stands for (``interval``, from the template's scale)."""
    if isinstance(value, str):
        if interval is None:
            return ""
        meaning = f"{value} = {show(interval, kind)}"
        rest = feedback(interval, kind)
        return f"{meaning}: {rest}" if rest else meaning
    if not isinstance(value, tuple) or value[0] == value[1]:
        return ""
    low, high = float(value[0]), float(value[1])
    if kind == "likelihood":
        middle = 1 / (1 + math.sqrt((1 - low) * (1 - high) / (low * high)))
        return (f"you say {_one_in(low)} to {_one_in(high)}, median about "
                f"{_one_in(middle)}")
    if kind == "impact" and low > 0:
        return f"90% sure between these; median about {_plain(_round3(math.sqrt(low * high)))}"
    if kind == "factor" and low > 0:
        return (f"cuts it to {show(_round3(math.sqrt(low * high)), 'factor')} of what it was, "
                "typically")
    return ""


def _round3(value: float) -> float | int:
    """Three significant figures, for feedback (never for a stored value)."""
    if value == 0:
        return 0
    rounded = float(f"{value:.3g}")
    return int(rounded) if rounded.is_integer() else rounded
