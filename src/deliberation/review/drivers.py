"""Shared drivers: items whose occurrences (and uncertain likelihoods) move together.

A leaked model raises several harms at once (fakes, harassment, fraud); a driver says
so. ``strength`` is the **rank correlation** (Spearman) between any two of its items'
latent happen/not draws, and between their likelihoods when those are uncertain:
a word of :data:`STRENGTHS` or a number in [0, 1]. The engine simulates it with a
Gaussian copula that leaves each item's own distribution exactly as it was
(docs/design.md, *Correlated harms*).

An item belongs to at most one driver: two drivers of one item would need their
strengths to add up to at most 1, a rule no one could guess from the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from .quantities import _finite

# What each word means, as a rank correlation of the items' happen/not draws.
STRENGTHS: dict[str, float] = {"weak": 0.3, "moderate": 0.6, "strong": 0.9}
StrengthWord = Literal["weak", "moderate", "strong"]
MIN_DRIVER_ITEMS = 2


def rank_correlation(strength: str | float) -> float:
    """The rank correlation a driver's ``strength`` states (a word or a number)."""
    if isinstance(strength, str):
        return STRENGTHS[strength]
    return float(strength)


def strength_text(strength: str | float) -> str:
    """``strong (rank correlation 0.9)`` or ``rank correlation 0.45``: one wording everywhere."""
    value = rank_correlation(strength)
    if isinstance(strength, str):
        return f"{strength} (rank correlation {value:g})"
    return f"rank correlation {value:g}"


def check_strength(value: Any) -> Any:
    """A driver's strength: a word of STRENGTHS, or a finite number in [0, 1]."""
    if isinstance(value, str):
        return value  # the Literal branch has checked the word
    _finite(value, "strength")
    if not 0 <= value <= 1:
        words = ", ".join(f"{w} ({r:g})" for w, r in STRENGTHS.items())
        raise ValueError(
            f"expected a rank correlation between 0 and 1 or one of {words}, got {value!r}"
        )
    return value


def driver_problems(review: Any) -> Iterable[str]:
    """One message per wrong reference in ``review.drivers`` (ids, sizes, overlaps)."""
    items = {item.id for item in review.items}
    owner: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for index, driver in enumerate(review.drivers):
        if driver.id in seen_ids:
            yield f"drivers[{index}].id: id {driver.id!r} is used twice; ids must be unique"
        seen_ids.setdefault(driver.id, index)
        if len(set(driver.items)) < MIN_DRIVER_ITEMS:
            yield (f"drivers[{index}].items: expected at least {MIN_DRIVER_ITEMS} different "
                   f"items' ids, got {driver.items!r}")
        listed: set[str] = set()
        for position, item_id in enumerate(driver.items):
            where = f"drivers[{index}].items[{position}]"
            if item_id not in items:
                yield f"{where}: expected one of the items' ids, got {item_id!r}"
            elif item_id in listed:
                yield f"{where}: item {item_id!r} is listed twice in this driver"
            elif item_id in owner and owner[item_id] != index:
                first = owner[item_id]
                yield (f"{where}: item {item_id!r} already shares driver "
                       f"{review.drivers[first].id!r} (drivers[{first}]); an item has at "
                       f"most one driver")
            listed.add(item_id)
            owner.setdefault(item_id, index)
