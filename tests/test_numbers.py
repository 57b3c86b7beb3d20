"""One way to write a number: the vocabulary every surface (CLI, workbook, record) uses."""

from __future__ import annotations

import math

import pytest

from deliberation.engine.intervals import wilson
from deliberation.numbers import (
    percent,
    percentage_points,
    plus_minus,
    points,
    probability,
)


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0%"), (1.0, "100%"), (0.41234, "41.2%"), (0.0102, "1.02%"), (0.01, "1.00%"),
    (0.000351, "0.0351%"), (3.3e-5, "0.00330%"), (4e-6, "<0.001%"), (0.99996, ">99.9%"),
    (0.09996, "10.0%"), (float("nan"), "n/a"), (None, "n/a"),
])
def test_percent_keeps_three_significant_figures(value: float, text: str) -> None:
    assert percent(value) == text


def test_a_gate_limit_and_a_value_just_above_it_read_differently() -> None:
    assert percent(0.0102) != percent(0.01)  # the "1.0%" next to a failed 1% gate


def test_probability_carries_its_interval_and_is_right_at_zero() -> None:
    assert probability(0.0102, 0.0093, 0.0111) == "1.02% (95%: 0.930–1.11%)"
    low, high = wilson(0, 20_000)
    assert low == 0
    assert probability(0.0, low, high) == "below 0.0192% (95%)"
    assert probability(0.5) == "50.0%"  # an old record without an interval


@pytest.mark.parametrize(("hits", "samples"), [(0, 20_000), (3, 20_000), (204, 20_000),
                                               (10_000, 20_000), (20_000, 20_000)])
def test_wilson_matches_its_closed_form(hits: int, samples: int) -> None:
    # the Wilson interval's bounds are the roots in p of (p - p̂)² = z² p (1 - p) / n
    z = 1.959963984540054
    p_hat = hits / samples
    a = 1 + z * z / samples
    b = -(2 * p_hat + z * z / samples)
    c = p_hat * p_hat
    root = math.sqrt(b * b - 4 * a * c)
    expected = ((-b - root) / (2 * a), (-b + root) / (2 * a))
    assert wilson(hits, samples) == pytest.approx(expected, abs=1e-12)


def test_values_and_changes() -> None:
    assert points(-1234.4) == "−1,234"
    assert points(12.345) == "12.3"
    assert points(-0.0) == "0"
    assert plus_minus(1234, 70) == "1,234 ± 137"  # ± is 1.96 standard errors
    assert percentage_points(-0.036) == "−3.60 percentage points"
    assert percentage_points(-0.036, 0.001) == "−3.60 ± 0.196 percentage points"
    assert percentage_points(0.0) == "no change"
    assert percentage_points(0.0002) == "+0.0200 percentage points"  # small, not "no change"
