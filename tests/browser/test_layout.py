"""Issue 12, problem 5: at 1024 and 1440 px no field, label or button of a step is clipped.

The workbook runs in a real JupyterLab; at each width the page measures every visible
input, textarea, select, label and button of every step (``.dl-step``): its content must
fit its box (``scrollWidth <= clientWidth + 1``, which also catches a button whose text
ellipsis cut to "R…") and its box must lie inside its step's box horizontally. Every
offender is collected with its step, a selector and its text, so one run names them all.
Text and tables (HTML widgets) must lie inside their step too (a wide table scrolls).
Folded panels (accordions) are opened first, so what they hold is measured too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import Server
from .meeting import shoot
from .test_workbook import open_workbook

WIDTHS = (1024, 1440)

OPEN_PANELS_JS = """
() => {
  for (const title of document.querySelectorAll(
      '.dl-step .lm-AccordionPanel-title:not(.lm-mod-expanded),'
      + ' .dl-step .jupyter-widget-Collapse-header:not(.mod-active)')) {
    title.click();
  }
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
    ? el.value : el.innerText || el.getAttribute('title') || '').trim().slice(0, 40);
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
      const measured = el.tagName !== 'SELECT' && el.type !== 'checkbox'
        && el.type !== 'radio' && el.type !== 'range' && el.type !== 'color';
      if (measured && el.scrollWidth > el.clientWidth + 1) {
        found.push(where + ` clipped (content ${el.scrollWidth}px in ${el.clientWidth}px)`);
      }
      if (el.tagName === 'SELECT') {
        // a dropdown cut off: its chosen option's text wider than the box shows
        const option = el.options[el.selectedIndex];
        if (option) {
          const probe = document.createElement('span');
          probe.style.cssText = 'position:absolute;visibility:hidden;white-space:pre;font:'
            + getComputedStyle(el).font;
          probe.textContent = option.text;
          document.body.appendChild(probe);
          const need = probe.getBoundingClientRect().width;
          probe.remove();
          // room for the arrow and padding: 28px
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


def test_no_field_label_or_button_is_clipped_at_1024_and_1440(
        page: Any, lab: Server, screenshots: Path) -> None:
    open_workbook(page, lab)
    page.evaluate(OPEN_PANELS_JS)
    steps = page.locator(".dl-step")
    assert steps.count() >= 9  # every agenda step is on the page and measured
    found: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        # let the widgets' flex layout settle at the new width
        page.wait_for_timeout(800)
        found += [f"{width}px {where}" for where in offenders(page)]
        shots = shoot(page, screenshots, f"layout-{width}")
        assert all(path.stat().st_size > 2_000 for path in shots)
        if width == 1440:
            page.locator(".dl-step-tradeoffs").first.screenshot(
                path=str(screenshots / "layout-1440-tradeoffs-step.png"))
    assert found == [], "\n".join(found)
