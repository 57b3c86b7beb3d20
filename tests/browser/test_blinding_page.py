"""In a real browser, a blind round's numbers are on no step of the workbook's page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ..test_blinding import MARKS, SECRET
from .conftest import Server
from .meeting import wait_for_steps


@pytest.fixture
def hidden_round(review_dir: Any) -> Any:
    """The workbook's review with round 2 open and blind, and Ben's secret estimate in it."""
    path = review_dir / "review.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["elicitation"] = {"round": 2, "blind": True, "revealed": [1]}
    data["estimates"].append(SECRET)
    path.write_text(json.dumps(data), encoding="utf-8")
    return review_dir


def test_the_page_text_holds_no_hidden_numbers(hidden_round: Any, page: Any,
                                               voila: Server) -> None:
    page.goto(f"{voila.url}/?token={voila.token}", timeout=120_000)
    wait_for_steps(page)
    page.locator(".dl-tradeoff-numbers table").first.wait_for()
    seen = [page.locator("body").inner_text(), page.content()]
    # open every on-demand chart in turn, so its text and SVG are on the page too
    headers = page.locator(".dl-tradeoff-more .jupyter-widget-Collapse-header:visible")
    for index in range(headers.count()):
        headers.nth(index).click()
        page.locator(".dl-tradeoff-more figure:visible, .dl-tradeoff-more .dl-muted:visible"
                     ).first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        seen += [page.locator("body").inner_text(), page.content()]
    assert headers.count() >= 3
    assert "entered (hidden)" in seen[0]  # the estimates step says it is there
    assert [mark for mark in MARKS if any(mark in text for text in seen)] == []
