"""How a sensitivity swing is named and its flags said, in every view (one place).

The report, the charts, the chart descriptions and the record (and so the workbook's
tradeoffs step) call these, so a flag reads the same everywhere. Entries are the
analysis' :class:`~deliberation.engine.results.Sensitivity` or their JSON (a record's),
older records without the standard-error fields included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..numbers import Z95, plus_minus, probability

QUANTITIES = {"likelihood": "likelihood", "impact": "impact",
              "likelihood_factor": "likelihood factor", "impact_factor": "impact factor"}


def _get(entry: Any, name: str, default: Any = None) -> Any:
    if isinstance(entry, dict):
        return entry.get(name, default)
    return getattr(entry, name, default)


def quantity(entry: Any) -> str:
    """"likelihood", "impact", "likelihood factor" or "impact factor"."""
    value = str(_get(entry, "quantity", ""))
    return QUANTITIES.get(value, value)


def preferred_flip(entry: Any) -> str | None:
    """"flips", "may flip" or None (a record made before the flag: its point flag)."""
    flag = _get(entry, "preferred_flip")
    if flag is None and _get(entry, "gate_flips") is None and _get(entry, "flips_preferred"):
        return "flips"
    return str(flag) if flag is not None else None


def gate_flips(entry: Any) -> dict[str, str]:
    """Each gate the swing flips or may flip, with its flag."""
    flips = _get(entry, "gate_flips")
    if flips is None:  # a record made before the flag
        return dict.fromkeys(_get(entry, "flips_gates", []) or [], "flips")
    return {rule: str(_get(flip, "flag")) for rule, flip in flips.items()}


def flagged(entry: Any) -> bool:
    return preferred_flip(entry) is not None or bool(gate_flips(entry))


def shown(entries: Sequence[Any], limit: int) -> list[Any]:
    """The ``limit`` entries that move the chosen variant's mean most, then every other
    one that flips or may flip the preferred variant or a gate (a mitigation factor of
    another variant can decide the choice without moving the chosen one at all)."""
    return [e for position, e in enumerate(entries) if position < limit or flagged(e)]


def _lead(entry: Any, end: str) -> tuple[float, float] | None:
    lead, standard_error = _get(entry, f"lead_{end}"), _get(entry, f"lead_{end}_se")
    if lead is None or standard_error is None:
        return None
    return float(lead), float(standard_error)


def preferred_text(entry: Any, preferred: str) -> str | None:
    """"flips the preferred option to api (it leads by 411 ± 8.40)", or "may flip ...
    (it leads by 2.00 ± 4.17: within noise)", or None."""
    flag = preferred_flip(entry)
    if flag is None:
        return None
    end = _flipping_end(entry)
    rival = _get(entry, f"rival_{end}") or _other(entry, preferred)
    text = f"{flag} the preferred option to {rival}"
    lead = _lead(entry, end)
    if lead is not None:
        text += f" (it leads by {plus_minus(-lead[0], lead[1])}"
        text += ": within noise)" if flag == "may flip" else ")"
    return text


def _flipping_end(entry: Any) -> str:
    leads = {end: _lead(entry, end) for end in ("low", "high")}
    found = [(lead[0], end) for end, lead in leads.items() if lead is not None]
    return min(found)[1] if found else "low"


def _other(entry: Any, preferred: str) -> str:
    low, high = _get(entry, "preferred_low"), _get(entry, "preferred_high")
    return str(low if low != preferred else high)


def gate_texts(entry: Any) -> list[str]:
    """"flips gate tail (20.0% (95%: 19.4–20.6%) at the high end)", one per gate."""
    details = _get(entry, "gate_flips") or {}
    texts = []
    for rule, flag in gate_flips(entry).items():
        text = f"{flag} gate {rule}"
        detail = details.get(rule)
        if detail is not None:
            estimate, low, high = (_get(detail, k) for k in ("estimate", "low", "high"))
            value = (plus_minus(estimate, (high - low) / 2 / Z95)
                     if _get(detail, "kind") == "positive-expected-value"
                     else probability(estimate, low, high))
            text += f" ({value} at the {_get(detail, 'end')} end)"
        texts.append(text)
    return texts


def texts(entry: Any, preferred: str) -> list[str]:
    """Every flag of ``entry``, as the report and the charts' tooltips say it."""
    first = preferred_text(entry, preferred)
    return ([first] if first else []) + gate_texts(entry)
