"""Issue 12, problems 1 and 6, in a real JupyterLab: one click loses nothing, one click adds one."""

from __future__ import annotations

import re
from typing import Any

from .conftest import Server
from .test_workbook import open_workbook


def _wait_on_disk(page: Any, lab: Server, holds: Any, timeout: float = 30_000) -> dict[str, Any]:
    """Poll review.json until ``holds(data)``; the data it then holds."""
    waited = 0.0
    while True:
        data = lab.review_data()
        if holds(data):
            return data
        assert waited < timeout, "review.json never held what was expected"
        page.wait_for_timeout(200)
        waited += 200


def _idle(page: Any) -> None:
    """Wait until the kernel has handled every click (the steps rebuilt after it)."""
    page.wait_for_timeout(300)
    page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\| Idle")).wait_for(
        timeout=60_000)


def test_remove_restore_undo_and_confirm_in_jupyterlab(page: Any, lab: Server) -> None:
    open_workbook(page, lab)
    benefits = page.locator(".dl-step-benefits").first

    # Remove a benefit with two estimates: listed as removed, its estimates kept.
    benefits.locator("button.dl-remove-benefit").first.click()
    data = _wait_on_disk(page, lab, lambda d: "removed" in d)
    assert [i["id"] for i in data["items"]] == ["deepfakes"]
    assert len(data["removed"][0]["estimates"]) == 2
    removed = benefits.locator(".dl-removed-benefits")
    removed.wait_for()
    assert "Illustrations for teaching material" in removed.inner_text()

    # Restore: the item and its estimates are back where they were.
    benefits.locator("button.dl-restore-benefit").click()
    data = _wait_on_disk(page, lab, lambda d: "removed" not in d)
    assert [i["id"] for i in data["items"]] == ["education", "deepfakes"]
    assert sum(e["item"] == "education" for e in data["estimates"]) == 2
    _idle(page)  # every step rebuilt after the restore: type into the new fields

    # A double click on Add harm adds one harm; Undo takes it away again.
    harms = page.locator(".dl-step-harms").first
    harms.locator(".dl-new-harm-title input").fill("Harassment of artists")
    cards = harms.locator(".dl-harm-card")
    before_cards = cards.count()
    harms.locator("button.dl-add-harm").dblclick()
    cards.nth(before_cards).wait_for(timeout=60_000)
    _idle(page)
    page.wait_for_timeout(1500)  # the second click has surely arrived by now
    titles = [i["title"] for i in lab.review_data()["items"]]
    assert titles.count("Harassment of artists") == 1
    page.wait_for_function(  # enabled once the kernel has shown the add
        "() => !document.querySelector('.dl-step-harms button.dl-undo').disabled",
        timeout=30_000)
    harms.locator("button.dl-undo").click()
    _wait_on_disk(page, lab, lambda d: len(d["items"]) == 2)
    _idle(page)

    # Starting a round asks first; Cancel changes nothing.
    estimates = page.locator(".dl-step-estimates").first
    before = lab.review.read_bytes()
    estimates.locator("button.dl-next-round").click()
    question = estimates.locator(".dl-next-round-question")
    question.wait_for()
    assert "Estimates of round 1 stay in the record" in question.inner_text()
    estimates.locator("button.dl-next-round-cancel").click()
    question.wait_for(state="hidden")
    page.wait_for_timeout(500)
    assert lab.review.read_bytes() == before

    # Two participants may not share a name: said at the field, nothing saved.
    setup = page.locator(".dl-step-setup").first
    setup.locator(".dl-new-participant-name input").fill("ana ruiz")
    setup.locator("button.dl-add-participant").click()
    error = setup.locator(".dl-add-participant-error")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dl-add-participant-error')]"
        ".some(e => e.innerText.includes('is here already'))")
    assert "Ana Ruiz" in error.first.inner_text()
    assert lab.review.read_bytes() == before
