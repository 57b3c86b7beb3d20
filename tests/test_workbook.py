"""The workbook without a browser: set widget values as a user would, check review.json."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from deliberation.errors import ConcurrentEdit, ReviewInvalid
from deliberation.numbers import percent, percentage_points, plus_minus
from deliberation.record.mode import RecordMode
from deliberation.workbook.fields import format_quantity, parse_quantity
from deliberation.workbook.session import ReviewSession
from deliberation.workbook.workbook import Workbook

REVIEW = Path(__file__).parent / "data" / "workbook" / "review.json"
LIKELIHOOD_LABELS = ["rare", "unlikely", "possible", "likely", "almost certain"]


@pytest.fixture
def review_path(tmp_path: Path) -> Path:
    path = tmp_path / "review.json"
    shutil.copyfile(REVIEW, path)
    return path


@pytest.fixture
def wb(review_path: Path) -> Workbook:
    return Workbook.open(review_path, debounce=0)


def on_disk(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def find_all(root: Any, css: str) -> list[Any]:
    return [w for w in walk(root) if css in getattr(w, "_dom_classes", ())]


def find(root: Any, css: str, index: int = 0) -> Any:
    found = find_all(root, css)
    assert len(found) > index, f"no widget with class {css} (found {len(found)})"
    return found[index]


def click(button: Any) -> None:
    button.click()


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("typed", "kind", "stored"),
    [
        ("0.05 to 0.2", "likelihood", (0.05, 0.2)),
        ("[0.05, 0.2]", "likelihood", (0.05, 0.2)),
        ("5% to 20%", "likelihood", (0.05, 0.2)),
        ("0.05-0.2", "likelihood", (0.05, 0.2)),
        ("Likely", "likelihood", "likely"),
        ("0.3", "likelihood", 0.3),
        ("50 to 2000", "impact", (50, 2000)),
        ("300", "impact", 300),
        ("1e3 to 2e4", "impact", (1000.0, 20000.0)),
        ("0.3 to 0.6", "factor", (0.3, 0.6)),
        ("", "impact", None),
    ],
)
def test_parse_quantity_reads_what_people_type(typed: str, kind: Any, stored: Any) -> None:
    labels = LIKELIHOOD_LABELS if kind == "likelihood" else []
    assert parse_quantity(typed, kind, labels) == stored


@pytest.mark.parametrize(
    ("typed", "kind", "message"),
    [
        ("1.5", "likelihood", "between 0 and 1"),
        ("0.2 to 1.2", "likelihood", "between 0 and 1"),
        ("0.5 to 0.1", "likelihood", "low <= high"),
        ("-5", "impact", "positive"),
        ("lots", "impact", "cannot read 'lots'"),
        ("50%", "impact", "percentage"),
        ("-1", "factor", "0 or more"),
        ("nan", "likelihood", "cannot read"),
    ],
)
def test_parse_quantity_refuses_rather_than_clamps(typed: str, kind: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_quantity(typed, kind, LIKELIHOOD_LABELS)


@pytest.mark.parametrize("value", [(0.05, 0.2), 0.1, "likely", (50, 2000), (1e-05, 0.001)])
def test_format_then_parse_round_trips(value: Any) -> None:
    kind = "likelihood" if not isinstance(value, tuple) or value[1] <= 1 else "impact"
    assert parse_quantity(format_quantity(value, kind), kind, LIKELIHOOD_LABELS) == value


# --------------------------------------------------------------------------- autosave


def test_editing_the_title_saves_review_json(wb: Workbook, review_path: Path) -> None:
    step = wb.setup()
    find(step, "dl-title").value = "Release review: t2i-small, second look"
    assert on_disk(review_path)["title"] == "Release review: t2i-small, second look"


def test_every_field_of_setup_autosaves(wb: Workbook, review_path: Path) -> None:
    step = wb.setup()
    find(step, "dl-subject-name").value = "t2i-large"
    find(step, "dl-subject-version").value = "2.1"
    find(step, "dl-horizon").value = "6 months"
    data = on_disk(review_path)
    assert data["subject"] == {"name": "t2i-large", "version": "2.1"}
    assert data["horizon"] == "6 months"


def test_add_rename_and_remove_participants(wb: Workbook, review_path: Path) -> None:
    step = wb.setup()
    find(step, "dl-new-participant-name").value = "Chen Wei"
    find(step, "dl-new-participant-role").value = "legal"
    click(find(step, "dl-add-participant"))
    people = on_disk(review_path)["participants"]
    assert people[-1] == {"id": "chen", "name": "Chen Wei", "role": "legal"}
    # The step rebuilt: the new participant has a row whose name can be edited.
    find(step, "dl-participant-name", 2).value = "Chen Wei-Ling"
    assert on_disk(review_path)["participants"][2]["name"] == "Chen Wei-Ling"
    click(find(step, "dl-remove-participant", 2))
    assert [p["id"] for p in on_disk(review_path)["participants"]] == ["ana", "ben"]


def test_removing_a_participant_with_estimates_is_refused(wb: Workbook, review_path: Path) -> None:
    before = review_path.read_bytes()
    step = wb.setup()
    click(find(step, "dl-remove-participant", 0))
    assert "2 estimates" in find(step, "dl-remove-participant-error", 0).value
    assert review_path.read_bytes() == before


def test_an_empty_title_is_shown_at_the_field_and_not_saved(wb: Workbook,
                                                            review_path: Path) -> None:
    before = review_path.read_bytes()
    step = wb.setup()
    title = find(step, "dl-title")
    title.value = ""
    assert "cannot be empty" in find(step, "dl-title-error").value
    assert "dl-invalid" in title._dom_classes
    assert title.value == ""  # what was typed stays visible
    assert review_path.read_bytes() == before
    title.value = "Fixed"
    assert find(step, "dl-title-error").value == ""
    assert "dl-invalid" not in title._dom_classes
    assert on_disk(review_path)["title"] == "Fixed"


def test_add_edit_and_remove_a_harm(wb: Workbook, review_path: Path) -> None:
    step = wb.harms()
    find(step, "dl-new-harm-title").value = "Non-consensual imagery"
    find(step, "dl-new-harm-category").value = "sexual-content"
    click(find(step, "dl-add-harm"))
    item = on_disk(review_path)["items"][-1]
    assert item == {"id": "non-consensual-imagery", "kind": "harm",
                    "title": "Non-consensual imagery", "category": "sexual-content"}
    # The category's guiding questions are shown beside the new card.
    card = find(step, "dl-harm-card", 1)
    assert "Sexual" in find(card, "dl-questions").value
    find(card, "dl-harm-description").value = "explicit images of real people"
    find(card, "dl-harm-references").value = "MAP 4.1, GOVERN 6.1"
    item = on_disk(review_path)["items"][-1]
    assert item["description"] == "explicit images of real people"
    assert item["references"] == ["MAP 4.1", "GOVERN 6.1"]
    click(find(card, "dl-remove-harm"))
    assert [i["id"] for i in on_disk(review_path)["items"]] == ["education", "deepfakes"]
    assert on_disk(review_path)["removed"][0]["item"]["id"] == "non-consensual-imagery"


def test_a_harm_without_a_title_is_not_added(wb: Workbook, review_path: Path) -> None:
    before = review_path.read_bytes()
    step = wb.harms()
    click(find(step, "dl-add-harm"))
    assert "cannot be empty" in find(step, "dl-add-harm-error").value
    assert review_path.read_bytes() == before


def test_a_category_of_the_wrong_kind_is_not_offered(wb: Workbook) -> None:
    step = wb.benefits()
    options = [value for _, value in find(step, "dl-new-benefit-category").options]
    assert "education" in options
    assert "disinformation" not in options


def test_removing_the_only_target_of_a_mitigation_is_refused(wb: Workbook,
                                                            review_path: Path) -> None:
    before = review_path.read_bytes()
    step = wb.harms()
    click(find(step, "dl-remove-harm"))
    shown = find(step, "dl-harm-remove-error").value
    assert "mitigation &#34;Prompt filter for real people&#39;s names&#34; targets only this " \
        "harm" in shown
    assert review_path.read_bytes() == before


# --------------------------------------------------------------------------- estimates


def _estimate(data: dict[str, Any], item: str, who: str, round_: int = 1) -> dict[str, Any]:
    return next(e for e in data["estimates"]
                if (e["item"], e["participant"], e.get("round", 1)) == (item, who, round_))


def test_entering_an_estimate_saves_it(wb: Workbook, review_path: Path) -> None:
    step = wb.estimates()
    find(step, "dl-likelihood-deepfakes").value = "0.1 to 0.3"
    find(step, "dl-impact-deepfakes").value = "severe"
    find(step, "dl-rationale-deepfakes").value = "filters exist elsewhere"
    estimate = _estimate(on_disk(review_path), "deepfakes", "ana")
    assert estimate["likelihood"] == [0.1, 0.3]
    assert estimate["impact"] == "severe"
    assert estimate["rationale"] == "filters exist elsewhere"


def test_each_estimate_field_says_how_it_read_the_entry_and_what_it_implies(
        wb: Workbook, review_path: Path) -> None:
    step = wb.estimates()
    row = find(step, "dl-estimate-row", 1)
    find(step, "dl-likelihood-deepfakes").value = "5 to 20%"
    find(step, "dl-impact-deepfakes").value = "2k to 20k"
    assert _estimate(on_disk(review_path), "deepfakes", "ana")["impact"] == [2000, 20000]
    likelihood = find(row, "dl-likelihood-error").value
    assert "read as 5% to 20%" in likelihood
    assert "you say 1 in 20 to 1 in 5" in likelihood  # SHELF-style feedback
    assert "dl-invalid" not in find(step, "dl-likelihood-deepfakes")._dom_classes
    impact = find(row, "dl-impact-error").value
    assert "read as 2,000 to 20,000" in impact
    assert "median about 6,320" in impact  # sqrt(2000 * 20000) = 6325, 3 figures
    find(step, "dl-likelihood-deepfakes").value = "Likely"
    assert "likely = 50% to 90%" in find(row, "dl-likelihood-error").value
    find(step, "dl-likelihood-deepfakes").value = "10%"
    assert "a single number says you are certain" in find(row, "dl-likelihood-error").value


def test_an_invalid_likelihood_is_shown_and_nothing_is_saved(wb: Workbook,
                                                            review_path: Path) -> None:
    before = review_path.read_bytes()
    step = wb.estimates()
    field = find(step, "dl-likelihood-deepfakes")
    field.value = "0.2 to 1.4"
    row = find(step, "dl-estimate-row", 1)
    assert "expected a probability between 0 and 1" in find(row, "dl-likelihood-error").value
    assert "dl-invalid" in field._dom_classes
    assert field.value == "0.2 to 1.4"
    assert review_path.read_bytes() == before
    # An unrelated change is saved while the invalid text stays in its field.
    find(step, "dl-rationale-deepfakes").value = "checked twice"
    assert field.value == "0.2 to 1.4"
    assert _estimate(on_disk(review_path), "deepfakes", "ana")["likelihood"] == [0.2, 0.6]


def test_a_new_estimate_waits_for_both_numbers(wb: Workbook, review_path: Path) -> None:
    step = wb.harms()
    find(step, "dl-new-harm-title").value = "Style theft"
    click(find(step, "dl-add-harm"))
    estimates = wb.estimates()
    find(estimates, "dl-likelihood-style-theft").value = "possible"
    assert not [e for e in on_disk(review_path)["estimates"] if e["item"] == "style-theft"]
    find(estimates, "dl-impact-style-theft").value = "10 to 100"
    assert _estimate(on_disk(review_path), "style-theft", "ana")["impact"] == [10, 100]


def test_each_participant_estimates_in_turn(wb: Workbook, review_path: Path) -> None:
    step = wb.estimates()
    find(step, "dl-estimator").value = "ben"
    assert find(step, "dl-impact-deepfakes").value == "severe"  # Ben's, not Ana's
    find(step, "dl-likelihood-deepfakes").value = "unlikely"
    assert _estimate(on_disk(review_path), "deepfakes", "ben")["likelihood"] == "unlikely"
    assert _estimate(on_disk(review_path), "deepfakes", "ana")["likelihood"] == [0.2, 0.6]


def test_switching_participant_never_drops_an_unsaved_entry(wb: Workbook,
                                                            review_path: Path) -> None:
    step = wb.estimates()
    find(step, "dl-likelihood-deepfakes").value = "0.4 to 1.3"  # invalid: not saved
    find(step, "dl-estimator").value = "ben"
    # still Ana's page, with her entry and a line saying what is pending
    assert find(step, "dl-estimator").value == "ana"
    assert find(step, "dl-likelihood-deepfakes").value == "0.4 to 1.3"
    message = find(step, "dl-switch-error").value
    assert "Not switched" in message
    assert "0.4 to 1.3" in message
    # corrected, the switch goes through and the message is gone
    find(step, "dl-likelihood-deepfakes").value = "0.4 to 0.6"
    find(step, "dl-estimator").value = "ben"
    assert find(step, "dl-estimator").value == "ben"
    assert find(step, "dl-switch-error").value == ""
    assert _estimate(on_disk(review_path), "deepfakes", "ana")["likelihood"] == [0.4, 0.6]


def test_blind_rounds_hide_numbers_until_revealed(wb: Workbook, review_path: Path) -> None:
    step = wb.estimates()
    table = find(step, "dl-estimates-table")
    # the table is the record's estimates partial, in the record's words
    assert "20% to 60%" in table.value  # estimates made before the workbook: nothing hidden
    click(find(step, "dl-hide"))
    assert "entered (hidden)" in table.value
    assert "20% to 60%" not in table.value
    click(find(step, "dl-reveal"))
    assert "20% to 60%" in table.value
    assert on_disk(review_path)["elicitation"]["revealed"] == [1]
    click(find(step, "dl-next-round"))
    click(find(step, "dl-next-round-confirm"))
    assert "Round 2" in find(step, "dl-round").value
    # Round 2 starts empty for everyone, with the round-1 answer as a hint.
    assert find(step, "dl-likelihood-deepfakes").value == ""
    assert "round 1: likelihood 20% to 60%" in find(step, "dl-estimate-row", 1).children[1].value
    find(step, "dl-likelihood-deepfakes").value = "0.3 to 0.5"
    find(step, "dl-impact-deepfakes").value = "1000 to 10000"
    data = on_disk(review_path)
    assert _estimate(data, "deepfakes", "ana", 1)["likelihood"] == [0.2, 0.6]
    assert _estimate(data, "deepfakes", "ana", 2)["likelihood"] == [0.3, 0.5]
    assert "round 1: 20% to 60%" in table.value  # earlier rounds stay visible
    assert "30% to 50%" not in table.value  # the new round is blind again


# --------------------------------------------------------------------------- mitigations


def test_mitigation_fields_autosave_and_refuse_bad_factors(wb: Workbook,
                                                          review_path: Path) -> None:
    step = wb.mitigations()
    factor = find(step, "dl-mitigation-likelihood-factor")
    factor.value = "0.2 to 0.5"
    find(step, "dl-mitigation-owner").value = "ben"
    find(step, "dl-mitigation-status").value = "in-progress"
    mitigation = on_disk(review_path)["mitigations"][0]
    assert mitigation["likelihood_factor"] == [0.2, 0.5]
    assert (mitigation["owner"], mitigation["status"]) == ("ben", "in-progress")
    before = review_path.read_bytes()
    factor.value = "-0.5"
    assert "0 or more" in find(step, "dl-mitigation-likelihood-factor-error").value
    find(step, "dl-mitigation-targets").value = ()
    assert "at least one target" in find(step, "dl-mitigation-targets-error").value
    assert review_path.read_bytes() == before


def test_the_mitigations_step_shows_shared_drivers_read_only(review_path: Path) -> None:
    assert not find_all(Workbook.open(review_path, debounce=0).mitigations(), "dl-drivers")
    data = on_disk(review_path)
    data["drivers"] = [{"id": "hype", "title": "Hype <b>cycle</b>",
                        "items": ["education", "deepfakes"], "strength": "moderate"}]
    review_path.write_text(json.dumps(data), encoding="utf-8")
    shown = find(Workbook.open(review_path, debounce=0).mitigations(), "dl-drivers").value
    assert "<b>Hype &lt;b&gt;cycle&lt;/b&gt;</b>" in shown
    titles = {i["id"]: i["title"] for i in data["items"]}
    assert f"{titles['education']}, {titles['deepfakes']}" in shown
    assert "moderate (rank correlation 0.6)" in shown
    assert on_disk(review_path)["drivers"] == data["drivers"]  # read-only: nothing rewritten


def test_variants_are_sets_of_mitigations(wb: Workbook, review_path: Path) -> None:
    step = wb.mitigations()
    find(step, "dl-new-mitigation-title").value = "Provenance watermark"
    find(step, "dl-new-mitigation-targets").value = ("deepfakes",)
    click(find(step, "dl-add-mitigation"))
    find(step, "dl-new-variant-title").value = "API, filtered and watermarked"
    click(find(step, "dl-add-variant"))
    find(step, "dl-variant-mitigations", 2).value = ("prompt-filter", "provenance-watermark")
    data = on_disk(review_path)
    assert data["variants"][2] == {"id": "api-filtered-and-watermarked",
                                   "title": "API, filtered and watermarked",
                                   "mitigations": ["prompt-filter", "provenance-watermark"]}
    click(find(step, "dl-remove-mitigation", 1))
    assert on_disk(review_path)["variants"][2]["mitigations"] == ["prompt-filter"]
    # Removal is soft: restoring puts the mitigation back in the variant it was in.
    click(find(step, "dl-restore-mitigation"))
    assert on_disk(review_path)["variants"][2]["mitigations"] == ["prompt-filter",
                                                                  "provenance-watermark"]


# --------------------------------------------------------------------------- decision


def test_decision_is_recorded_with_signoffs(wb: Workbook, review_path: Path) -> None:
    step = wb.decision()
    find(step, "dl-decision-rationale").value = "too early"
    assert "pick the outcome first" in find(step, "dl-decision-rationale-error").value
    assert "decision" not in on_disk(review_path)
    find(step, "dl-outcome").value = "approve-with-conditions"
    find(step, "dl-decision-variant").value = "api-filtered"
    find(step, "dl-decision-rationale").value = "The filter halves the risk."
    find(step, "dl-decision-conditions").value = "filter live before launch\n\nreview in 3 months"
    find(step, "dl-decision-dissent").value = "Ben: the filter is easy to evade"
    find(step, "dl-signoff", 0).value = True
    decision = on_disk(review_path)["decision"]
    assert decision["outcome"] == "approve-with-conditions"
    assert decision["variant"] == "api-filtered"
    assert decision["rationale"] == "The filter halves the risk."
    assert decision["conditions"] == ["filter live before launch", "review in 3 months"]
    assert decision["dissent"] == ["Ben: the filter is easy to evade"]
    assert [s["participant"] for s in decision["signoffs"]] == ["ana"]
    find(step, "dl-signoff", 0).value = False
    assert on_disk(review_path)["decision"]["signoffs"] == []


# --------------------------------------------------------------------------- reopening


def test_reopening_restores_everything_entered(review_path: Path) -> None:
    first = Workbook.open(review_path, debounce=0)
    setup, harms, estimates = first.setup(), first.harms(), first.estimates()
    find(setup, "dl-horizon").value = "18 months"
    find(harms, "dl-new-harm-title").value = "Harassment of artists"
    click(find(harms, "dl-add-harm"))
    find(estimates, "dl-likelihood-harassment-of-artists").value = "5% to 25%"
    find(estimates, "dl-impact-harassment-of-artists").value = "moderate"
    find(estimates, "dl-rationale-harassment-of-artists").value = "happened to v1"

    again = Workbook.open(review_path, debounce=0)
    assert find(again.setup(), "dl-horizon").value == "18 months"
    assert find(again.harms(), "dl-harm-title", 1).value == "Harassment of artists"
    step = again.estimates()
    assert find(step, "dl-likelihood-harassment-of-artists").value == "5% to 25%"
    assert find(step, "dl-impact-harassment-of-artists").value == "moderate"
    assert find(step, "dl-rationale-harassment-of-artists").value == "happened to v1"


def test_two_views_of_one_step_stay_in_step(wb: Workbook) -> None:
    notebook_cell, tab = wb.setup(), wb.app()
    find(notebook_cell, "dl-horizon").value = "two years"
    assert find(tab, "dl-horizon").value == "two years"


# --------------------------------------------------------------------------- conflicts


def test_two_workbooks_on_one_file_keep_both_edits(review_path: Path) -> None:
    # Both write through the store beside review.json: the second edit is applied to
    # the review the first left, never instead of it.
    # (in one process here: replace=False keeps the first, as two kernels would)
    mine = Workbook.open(review_path, debounce=0, replace=False)
    theirs = Workbook.open(review_path, debounce=0, replace=False)
    mine_setup, their_setup = mine.setup(), theirs.setup()
    find(their_setup, "dl-horizon").value = "their horizon"
    find(mine_setup, "dl-subject-version").value = "9"
    assert on_disk(review_path)["horizon"] == "their horizon"
    assert on_disk(review_path)["subject"]["version"] == "9"
    assert "dl-conflict" not in find(mine_setup, "dl-status")._dom_classes
    # Each workbook follows the store: theirs shows my edit once it refreshes.
    assert theirs.session.refresh()
    assert find(their_setup, "dl-subject-version").value == "9"
    assert not mine.session.refresh()  # my edit was applied on top of theirs: it has it
    assert find(mine_setup, "dl-horizon").value == "their horizon"


def test_a_hand_edit_is_refused_until_reloaded_or_saved_as_a_copy(review_path: Path) -> None:
    mine = Workbook.open(review_path, debounce=0)
    mine_setup = mine.setup()
    data = on_disk(review_path)
    data["horizon"] = "edited by hand"
    review_path.write_text(json.dumps(data), encoding="utf-8")
    find(mine_setup, "dl-horizon").value = "my horizon"
    assert on_disk(review_path)["horizon"] == "edited by hand"
    status = find(mine_setup, "dl-status")
    assert "changed elsewhere since this workbook loaded it" in status.value
    assert "dl-conflict" in status._dom_classes
    # Later edits are refused too until the conflict is resolved.
    find(mine_setup, "dl-subject-version").value = "9"
    assert on_disk(review_path)["subject"]["version"] == "1.0"
    click(find(mine_setup, "dl-save-copy"))
    copies = list(review_path.parent.glob("review.copy-*.json"))
    assert len(copies) == 1
    assert on_disk(copies[0])["horizon"] == "my horizon"
    assert on_disk(copies[0])["subject"]["version"] == "9"
    assert on_disk(review_path)["horizon"] == "edited by hand"


def test_reload_resolves_a_conflict(review_path: Path) -> None:
    mine = Workbook.open(review_path, debounce=0)
    setup = mine.setup()
    data = on_disk(review_path)
    data["horizon"] = "edited by hand"
    review_path.write_text(json.dumps(data), encoding="utf-8")
    find(setup, "dl-title").value = "mine"
    assert on_disk(review_path)["title"] != "mine"
    click(find(setup, "dl-reload"))
    assert find(setup, "dl-horizon").value == "edited by hand"
    assert "dl-conflict" not in find(setup, "dl-status")._dom_classes
    find(setup, "dl-title").value = "mine, after reloading"
    assert on_disk(review_path)["title"] == "mine, after reloading"
    assert on_disk(review_path)["horizon"] == "edited by hand"


def test_session_raises_concurrent_edit(review_path: Path) -> None:
    session = ReviewSession(review_path)
    review_path.write_text(review_path.read_text() + " ", encoding="utf-8")
    with pytest.raises(ConcurrentEdit, match="reload or save as a copy"):
        session.edit(lambda data: data.update(horizon="x"))


def test_session_refuses_a_label_the_template_lacks(review_path: Path) -> None:
    session = ReviewSession(review_path)
    before = review_path.read_bytes()

    def change(data: dict[str, Any]) -> None:
        data["estimates"][0]["likelihood"] = "probable"

    with pytest.raises(ReviewInvalid, match="one of rare, unlikely"):
        session.edit(change)
    assert review_path.read_bytes() == before


def test_switching_to_a_template_without_the_categories_is_refused(wb: Workbook,
                                                                   review_path: Path) -> None:
    before = review_path.read_bytes()
    step = wb.setup()
    find(step, "dl-template").value = "nist-ai-rmf"
    error = find(step, "dl-template-error").value
    assert "categor" in error or "template" in error
    assert review_path.read_bytes() == before


# --------------------------------------------------------------------------- live analysis


def test_tradeoff_numbers_and_chart_follow_an_estimate(wb: Workbook) -> None:
    tradeoffs = wb.tradeoffs()
    numbers, chart = find(tradeoffs, "dl-tradeoff-numbers"), find(tradeoffs, "dl-tradeoff-chart")
    assert "API with filters" in numbers.value
    assert "<svg" in chart.value
    before_numbers, before_chart = numbers.value, chart.value
    before_bad = wb.live().analysis.variants["open-weights"].p_extreme_bad
    estimates = wb.estimates()
    find(estimates, "dl-impact-deepfakes").value = "20000 to 200000"
    after_bad = wb.live().analysis.variants["open-weights"].p_extreme_bad
    assert after_bad > before_bad + 0.05  # a ten times larger harm: far more extreme outcomes
    assert numbers.value != before_numbers
    assert chart.value != before_chart
    assert percent(after_bad) in numbers.value


def test_tradeoff_charts_are_the_records_and_the_rest_draw_when_opened(wb: Workbook) -> None:
    tradeoffs = wb.tradeoffs()
    assert 'id="chart-tails"' in find(tradeoffs, "dl-tradeoff-chart").value
    assert 'id="chart-net-value"' in find(tradeoffs, "dl-tradeoff-net-value").value
    more = find(tradeoffs, "dl-tradeoff-more")
    tornado = find(tradeoffs, "dl-chart-tornado")
    assert more.selected_index is None
    assert tornado.value == ""  # closed: not drawn
    from deliberation.workbook.steps.tradeoffs import MORE_CHARTS

    panel = [name for name, _ in MORE_CHARTS]
    more.selected_index = panel.index("tornado")
    assert 'id="chart-tornado"' in tornado.value
    assert "<svg" in tornado.value
    before = tornado.value
    find(wb.estimates(), "dl-impact-deepfakes").value = "20000 to 200000"
    assert tornado.value != before  # open: follows the edits
    risk = find(tradeoffs, "dl-chart-risk-matrix")
    assert risk.value == ""
    more.selected_index = panel.index("risk_matrix")
    assert 'id="chart-risk-matrix"' in risk.value


def test_live_analysis_keeps_a_draw_cache(wb: Workbook) -> None:
    live = wb.live()
    assert len(live.cache) > 0
    before = live.analysis.variants["open-weights"].mean
    find(wb.estimates(), "dl-impact-deepfakes").value = "20000 to 200000"
    assert live.analysis.variants["open-weights"].mean < before


def test_tradeoffs_show_what_a_modification_changes(wb: Workbook) -> None:
    tradeoffs = wb.tradeoffs()
    find(tradeoffs, "dl-compare-from").value = "open-weights"
    find(tradeoffs, "dl-compare-to").value = "api-filtered"
    analysis = wb.live().analysis
    change = (analysis.variants["api-filtered"].p_extreme_bad
              - analysis.variants["open-weights"].p_extreme_bad)
    assert change < 0  # the prompt filter cuts the likelihood of the harm
    assert percentage_points(change) in find(tradeoffs, "dl-tradeoff-compare").value
    assert "Deceptive images" in find(tradeoffs, "dl-tradeoff-sensitivity").value
    assert "Deceptive images" in find(tradeoffs, "dl-tradeoff-disagreement").value
    # what is worth investigating: the analysis' own ranked sentences' numbers, as the record
    voi = analysis.value_of_information
    assert voi is not None
    information = find(tradeoffs, "dl-tradeoff-information").value
    assert plus_minus(voi.evpi, voi.evpi_se) in information
    assert plus_minus(voi.entries[0].evppi, voi.entries[0].evppi_se) in information


def test_policy_gates_update_live_with_their_clauses(wb: Workbook) -> None:
    policy = wb.policy()
    table = find(policy, "dl-policy-table")
    assert "decision-recorded" in table.value
    assert 'class="gate-fail" data-gate="decision-recorded"' in table.value
    decision = wb.decision()
    find(decision, "dl-outcome").value = "approve"
    find(decision, "dl-decision-rationale").value = "benefits clearly outweigh"
    assert 'class="gate-pass" data-gate="decision-recorded"' in table.value
    gates = {gate.id: gate for gate in wb.live().gates}
    assert gates["decision-recorded"].clause in table.value


def test_an_analysis_error_is_shown_not_hidden(wb: Workbook) -> None:
    tradeoffs = wb.tradeoffs()
    step = wb.estimates()
    for who in ("ana", "ben"):
        find(step, "dl-estimator").value = who
        for item in ("education", "deepfakes"):
            find(step, f"dl-likelihood-{item}").value = ""
            find(step, f"dl-impact-{item}").value = ""
    assert wb.session.review.estimates == []
    assert "No numbers yet" in find(tradeoffs, "dl-tradeoff-numbers").value or \
        "not estimated" in find(tradeoffs, "dl-tradeoff-notes").value.lower()


# --------------------------------------------------------------------------- record mode


def test_record_mode_renders_static_html(review_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    mode = RecordMode(review=review_path, seed=0, samples=2000)
    monkeypatch.setenv(*mode.to_env().popitem())
    wb = Workbook.open(review_path.parent.parent)  # the mode names the review
    assert wb.record
    setup = wb.setup()
    assert "Release review: small text-to-image model" in setup.data
    tradeoffs = wb.tradeoffs().data
    assert "<svg" in tradeoffs
    assert "<script" not in tradeoffs
    assert "decision" in wb.decision().data.lower()
    assert "Deceptive images of real people" in wb.harms().data
    assert wb.benefits().data == ""  # the register is shown once, by the first step asking


def test_a_category_can_be_set_aside_with_a_reason(wb: Workbook, review_path: Path) -> None:
    step = wb.harms()
    click(find(step, "dl-not-applicable-privacy"))
    assert "cannot be empty" in find(step, "dl-not-applicable-error-privacy").value
    assert "not_applicable" not in on_disk(review_path)
    find(step, "dl-not-applicable-reason-privacy").value = "trained on licensed stock only"
    click(find(step, "dl-not-applicable-privacy"))
    assert on_disk(review_path)["not_applicable"] == [
        {"category": "privacy", "reason": "trained on licensed stock only"}]
    assert not find_all(step, "dl-not-applicable-privacy")
    click(find(step, "dl-undo-not-applicable"))
    assert on_disk(review_path)["not_applicable"] == []


def test_typing_a_list_keeps_the_newline_under_the_cursor(wb: Workbook,
                                                         review_path: Path) -> None:
    step = wb.decision()
    find(step, "dl-outcome").value = "defer"
    conditions = find(step, "dl-decision-conditions")
    conditions.value = "first condition\n"
    assert conditions.value == "first condition\n"
    assert on_disk(review_path)["decision"]["conditions"] == ["first condition"]


def test_a_review_without_elicitation_state_continues_its_latest_round(
        review_path: Path) -> None:
    data = on_disk(review_path)
    data["estimates"].append({"item": "deepfakes", "participant": "ben", "round": 2,
                              "likelihood": "unlikely", "impact": "major"})
    review_path.write_text(json.dumps(data), encoding="utf-8")
    step = Workbook.open(review_path, debounce=0).estimates()
    assert "Round 2" in find(step, "dl-round").value
    assert "round 2: unlikely × major" in find(step, "dl-estimates-table").value  # not hidden


def test_a_fresh_review_starts_blind(review_path: Path) -> None:
    data = on_disk(review_path)
    data["estimates"] = []
    review_path.write_text(json.dumps(data), encoding="utf-8")
    wb = Workbook.open(review_path, debounce=0)
    step = wb.estimates()
    find(step, "dl-likelihood-deepfakes").value = "0.1"
    find(step, "dl-impact-deepfakes").value = "100"
    assert "entered (hidden)" in find(step, "dl-estimates-table").value


# --------------------------------------------------------------------------- export


def test_export_writes_a_record_and_shows_its_head(review_path: Path, tmp_path: Path) -> None:
    shutil.copyfile(Path(__file__).parents[1] / "workbooks" / "release_review.ipynb",
                    review_path.parent / "release_review.ipynb")
    wb = Workbook.open(review_path, debounce=0)
    step = wb.export(archive=tmp_path / "archive")
    click(find(step, "dl-export"))
    shown = find(step, "dl-export-result").value
    head = (tmp_path / "archive" / "HEAD").read_text(encoding="utf-8").strip()
    records = list((tmp_path / "archive" / "records").iterdir())
    assert len(records) == 1
    assert head in shown
    assert records[0].name in shown
    assert (records[0] / "record.html").is_file()
    # A link to the page, relative to the notebook's folder, that points at the file.
    link = re.search(r'<a class="dl-record-link" href="([^"]+)"', shown)
    assert link is not None
    assert (review_path.parent / unquote(link.group(1))).resolve() == (
        records[0] / "record.html").resolve()
    # The executed workbook rendered every step statically, without widgets.
    notebook = json.loads((records[0] / "review.ipynb").read_text(encoding="utf-8"))
    outputs = [o for cell in notebook["cells"] for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in
                o.get("data", {})]
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "Deceptive images of real people" in html
    assert "<svg" in html


def test_export_refuses_while_a_conflict_is_unresolved(review_path: Path,
                                                       tmp_path: Path) -> None:
    wb = Workbook.open(review_path, debounce=0)
    setup, step = wb.setup(), wb.export(archive=tmp_path / "archive")
    review_path.write_text(review_path.read_text() + "\n", encoding="utf-8")
    find(setup, "dl-horizon").value = "changed here too"
    click(find(step, "dl-export"))
    assert "changed elsewhere" in find(step, "dl-export-result").value
    assert not (tmp_path / "archive" / "HEAD").exists()


def test_chosen_targets_are_named_above_the_list(wb: Workbook) -> None:
    step = wb.mitigations()
    summary = find(step, "dl-mitigation-targets-summary")
    assert "Deceptive images of real people" in summary.value
    find(step, "dl-mitigation-targets").value = ("education", "deepfakes")
    assert "Illustrations for teaching material, Deceptive images" in summary.value
    assert "Prompt filter" in find(step, "dl-variant-mitigations-summary", 1).value


def test_typing_a_title_does_not_rebuild_the_form_under_the_cursor(wb: Workbook,
                                                                   review_path: Path) -> None:
    mitigations, estimates = wb.mitigations(), wb.estimates()
    title = find(mitigations, "dl-mitigation-title")
    row = find(estimates, "dl-estimate-row", 1)
    title.value = "Prompt filter for names of real people"
    assert find(mitigations, "dl-mitigation-title") is title  # same widget: focus stays
    variant_choices = find(mitigations, "dl-variant-mitigations", 1)
    assert variant_choices.options == (("Prompt filter for names of real people",
                                        "prompt-filter"),)
    assert variant_choices.value == ("prompt-filter",)
    assert on_disk(review_path)["variants"][1]["mitigations"] == ["prompt-filter"]
    find(wb.harms(), "dl-harm-title").value = "Deceptive images of politicians"
    assert find(estimates, "dl-estimate-row", 1) is row
    assert "Deceptive images of politicians" in find(row, "dl-estimate-title").value


def test_a_suggested_mitigation_brings_its_factors(wb: Workbook, review_path: Path) -> None:
    step = wb.mitigations()
    suggestion = wb.session.template.suggested_mitigations[0]
    find(step, "dl-suggested-mitigation").value = suggestion.id
    assert find(step, "dl-new-mitigation-title").value == suggestion.title
    find(step, "dl-new-mitigation-targets").value = ("deepfakes",)
    click(find(step, "dl-add-mitigation"))
    added = on_disk(review_path)["mitigations"][-1]
    assert added["title"] == suggestion.title
    factor = suggestion.likelihood_factor
    assert added["likelihood_factor"] == (list(factor) if isinstance(factor, tuple) else factor)


def test_items_shows_benefits_and_harms_and_adds_either(wb: Workbook, review_path: Path) -> None:
    step = wb.items()
    assert len(find_all(step, "dl-benefit-card")) == 1
    assert len(find_all(step, "dl-harm-card")) == 1
    find(step, "dl-new-benefit-title").value = "Faster storyboards"
    find(step, "dl-new-benefit-category").value = "productivity"
    click(find(step, "dl-add-benefit"))
    assert on_disk(review_path)["items"][-1] == {
        "id": "faster-storyboards", "kind": "benefit", "title": "Faster storyboards",
        "category": "productivity"}


def test_chart_painter_draws_off_the_event_loop_and_the_newest_wins() -> None:
    import asyncio
    import threading

    from deliberation.workbook.live import ChartPainter

    class Target:
        value = ""

    target, painter, gate = Target(), ChartPainter(), threading.Event()

    def slow() -> str:
        gate.wait(5)
        return "old"

    def broken() -> str:
        raise RuntimeError("no <chart>")

    async def main() -> None:
        painter.paint(target, slow)
        painter.paint(target, lambda: "new")
        assert target.value == ""  # the loop did not wait for the drawing
        gate.set()
        for _ in range(200):
            if target.value:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert target.value == "new"
        painter.paint(target, broken)
        for _ in range(200):
            if target.value != "new":
                break
            await asyncio.sleep(0.01)
        assert "could not be drawn: no &lt;chart&gt;" in target.value

    # in a thread of its own: after the browser tests, playwright's loop counts as running here
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # handed to the test's thread below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if failures:
        raise failures[0]
    assert not thread.is_alive()


def test_notebook_progress_draws_tqdms_notebook_bar() -> None:
    """A long analysis in a notebook shows tqdm's widget bar following the samples done."""
    import ipywidgets as widgets

    from deliberation.engine.analysis import analyze
    from deliberation.review.opening import open_review
    from deliberation.workbook.live import NotebookProgress

    from .conftest import ROOT

    progress = NotebookProgress(after=0)
    review, template, _ = open_review(ROOT / "workbooks" / "example" / "review.json")
    analyze(review, template, samples=300_000, seed=0, progress=progress)
    assert progress.bar.total == 300_000
    assert progress.bar.n == 300_000
    assert isinstance(progress.bar.container, widgets.HBox)  # the ipywidgets bar


def test_live_analysis_computes_an_edit_after_a_pause_at_once_and_batches_a_burst(
    review_path: Path,
) -> None:
    """Leading edge: the meeting sees the first edit at once; a burst costs one more run."""
    import asyncio

    from deliberation.workbook.live import LiveAnalysis

    session = ReviewSession(review_path)
    live = LiveAnalysis(session, samples=2_000, seed=0, debounce=0.05)
    assert live.computations == 1  # the first analysis, on opening

    async def meeting() -> list[int]:
        counts = []
        await asyncio.sleep(0.06)  # a quiet spell
        session.edit(lambda data: data.update(horizon="6 months"))
        counts.append(live.computations)  # computed at once
        for months in range(7, 10):  # a burst right after it
            session.edit(lambda data, m=months: data.update(horizon=f"{m} months"))
        counts.append(live.computations)  # deferred
        await asyncio.sleep(0.12)
        counts.append(live.computations)  # one run for the whole burst
        return counts

    # A thread of its own: an earlier test (Playwright's sync API) may have left an event
    # loop running in this one, where asyncio.run refuses to start.
    import threading

    outcome: list[list[int]] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(meeting())))
    runner.start()
    runner.join(timeout=30)
    assert outcome == [[2, 2, 3]]


def test_the_first_cells_summary_follows_the_review(wb: Workbook, review_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 12, problem 2: the first cell showed stale counts until a Run All.
    import IPython.display

    shown: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    wb._ipython_display_()
    summary = shown[0]
    assert "2 participants" in summary.value
    step = wb.setup()
    find(step, "dl-new-participant-name").value = "Chen Wei"
    click(find(step, "dl-add-participant"))
    assert "3 participants" in summary.value
    assert "3 participants" in wb._repr_html_()


def test_a_live_workbook_imports_altair_without_building_the_iri_grammar(
        review_path: Path) -> None:
    # jsonschema (through altair) builds an RFC 3987 grammar at import, 1.2 s of a Run
    # All, that no chart uses: a workbook defers it (deliberation.record.quick_import).
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from deliberation.workbook.workbook import Workbook\n"
        f"wb = Workbook.open({str(review_path)!r}, debounce=0)\n"
        "import altair, jsonschema\n"
        "print('rfc3987_syntax' in sys.modules)\n"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True, env={**os.environ,
                                            "DELIBERATION_RECORD": ""})
    assert found.stdout.strip().splitlines()[-1] == "False", found.stdout


def test_running_the_notebook_again_retires_the_workbook_before(review_path: Path) -> None:
    # Issue 12: each Run All left the workbooks before it following the store and
    # rebuilding their (unseen) steps on every edit: warm Run Alls took 11 to 20 s.
    first = Workbook.open(review_path, debounce=0)
    steps = [first.setup(), first.harms(), first.tradeoffs(), first.app()]
    again = Workbook.open(review_path, debounce=0)
    assert first.session.closed
    assert first.session.listeners == []
    # its steps no longer follow: an edit elsewhere leaves them as they were
    before = [w.value for w in find_all(steps[1], "dl-harm-title")]
    harms = again.harms()
    find(harms, "dl-new-harm-title").value = "Fraud with generated invoices"
    click(find(harms, "dl-add-harm"))
    assert "Fraud with generated invoices" in [i["title"] for i in on_disk(review_path)["items"]]
    assert find(harms, "dl-harm-title", 1).value == "Fraud with generated invoices"
    assert [w.value for w in find_all(steps[1], "dl-harm-title")] == before
