"""During a blind round no view shows a participant's hidden numbers: workbook, charts, record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deliberation.engine.analysis import analyze
from deliberation.readout.captions import chart_figure
from deliberation.readout.catalog import CHARTS
from deliberation.review.elicitation import Elicitation
from deliberation.review.model import load_review
from deliberation.review.opening import open_review
from deliberation.workbook.static import StaticContext, render_step
from deliberation.workbook.steps import STEPS
from deliberation.workbook.workbook import Workbook

REVIEW = Path(__file__).parent / "data" / "workbook" / "review.json"
# Ben's round-2 estimate of deepfakes: numbers and words found nowhere else.
SECRET = {"item": "deepfakes", "participant": "ben", "round": 2,
          "likelihood": [0.0123, 0.0456], "impact": [8765, 98765],
          "rationale": "zebra-crossing argument"}
MARKS = ("98,765", "98765", "0.0456", "4.56%", "zebra")


def _review(tmp_path: Path, *, revealed: list[int]) -> Path:
    data = json.loads(REVIEW.read_text(encoding="utf-8"))
    data["elicitation"] = {"round": 2, "blind": True, "revealed": revealed}
    data["estimates"].append(SECRET)
    path = tmp_path / "review.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _widget_text(root: Any) -> str:
    parts = []
    for widget in _walk(root):
        for name in ("value", "description", "placeholder", "tooltip", "titles", "options"):
            value = getattr(widget, name, None)
            parts.append(json.dumps(value, default=str) if not isinstance(value, str) else value)
    return "\n".join(parts)


def _every_view(path: Path) -> dict[str, str]:
    """The text of every step in the workbook, every chart, and every record fragment."""
    views: dict[str, str] = {}
    wb = Workbook.open(path, debounce=0)
    for spec in STEPS:
        views[f"workbook:{spec.name}"] = _widget_text(wb.step(spec.name))
    review, template, _ = open_review(path)
    analysis = analyze(review, template, samples=2000, seed=0)
    for name in CHARTS:
        views[f"chart:{name}"] = str(chart_figure(name, analysis, review))
    context = StaticContext.build(wb.session, seed=0, samples=2000)
    for fragment in {spec.fragment for spec in STEPS}:
        views[f"record:{fragment}"] = render_step(context, fragment)
    return views


def test_a_hidden_round_shows_no_participant_numbers_anywhere(tmp_path: Path) -> None:
    path = _review(tmp_path, revealed=[1])
    assert Elicitation.of(json.loads(path.read_text())).hidden(2)
    leaks = {view: mark for view, text in _every_view(path).items()
             for mark in MARKS if mark in text}
    assert leaks == {}


def test_the_same_views_show_the_numbers_once_the_round_is_revealed(tmp_path: Path) -> None:
    # The control: the search above finds the numbers when they are meant to be seen.
    views = _every_view(_review(tmp_path, revealed=[1, 2]))
    assert "98,765" in views["record:register"]
    assert "zebra" in views["record:register"]
    assert any("98765" in text or "98,765" in text for name, text in views.items()
               if name == "workbook:estimates")


def test_the_pooled_numbers_use_the_hidden_round(tmp_path: Path) -> None:
    # Blinding hides who said what, not the estimate: the analysis counts it.
    hidden = load_review(_review(tmp_path, revealed=[1]))
    review, template, _ = open_review(REVIEW)
    assert hidden.latest_estimates() != review.latest_estimates()
    with_secret = analyze(hidden, template, samples=2000, seed=0)
    without = analyze(review, template, samples=2000, seed=0)
    assert with_secret.variants != without.variants


@pytest.mark.parametrize(("stored", "hidden_rounds"), [
    ({"round": 2, "blind": True, "revealed": True}, []),
    ({"round": 2, "blind": True, "revealed": False}, [2]),
    ({"round": 3, "blind": True, "revealed": [2]}, [1, 3]),
    ({"round": 2, "blind": False, "revealed": []}, []),
])
def test_elicitation_state_reads_old_and_new_files(stored: dict[str, Any],
                                                   hidden_rounds: list[int]) -> None:
    state = Elicitation.model_validate(stored)
    assert [r for r in range(1, state.round + 1) if state.hidden(r)] == hidden_rounds


def test_round_controls_are_transitions_of_the_state() -> None:
    state = Elicitation(round=1)
    assert state.hidden(1)
    assert not state.reveal().hidden(1)
    assert state.reveal().hide().hidden(1)
    nxt = state.reveal().next_round()
    assert (nxt.round, nxt.hidden(1), nxt.hidden(2)) == (2, False, True)
