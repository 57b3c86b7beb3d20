"""Regenerate the named bad-input fixtures from tests/data/good/minimal.json.

Run: .venv/bin/python tests/data/bad/_make.py  (the fixtures are committed; the
expected errors live in expected.json and are written by hand, not by this script).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
BASE = json.loads((HERE.parent / "good" / "minimal.json").read_text())


def edit(change: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(BASE)
    change(data)
    return json.dumps(data, indent=2) + "\n"


def setitem(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


FIXTURES: dict[str, str] = {
    "likelihood-above-one.json": edit(setitem(["estimates", 1, "likelihood"], [0.5, 1.2])),
    "likelihood-negative.json": edit(setitem(["estimates", 2, "likelihood"], -0.1)),
    "interval-reversed.json": edit(setitem(["estimates", 0, "likelihood"], [0.9, 0.6])),
    "impact-not-positive.json": edit(setitem(["estimates", 0, "impact"], [0, 100])),
    "impact-huge-is-infinite.json": edit(setitem(["estimates", 2, "impact"], 1e300)).replace(
        "1e+300", "1e400"
    ),
    "impact-too-large.json": edit(setitem(["estimates", 0, "impact"], [2000, 1e20])),
    "factor-too-large.json": edit(setitem(["mitigations", 0, "impact_factor"], [1, 5000])),
    "nan-likelihood.json": edit(setitem(["estimates", 2, "likelihood"], 0.5)).replace(
        '"likelihood": 0.5', '"likelihood": NaN'
    ),
    "infinity-impact.json": edit(setitem(["estimates", 2, "impact"], 7)).replace(
        '"impact": 7', '"impact": Infinity'
    ),
    "duplicate-item-id.json": edit(setitem(["items", 1, "id"], "tutoring")),
    "duplicate-participant-id.json": edit(setitem(["participants", 1, "id"], "ana")),
    "estimate-unknown-item.json": edit(setitem(["estimates", 0, "item"], "tutorin")),
    "estimate-unknown-participant.json": edit(setitem(["estimates", 2, "participant"], "carl")),
    "estimate-same-round-twice.json": edit(setitem(["estimates", 2, "participant"], "ana")),
    "mitigation-unknown-target.json": edit(setitem(["mitigations", 0, "targets"], ["spam"])),
    "mitigation-unknown-owner.json": edit(setitem(["mitigations", 0, "owner"], "zoe")),
    "factor-negative.json": edit(setitem(["mitigations", 0, "likelihood_factor"], [-0.5, 0.5])),
    "variant-unknown-mitigation.json": edit(
        setitem(["variants", 1, "mitigations"], ["abuse-monitoring", "kyc"])
    ),
    "decision-unknown-variant.json": edit(setitem(["decision", "variant"], "closed")),
    "signoff-unknown-participant.json": edit(
        setitem(["decision", "signoffs", 0, "participant"], "root")
    ),
    "kind-not-in-enum.json": edit(setitem(["items", 1, "kind"], "risk")),
    "outcome-not-in-enum.json": edit(setitem(["decision", "outcome"], "ship-it")),
    "likelihood-unknown-label.json": edit(setitem(["estimates", 2, "likelihood"], "probably")),
    "impact-unknown-label.json": edit(setitem(["estimates", 2, "impact"], "huge")),
    "category-unknown.json": edit(setitem(["items", 0, "category"], "astrology")),
    "thresholds-reversed.json": edit(
        setitem(["thresholds"], {"extreme_bad": 5000, "extreme_good": -5000})
    ),
    "missing-title.json": edit(lambda data: data.pop("title")),
    "wrong-schema.json": edit(setitem(["schema"], "deliberation/review@2")),
    "template-unknown.json": edit(setitem(["template", "id"], "no-such-template")),
    "category-wrong-kind.json": edit(setitem(["items", 0, "category"], "misuse")),
    "not-an-object.json": "[1, 2, 3]\n",
    # Numbers and sizes (issue 13): bounded where they enter, one line naming the field.
    "impact-400-digits.json": edit(setitem(["estimates", 0, "impact"], [2000, 7])).replace(
        "7\n", "1" + "0" * 400 + "\n", 1
    ),
    "impact-5000-digits.json": edit(setitem(["estimates", 0, "impact"], [2000, 7])).replace(
        "7\n", "9" * 5000 + "\n", 1
    ),
    "thresholds-1e308.json": edit(
        setitem(["thresholds"], {"extreme_bad": -1e308, "extreme_good": 1e308})
    ),
    "round-too-large.json": edit(setitem(["estimates", 0, "round"], 10**12)),
    "nested-1000-deep.json": edit(setitem(["items", 0, "references"], [])).replace(
        '"references": []', '"references": ' + "[" * 1000 + "]" * 1000
    ),
    # Control characters: refused where they make no sense (a forged PASS line).
    "title-escape-sequence.json": edit(setitem(["items", 0, "title"], "Tutoring\x1b[31m")),
    "role-forges-a-line.json": edit(
        setitem(["participants", 0, "role"], "legal\x1b[2K\rPASS  signoffs: forged")
    ),
    "title-noncharacter.json": edit(setitem(["variants", 0, "title"], "Open\uffff")),
    "invalid-json.json": edit(lambda data: None)[:200] + "\n",
    # Numbers the engine could not represent faithfully (issue 9): refused with the reason.
    "likelihood-interval-from-zero.json": edit(
        setitem(["estimates", 1, "likelihood"], [0, 0.1])
    ),
    "impact-25-decades.json": edit(setitem(["estimates", 0, "impact"], [1e-10, 1e15])),
    "factor-12-decades.json": edit(
        setitem(["mitigations", 0, "likelihood_factor"], [1e-12, 1])
    ),
    # Overrides (issue 9): the gate is a rule of the template, by a participant, with a why.
    "override-unknown-gate.json": edit(setitem(
        ["decision", "overrides"], [{"gate": "risk-accepted", "reason": "board", "by": "ana"}])),
    "override-unknown-participant.json": edit(setitem(
        ["decision", "overrides"], [{"gate": "signoffs", "reason": "board", "by": "zoe"}])),
    "override-empty-reason.json": edit(setitem(
        ["decision", "overrides"], [{"gate": "signoffs", "reason": "  ", "by": "ana"}])),
    # Drivers (issue 14): items that exist, at least two, each item in at most one driver.
    "driver-unknown-item.json": edit(setitem(["drivers"], [
        {"id": "leak", "title": "Weights leak", "items": ["tutoring", "spam"],
         "strength": "strong"}])),
    "driver-one-item.json": edit(setitem(["drivers"], [
        {"id": "leak", "title": "Weights leak", "items": ["phishing"], "strength": 0.5}])),
    "driver-item-twice.json": edit(setitem(["drivers"], [
        {"id": "leak", "title": "Weights leak", "items": ["tutoring", "phishing"],
         "strength": "weak"},
        {"id": "hype", "title": "Hype cycle", "items": ["phishing", "tutoring"],
         "strength": "weak"}])),
    "driver-strength-above-one.json": edit(setitem(["drivers"], [
        {"id": "leak", "title": "Weights leak", "items": ["tutoring", "phishing"],
         "strength": 1.5}])),
    "driver-strength-unknown-word.json": edit(setitem(["drivers"], [
        {"id": "leak", "title": "Weights leak", "items": ["tutoring", "phishing"],
         "strength": "total"}])),
}

if __name__ == "__main__":
    for name, text in FIXTURES.items():
        (HERE / name).write_text(text)
    print(f"wrote {len(FIXTURES)} fixtures")
