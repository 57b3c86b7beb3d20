"""The analysis as readable text: what ``deliberation report`` prints.

It opens with one plain sentence per variant, then the tables: metrics, comparisons,
what each mitigation buys, what drives the bad tail, sensitivity, disagreement and the
items nobody estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine.results import Analysis, Difference
from ..numbers import (
    NO_THRESHOLD,
    PLUS_MINUS,
    Z95,
    catastrophe_probability,
    mean_value,
    percent,
    percentage_points,
    plus_minus,
    points,
    probability,
    signed_points,
)
from ..review.drivers import strength_text
from ..review.overrides import gate_line
from . import flips

SENSITIVITY_ROWS = 10
INFORMATION_ROWS = 6
DISAGREEMENT_ROWS = 8
DRIVER_ROWS = 8


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
    catastrophe = "" if summary.p_catastrophe is None else (
        f"; {_p(summary, 'p_catastrophe')} chance that its harms alone reach a catastrophe")
    return (
        f"{title}: {_p(summary, 'p_extreme_bad')} chance of an extremely bad outcome, "
        f"{_p(summary, 'p_extreme_good')} of an extremely good one (mean net value "
        f"{_mean(summary)}){catastrophe}."
    )


def catastrophe_threshold(analysis: Any) -> str:
    """What counts as a catastrophe, in words (or that nothing does)."""
    if analysis.catastrophe is None:
        return "no catastrophe threshold"
    return ("catastrophe: harms alone (benefits left out) at or above "
            f"{points(analysis.catastrophe)}")


def _p(summary: Any, name: str) -> str:
    """A summary's probability ``name`` with its 95% interval."""
    return probability(getattr(summary, name), getattr(summary, f"{name}_low", None),
                       getattr(summary, f"{name}_high", None))


def _mean(summary: Any) -> str:
    return mean_value(summary.mean, summary.mean_se, reliable=summary.mean_reliable,
                      median=summary.p50)


def _change(change: float, standard_error: float) -> str:
    return percentage_points(change, standard_error)


def _difference_row(label: str, difference: Difference) -> list[str]:
    return [
        label,
        f"{signed_points(difference.mean)} ± {points(Z95 * difference.mean_se)}",
        _p(difference, "p_better"),
        _p(difference, "p_worse"),
        _change(difference.p_extreme_bad_change, difference.p_extreme_bad_change_se),
        _change(difference.p_extreme_good_change, difference.p_extreme_good_change_se),
        NO_THRESHOLD if difference.p_catastrophe_change is None else _change(
            difference.p_catastrophe_change, difference.p_catastrophe_change_se or 0.0),
    ]


def format_report(analysis: Analysis, review: Any, gates: Sequence[Any] = ()) -> str:
    """The whole report as text (no colour, no terminal codes: it may go into a record).

    ``gates`` are the policy's results (:func:`deliberation.review.policy.evaluate_policy`)
    for this analysis, printed as ``check`` prints them.
    """
    titles = {name: summary.title for name, summary in analysis.variants.items()}
    out: list[str] = [f"{review.title}", ""]
    out += [sentence(titles[name], summary) for name, summary in analysis.variants.items()]
    out.append("")
    decided = review.decision.variant if review.decision is not None else None
    out.append(
        f"{analysis.samples:,} samples, seed {analysis.seed}, {analysis.pool} pool; extremely bad "
        f"at or below {points(analysis.extreme_bad)}, extremely good at or above "
        f"{points(analysis.extreme_good)}; {catastrophe_threshold(analysis)}. {PLUS_MINUS}. "
        f"Highest mean: {titles[analysis.preferred]}"
        + (f"; decided: {titles[analysis.chosen]}." if decided == analysis.chosen else ".")
    )
    if getattr(review, "drivers", None):
        out.append(drivers_line(review))

    out += ["", "Net value per variant", ""]
    out.append(table(
        ["variant", "mean", "p5", "median", "p95", "P(extremely bad)", "P(extremely good)",
         "P(catastrophe)"],
        [
            [
                name, _mean(s), points(s.p5), points(s.p50),
                points(s.p95), _p(s, "p_extreme_bad"), _p(s, "p_extreme_good"),
                catastrophe_probability(s.p_catastrophe, s.p_catastrophe_low,
                                        s.p_catastrophe_high),
            ]
            for name, s in analysis.variants.items()
        ],
    ))

    headers = ["change", "mean", "better", "worse", "P(extremely bad)", "P(extremely good)",
               "P(catastrophe)"]
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
                    item.item, item.kind, _p(item.variants[chosen], "p_happens"),
                    signed_points(item.variants[chosen].mean_contribution),
                    _given_bad(item.variants[chosen]),
                ]
                for item in drivers
            ],
        ))

    if analysis.sensitivity:
        out += [
            "", f"Sensitivity ({chosen}): each estimate and mitigation factor moved to the ends "
            "of its interval (flips: beyond 1.96 standard errors; may flip: within them)", "",
        ]
        rows = []
        for entry in flips.shown(analysis.sensitivity, SENSITIVITY_ROWS):
            show = percent if entry.quantity == "likelihood" else (
                points if entry.quantity == "impact" else _factor)
            low, high = show(entry.low), show(entry.high)
            rows.append([
                f"{entry.item} {flips.quantity(entry)}", f"{low} … {high}",
                f"{points(entry.mean_low)} … {points(entry.mean_high)}",
                f"{percent(entry.p_extreme_bad_low)} … {percent(entry.p_extreme_bad_high)}",
                "; ".join(flips.texts(entry, analysis.preferred)),
            ])
        out.append(table(["estimate", "range", "mean", "P(extremely bad)", "flags"], rows))

    out += information_lines(analysis)

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
    if gates:
        out += ["", "Policy gates (as `deliberation check` decides them)"]
        out += [f"  {gate_line(gate, clause=False)}" for gate in gates]
    return "\n".join(out) + "\n"


def drivers_line(review: Any) -> str:
    """One line naming the review's shared drivers (ids only: they are plain identifiers)."""
    return "Shared drivers (their items happen together more often): " + "; ".join(
        f"{driver.id} ({', '.join(driver.items)}: {strength_text(driver.strength)})"
        for driver in review.drivers
    ) + "."


def information_lines(analysis: Analysis, rows: int = INFORMATION_ROWS) -> list[str]:
    """The report's "What is worth investigating before release" section (none without
    a choice between variants): EVPI, then the estimates worth resolving, highest first."""
    voi = analysis.value_of_information
    if voi is None:
        return []
    out = ["", "What is worth investigating before release (value of information for the "
           f"choice between variants, from {voi.samples:,} samples)", "",
           f"  knowing every outcome in advance (an upper bound: chance included): expected "
           f"gain {plus_minus(voi.evpi, voi.evpi_se)} points"]
    worth = [entry for entry in voi.entries if entry.could_change_choice]
    out += [f"  {entry.sentence}" for entry in worth[:rows]]
    if not worth:
        out.append("  no single estimate, resolved alone, would measurably change the choice "
                   f"(all {len(voi.entries)} in --json)")
    elif (rest := len(voi.entries) - min(len(worth), rows)) > 0:
        out.append(f"  ({rest} more in --json"
                   + ("; none of them would measurably change the choice)"
                      if len(worth) <= rows else ")"))
    return out


def _given_bad(effect: Any) -> str:
    if effect.p_happened_given_extreme_bad is None:
        return "n/a (no extremely bad sample)"
    return _p(effect, "p_happened_given_extreme_bad")


def _factor(value: float) -> str:
    return f"×{value:.3g}"


def _extreme_participant(entry: Any, pick: Any) -> str:
    participant = pick(entry.participants, key=lambda p: p.expected_value)
    return f"{participant.participant} {points(participant.expected_value)}"
