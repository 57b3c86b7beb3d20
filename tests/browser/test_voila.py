"""The same meeting as a code-free Voila page (``make present``)."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from deliberation.workbook.session import ReviewSession

from .conftest import Server, kernels_cpu, voila_kernel_ready
from .meeting import (
    add_harm,
    chart_of,
    commit,
    field,
    shoot,
    text_of,
    wait_for_change,
    wait_for_steps,
)


def open_page(page: Any, voila: Server) -> None:
    page.goto(f"{voila.url}/?token={voila.token}", timeout=120_000)
    wait_for_steps(page)


def test_a_meeting_in_voila(page: Any, voila: Server, screenshots: Path) -> None:
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    open_page(page, voila)
    # The page loads nothing from elsewhere (Voila's lab template asks a CDN for an icon
    # font; ours does not): every request goes to the Voila server or is inline.
    elsewhere = [url for url in asked
                 if not url.startswith((voila.url, "data:", "blob:", "about:"))]
    assert elsewhere == []
    # A meeting page shows no code, only the agenda and its forms; it does not send
    # people to a menu it does not have.
    body = page.locator("body").inner_text()
    assert "Run ▸ Run All Cells" not in body or "has no menu" in body
    assert "wb.setup()" not in body
    assert "import deliberation" not in body
    assert "1. Set-up" in body  # the agenda's explanations stay
    assert page.locator(".dl-step").count() >= 9
    shoot(page, screenshots, "voila-before")

    add_harm(page, "Fake product reviews with generated photos")
    item_id = "fake-product-reviews-with-generated-photos"
    assert any(i["id"] == item_id for i in voila.review_data()["items"])
    page.locator(f".dl-likelihood-{item_id}").first.wait_for()

    numbers_before = text_of(page, "dl-tradeoff-numbers")
    chart_before = chart_of(page)
    commit(page, f"dl-likelihood-{item_id}", "likely")
    commit(page, f"dl-impact-{item_id}", "2000 to 40000")
    wait_for_change(page, "dl-tradeoff-chart", chart_before)
    page.wait_for_function(
        "before => document.querySelector('.dl-tradeoff-numbers').innerText !== before",
        arg=numbers_before)
    estimate = next(e for e in voila.review_data()["estimates"] if e["item"] == item_id)
    assert (estimate["likelihood"], estimate["impact"]) == ("likely", [2000, 40000])

    # An invalid likelihood shows at the field and is not saved.
    saved = voila.review.read_bytes()
    commit(page, "dl-likelihood-education", "very likely indeed")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dl-likelihood-error')]"
        ".some(e => e.innerText.includes(\"cannot read 'very likely indeed'\"))")
    assert "dl-invalid" in (page.locator(".dl-likelihood-education").first
                            .get_attribute("class") or "")
    assert voila.review.read_bytes() == saved

    shoot(page, screenshots, "voila-after")

    # Closing the tab and opening the page again (a new kernel) restores everything.
    page.goto("about:blank")
    open_page(page, voila)
    assert field(page, f"dl-likelihood-{item_id}").input_value() == "likely"
    # the reopened page writes stored values the one way fields write them
    assert field(page, f"dl-impact-{item_id}").input_value() == "2,000 to 40,000"
    assert field(page, "dl-likelihood-education").input_value() == "50% to 90%"


def test_a_page_on_the_preheated_kernel_shows_the_review_as_it_is_now(
        page: Any, voila: Server) -> None:
    """`make present` keeps a kernel that has run the notebook ready for the next page
    (Voila's pre-heating). Until a page takes it, it follows nobody's edits (it would
    rebuild its steps and rerun the analysis on each, for nobody); the page that takes
    it shows every edit made meanwhile."""
    voila_kernel_ready(voila)
    idle = kernels_cpu(voila)
    title = "Added while the kernel waited"
    session = ReviewSession(voila.review)  # through the store, as another page writes

    def add(data: dict[str, Any]) -> None:
        item = copy.deepcopy(next(i for i in data["items"] if i["kind"] == "harm"))
        item.update(id="added-while-the-kernel-waited", title=title)
        data["items"].append(item)

    session.edit(add)
    time.sleep(2.0)
    # Following the edit costs a kernel hundreds of ms (a rebuild, the analysis, a chart);
    # the waiting kernel spent no more than its heartbeat's few ms.
    assert kernels_cpu(voila) - idle < 0.15
    open_page(page, voila)
    assert "Using pre-heated kernel" in voila.log.read_text(errors="replace")
    # the new item's row in the estimates step (a card's title is in an input's value)
    page.locator(".dl-likelihood-added-while-the-kernel-waited").first.wait_for(
        timeout=30_000)
    assert field(page, "dl-likelihood-added-while-the-kernel-waited").input_value() == ""
