"""Issue 12, problem 5, the parts that are not clipping: a steady page.

In a real JupyterLab: cards of one step are one width whatever their titles say; a panel
a facilitator opened in the tradeoffs step stays open while the numbers under it are
recomputed after an edit; and a Run All lands on a usable view. (JupyterLab's Run All
makes the last cell active and scrolls to it, no setting turns that off, and the
workbook, a kernel, can not scroll the page: so the last cell is every step as tabs,
opened on set-up, and that is what the facilitator sees after a Run All.)
"""

from __future__ import annotations

from typing import Any

from .conftest import Server
from .meeting import add_harm, commit, run_all_cells, text_of
from .test_workbook import open_workbook

CARD_WIDTHS_JS = """
css => [...document.querySelector('.dl-step-harms').querySelectorAll(css)]
  .filter(card => card.checkVisibility())
  .map(card => card.getBoundingClientRect().width)
"""

HEADERS = ".jupyter-widget-Collapse-header"
PANELS = ".jupyter-widget-Accordion-child"
OPEN = "jupyter-widget-Collapse-open"


def test_cards_keep_one_width_and_an_open_panel_stays_open(page: Any, lab: Server) -> None:
    page.set_viewport_size({"width": 1024, "height": 900})
    open_workbook(page, lab)
    add_harm(page, "Spam")
    add_harm(page, "Targeted harassment of journalists with generated images of them in "
                   "places they never were")
    widths = page.evaluate(CARD_WIDTHS_JS, ".dl-harm-card")
    assert len(widths) >= 3, widths
    assert max(widths) - min(widths) <= 1, f"harm cards of different widths: {widths}"

    # open the tradeoffs step's second panel, then change an estimate under it
    more = page.locator(".dl-step-tradeoffs").first.locator(".dl-tradeoff-more").first
    header = more.locator(HEADERS).nth(1)
    header.click()
    page.wait_for_function(
        "([css, open]) => document.querySelectorAll(css)[1].classList.contains(open)",
        arg=[f".dl-step-tradeoffs .dl-tradeoff-more {PANELS}", OPEN])
    before = text_of(page, "dl-tradeoff-numbers")
    commit(page, "dl-impact-deepfakes", "50,000 to 900,000")
    page.wait_for_function(
        "before => document.querySelector('.dl-tradeoff-numbers').innerText !== before",
        arg=before, timeout=30_000)
    page.wait_for_timeout(2_500)  # past the quiet before the open chart is redrawn
    classes = more.locator(PANELS).evaluate_all("ps => ps.map(p => p.className)")
    assert OPEN in classes[1], f"the open panel folded shut after an edit: {classes}"
    assert sum(OPEN in c for c in classes) == 1, classes


LANDING_JS = """
() => {
  const tabs = document.querySelector('.dl-app');
  const bar = tabs.querySelector('.lm-TabBar').getBoundingClientRect();
  const view = document.querySelector('.jp-WindowedPanel-outer').getBoundingClientRect();
  const current = tabs.querySelector('.lm-TabBar-tab.lm-mod-current');
  return {top: bar.top, bottom: bar.bottom, viewTop: view.top, viewBottom: view.bottom,
          current: current ? current.innerText.trim() : null};
}
"""


def test_run_all_lands_on_the_steps_as_tabs_at_set_up(page: Any, lab: Server) -> None:
    """JupyterLab's Run All scrolls to the last cell it makes active; the workbook's last
    cell is every step as tabs, opened on set-up, so that is where a Run All lands."""
    page.set_viewport_size({"width": 1024, "height": 768})
    open_workbook(page, lab)  # a Run All on a fresh kernel
    for run in ("fresh", "warm"):
        if run == "warm":
            run_all_cells(page)
        page.wait_for_timeout(1_500)
        landing = page.evaluate(LANDING_JS)
        assert landing["viewTop"] <= landing["top"], (run, landing)
        assert landing["bottom"] <= landing["viewBottom"], (run, landing)
        assert landing["current"] == "Set-up", (run, landing)
