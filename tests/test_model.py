"""The review model: every rule of review.json, round trips, atomic saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from deliberation.review.model import (
    Review,
    dumps_review,
    load_review,
    parse_review,
    review_to_data,
    save_review,
)
from deliberation.review.opening import open_review

from .conftest import DATA, TEST_TEMPLATES
from .strategies import reviews

BAD = DATA / "bad"
EXPECTED = json.loads((BAD / "expected.json").read_text(encoding="utf-8"))


def _load_and_check(path: Path) -> Review:
    review, _, _ = open_review(path, search=[TEST_TEMPLATES])
    return review


def test_every_fixture_has_an_expected_error() -> None:
    fixtures = {p.name for p in BAD.glob("*.json")} - {"expected.json"}
    assert fixtures == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_fixture_gives_its_exact_error(name: str) -> None:
    path = BAD / name
    from deliberation.errors import DeliberationError

    with pytest.raises(DeliberationError) as caught:
        _load_and_check(path)
    assert str(caught.value) == f"{path}: {EXPECTED[name]}"


def test_the_good_fixture_round_trips_byte_for_byte(minimal_path: Path, tmp_path: Path) -> None:
    original = json.loads(minimal_path.read_text())
    review = _load_and_check(minimal_path)
    assert review_to_data(review) == original
    save_review(review, tmp_path / "review.json")
    assert load_review(tmp_path / "review.json") == review
    # Saving what was loaded from our own output changes nothing.
    first = (tmp_path / "review.json").read_bytes()
    save_review(load_review(tmp_path / "review.json"), tmp_path / "review.json")
    assert (tmp_path / "review.json").read_bytes() == first


def test_unknown_fields_survive_a_round_trip(minimal_path: Path) -> None:
    data = json.loads(minimal_path.read_text())
    data["x_ticket"] = "REL-42"
    data["items"][0]["x_owner_team"] = "edu"
    review = parse_review(data)
    assert review_to_data(review) == data


@settings(max_examples=60, deadline=None)
@given(reviews())
def test_save_load_round_trip(review: Review) -> None:
    text = dumps_review(review)
    again = parse_review(json.loads(text))
    assert again == review
    assert dumps_review(again) == text


def test_latest_round_wins(minimal_path: Path) -> None:
    data = json.loads(minimal_path.read_text())
    data["estimates"].append(
        {"item": "phishing", "participant": "ben", "round": 2, "likelihood": 0.3, "impact": 900}
    )
    review = parse_review(data)
    latest = {(e.item, e.participant): e for e in review.latest_estimates()}
    assert latest["phishing", "ben"].round == 2
    assert latest["phishing", "ben"].likelihood == 0.3
    assert len(review.estimates) == 4  # the earlier round stays in the record


def test_unestimated_items_are_listed(minimal_path: Path) -> None:
    data = json.loads(minimal_path.read_text())
    data["items"].append({"id": "spam", "kind": "harm", "title": "Spam"})
    assert parse_review(data).unestimated_items() == ["spam"]


def test_assignment_is_validated_too(minimal_path: Path) -> None:
    review = load_review(minimal_path)
    with pytest.raises(ValueError, match="probability between 0 and 1"):
        review.estimates[0].likelihood = (0.2, 1.5)
    assert review.estimates[0].likelihood == (0.6, 0.9)


def test_save_is_atomic_under_sigkill(minimal_path: Path, tmp_path: Path) -> None:
    """A writer killed at random moments never leaves a torn or unparsable review.json."""
    target = tmp_path / "review.json"
    save_review(load_review(minimal_path), target)
    script = (
        "import sys\n"
        "from deliberation.review.model import load_review, save_review\n"
        "review = load_review(sys.argv[1])\n"
        "print('ready', flush=True)\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        "    review.title = f'Release review, save {i} ' + 'x' * (i % 5000)\n"
        "    save_review(review, sys.argv[1])\n"
    )
    for delay in (0.05, 0.11, 0.17, 0.23, 0.31):
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        review = load_review(target)  # parses: old or new bytes, never half
        assert review.title.startswith("Release review")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "review.json"]
    # A kill between mkstemp and rename may leave one hidden temp file; it is never
    # mistaken for the review and the next save proceeds.
    assert all(name.startswith(".review.json.") for name in leftovers)


def test_save_gives_a_new_file_the_umask_mode_and_keeps_an_existing_mode(
    minimal_path: Path, tmp_path: Path
) -> None:
    old = os.umask(0o022)
    try:
        save_review(load_review(minimal_path), tmp_path / "review.json")
    finally:
        os.umask(old)
    assert (tmp_path / "review.json").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    (tmp_path / "review.json").chmod(0o640)
    save_review(load_review(minimal_path), tmp_path / "review.json")
    assert (tmp_path / "review.json").stat().st_mode & 0o777 == 0o640
