"""The analysis as readable text: what ``deliberation report`` prints.

It opens with one plain sentence per variant, then the tables: metrics, comparisons,
what each mitigation buys, what drives the bad tail, sensitivity, disagreement and the
items nobody estimated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..engine.results import Analysis, Difference

SENSITIVITY_ROWS = 10
DISAGREEMENT_ROWS = 8
DRIVER_ROWS = 8


def percent(probability: float) -> str:
    """A probability as a short percentage: 41%, 2.1%, 0.035%, 0%."""
    value = probability * 100
    if value == 0:
        return "0%"
    if abs(value) >= 10:
        return f"{value:.0f}%"
    if abs(value) >= 1:
        return f"{value:.1f}%"
    return f"{value:.2g}%"


def points(change: float) -> str:
    """A change in probability, in percentage points, with its sign."""
    value = change * 100
    if value == 0:
        return "±0 pt"
    if abs(value) >= 0.1:
        return f"{value:+.1f} pt"
    return f"{value:+.2g} pt"


def number(value: float | None, *, signed: bool = False) -> str:
    """A value on the template's scale, to three significant figures, with separators."""
    if value is None:
        return "n/a"
    if value == 0 or not math.isfinite(value):
        return f"{value:{'+' if signed else ''}g}"
    sign = "+" if signed else ""
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 2:
        return f"{round(value, 2 - magnitude):{sign},.0f}"
    return f"{value:{sign},.{2 - magnitude}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: int = 1) -> str:
    """Columns padded to their widest cell; columns from ``right`` on align right."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for row in (headers, *rows):
        cells = [
            str(cell).rjust(width) if index >= right else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def sentence(title: str, summary: Any) -> str:
    return (
        f"{title}: {percent(summary.p_extreme_bad)} ± {percent(summary.p_extreme_bad_se)} "
        f"chance of an extremely bad outcome, {percent(summary.p_extreme_good)} of an "
        f"extremely good one (mean net value {number(summary.mean)})."
    )


def _change(change: float, standard_error: float) -> str:
    return f"{points(change)} ± {points(standard_error).lstrip('+±')}"


def _difference_row(label: str, difference: Difference) -> list[str]:
    return [
        label,
        f"{number(difference.mean, signed=True)} ± {number(difference.mean_se)}",
        percent(difference.p_better),
        percent(difference.p_worse),
        _change(difference.p_extreme_bad_change, difference.p_extreme_bad_change_se),
        _change(difference.p_extreme_good_change, difference.p_extreme_good_change_se),
    ]


def format_report(analysis: Analysis, review: Any) -> str:
    """The whole report as text (no colour, no terminal codes: it may go into a record)."""
    titles = {name: summary.title for name, summary in analysis.variants.items()}
    out: list[str] = [f"{review.title}", ""]
    out += [sentence(titles[name], summary) for name, summary in analysis.variants.items()]
    out.append("")
    decided = review.decision.variant if review.decision is not None else None
    out.append(
        f"{analysis.samples:,} samples, seed {analysis.seed}, {analysis.pool} pool; extremely bad "
        f"at or below {number(analysis.extreme_bad)}, extremely good at or above "
        f"{number(analysis.extreme_good)}. Highest mean: {titles[analysis.preferred]}"
        + (f"; decided: {titles[analysis.chosen]}." if decided == analysis.chosen else ".")
    )

    out += ["", "Net value per variant", ""]
    out.append(table(
        ["variant", "mean ± se", "p5", "median", "p95", "P(extremely bad)", "P(extremely good)"],
        [
            [
                name, f"{number(s.mean)} ± {number(s.mean_se)}", number(s.p5), number(s.p50),
                number(s.p95), f"{percent(s.p_extreme_bad)} ± {percent(s.p_extreme_bad_se)}",
                f"{percent(s.p_extreme_good)} ± {percent(s.p_extreme_good_se)}",
            ]
            for name, s in analysis.variants.items()
        ],
    ))

    headers = ["change", "mean ± se", "better", "worse", "P(extremely bad)", "P(extremely good)"]
    if analysis.comparisons:
        out += ["", "Comparisons (same draws; positive is better)", ""]
        out.append(table(headers, [
            _difference_row(f"{d.base} → {d.other}", d) for d in analysis.comparisons
        ]))
    if analysis.mitigation_effects:
        out += ["", "What each mitigation buys on its own (baseline + it, against baseline)", ""]
        out.append(table(headers, [
            _difference_row(e.mitigation, e.difference) for e in analysis.mitigation_effects
        ]))

    chosen = analysis.chosen
    drivers = sorted(
        (item for item in analysis.items if item.variants[chosen].mean_contribution != 0),
        key=lambda item: -abs(item.variants[chosen].mean_contribution),
    )[:DRIVER_ROWS]
    if drivers:
        out += ["", f"Largest contributions to the mean, and the bad tail ({chosen})", ""]
        out.append(table(
            ["item", "kind", "P(happens)", "contribution", "P(happened | extremely bad)"],
            [
                [
                    item.item, item.kind, percent(item.variants[chosen].p_happens),
                    number(item.variants[chosen].mean_contribution, signed=True),
                    _maybe_percent(item.variants[chosen].p_happened_given_extreme_bad),
                ]
                for item in drivers
            ],
        ))

    if analysis.sensitivity:
        out += [
            "", f"Sensitivity ({chosen}): each estimate moved to its 5th and 95th percentile", "",
        ]
        rows = []
        for entry in analysis.sensitivity[:SENSITIVITY_ROWS]:
            flags = []
            if entry.flips_preferred:
                flags.append(f"flips preferred to {_other(entry, analysis.preferred)}")
            flags += [f"flips gate {rule}" for rule in entry.flips_gates]
            show = percent if entry.quantity == "likelihood" else number
            low, high = show(entry.low), show(entry.high)
            rows.append([
                f"{entry.item} {entry.quantity}", f"{low} … {high}",
                f"{number(entry.mean_low)} … {number(entry.mean_high)}",
                f"{percent(entry.p_extreme_bad_low)} … {percent(entry.p_extreme_bad_high)}",
                "; ".join(flags),
            ])
        out.append(table(["estimate", "range", "mean", "P(extremely bad)", "flags"], rows))

    disagreements = [d for d in analysis.disagreement if len(d.participants) > 1]
    if disagreements:
        out += [
            "", "Disagreement: discuss these first (spread of participants' expected values)", "",
        ]
        out.append(table(
            ["item", "orders of magnitude", "lowest expected value", "highest expected value"],
            [
                [
                    d.item, f"{d.orders_of_magnitude:.1f}",
                    _extreme_participant(d, min), _extreme_participant(d, max),
                ]
                for d in disagreements[:DISAGREEMENT_ROWS]
            ],
        ))

    out += ["", "Items nobody estimated (left out of the sums): "
            + (", ".join(analysis.unestimated) if analysis.unestimated else "none")]
    if analysis.notes:
        out += ["", "Notes"] + [f"  {note}" for note in analysis.notes]
    if analysis.gates:
        out += ["", f"Probability gates ({chosen}, point estimates)"]
        out += [f"  {gate.rule}: {'pass' if gate.passes else 'FAIL'}" for gate in analysis.gates]
    return "\n".join(out) + "\n"


def _maybe_percent(value: float | None) -> str:
    return percent(value) if value is not None else "n/a"


def _other(entry: Any, preferred: str) -> str:
    other: str = entry.preferred_low if entry.preferred_low != preferred else entry.preferred_high
    return other


def _extreme_participant(entry: Any, pick: Any) -> str:
    participant = pick(entry.participants, key=lambda p: p.expected_value)
    return f"{participant.participant} {number(participant.expected_value)}"


class ProgressBar:
    """A ``progress(done, total)`` callback that draws a one-line bar on a text stream,
    but only once the run has taken longer than ``after`` seconds (short runs stay quiet).
    """

    def __init__(
        self, stream: Any, *, after: float = 1.0, label: str = "simulating",
        clock: Any = None,
    ) -> None:
        import time

        self.stream = stream
        self.after = after
        self.label = label
        self.clock = clock or time.monotonic
        self.started = self.clock()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.shown and self.clock() - self.started < self.after:
            return
        self.shown = True
        width = 30
        filled = round(width * done / total) if total else width
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done:,}/{total:,} samples"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
