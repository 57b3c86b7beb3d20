"""The same meeting as a code-free Voila page (``make present``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import Server
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
    open_page(page, voila)
    # A meeting page shows no code, only the agenda and its forms.
    body = page.locator("body").inner_text()
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
