"""Issue 12, problems 3, 6, 7 and 9, in a real JupyterLab, as a facilitator meets them.

3. numbers typed as people type them ("1,000 to 5,000", "5k", "$2M", "50%" for a
   factor), the field saying how it read them, a decimal comma asked about, a pending
   invalid entry never dropped by switching participant, Enter in the new-item field;
6. two participants may not share a name, and a message names an entry with its kind
   when a mitigation and a variant share a title;
7. the decision step warns before and at the approval of a variant that fails a gate,
   and the export shows a link to record.html;
9. the meaning of each label and what a typed interval implies, beside the field.
"""

from __future__ import annotations

import re
from typing import Any

from .conftest import Server
from .meeting import commit, field
from .test_removal_page import _idle, _wait_on_disk
from .test_workbook import _estimate, open_workbook


def test_numbers_as_people_type_them(page: Any, lab: Server) -> None:
    open_workbook(page, lab)

    # Thousands separators and "to": an interval, and the field says how it read it.
    commit(page, "dl-impact-deepfakes", "1,000 to 5,000")
    data = _wait_on_disk(page, lab, lambda d: _estimate(d, "deepfakes", "ana")["impact"]
                         == [1000, 5000])
    assert _estimate(data, "deepfakes", "ana")["likelihood"] == [0.2, 0.6]
    # Suffixes and currency signs.
    commit(page, "dl-impact-deepfakes", "5k to 20k")
    _wait_on_disk(page, lab, lambda d: _estimate(d, "deepfakes", "ana")["impact"]
                  == [5000, 20000])
    page.wait_for_function("() => [...document.querySelectorAll('.dl-impact-error')]"
                           ".some(e => e.innerText.includes('read as 5,000 to 20,000'))")
    commit(page, "dl-impact-deepfakes", "$2M")
    _wait_on_disk(page, lab, lambda d: _estimate(d, "deepfakes", "ana")["impact"]
                  == 2_000_000)

    # Problem 9: what an interval implies, and a label's meaning, beside the field.
    commit(page, "dl-likelihood-deepfakes", "5% to 20%")
    _wait_on_disk(page, lab, lambda d: _estimate(d, "deepfakes", "ana")["likelihood"]
                  == [0.05, 0.2])
    page.wait_for_function("() => [...document.querySelectorAll('.dl-likelihood-error')]"
                           ".some(e => e.innerText.includes('1 in 20 to 1 in 5'))")
    commit(page, "dl-likelihood-deepfakes", "likely")
    _wait_on_disk(page, lab, lambda d: _estimate(d, "deepfakes", "ana")["likelihood"]
                  == "likely")
    page.wait_for_function("() => [...document.querySelectorAll('.dl-likelihood-error')]"
                           ".some(e => /likely = \\d+% to \\d+%/.test(e.innerText))")
    # A single-number likelihood is taken, and the field says its uncertainty is gone.
    commit(page, "dl-likelihood-deepfakes", "5%")
    _wait_on_disk(page, lab, lambda d: _estimate(d, "deepfakes", "ana")["likelihood"]
                  == 0.05)
    page.wait_for_function("() => [...document.querySelectorAll('.dl-likelihood-error')]"
                           ".some(e => e.innerText.includes("
                           "'read as 5% exactly: a single number says you are certain'))")

    # A decimal comma is asked about, never guessed; nothing is saved meanwhile.
    saved = lab.review.read_bytes()
    commit(page, "dl-likelihood-deepfakes", "0,2")
    page.wait_for_function("() => [...document.querySelectorAll('.dl-likelihood-error')]"
                           ".some(e => e.innerText.includes('decimal comma'))")
    assert lab.review.read_bytes() == saved

    # The invalid entry is pending: switching participant is refused and says why.
    estimates = page.locator(".dl-step-estimates").first
    estimates.locator(".dl-estimator button", has_text="Ben Okafor").click()
    estimates.locator(".dl-switch-error", has_text="Not switched").wait_for()
    assert "0,2" in estimates.locator(".dl-switch-error").inner_text()
    assert field(page, "dl-likelihood-deepfakes").input_value() == "0,2"
    assert lab.review.read_bytes() == saved

    # A factor in percent, as the step explains factors.
    commit(page, "dl-mitigation-likelihood-factor", "30% to 50%")
    _wait_on_disk(page, lab, lambda d: d["mitigations"][0]["likelihood_factor"] == [0.3, 0.5])

    # Enter in the new-harm field adds the harm, as the button does.
    harms = page.locator(".dl-step-harms").first
    cards = harms.locator(".dl-harm-card")
    before = cards.count()
    title = harms.locator(".dl-new-harm-title input")
    title.fill("Harassment with generated images")
    title.press("Enter")
    _wait_on_disk(page, lab, lambda d: any(
        i["title"] == "Harassment with generated images" for i in d["items"]))
    cards.nth(before).wait_for()


def test_names_gates_and_the_record_link(page: Any, lab: Server) -> None:
    open_workbook(page, lab)

    # Problem 6: a second "Ana Ruiz" is refused with a reason; nobody is added.
    setup = page.locator(".dl-step-setup").first
    setup.locator(".dl-new-participant-name input").fill("Ana Ruiz")
    setup.locator("button.dl-add-participant").click()
    setup.locator(".dl-add-participant-error", has_text="Ana Ruiz").wait_for()
    _idle(page)
    assert [p["name"] for p in lab.review_data()["participants"]] == ["Ana Ruiz", "Ben Okafor"]

    # A mitigation and a variant both called "Staged release": messages name the kind.
    commit(page, "dl-mitigation-title", "Staged release")
    commit(page, "dl-variant-title", "Staged release")
    _wait_on_disk(page, lab, lambda d: d["variants"][0]["title"] == "Staged release"
                  and d["mitigations"][0]["title"] == "Staged release")

    # Problem 7: make "Staged release" (the open weights) fail the P(extremely bad) gate.
    for who in ("Ana Ruiz", "Ben Okafor"):
        page.locator(".dl-step-estimates .dl-estimator button", has_text=who).first.click()
        _idle(page)
        commit(page, "dl-likelihood-deepfakes", "90% to 99%")
        commit(page, "dl-impact-deepfakes", "1M to 10M")
    _wait_on_disk(page, lab, lambda d: all(
        e["impact"] == [1_000_000, 10_000_000] for e in d["estimates"]
        if e["item"] == "deepfakes"))
    decision = page.locator(".dl-step-decision").first
    decision.locator(".dl-outcome select").select_option(label="Defer")
    _wait_on_disk(page, lab, lambda d: (d.get("decision") or {}).get("outcome") == "defer")
    decision.locator(".dl-decision-variant select").select_option(label="Staged release")
    warning = decision.locator(".dl-override-warning [role=alert]",
                               has_text="variant “Staged release”")
    warning.wait_for(timeout=30_000)
    assert "Before you approve" in warning.inner_text()
    decision.locator(".dl-outcome select").select_option(label="Approve")
    decision.locator(".dl-override-warning [role=alert]",
                     has_text="without an override").wait_for(timeout=30_000)
    assert "extreme-bad" in decision.locator(".dl-override-warning").inner_text()
    assert decision.locator(".dl-override-add").count() == 1  # the override is one click away

    # The export shows a link that opens record.html.
    export = page.locator(".dl-step-export").first
    export.locator("button.dl-export").click()
    link = export.locator("a.dl-record-link")
    link.wait_for(timeout=120_000)
    href = link.get_attribute("href") or ""
    assert re.search(r"record\.html$", href), href
    assert link.inner_text() == "Open record.html"
