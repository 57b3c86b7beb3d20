"""Issue 12, problems 1 and 6: removal is soft, steps undo, nothing doubles by one click."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from deliberation.engine.analysis import analyze
from deliberation.errors import ReviewInvalid
from deliberation.record.render import render_mitigations, render_register
from deliberation.review.model import parse_review, review_to_data
from deliberation.review.policy import evaluate_policy
from deliberation.review.removal import remove, restore
from deliberation.workbook.workbook import Workbook

from .test_workbook import click, find, find_all, on_disk, walk

REVIEW = Path(__file__).parent / "data" / "workbook" / "review.json"
STYLE_THEFT = {"id": "style-theft", "kind": "harm", "title": "Style theft",
               "category": "disinformation"}


def _with_third_item(data: dict[str, Any]) -> dict[str, Any]:
    """The fixture plus a harm estimated in two rounds, one of two targets of a mitigation."""
    data = copy.deepcopy(data)
    data["items"].insert(1, dict(STYLE_THEFT))
    estimates = data["estimates"]
    estimates.insert(1, {"item": "style-theft", "participant": "ana", "round": 1,
                         "likelihood": [0.1, 0.3], "impact": [100, 2000],
                         "rationale": "artists complained last time"})
    estimates.append({"item": "style-theft", "participant": "ben", "round": 1,
                      "likelihood": "possible", "impact": "major"})
    estimates.append({"item": "style-theft", "participant": "ana", "round": 2,
                      "likelihood": [0.2, 0.4], "impact": [500, 3000]})
    data["mitigations"][0]["targets"] = ["style-theft", "deepfakes"]
    return data


@pytest.fixture
def review_path(tmp_path: Path) -> Path:
    path = tmp_path / "review.json"
    data = _with_third_item(json.loads(REVIEW.read_text(encoding="utf-8")))
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def wb(review_path: Path) -> Workbook:
    return Workbook.open(review_path, debounce=0)


def _review(path: Path) -> dict[str, Any]:
    """review.json without the store's event_log stamp, which every save moves on."""
    data = on_disk(path)
    data.pop("event_log", None)
    return data


def _hard_deleted(data: dict[str, Any], item_id: str) -> dict[str, Any]:
    """The review as if the item had never been there, written out by hand."""
    data = copy.deepcopy(data)
    data["items"] = [i for i in data["items"] if i["id"] != item_id]
    data["estimates"] = [e for e in data["estimates"] if e["item"] != item_id]
    for mitigation in data["mitigations"]:
        mitigation["targets"] = [t for t in mitigation["targets"] if t != item_id]
    return data


# --------------------------------------------------------------------------- the model


def test_removing_an_item_keeps_its_estimates_and_links_and_restore_is_exact(
        review_path: Path) -> None:
    before = review_to_data(parse_review(on_disk(review_path)))
    data = copy.deepcopy(before)
    remove(data, "item", "style-theft")
    kept = review_to_data(parse_review(data))  # what review.json holds after the removal
    assert "style-theft" not in {i["id"] for i in kept["items"]}
    assert all(e["item"] != "style-theft" for e in kept["estimates"])
    assert kept["mitigations"][0]["targets"] == ["deepfakes"]
    gone = kept["removed"][0]
    assert gone["item"] == STYLE_THEFT
    assert [e for e in before["estimates"] if e["item"] == "style-theft"] == gone["estimates"]
    assert len(gone["estimates"]) == 3  # both rounds, with the rationale
    assert gone["links"] == [{"mitigation": "prompt-filter", "position": 0}]
    restore(kept, "item", "style-theft")
    assert review_to_data(parse_review(kept)) == before


def test_the_analysis_and_policy_ignore_a_removed_item_as_if_it_were_gone(
        wb: Workbook, review_path: Path) -> None:
    session = wb.session
    data = session.data()
    session.edit(lambda d: remove(d, "item", "style-theft"))
    removed = session.review
    gone = parse_review(_hard_deleted(data, "style-theft"))
    template = session.template
    soft = analyze(removed, template, samples=2000, seed=3)
    hard = analyze(gone, template, samples=2000, seed=3)
    assert soft.to_json() == hard.to_json()
    with_item = analyze(parse_review(data), template, samples=2000, seed=3)
    assert with_item.to_json() != hard.to_json()  # the item did count while it was there
    assert [g.to_json() for g in evaluate_policy(removed, template, soft)] == \
        [g.to_json() for g in evaluate_policy(gone, template, hard)]


def test_the_record_lists_removed_entries_apart_from_the_register(wb: Workbook) -> None:
    session = wb.session
    session.edit(lambda d: remove(d, "item", "style-theft"))
    session.edit(lambda d: remove(d, "variant", "open-weights"))
    register = render_register(session.review, session.template)
    before_removed, removed = register.split("<h3>Removed", 1)
    assert "Style theft" not in before_removed
    assert "Style theft" in removed
    assert ">3</td>" in removed
    mitigations = render_mitigations(session.review)
    options, removed_options = mitigations.split("<h3>Removed", 1)
    assert "Publish the weights" not in options
    assert "Publish the weights" in removed_options
    assert "release option" in removed_options


def test_a_removed_id_may_not_be_taken_again(review_path: Path) -> None:
    data = on_disk(review_path)
    remove(data, "item", "style-theft")
    data["items"].append(dict(STYLE_THEFT))
    with pytest.raises(ReviewInvalid, match=r"removed\[0\]\.item\.id"):
        parse_review(data)


def test_a_mitigation_is_restored_into_the_variants_it_was_in(review_path: Path) -> None:
    data = review_to_data(parse_review(on_disk(review_path)))
    before = copy.deepcopy(data)
    remove(data, "mitigation", "prompt-filter")
    assert data["variants"][1]["mitigations"] == []
    remove(data, "variant", "api-filtered")  # removed while it no longer holds the filter
    restore(data, "mitigation", "prompt-filter")
    restore(data, "variant", "api-filtered")
    assert review_to_data(parse_review(data)) == before


def test_the_chosen_variant_cannot_be_removed(review_path: Path) -> None:
    data = on_disk(review_path)
    data["decision"] = {"outcome": "approve", "variant": "api-filtered"}
    with pytest.raises(ValueError, match="the decision chose variant 'API with filters'"):
        remove(data, "variant", "api-filtered")


# --------------------------------------------------------------------------- the workbook


def test_remove_and_restore_in_the_workbook(wb: Workbook, review_path: Path) -> None:
    before = _review(review_path)
    step = wb.harms()
    click(find(step, "dl-remove-harm", 0))  # the first harm card: Style theft
    data = on_disk(review_path)
    assert [i["id"] for i in data["items"]] == ["education", "deepfakes"]
    assert len(data["removed"][0]["estimates"]) == 3
    listed = find(step, "dl-removed-harms")
    assert "Style theft: 3 estimates kept" in listed.children[1].children[0].children[0].value
    estimates = wb.estimates()
    assert not find_all(estimates, "dl-likelihood-style-theft")  # not asked for any more
    click(find(step, "dl-restore-harm"))
    assert _review(review_path) == before
    assert not find_all(step, "dl-removed-harms") or \
        not find_all(find(step, "dl-removed-harms"), "dl-restore-harm")


def test_starting_a_round_asks_first_and_cancel_changes_nothing(wb: Workbook,
                                                               review_path: Path) -> None:
    before = review_path.read_bytes()
    step = wb.estimates()
    click(find(step, "dl-next-round"))
    row = find(step, "dl-next-round-confirm-row")
    assert row.layout.display is None  # shown
    assert find(step, "dl-next-round-question").value == (
        "<b>Start round 3? Estimates of round 2 stay in the record.</b>")
    click(find(step, "dl-next-round-cancel"))
    assert row.layout.display == "none"
    assert review_path.read_bytes() == before
    click(find(step, "dl-next-round"))
    click(find(step, "dl-next-round-confirm"))
    assert on_disk(review_path)["elicitation"]["round"] == 3


def test_undo_reverts_the_last_change_of_its_step_and_saves(wb: Workbook,
                                                            review_path: Path) -> None:
    setup = wb.setup()
    harms = wb.harms()
    undo = find(harms, "dl-undo")
    assert undo.disabled  # nothing to undo yet
    title = find(harms, "dl-harm-title", 1)
    for typed in ("D", "De", "Deepfakes of real people"):  # typing, one change
        title.value = typed
    assert not undo.disabled  # enabled as the change is shown
    find(setup, "dl-horizon").value = "6 months"  # another step's change
    click(undo)
    data = on_disk(review_path)
    assert data["items"][2]["title"] == "Deceptive images of real people"
    assert data["horizon"] == "6 months"  # the other step's change stays
    assert undo.disabled
    assert not find(setup, "dl-undo").disabled
    click(find(setup, "dl-undo"))
    assert on_disk(review_path)["horizon"] == "12 months after release"


def test_undo_brings_back_a_removed_harm(wb: Workbook, review_path: Path) -> None:
    before = _review(review_path)
    harms = wb.harms()
    click(find(harms, "dl-remove-harm", 0))
    assert _review(review_path) != before
    click(find(harms, "dl-undo"))
    assert find(harms, "dl-undo-error").value == ""
    assert _review(review_path) == before


def test_undo_refuses_what_was_changed_again_since(wb: Workbook, review_path: Path) -> None:
    harms = wb.harms()
    find(harms, "dl-harm-title", 1).value = "Deepfakes"
    mitigations = wb.mitigations()
    find(mitigations, "dl-new-mitigation-title").value = "Watermark"
    find(mitigations, "dl-new-mitigation-targets").value = ("deepfakes",)
    click(find(mitigations, "dl-add-mitigation"))
    # the mitigation left the items alone; the benefits step now changes them again
    find(wb.benefits(), "dl-benefit-title").value = "Teaching pictures"
    before = review_path.read_bytes()
    click(find(harms, "dl-undo"))
    assert "nothing undone: items changed since" in find(harms, "dl-undo-error").value
    assert review_path.read_bytes() == before


def test_a_double_click_on_add_makes_one_item(wb: Workbook, review_path: Path) -> None:
    step = wb.harms()
    find(step, "dl-new-harm-title").value = "Harassment of artists"
    add = find(step, "dl-add-harm")
    click(add)
    click(add)
    titles = [i["title"] for i in on_disk(review_path)["items"]]
    assert titles.count("Harassment of artists") == 1
    mitigations = wb.mitigations()
    find(mitigations, "dl-new-variant-title").value = "Research access"
    click(find(mitigations, "dl-add-variant"))
    click(find(mitigations, "dl-add-variant"))
    variants = [v["title"] for v in on_disk(review_path)["variants"]]
    assert variants.count("Research access") == 1


def test_a_double_click_on_a_slow_add_makes_one_item(wb: Workbook, review_path: Path) -> None:
    """A busy kernel handles the second click only after the first add's edit is done."""
    import time

    step = wb.harms()
    wb.session.subscribe(lambda _: time.sleep(1.2))  # an add that takes over a second
    find(step, "dl-new-harm-title").value = "Harassment of artists"
    click(find(step, "dl-add-harm"))
    click(find(step, "dl-add-harm"))
    titles = [i["title"] for i in on_disk(review_path)["items"]]
    assert titles.count("Harassment of artists") == 1


def test_two_participants_may_not_share_a_name(wb: Workbook, review_path: Path) -> None:
    before = review_path.read_bytes()
    step = wb.setup()
    name = on_disk(review_path)["participants"][0]["name"]
    find(step, "dl-new-participant-name").value = f" {name.upper()} "
    click(find(step, "dl-add-participant"))
    assert "is here already" in find(step, "dl-add-participant-error").value
    assert review_path.read_bytes() == before
    second = find(step, "dl-participant-name", 1)
    second.value = name
    box = next(w for w in walk(step) if second in getattr(w, "children", ()))
    assert "is here already" in find(box, "dl-participant-name-error").value  # under it
    assert review_path.read_bytes() == before


def test_a_participant_whose_estimates_were_removed_with_an_item_stays(
        wb: Workbook, review_path: Path) -> None:
    def join(data: dict[str, Any]) -> None:
        data["participants"].append({"id": "cy", "name": "Cy Lam"})
        data["estimates"].append({"item": "style-theft", "participant": "cy", "round": 1,
                                  "likelihood": "likely", "impact": "minor"})
    wb.session.edit(join)
    wb.session.edit(lambda d: remove(d, "item", "style-theft"))
    assert all(e["participant"] != "cy" for e in on_disk(review_path)["estimates"])
    before = review_path.read_bytes()
    step = wb.setup()
    click(find(step, "dl-remove-participant", 2))
    assert "1 estimate" in find(step, "dl-remove-participant-error", 2).value
    assert review_path.read_bytes() == before  # restoring the item still finds Cy


def test_undo_leaves_another_workbooks_change_alone(review_path: Path) -> None:
    ours = Workbook.open(review_path, debounce=0)
    theirs = Workbook.open(review_path, debounce=0)
    harms = ours.harms()
    find(harms, "dl-harm-title", 1).value = "Deepfakes"
    find(theirs.setup(), "dl-horizon").value = "3 months"  # on another laptop, meanwhile
    assert ours.session.refresh()
    click(find(harms, "dl-undo"))
    assert find(harms, "dl-undo-error").value == ""
    data = on_disk(review_path)
    assert data["items"][2]["title"] == "Deceptive images of real people"
    assert data["horizon"] == "3 months"


EXAMPLE = Path(__file__).parent.parent / "workbooks" / "example" / "review.json"


@pytest.mark.parametrize("kind", ["item", "mitigation", "variant"])
def test_every_entry_of_the_example_comes_back_exactly(kind: Any) -> None:
    before = review_to_data(parse_review(json.loads(EXAMPLE.read_text(encoding="utf-8"))))
    lists = {"item": "items", "mitigation": "mitigations", "variant": "variants"}
    chosen = (before.get("decision") or {}).get("variant")
    sole_targets = {m["targets"][0] for m in before["mitigations"] if len(m["targets"]) == 1}
    removable = []
    for entry in before[lists[kind]]:
        data = copy.deepcopy(before)
        if entry["id"] == chosen or (kind == "item" and entry["id"] in sole_targets):
            with pytest.raises(ValueError, match=r"targets only this|the decision chose"):
                remove(data, kind, entry["id"])
            assert data == before  # refused: nothing changed
            continue
        remove(data, kind, entry["id"])
        removable.append(entry["id"])
        parse_review(data)  # a valid review while it is removed
        restore(data, kind, entry["id"])
        assert review_to_data(parse_review(data)) == before
    assert len(removable) >= 2
    # Several removed, restored last first: the review as it was.
    data = copy.deepcopy(before)
    removed = []
    for entry_id in removable:
        try:
            remove(data, kind, entry_id)
        except ValueError:  # an earlier removal left a mitigation this one target only
            continue
        removed.append(entry_id)
    parse_review(data)
    for entry_id in reversed(removed):
        restore(data, kind, entry_id)
    assert review_to_data(parse_review(data)) == before


def test_only_steps_that_edit_offer_undo(wb: Workbook) -> None:
    assert find(wb.policy(), "dl-undo").layout.display == "none"
    assert find(wb.export(), "dl-undo").layout.display == "none"
    assert find(wb.harms(), "dl-undo").layout.display is None
    assert find(wb.decision(), "dl-undo").layout.display is None
