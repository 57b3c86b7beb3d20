"""What a facilitator does in the workbook's page, for the browser tests and the benchmark.

The same helpers drive JupyterLab and Voila: both show the widgets with the stable
CSS classes the workbook gives them (``dl-...``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

STEPS = ("setup", "benefits", "harms", "estimates", "mitigations", "tradeoffs", "policy",
         "decision", "export")
LONG = 120_000  # ms: a cold kernel imports numpy, pandas, pydantic and ipywidgets


def run_all_cells(page: Any) -> None:
    """JupyterLab's menu: Run > Run All Cells, then wait for the last step to appear."""
    # The menu's commands are enabled once the notebook has a kernel session.
    page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\| Idle")).wait_for(
        timeout=LONG)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    wait_for_steps(page)


def wait_for_steps(page: Any) -> None:
    page.locator(".dl-step-export").first.wait_for(timeout=LONG)
    page.locator(".dl-tradeoff-chart svg").first.wait_for(timeout=LONG)


def restart_kernel(page: Any) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Kernel$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel…$")).click()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def field(page: Any, css: str, index: int = 0) -> Any:
    """The input or textarea of the widget carrying ``css`` (first view of it)."""
    return page.locator(f".{css}").nth(index).locator("input, textarea").first


def commit(page: Any, css: str, value: str, index: int = 0) -> None:
    """Type into a field and commit it as a user does (Enter)."""
    target = field(page, css, index)
    target.fill(value)
    target.press("Enter")


def add_harm(page: Any, title: str) -> None:
    step = page.locator(".dl-step-harms").first
    cards = step.locator(".dl-harm-card")
    before = cards.count()
    step.locator(".dl-new-harm-title input").fill(title)
    step.locator("button.dl-add-harm").click()
    cards.nth(before).wait_for()


def text_of(page: Any, css: str) -> str:
    return str(page.locator(f".{css}").first.inner_text())


def chart_of(page: Any) -> str:
    return str(page.locator(".dl-tradeoff-chart").first.inner_html())


def wait_for_change(page: Any, css: str, before: str, timeout: float = 15_000) -> str:
    """Wait until the element's HTML differs from ``before``; return the new HTML."""
    page.wait_for_function(
        "([css, before]) => { const e = document.querySelector('.' + css);"
        " return e !== null && e.innerHTML !== before; }",
        arg=[css, before], timeout=timeout,
    )
    return str(page.locator(f".{css}").first.inner_html())


def shoot(page: Any, folder: Path, prefix: str, height: int = 2400) -> list[Path]:
    """A screenshot of each step, for a person to look at."""
    shots = []
    size = page.viewport_size
    # Tall enough that every step fits whole inside JupyterLab's scrolling notebook.
    page.set_viewport_size({"width": size["width"], "height": height})
    try:
        for step in STEPS:
            locator = page.locator(f".dl-step-{step}").first
            locator.scroll_into_view_if_needed()
            path = folder / f"{prefix}-{STEPS.index(step) + 1:02d}-{step}.png"
            locator.screenshot(path=str(path))
            shots.append(path)
    finally:
        page.set_viewport_size(size)
    return shots


EDIT_TO_CHART_JS = """
async ([selector, value]) => {
  const input = document.querySelector(selector);
  const chart = document.querySelector('.dl-tradeoff-chart');
  return await new Promise((resolve, reject) => {
    let started = 0;
    const observer = new MutationObserver(() => {
      observer.disconnect();
      resolve(performance.now() - started);
    });
    observer.observe(chart, {childList: true, subtree: true, characterData: true});
    setTimeout(() => { observer.disconnect(); reject(new Error('no chart update')); }, 10000);
    input.value = value;
    started = performance.now();
    input.dispatchEvent(new Event('change', {bubbles: true}));
  });
}
"""


def edit_to_chart_ms(page: Any, css: str, value: str) -> float:
    """Milliseconds from committing ``value`` in the field to the chart's redraw."""
    selector = f".{css} input"
    return float(page.evaluate(EDIT_TO_CHART_JS, [selector, value]))
