"""The workbook at meeting pace (issue 12), without a browser: a rebuild keeps the cards it
still shows and closes what it no longer shows, Enter adds, the first chart waits for no one.

Timings are in benchmarks/bench_workbook_kernel.py; these tests check what makes them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.widgets import widget as widget_module

from deliberation.workbook.cards import reachable
from deliberation.workbook.connection import heartbeat
from deliberation.workbook.shared import is_shared
from deliberation.workbook.workbook import Workbook

from .test_workbook import REVIEW, find, find_all, on_disk, walk


@pytest.fixture
def review_path(tmp_path: Path) -> Path:
    path = tmp_path / "review.json"
    shutil.copyfile(REVIEW, path)
    return path


@pytest.fixture
def wb(review_path: Path) -> Workbook:
    return Workbook.open(review_path, debounce=0)


def alive() -> dict[int, Any]:
    """The widget models the kernel holds (``ipywidgets.Widget.widgets``), by id."""
    return {id(w): w for w in widget_module._instances.values()}


def add(step: Any, kind: str, title: str) -> None:
    find(step, f"dl-new-{kind}-title").value = title
    find(step, f"dl-add-{kind}").click()


def card_titled(step: Any, kind: str, title: str) -> Any:
    for card in find_all(step, f"dl-{kind}-card"):
        if find(card, f"dl-{kind}-title").value == title:
            return card
    raise LookupError(title)


def submit(text: Any) -> None:
    """What the page sends a text field on Enter."""
    text._handle_custom_msg({"event": "submit"}, [])


def in_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main`` in an event loop of its own thread, as a kernel runs cells (after the
    browser tests, playwright's loop counts as running in the test's thread)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # handed to the test's thread below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if failures:
        raise failures[0]
    assert not thread.is_alive()


# --------------------------------------------------------------------------- widget models


def test_widget_models_stay_bounded_over_30_adds_and_removes(review_path: Path) -> None:
    heartbeat()  # the kernel's one heartbeat (shown by every step) exists from here on
    before = set(alive())
    wb = Workbook.open(review_path, debounce=0)
    roots = [wb.setup(), wb.items(), wb.harms(), wb.estimates(), wb.mitigations()]
    shown_at_start = len(reachable(roots))
    harms = roots[2]
    for n in range(30):
        add(harms, "harm", f"Churn harm {n}")
    assert len([i for i in on_disk(review_path)["items"] if i["kind"] == "harm"]) == 31
    for n in range(30):
        find(card_titled(harms, "harm", f"Churn harm {n}"), "dl-remove-harm").click()
    assert [i["id"] for i in on_disk(review_path)["items"]] == ["education", "deepfakes"]

    # The layouts and styles the steps share (workbook.shared) live as long as the
    # kernel, one per set of properties: counted apart, and they must not grow.
    made = {key: w for key, w in alive().items() if key not in before and not is_shared(w)}
    shown = reachable(roots)
    # Every model the steps made and still hold is one they show: nothing replaced is
    # left open (before the fix, each add left the whole old bodies alive: thousands).
    assert set(made) - set(shown) == set()
    # What they show is the review's: the start plus the 30 removed harms' Restore rows,
    # as a fresh workbook on the final review shows them.
    fresh_before = set(alive())
    fresh = Workbook.open(review_path, debounce=0)
    fresh_roots = [fresh.setup(), fresh.items(), fresh.harms(), fresh.estimates(),
                   fresh.mitigations()]
    fresh_made = len([w for key, w in alive().items()
                      if key not in fresh_before and not is_shared(w)])
    shared = set(reachable([heartbeat()]))  # made once per kernel, before either
    assert len(made) == fresh_made == len(
        {key for key, w in reachable(fresh_roots).items() if not is_shared(w)} - shared)
    # More adds and removes make no new shared layout or style (on the fresh workbook:
    # opening it retired the first).
    sharing = {key for key, w in alive().items() if is_shared(w)}
    for n in range(5):
        add(fresh_roots[2], "harm", f"Second churn {n}")
    for n in range(5):
        find(card_titled(fresh_roots[2], "harm", f"Second churn {n}"),
             "dl-remove-harm").click()
    assert {key for key, w in alive().items() if is_shared(w)} == sharing
    assert 0 < len(sharing) < 100
    assert len(shown) > shown_at_start  # the Restore rows are there


def test_a_closed_widget_is_never_one_still_shown(wb: Workbook) -> None:
    """A piece shown by two builds (a reused card, the step's own table) stays open."""
    estimates = wb.estimates()
    table = find(estimates, "dl-estimates-table")
    row = find(estimates, "dl-estimate-row")
    add(wb.harms(), "harm", "Another harm")
    assert find(estimates, "dl-estimates-table") is table
    assert table.comm is not None
    assert find(estimates, "dl-estimate-row") is row
    assert all(w.comm is not None for w in walk(estimates))
    assert len(find_all(estimates, "dl-estimate-row")) == 3


# --------------------------------------------------------------------------- incremental bodies


def test_adding_an_item_keeps_every_other_card_and_its_fields_still_save(
        wb: Workbook, review_path: Path) -> None:
    harms, estimates, mitigations = wb.harms(), wb.estimates(), wb.mitigations()
    card = card_titled(harms, "harm", find(harms, "dl-harm-title").value)
    row = find(estimates, "dl-estimate-row", 1)  # the harm's, the benefit's first
    mitigation = find(mitigations, "dl-mitigation-card")
    targets = find(mitigation, "dl-mitigation-targets")
    add(harms, "harm", "Voice cloning")
    assert card_titled(harms, "harm", card.children[0].children[0].children[0].value) is card
    assert find(estimates, "dl-estimate-row", 1) is row
    assert find(mitigations, "dl-mitigation-card") is mitigation
    # the kept mitigation card offers the new item, its choice unchanged
    titles = [item["title"] for item in on_disk(review_path)["items"]]
    assert titles[-1] == "Voice cloning"
    assert [label for label, _ in targets.options] == titles
    assert targets.value == ("deepfakes",)
    # the kept card's field is still bound: typing in it saves, and the kept rows follow
    find(card, "dl-harm-title").value = "Deepfakes, retitled"
    assert on_disk(review_path)["items"][1]["title"] == "Deepfakes, retitled"
    assert find(row, "dl-estimate-title").value.endswith("Deepfakes, retitled")
    assert targets.options[1] == ("Deepfakes, retitled", "deepfakes")
    find(find_all(mitigations, "dl-mitigation-card")[0], "dl-mitigation-targets").value = (
        "deepfakes", "voice-cloning")
    assert on_disk(review_path)["mitigations"][0]["targets"] == ["deepfakes", "voice-cloning"]


def test_a_kept_card_follows_its_items_category(wb: Workbook, review_path: Path) -> None:
    harms = wb.harms()
    card = find(harms, "dl-harm-card")
    questions = find(card, "dl-questions")
    assert "Disinformation" in questions.value
    category = find(card, "dl-harm-category")
    other = next(value for _, value in category.options if value not in (None, "disinformation"))
    category.value = other
    assert on_disk(review_path)["items"][1]["category"] == other
    assert find(harms, "dl-harm-card") is card
    title = wb.session.template.category(other).title
    assert title in questions.value
    assert "Disinformation" not in questions.value


def test_removing_an_item_drops_it_from_the_kept_mitigation_cards(
        wb: Workbook, review_path: Path) -> None:
    harms, mitigations = wb.harms(), wb.mitigations()
    add(harms, "harm", "Voice cloning")
    targets = find(mitigations, "dl-mitigation-targets")
    targets.value = ("deepfakes", "voice-cloning")
    find(card_titled(harms, "harm", "Voice cloning"), "dl-remove-harm").click()
    assert on_disk(review_path)["mitigations"][0]["targets"] == ["deepfakes"]
    assert find(mitigations, "dl-mitigation-targets") is targets
    assert [value for _, value in targets.options] == ["education", "deepfakes"]
    assert targets.value == ("deepfakes",)


def test_a_new_mitigation_is_offered_to_the_kept_variant_cards(
        wb: Workbook, review_path: Path) -> None:
    mitigations = wb.mitigations()
    variant = find(mitigations, "dl-variant-card")
    find(mitigations, "dl-new-mitigation-title").value = "Watermark every image"
    find(mitigations, "dl-new-mitigation-targets").value = ("deepfakes",)
    find(mitigations, "dl-add-mitigation").click()
    assert find(mitigations, "dl-variant-card") is variant
    choice = find(variant, "dl-variant-mitigations")
    assert [label for label, _ in choice.options] == ["Prompt filter for real people's names",
                                                      "Watermark every image"]
    assert choice.rows == 2


# --------------------------------------------------------------------------- Enter adds


@pytest.mark.parametrize(("step", "kind", "count"), [
    ("harms", "harm-title", lambda data: len(data["items"])),
    ("benefits", "benefit-title", lambda data: len(data["items"])),
    ("mitigations", "variant-title", lambda data: len(data["variants"])),
    ("setup", "participant-name", lambda data: len(data["participants"])),
])
def test_enter_in_a_new_title_adds_once(wb: Workbook, review_path: Path, step: str, kind: str,
                                        count: Callable[[dict[str, Any]], int]) -> None:
    root = getattr(wb, step)()
    before = count(on_disk(review_path))
    title = find(root, f"dl-new-{kind}")
    title.value = "Made by Enter"
    submit(title)
    submit(title)  # pressed twice (or Enter then the button): one entry
    find(root, f"dl-add-{kind.rsplit('-', 1)[0]}").click()
    assert count(on_disk(review_path)) == before + 1


def test_enter_in_a_new_mitigation_title_adds_it_or_says_what_is_missing(
        wb: Workbook, review_path: Path) -> None:
    root = wb.mitigations()
    title = find(root, "dl-new-mitigation-title")
    title.value = "Watermark every image"
    submit(title)
    assert "at least one target" in find(root, "dl-add-mitigation-error").value
    find(root, "dl-new-mitigation-targets").value = ("deepfakes",)
    submit(title)
    submit(title)
    assert [m["title"] for m in on_disk(review_path)["mitigations"]] == [
        "Prompt filter for real people's names", "Watermark every image"]


def test_other_messages_to_a_title_add_nothing(wb: Workbook, review_path: Path) -> None:
    root = wb.harms()
    title = find(root, "dl-new-harm-title")
    title.value = "Not submitted"
    title._handle_custom_msg({"event": "focus"}, [])
    title._handle_custom_msg("submit", [])
    assert len(on_disk(review_path)["items"]) == 2


# --------------------------------------------------------------------------- first chart


@pytest.mark.parametrize("voila", [False, True])
def test_the_first_tradeoff_chart_waits_for_no_cell_except_under_voila(
        review_path: Path, monkeypatch: pytest.MonkeyPatch, voila: bool) -> None:
    for name in [n for n in os.environ if n.startswith("VOILA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.8" if voila else "")
    seen: dict[str, str] = {}

    async def main() -> None:
        wb = Workbook.open(review_path, debounce=0.03)  # the kernel's debounce: threaded
        step = wb.tradeoffs()
        chart = find(step, "dl-tradeoff-chart")
        seen["numbers"] = find(step, "dl-tradeoff-numbers").value
        seen["at once"] = chart.value
        for _ in range(600):
            if "<svg" in chart.value:
                break
            await asyncio.sleep(0.02)
        seen["later"] = chart.value

    in_loop(main)
    assert "Publish the weights" in seen["numbers"]  # the numbers never wait
    assert ("<svg" in seen["at once"]) is voila
    assert "<svg" in seen["later"]


# --------------------------------------------------------------------------- lazy tabs


def test_the_apps_tabs_are_built_when_first_opened(wb: Workbook, review_path: Path) -> None:
    app = wb.app()
    assert find_all(app, "dl-step-setup")
    assert not find_all(app, "dl-step-harms")
    assert not find_all(app, "dl-step-mitigations")
    titles = list(app.titles)
    app.selected_index = titles.index("Mitigations")
    step = find(app, "dl-step-mitigations")
    assert app.children[titles.index("Mitigations")] is step
    assert not find_all(app, "dl-step-items")
    # a tab built late is as live as the others: it saves, and follows other steps' edits
    find(step, "dl-variant-title").value = "Weights published"
    assert on_disk(review_path)["variants"][0]["title"] == "Weights published"
    add(wb.harms(), "harm", "Voice cloning")
    assert "Voice cloning" in [label for label, _ in find(step, "dl-mitigation-targets").options]
    app.selected_index = 0
    app.selected_index = titles.index("Mitigations")
    assert find(app, "dl-step-mitigations") is step  # built once


# --------------------------------------------------------------------------- Voila's pool


def test_a_held_session_follows_nothing_until_released(review_path: Path) -> None:
    """A kernel Voila pre-heats follows no edit until a page takes it, then catches up."""
    from deliberation.workbook.session import ReviewSession

    other = ReviewSession(review_path, journal="create")  # the store, as a workbook makes it
    seen: list[str] = []

    async def main() -> None:
        held = threading.Event()
        session = ReviewSession(review_path)  # on that store
        assert session.journal is not None
        session.subscribe(lambda s: seen.append(s.review.horizon))
        session.follow(interval=0.02, hold=held)
        other.edit(lambda data: data.update(horizon="while nobody looked"))
        await asyncio.sleep(0.3)  # fifteen ticks
        assert seen == []
        assert session.review.horizon != "while nobody looked"
        held.set()
        await asyncio.sleep(0.1)
        assert seen == ["while nobody looked"]
        session.close()

    in_loop(main)


def test_only_a_preheated_voila_kernel_is_held(monkeypatch: pytest.MonkeyPatch) -> None:
    from deliberation.workbook.live import voila_claim

    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    assert voila_claim() is None
    monkeypatch.setenv("VOILA_PREHEAT", "False")  # Voila's own kernels, started per page
    assert voila_claim() is None


# --------------------------------------------------------------------------- comm traffic


def test_a_step_opens_each_widget_once_with_its_whole_state(
        review_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: building a step sent 1,435 update messages (classes, values, children
    set just after each widget was made); each widget now opens once with all of it."""
    import comm as comm_module
    from ipywidgets.widgets.widget import Widget

    opened: dict[str, dict[str, Any]] = {}
    updates: list[Any] = []
    create = comm_module.create_comm

    def recording_create(**args: Any) -> Any:
        made = create(**args)
        opened[made.comm_id] = args["data"]["state"]
        return made

    send = Widget._send

    def recording_send(self: Any, msg: Any, buffers: Any = None) -> None:
        updates.append((type(self).__name__, sorted(msg.get("state", {}))))
        send(self, msg, buffers)

    monkeypatch.setattr(comm_module, "create_comm", recording_create)
    monkeypatch.setattr(Widget, "_send", recording_send)
    wb = Workbook.open(review_path, debounce=0)
    harms = wb.harms()
    assert updates == []
    shown = list(walk(harms))
    assert len(shown) > 50
    for widget in shown:
        assert widget.comm is not None
        if widget.model_id in opened:  # made by this step (shared ones may be older)
            assert list(opened[widget.model_id]["_dom_classes"]) == list(widget._dom_classes)
    card = find(harms, "dl-harm-card")
    assert list(opened[card.model_id]["children"]) == [f"IPY_MODEL_{c.model_id}"
                                                 for c in card.children]
    # an add sends the new card whole too: the body's children, no class or value updates
    add(harms, "harm", "Sent whole")
    assert all(name in {"VBox", "HBox", "HTML", "Dropdown", "Button", "Text"}
               for name, _ in updates)
    assert not any("_dom_classes" in keys for _, keys in updates)


def test_deferred_widgets_open_in_order_and_a_closed_one_never() -> None:
    import ipywidgets as widgets

    from deliberation.workbook.shared import shared_defaults

    with shared_defaults():
        box = widgets.VBox()
        with shared_defaults():  # nested: opens only when the outermost ends
            child = widgets.HTML(value="x")
            dropped = widgets.HTML(value="never shown")
        assert box.comm is None
        assert child.comm is None
        dropped.close()
        box.children = (child,)
        child.add_class("late")
    assert box.comm is not None
    assert child.comm is not None
    assert dropped.comm is None
    assert child._dom_classes == ("late",)
    assert box.layout.comm is not None  # its shared default layout, opened before it
    # outside the context ipywidgets behaves as always: a widget opens as it is made
    plain = widgets.HTML()
    assert plain.comm is not None
    assert plain.layout is not child.layout


def test_a_widget_displayed_while_deferred_opens_first() -> None:
    """A listener that displays a widget it just made (its own code, inside the
    workbook's building) shows it: the widget opens before its view is described."""
    import ipywidgets as widgets

    from deliberation.workbook.shared import shared_defaults

    with shared_defaults():
        shown = widgets.HTML(value="made and displayed at once")
        bundle = shown._repr_mimebundle_()
        assert shown.comm is not None
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == shown.model_id


def test_an_error_line_is_made_when_its_field_first_has_something_to_say(
        wb: Workbook, review_path: Path) -> None:
    """Issue 12: each bound field and estimate had an empty HTML line under it, 180 of a
    Run All's 1,150 models; the line now appears, under its own field, when needed."""
    setup, estimates = wb.setup(), wb.estimates()
    fields = find_all(setup, "dl-field") + find_all(estimates, "dl-field")
    assert len(fields) > 5
    assert all(len(box.children) == 1 for box in fields)
    assert find_all(estimates, "dl-estimate-row")
    assert find_all(estimates, "dl-likelihood-error") == find_all(estimates, "dl-impact-error") \
        == []
    title = find(setup, "dl-title")
    title.value = ""
    box = next(w for w in walk(setup) if title in getattr(w, "children", ()))
    error = find(box, "dl-title-error")  # under the field it is about
    assert "dl-field-error" in error._dom_classes
    assert error.comm is not None
    assert "cannot be empty" in error.value
    title.value = "Fixed"
    assert find(setup, "dl-title-error") is error
    assert error.value == ""
    assert find_all(setup, "dl-title-error") == [error]
    assert on_disk(review_path)["title"] == "Fixed"
    field = find(estimates, "dl-likelihood-deepfakes")
    field.value = "0.2 to 1.4"
    box = next(w for w in walk(estimates) if field in getattr(w, "children", ()))
    assert "between 0 and 1" in find(box, "dl-likelihood-error").value
    assert find_all(box, "dl-impact-error") == []  # only the field with something to say


def test_a_workbook_parses_its_template_once_and_a_changed_one_anew(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: opening a workbook and building its steps parsed the template's YAML up
    to seven times (30 ms each); a parse is kept while the file's text is the same."""
    from deliberation.review import templates

    folder = tmp_path / "templates"
    folder.mkdir()
    source = Path(templates.builtin_templates_dir()) / "release-review.yaml"
    text = source.read_text(encoding="utf-8").replace("title: ", "title: Copied ", 1)
    copy = folder / "release-review-copy.yaml"
    copy.write_text(text.replace("id: release-review", "id: release-review-copy", 1),
                    encoding="utf-8")
    parsed: list[str] = []
    parse = templates.parse_yaml

    def counting(text: str, path: Any) -> Any:
        parsed.append(Path(path).name)
        return parse(text, path)

    monkeypatch.setattr(templates, "parse_yaml", counting)
    first = templates.load_template_file(copy)
    again = templates.load_template_file(copy)
    assert parsed.count(copy.name) == 1
    assert again == first
    copy.write_text(copy.read_text(encoding="utf-8").replace("Copied", "Changed", 1),
                    encoding="utf-8")
    changed = templates.load_template_file(copy)
    assert parsed.count(copy.name) == 2
    assert changed.title.startswith("Changed")
    assert first.title.startswith("Copied")
    parsed.clear()
    review = tmp_path / "review.json"
    shutil.copyfile(REVIEW, review)
    wb = Workbook.open(review, debounce=0)
    wb.setup()
    assert len(parsed) == len(set(parsed))  # each template file parsed at most once
