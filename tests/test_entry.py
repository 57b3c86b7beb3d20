"""Entries as people type them: read without a browser, checked by hand and by a
hypothesis round trip (what a field shows reads back to the same value)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deliberation.review.entry import Ambiguous, read, show

LABELS = ("rare", "likely", "major")


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("1,000", "impact", 1000),
    ("12,500,000", "impact", 12_500_000),
    ("1,000 to 5,000", "impact", (1000, 5000)),
    ("5k", "impact", 5000),
    ("1.5k", "impact", 1500),
    ("5k to 20k", "impact", (5000, 20000)),
    ("$5M", "impact", 5_000_000),
    ("€200k – €1.2M", "impact", (200_000, 1_200_000)),
    ("£1,000-£5,000", "impact", (1000, 5000)),
    ("2bn", "impact", 2_000_000_000),
    ("3 million", "impact", 3_000_000),
    ("50 to 2000", "impact", (50, 2000)),
    ("[50, 2000]", "impact", (50, 2000)),
    ("50, 2000", "impact", (50, 2000)),
    ("50 .. 2000", "impact", (50, 2000)),
    ("5%", "likelihood", 0.05),
    ("5% to 20%", "likelihood", (0.05, 0.2)),
    ("5 to 20%", "likelihood", (0.05, 0.2)),
    ("0.1%", "likelihood", 0.001),
    ("0.05 – 0.2", "likelihood", (0.05, 0.2)),
    ("1e-3 to 1e-2", "likelihood", (0.001, 0.01)),
    ("50%", "factor", 0.5),
    ("30% to 60%", "factor", (0.3, 0.6)),
    ("0.3 to 0.6", "factor", (0.3, 0.6)),
    ("  LIKELY ", "likelihood", "likely"),
    ("300 to 300", "impact", 300),
])
def test_what_people_type_is_read_as_they_mean_it(text: str, kind: str, value: object) -> None:
    reading = read(text, kind, LABELS)  # type: ignore[arg-type]
    assert reading is not None
    assert reading.value == value
    assert type(reading.value) is type(value) or isinstance(value, float | tuple)


def test_each_reading_says_how_it_was_read() -> None:
    assert read("5k to 20k", "impact").said == "read as 5,000 to 20,000"  # type: ignore[union-attr]
    assert read("5 to 20%", "likelihood").said == "read as 5% to 20%"  # type: ignore[union-attr]
    point = read("5%", "likelihood")
    assert point is not None
    assert point.said.startswith("read as 5% exactly: a single number says you are certain")


@pytest.mark.parametrize("text", ["0,2", "1,5", "1,0000", "2,5 to 3"])
def test_a_decimal_comma_is_asked_about_never_guessed(text: str) -> None:
    with pytest.raises(Ambiguous, match="decimal comma"):
        read(text, "impact")


@pytest.mark.parametrize(("text", "kind", "message"), [
    ("5%", "impact", "percentage only makes sense for a likelihood or a factor"),
    ("$5", "likelihood", "currency sign only makes sense for an impact"),
    ("5k", "factor", "suffix only makes sense for an impact"),
    ("5 zillion", "impact", "cannot read"),
    ("5% to 20", "likelihood", "percent on both ends"),
    ("lots", "impact", "cannot read 'lots'"),
    ("0 to 10%", "likelihood", "between 0.000001 and 0.999999"),
    ("150%", "likelihood", "between 0 and 1"),
    ("20 to 5", "impact", "low <= high"),
])
def test_bad_entries_say_why_in_one_line(text: str, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        read(text, kind)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


def test_empty_is_nothing() -> None:
    assert read("  ", "impact") is None


def test_shown_values_use_thousands_and_percents() -> None:
    assert show((5000, 20000), "impact") == "5,000 to 20,000"
    assert show((0.05, 0.2), "likelihood") == "5% to 20%"
    assert show(0.5, "factor") == "50%"
    assert show(1234.5, "impact") == "1,234.5"
    assert show("major", "impact") == "major"


likelihoods = st.floats(0, 1, allow_nan=False)
magnitudes = st.floats(1e-6, 1e15, allow_nan=False) | st.integers(1, 10**15)
factors = st.floats(0, 1000, allow_nan=False)


def _ordered(pair: tuple[float, float]) -> tuple[float, float]:
    return (min(pair), max(pair))


@given(st.sampled_from(["likelihood", "impact", "factor"]).flatmap(
    lambda kind: st.tuples(st.just(kind), {"likelihood": likelihoods, "impact": magnitudes,
                                            "factor": factors}[kind])))
def test_a_shown_point_reads_back_to_the_same_value(case: tuple[str, float]) -> None:
    kind, value = case
    reading = read(show(value, kind), kind)  # type: ignore[arg-type]
    assert reading is not None
    assert reading.value == value
    assert math.copysign(1, reading.value) == math.copysign(1, value)


@given(st.tuples(st.floats(1e-6, 1 - 1e-6), st.floats(1e-6, 1 - 1e-6)).map(_ordered))
def test_a_shown_likelihood_range_reads_back(pair: tuple[float, float]) -> None:
    reading = read(show(pair, "likelihood"), "likelihood")
    assert reading is not None
    assert reading.value == (pair if pair[0] != pair[1] else pair[0])


@given(st.tuples(magnitudes, magnitudes).map(_ordered).filter(lambda p: p[1] / p[0] <= 1e8))
def test_a_shown_impact_range_reads_back(pair: tuple[float, float]) -> None:
    reading = read(show(pair, "impact"), "impact")
    assert reading is not None
    assert reading.value == (pair if pair[0] != pair[1] else pair[0])


def test_feedback_says_what_an_entry_implies() -> None:
    from deliberation.review.entry import feedback

    # the logit-normal's median: odds the geometric mean of the ends' odds
    assert feedback((0.05, 0.2), "likelihood") == (
        "you say 1 in 20 to 1 in 5, median about 1 in 9.7")  # odds sqrt(1/19 * 1/4)
    assert feedback((0.5, 0.9), "likelihood") == "you say 50% to 90%, median about 75%"
    # the lognormal's median: the geometric mean of the ends
    assert feedback((100, 10_000), "impact") == "90% sure between these; median about 1,000"
    assert feedback("likely", "likelihood", (0.5, 0.9)) == (
        "likely = 50% to 90%: you say 50% to 90%, median about 75%")
    assert feedback(0.1, "likelihood") == ""
