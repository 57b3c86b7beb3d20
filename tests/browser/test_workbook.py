"""The workbook in a real JupyterLab, driven in Debian's Chromium as a facilitator would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import Server
from .meeting import (
    add_harm,
    chart_of,
    commit,
    field,
    restart_kernel,
    run_all_cells,
    shoot,
    text_of,
    wait_for_change,
)


def _wait_on_disk(page: Any, lab: Server, holds: Any, timeout: float = 30_000) -> None:
    waited = 0.0
    while not holds(lab.review_data()):
        assert waited < timeout, "review.json never held what was expected"
        page.wait_for_timeout(200)
        waited += 200


def open_workbook(page: Any, lab: Server) -> None:
    page.goto(f"{lab.url}/lab/tree/release_review.ipynb?token={lab.token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    run_all_cells(page)


def _estimate(data: dict[str, Any], item: str, who: str) -> dict[str, Any] | None:
    return next((e for e in data["estimates"] if (e["item"], e["participant"]) == (item, who)),
                None)


def test_a_meeting_in_jupyterlab(page: Any, lab: Server, screenshots: Path) -> None:
    open_workbook(page, lab)
    shots = shoot(page, screenshots, "lab-before")
    assert all(path.stat().st_size > 2_000 for path in shots)

    # Add a harm: it is on disk at once, and gets a row in the estimates step.
    add_harm(page, "Voice-cloning scams using generated portraits")
    item_id = "voice-cloning-scams-using-generated-portraits"
    assert any(i["id"] == item_id for i in lab.review_data()["items"])
    page.locator(f".dl-likelihood-{item_id}").first.wait_for()

    # Enter an estimate: the tradeoff numbers and the chart change.
    numbers_before = text_of(page, "dl-tradeoff-numbers")
    chart_before = chart_of(page)
    commit(page, f"dl-likelihood-{item_id}", "0.3 to 0.7")
    commit(page, f"dl-impact-{item_id}", "5000 to 50000")
    field(page, f"dl-rationale-{item_id}").fill("the v1 model was used this way")
    wait_for_change(page, "dl-tradeoff-chart", chart_before)
    page.wait_for_function(
        "before => document.querySelector('.dl-tradeoff-numbers').innerText !== before",
        arg=numbers_before)
    assert text_of(page, "dl-tradeoff-numbers") != numbers_before
    page.wait_for_function(
        "() => document.querySelector('.dl-policy-table') !== null")
    estimate = _estimate(lab.review_data(), item_id, "ana")
    assert estimate is not None
    assert estimate["likelihood"] == [0.3, 0.7]
    assert estimate["impact"] == [5000, 50000]

    # An invalid likelihood: a plain message at the field, the field marked, nothing saved
    # (counted from once the rationale typed above is on disk).
    _wait_on_disk(page, lab, lambda d: (_estimate(d, item_id, "ana") or {}).get("rationale")
                  == "the v1 model was used this way")
    page.wait_for_timeout(500)
    saved = lab.review.read_bytes()
    commit(page, "dl-likelihood-deepfakes", "0.4 to 1.3")
    error = page.locator(".dl-estimate-row").nth(1).locator(".dl-likelihood-error")
    error.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dl-likelihood-error')]"
        ".some(e => e.innerText.includes('between 0 and 1'))")
    assert "dl-invalid" in (page.locator(".dl-likelihood-deepfakes").first
                            .get_attribute("class") or "")
    assert field(page, "dl-likelihood-deepfakes").input_value() == "0.4 to 1.3"
    assert lab.review.read_bytes() == saved
    assert _estimate(lab.review_data(), "deepfakes", "ana")["likelihood"] == [0.2, 0.6]  # type: ignore[index]

    shots = shoot(page, screenshots, "lab-after")
    tradeoffs = page.locator(".dl-step-tradeoffs").first
    tradeoffs.screenshot(path=str(screenshots / "lab-tradeoffs.png"))

    # Restart the kernel and reload the page: everything entered is still there.
    restart_kernel(page)
    page.reload()
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    run_all_cells(page)
    # a reopened page shows the stored values the one way fields write them
    assert field(page, f"dl-likelihood-{item_id}").input_value() == "30% to 70%"
    assert field(page, f"dl-impact-{item_id}").input_value() == "5,000 to 50,000"
    assert field(page, f"dl-rationale-{item_id}").input_value() == \
        "the v1 model was used this way"
    titles = page.locator(".dl-step-harms").first.locator(".dl-harm-title input")
    assert "Voice-cloning scams using generated portraits" in [
        titles.nth(i).input_value() for i in range(titles.count())]
    # The invalid entry was never saved: the field shows the last valid value.
    assert field(page, "dl-likelihood-deepfakes").input_value() == "20% to 60%"
