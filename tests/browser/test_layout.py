"""Issue 12, problem 5: at 1024 and 1440 px no field, label or button of a step is clipped.

The workbook runs in a real JupyterLab; at each width the page measures every visible
input, textarea, select, label and button of every step (``.dl-step``): its content must
fit its box (``scrollWidth <= clientWidth + 1``, which also catches a button whose text
ellipsis cut to "R…") and its box must lie inside its step's box horizontally. Every
offender is collected with its step, a selector and its text, so one run names them all.
Text and tables (HTML widgets) must lie inside their step too (a wide table scrolls).
Folded panels (accordions) are opened one at a time, so what each holds is measured too.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, WORKBOOK, Server
from .meeting import shoot
from .test_workbook import open_workbook

WIDTHS = (1024, 1440)
EXAMPLE = REPO / "workbooks" / "example" / "review.json"

# An accordion shows one panel at a time: open panel ``k`` of every accordion (and every
# collapsed single panel), so each panel's content is measured in its own pass.
OPEN_PANELS_JS = """
k => {
  let more = false;
  for (const accordion of document.querySelectorAll('.dl-step .jupyter-widget-Accordion')) {
    const panels = [...accordion.children].filter(
      c => c.classList.contains('jupyter-widget-Accordion-child'));
    if (k + 1 < panels.length) more = true;
    const panel = panels[k];
    if (panel && !panel.classList.contains('jupyter-widget-Collapse-open')) {
      panel.querySelector('.jupyter-widget-Collapse-header').click();
    }
  }
  return more;
}
"""

README_CLIP_JS = """
() => {
  const step = document.querySelector('.dl-step-tradeoffs');
  const box = step.getBoundingClientRect();
  const titles = step.querySelectorAll(
    '.lm-AccordionPanel-title, .jupyter-widget-Collapse-header');
  const last = titles.length ? titles[titles.length - 1].getBoundingClientRect() : null;
  const bottom = last ? last.bottom + 8 : box.top + 1500;
  return {x: box.left, y: box.top, width: box.width, height: bottom - box.top};
}
"""

OFFENDERS_JS = """
() => {
  const found = [];
  const name = el => {
    const classes = [...el.classList].filter(c => c.startsWith('dl-')).join('.');
    let owner = el.closest('[class*="dl-"]:not(.dl-step)');
    const ownerName = owner && owner !== el
      ? [...owner.classList].filter(c => c.startsWith('dl-')).join('.') : '';
    return el.tagName.toLowerCase() + (classes ? '.' + classes : '')
      + (ownerName ? ' in .' + ownerName : '');
  };
  const text = el => (el.value !== undefined && el.tagName !== 'BUTTON'
    ? el.value || el.placeholder || ''
    : el.innerText || el.getAttribute('title') || '').trim().slice(0, 40);
  for (const step of document.querySelectorAll('.dl-step')) {
    const stepName = [...step.classList].find(c => c.startsWith('dl-step-')) || 'dl-step';
    const box = step.getBoundingClientRect();
    const parts = step.querySelectorAll('input, textarea, select, button, .widget-label');
    for (const el of parts) {
      if (!el.checkVisibility() || el.getClientRects().length === 0) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const where = stepName + ': ' + name(el) + ' "' + text(el) + '"';
      if (r.left < box.left - 1 || r.right > box.right + 1) {
        found.push(where + ` outside its step (${Math.round(r.left)}..${Math.round(r.right)}`
          + ` not in ${Math.round(box.left)}..${Math.round(box.right)})`);
      }
      // A typed value longer than its field scrolls in it by design (single-line text);
      // what is measured there is the field's own words, its placeholder.
      const typed = (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && el.value;
      const measured = el.tagName !== 'SELECT' && el.type !== 'checkbox'
        && el.type !== 'radio' && el.type !== 'range' && el.type !== 'color' && !typed;
      if (measured && el.scrollWidth > el.clientWidth + 1) {
        found.push(where + ` clipped (content ${el.scrollWidth}px in ${el.clientWidth}px)`);
      }
      if (el.tagName === 'INPUT' && !el.value && el.placeholder) {
        const probe = document.createElement('span');
        probe.style.cssText = 'position:absolute;visibility:hidden;white-space:pre;font:'
          + getComputedStyle(el).font;
        probe.textContent = el.placeholder;
        document.body.appendChild(probe);
        const need = probe.getBoundingClientRect().width;
        probe.remove();
        const style = getComputedStyle(el);
        const room = el.clientWidth - parseFloat(style.paddingLeft)
          - parseFloat(style.paddingRight);
        if (need > room + 1) {
          found.push(where + ` placeholder "${el.placeholder.slice(0, 40)}" cut`
            + ` (${Math.round(need)}px in ${Math.round(room)}px)`);
        }
      }
      if (el.tagName === 'SELECT') {
        // a dropdown cut off: its chosen option wider than its box; a list box (several
        // rows shown): any option wider than the box
        const shown = el.multiple || el.size > 1 ? [...el.options]
          : [el.options[el.selectedIndex]].filter(o => o);
        for (const option of shown) {
          const probe = document.createElement('span');
          probe.style.cssText = 'position:absolute;visibility:hidden;white-space:pre;font:'
            + getComputedStyle(el).font;
          probe.textContent = option.text;
          document.body.appendChild(probe);
          const need = probe.getBoundingClientRect().width;
          probe.remove();
          // room for the arrow or scroll bar and the padding: 28px
          if (need + 28 > r.width + 1) {
            found.push(where + ` clipped (option "${option.text.slice(0, 40)}" needs`
              + ` ${Math.round(need + 28)}px in ${Math.round(r.width)}px)`);
          }
        }
      }
    }
    // text and tables (HTML widgets) stay inside the step: a wide table scrolls in its
    // own box instead of being cut at the step's edge
    for (const el of step.querySelectorAll('.widget-html, .widget-htmlmath')) {
      if (!el.checkVisibility()) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1) {
        const words = (el.innerText || '').trim().slice(0, 40);
        found.push(stepName + ': ' + name(el) + ' "' + words + '"'
          + ` outside its step (${Math.round(r.left)}..${Math.round(r.right)}`
          + ` not in ${Math.round(box.left)}..${Math.round(box.right)})`);
      }
      for (const part of [el, ...el.querySelectorAll('.widget-html-content')]) {
        const scrolls = ['auto', 'scroll'].includes(getComputedStyle(part).overflowX);
        if (!scrolls && part.scrollWidth > part.clientWidth + 1) {
          const words = (el.innerText || '').trim().slice(0, 40);
          found.push(stepName + ': ' + name(el) + ' "' + words + '"'
            + ` cut (content ${part.scrollWidth}px in ${part.clientWidth}px)`);
          break;
        }
      }
    }
    // the step itself stays within the notebook's output area
    const area = step.closest('.jp-OutputArea-output') || step.parentElement;
    const outer = area.getBoundingClientRect();
    if (box.right > outer.right + 1) {
      found.push(stepName + `: the step is wider than its output area`
        + ` (${Math.round(box.right)} > ${Math.round(outer.right)})`);
    }
  }
  return found;
}
"""


def offenders(page: Any) -> list[str]:
    return list(page.evaluate(OFFENDERS_JS))


@pytest.fixture
def review_dir(tmp_path: Path) -> Path:
    """The example review (16 items, 3 participants, 3 variants) next to the workbook:
    copies, so the repository's files are never touched."""
    root = tmp_path / "review"
    root.mkdir()
    shutil.copyfile(WORKBOOK, root / "release_review.ipynb")
    shutil.copyfile(EXAMPLE, root / "review.json")
    return root


def test_no_field_label_or_button_is_clipped_at_1024_and_1440(
        page: Any, lab: Server, screenshots: Path) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    open_workbook(page, lab)
    # the README's picture: the tradeoffs step as it opens at 1440 px, from its heading
    # to its folded panels (tall enough that JupyterLab's notebook needs no scrolling)
    # and the file browser folded away, as a facilitator sharing the screen would
    page.set_viewport_size({"width": 1440, "height": 8000})
    sidebar_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    folded = sidebar_tab.count() == 1
    if folded:
        sidebar_tab.click()
    tradeoffs = page.locator(".dl-step-tradeoffs").first
    tradeoffs.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    clip = page.evaluate(README_CLIP_JS)
    page.screenshot(path=str(screenshots / "layout-1440-tradeoffs-readme.png"), clip=clip)
    if folded:  # measured beside the open file browser: the narrower, harder case
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").wait_for()
    steps = page.locator(".dl-step")
    assert steps.count() >= 9  # every agenda step is on the page and measured
    found: list[str] = []
    panel, more = 0, True
    while more:
        more = bool(page.evaluate(OPEN_PANELS_JS, panel))
        page.wait_for_timeout(1_500)  # an opened panel's chart is drawn once it is open
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            # let the widgets' flex layout settle at the new width
            page.wait_for_timeout(800)
            found += [f"{width}px panel {panel + 1}: {where}" for where in offenders(page)]
            if panel == 0:
                # with a panel open the tradeoffs step is over 4000 px tall at 1024 px
                shots = shoot(page, screenshots, f"layout-{width}", height=5000)
                assert all(path.stat().st_size > 2_000 for path in shots)
        panel += 1
    assert panel >= 5  # the tradeoffs step's five panels were each opened
    assert found == [], "\n".join(found)
