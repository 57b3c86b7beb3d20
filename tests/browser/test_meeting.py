"""The meeting in real browsers: three participants on their own pages, one console.

Each participant has their own browser context (their own device). Before the reveal
neither a page's text nor any websocket frame it received holds another participant's
numbers; after ``deliberation meeting reveal`` every page shows the round's spread
within a second, and the facilitator's console follows each submission within a second.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deliberation.review.entry import show

from ..meeting_support import BIN, Served, free_port, meeting_review, serve

PEOPLE = {"p00": ("0.0111 to 0.0222", "1111 to 2222", "aardvark"),
          "p01": ("0.0333 to 0.0444", "3333 to 4444", "bison"),
          "p02": ("0.0555 to 0.0666", "5555 to 6666", "chamois")}
ITEM = "Harm number 00"
SECOND = 1.0


@pytest.fixture
def meeting(tmp_path: Path) -> Iterator[tuple[Path, Served, int]]:
    path = meeting_review(tmp_path / "r")
    port = free_port()
    served = serve(path.parent, port=port)
    yield path, served, port
    served.stop()


def _open(browser: Any, url: str, frames: list[str], *, phone: bool = True) -> Any:
    context = browser.new_context(viewport={"width": 390, "height": 844} if phone
                                  else {"width": 1280, "height": 900})
    page = context.new_page()
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(
        payload if isinstance(payload, str) else payload.decode())))
    page.goto(url)
    page.get_by_text("connected", exact=True).wait_for()
    return page


def _numbers_of(pid: str) -> list[str]:
    """A participant's marks as typed (their inputs) and as pages and messages show them
    (entry.show: "1.11%", "1,111")."""
    likelihood, impact, word = PEOPLE[pid]
    low, low_impact = likelihood.split(" to ", maxsplit=1)[0], impact.split(" to ", maxsplit=1)[0]
    return [low, show(float(low), "likelihood"), low_impact, show(int(low_impact), "impact"),
            word]


def _wait(page: Any, condition: Any, timeout: float = 10) -> float:
    """Poll ``condition``, letting Playwright deliver events (frames) meanwhile."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out")
        page.wait_for_timeout(10)
    return time.monotonic() - started


def test_three_participants_blind_then_revealed(browser: Any, meeting: tuple[Path, Served, int],
                                                screenshots: Path) -> None:
    path, served, _ = meeting
    frames: dict[str, list[str]] = {pid: [] for pid in PEOPLE}
    pages = {pid: _open(browser, served.participant(pid), frames[pid]) for pid in PEOPLE}
    console_frames: list[str] = []
    console = _open(browser, served.facilitator, console_frames, phone=False)
    console.get_by_text(re.compile("Up to date")).wait_for()
    for page in pages.values():
        assert page.get_by_text("Round 1: blind").is_visible()
    # Everyone types at once; each commits with Enter (the rationale) or by leaving a field.
    for pid, page in pages.items():
        likelihood, impact, word = PEOPLE[pid]
        page.get_by_label(f"likelihood of {ITEM}").fill(likelihood)
        page.get_by_label(f"impact of {ITEM}").fill(impact)
        page.get_by_label(f"rationale for {ITEM}").fill(f"because {word}")
    sent: dict[str, float] = {}
    for pid, page in pages.items():
        page.get_by_label(f"rationale for {ITEM}").press("Enter")
        sent[pid] = time.monotonic()
    for pid, page in pages.items():
        page.locator("[data-item='item-00'] .status", has_text="saved").wait_for()
        # Leaving the impact field saved the numbers; Enter saved the rationale too.
        _wait(page, lambda pid=pid: any(PEOPLE[pid][2] in frame for frame in frames[pid]))
    # The page says how it read what was typed, as the workbook's fields do.
    status = pages["p00"].locator("[data-item='item-00'] .status").inner_text()
    assert "impact read as 1,111 to 2,222" in status, status
    assert "likelihood read as 1.11% to 2.22%" in status, status
    # The console shows each submission as an entered mark, with fresh numbers, in a second.
    row = console.locator("#entered tr[data-item='item-00']")
    _wait(console, lambda: row.inner_text().count("✓ entered") == 3, timeout=5)
    assert time.monotonic() - max(sent.values()) < SECOND
    console.get_by_text(re.compile("Up to date")).wait_for(timeout=1000)
    console.screenshot(path=str(screenshots / "meeting-console-blind.png"))
    pages["p00"].screenshot(path=str(screenshots / "meeting-participant-blind.png"),
                            full_page=True)
    for pid, page in pages.items():
        # The page's text, its inputs' values, and everything the server sent it.
        text = page.locator("body").inner_text() + "\n".join(
            page.locator("input").evaluate_all("inputs => inputs.map(i => i.value)"))
        wire = "\n".join(frames[pid])
        for other in PEOPLE:
            typed, shown, typed_impact, shown_impact, word = _numbers_of(other)
            for marks in ((typed, shown), (typed_impact, shown_impact), (word,)):
                assert any(m in text for m in marks) == (other == pid), (pid, other, marks)
                assert any(m in wire for m in marks) == (other == pid), (pid, other, marks)
    console_seen = console.locator("body").inner_text() + "\n".join(console_frames)
    assert not any(mark in console_seen for pid in PEOPLE for mark in _numbers_of(pid))
    # The reveal, from a shell: every page shows the round's spread within a second.
    done = subprocess.run([str(BIN / "deliberation"), "meeting", "reveal", str(path.parent)],
                          capture_output=True, text=True, check=True, timeout=60)
    assert "round 1: revealed" in done.stdout
    revealed_at = time.monotonic()
    for page in pages.values():
        page.get_by_text("Everyone's estimates, round 1").wait_for(timeout=2000)
    assert time.monotonic() - revealed_at < SECOND
    for page in pages.values():
        text = page.locator("body").inner_text()
        assert all(_numbers_of(pid)[1] in text for pid in PEOPLE)
        assert page.get_by_text("Round 1: revealed").is_visible()
    pages["p01"].screenshot(path=str(screenshots / "meeting-participant-revealed.png"),
                            full_page=True)
    for page in [*pages.values(), console]:
        page.context.close()


def test_a_page_whose_server_died_says_reconnecting_and_refuses_edits(
        browser: Any, meeting: tuple[Path, Served, int]) -> None:
    path, served, port = meeting
    frames: list[str] = []
    page = _open(browser, served.participant("p00"), frames)
    page.get_by_label(f"likelihood of {ITEM}").fill("0.1 to 0.2")
    page.get_by_label(f"impact of {ITEM}").fill("10 to 100")
    page.get_by_label(f"impact of {ITEM}").press("Enter")
    page.locator("[data-item='item-00'] .status", has_text="saved").wait_for()
    served.stop(signal.SIGKILL)
    page.get_by_text(re.compile("reconnecting")).wait_for(timeout=5000)
    field = page.get_by_label(f"likelihood of {ITEM}")
    assert field.evaluate("input => input.readOnly")
    page.get_by_label(f"rationale for {ITEM}").evaluate(
        "input => { input.readOnly = false; input.value = 'typed offline'; "
        "input.dispatchEvent(new Event('input')); input.dispatchEvent(new Event('blur')); }")
    assert "not saved" in page.locator("[data-item='item-00'] .status").inner_text()
    # The server comes back on the same address: the page reconnects, the estimate is there.
    again = serve(path.parent, port=port)
    try:
        page.get_by_text("connected", exact=True).wait_for(timeout=10_000)
        assert page.get_by_label(f"likelihood of {ITEM}").input_value() == "0.1 to 0.2"
        assert not field.evaluate("input => input.readOnly")
    finally:
        again.stop()
        page.context.close()
