"""The demo's record.html in Debian's Chromium: charts drawn, nothing requested, no errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROOT
from ..test_record import static_problems

EXAMPLE = ROOT / "workbooks" / "example"

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def demo_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make demo` does: export the finished example headless into a fresh archive."""
    from deliberation.record.build import export

    result = export(EXAMPLE, tmp_path_factory.mktemp("demo") / "archive")
    return result.html


class Watched:
    """A page with every request outside the record refused and every message collected."""

    def __init__(self, page: Any, allowed: str) -> None:
        self.page = page
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        page.add_init_script(WATCH)
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)

        def route(route: Any) -> None:
            if route.request.url == allowed:
                route.continue_()
            else:
                self.refused.append(route.request.url)
                route.abort()

        page.route("**/*", route)
        self.allowed = allowed

    def open(self) -> None:
        self.page.goto(self.allowed, wait_until="load")
        self.page.wait_for_timeout(300)  # give any deferred script a chance to misbehave

    def assert_quiet(self) -> None:
        assert self.dialogs == []
        assert self.refused == []
        assert self.requests == [self.allowed]  # nothing but the record itself
        assert [m for m in self.console if m.startswith(("error", "pageerror"))] == []
        assert self.page.evaluate("window.__violations") == []


@pytest.fixture
def watched(page: Any, demo_record: Path) -> Watched:
    return Watched(page, demo_record.as_uri())


def test_every_chart_is_drawn_and_nothing_leaves_the_page(watched: Watched, demo_record: Path,
                                                          screenshots: Path) -> None:
    watched.open()
    page = watched.page
    charts = page.locator("figure.chart")
    count = charts.count()
    assert count >= 4
    assert page.locator("figure.chart svg").count() == count
    for index in range(count):
        chart = charts.nth(index)
        box = chart.locator("svg").bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 60
        assert chart.locator("svg title").text_content()
        assert len(chart.locator("svg desc").text_content() or "") > 80
        assert chart.locator(".chart-title").is_visible()
        # Marks with a size: at least one bar or line actually painted.
        painted = chart.evaluate(
            "f => [...f.querySelectorAll('rect, path, line')]"
            ".filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length")
        assert painted > 3
    assert page.locator("script").count() == 0
    csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert csp is not None
    assert "default-src 'none'" in csp
    assert page.locator("h1").inner_text().startswith("Release review: Lumen")
    # Decision first: the summary is above the fold.
    summary = page.locator(".summary").bounding_box()
    assert summary is not None
    assert summary["y"] < 900
    page.screenshot(path=str(screenshots / "record-top.png"))
    page.screenshot(path=str(screenshots / "record-full.png"), full_page=True)
    watched.assert_quiet()
    assert static_problems(demo_record.read_text()) == []


def test_print_layout_keeps_the_charts(watched: Watched) -> None:
    watched.open()
    page = watched.page
    page.emulate_media(media="print")
    for index in range(page.locator("figure.chart svg").count()):
        box = page.locator("figure.chart svg").nth(index).bounding_box()
        assert box is not None
        assert box["width"] > 300
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    watched.assert_quiet()


def test_blocked_network_is_really_blocked(page: Any, demo_record: Path, tmp_path: Path) -> None:
    """The watcher itself: a page that does request something is caught."""
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><p>hi</p>')
    watcher = Watched(page, leaky.as_uri())
    watcher.open()
    assert watcher.refused == ["http://127.0.0.1:9/x.png"]
    with pytest.raises(AssertionError):
        watcher.assert_quiet()
