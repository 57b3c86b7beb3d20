"""Which release option the numbers talk about: the one rule every view calls.

* The **preferred** variant has the highest mean net value (ties: the first in the
  review's order).
* The **chosen** variant is the decision's variant when the review records one, else
  the preferred one. Gates, the tornado, the captions and the record's brief are all
  read for the chosen variant, and say "preferred" when no decision names it.
* The **reference** variant is what the others are compared with: the first variant
  without mitigations, else the implicit ``baseline``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

ChosenBy = Literal["decision", "preferred"]


def preferred_variant(means: Mapping[str, float]) -> str:
    """The variant with the highest mean net value; ties go to the first."""
    best = max(means.values())
    return next(name for name, mean in means.items() if mean == best)


def chosen_variant(review: Any, means: Mapping[str, float]) -> tuple[str, ChosenBy]:
    """The decision's variant if it is one of ``means``, else the preferred one."""
    decided = review.decision.variant if review.decision is not None else None
    if decided is not None and decided in means:
        return decided, "decision"
    return preferred_variant(means), "preferred"


def reference_variant(review: Any, variant_ids: Iterable[str]) -> str | None:
    """The first variant without mitigations, else ``baseline`` when it was computed."""
    present = set(variant_ids)
    for variant in review.variants:
        if not variant.mitigations and variant.id in present:
            return str(variant.id)
    return "baseline" if "baseline" in present else None
