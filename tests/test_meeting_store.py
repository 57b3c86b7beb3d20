"""The meeting's store: one event per acknowledged change, nothing lost, nothing twice."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deliberation.errors import ConcurrentEdit, ReviewInvalid
from deliberation.journal import store as store_module
from deliberation.journal.events import apply_event
from deliberation.journal.store import Outcome, Request, Store, chain_hash, readable_json
from deliberation.record.build import build_record
from deliberation.review.opening import open_review
from deliberation.workbook.session import ReviewSession

from .meeting_support import fresh_database, meeting_review, postgres_cluster


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    return fresh_database(str(request.getfixturevalue("postgres")))


def estimate(participant: str, item: str, likelihood: Any = (0.1, 0.2)) -> Any:
    def make(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "estimate", {"participant": participant, "item": item,
                            "round": data["elicitation"]["round"],
                            "likelihood": list(likelihood), "impact": [10, 100],
                            "rationale": ""}
    return make


def on_disk(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_first_open_imports_review_json_and_marks_the_log(tmp_path: Path,
                                                          store_url: str | None) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path, store_url)
    state = store.open()
    assert state.n == 1
    assert [e["kind"] for e in store.events()] == ["import"]
    log = on_disk(path)["event_log"]
    assert log == {"review": state.review.id, "events": 1, "sha256": state.chain}
    assert store.verify_chain() == state.chain
    # check, report and export read the file as before: it is a valid review.
    open_review(path)
    store.close()


def test_a_retried_event_is_stored_once(tmp_path: Path, store_url: str | None) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path, store_url)
    store.open()
    first = store.commit(estimate("p00", "item-00"), actor="p00", event_id="abc")
    again = store.commit(estimate("p00", "item-00", (0.3, 0.4)), actor="p00", event_id="abc")
    assert first is not None
    assert again is not None
    assert (first.duplicate, again.duplicate, again.n) == (False, True, first.n)
    assert len(store.events()) == 2
    assert on_disk(path)["estimates"][0]["likelihood"] == [0.1, 0.2]
    store.close()


def test_an_invalid_event_stores_nothing_and_leaves_the_file(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path)
    store.open()
    before = path.read_bytes()

    def bad(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "estimate", {"participant": "p00", "item": "item-00", "round": 1,
                            "likelihood": "probable", "impact": [1, 2], "rationale": ""}

    with pytest.raises(ReviewInvalid, match="probable"):
        store.commit(bad, actor="p00")
    with pytest.raises(ReviewInvalid, match="participants' ids"):
        store.commit(estimate("nobody", "item-00"), actor="nobody")
    assert path.read_bytes() == before
    assert len(store.events()) == 1


def test_a_batch_is_one_write_and_refuses_only_its_bad_events(
        tmp_path: Path, store_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path, store_url)
    store.open()
    logged = store.commit(estimate("p02", "item-02"), actor="p02", event_id="logged")
    assert logged is not None
    writes: list[Path] = []
    real_write = store_module.write_atomic

    def counted(target: Path, data: bytes) -> None:
        writes.append(target)
        real_write(target, data)

    monkeypatch.setattr(store_module, "write_atomic", counted)
    answers = store.commit_many([
        Request(estimate("p00", "item-00"), "p00", "a"),
        Request(estimate("nobody", "item-00"), "nobody", "b"),  # no such participant
        Request(estimate("p01", "item-01"), "p01", "c"),
        Request(estimate("p00", "item-00", (0.5, 0.6)), "p00", "a"),  # a retry of "a"
        Request(estimate("p02", "item-02", (0.7, 0.8)), "p02", "logged"),  # in the log
        Request(estimate("p03", "item-03"), "p03", "x" * 101),  # an id too long
    ])
    first, bad, third, retry, old, too_long = answers
    assert isinstance(first, Outcome)
    assert isinstance(third, Outcome)
    assert isinstance(retry, Outcome)
    assert isinstance(old, Outcome)
    assert isinstance(bad, ReviewInvalid)
    assert "participants' ids" in str(bad)
    assert isinstance(too_long, ReviewInvalid)
    assert (first.n, third.n, first.duplicate, third.duplicate) == (3, 4, False, False)
    assert (retry.n, retry.duplicate, old.n, old.duplicate) == (3, True, logged.n, True)
    assert writes == [path]  # the two new events: one review.json write
    events = store.events()
    assert [(e["n"], e["event_id"]) for e in events[1:]] == [(2, "logged"), (3, "a"), (4, "c")]
    stored = {(e["participant"], e["item"]): e["likelihood"]
              for e in on_disk(path)["estimates"]}
    assert stored == {("p02", "item-02"): [0.1, 0.2], ("p00", "item-00"): [0.1, 0.2],
                      ("p01", "item-01"): [0.1, 0.2]}
    assert store.verify_chain() == first.state.chain == on_disk(path)["event_log"]["sha256"]
    # Every event names the file it results in: replaying the log event by event gives
    # the bytes each row's result_sha256 was computed from.
    data = None
    for event in events:
        data = apply_event(data, event["kind"], json.loads(event["body"]))
        log = {"review": store.key, "events": event["n"], "sha256": event["chain_sha256"]}
        text = readable_json({**data, "event_log": log}).encode("utf-8")
        assert hashlib.sha256(text).hexdigest() == event["result_sha256"], event["n"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == events[-1]["result_sha256"]
    store.close()
    again = Store(path, store_url)  # a fresh process's view: the same review
    assert again.open().n == 4
    assert path.read_bytes() == again.file_bytes(again.state())
    again.close()


def test_a_batch_that_breaks_the_review_is_checked_event_by_event(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path)
    store.open()

    def bad(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:  # passes the fold only
        return "estimate", {"participant": "p01", "item": "item-01", "round": 1,
                            "likelihood": "probable", "impact": [1, 2], "rationale": ""}

    def broken(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise ReviewInvalid("refused by its maker", field="likelihood")

    answers = store.commit_many([
        Request(estimate("p00", "item-00"), "p00", "a"),
        Request(bad, "p01", "b"),
        Request(broken, "p02", "c"),
        Request(lambda _: None, "p03", "d"),
        Request(estimate("p01", "item-01", (0.3, 0.4)), "p01", "b"),  # "b" again, now good
        Request(lambda _: ("reveal", {}), "facilitator", "e"),
        Request(estimate("p02", "item-03"), "p02", "f"),  # after the reveal: still round 1
    ])
    assert isinstance(answers[1], ReviewInvalid)
    assert "probable" in str(answers[1])
    assert isinstance(answers[2], ReviewInvalid)
    assert answers[3] is None
    kept = [a for a in answers if isinstance(a, Outcome)]
    assert [(a.n, a.duplicate) for a in kept] == [(2, False), (3, False), (4, False),
                                                  (5, False)]
    assert [(e["event_id"], e["kind"]) for e in store.events()[1:]] == [
        ("a", "estimate"), ("b", "estimate"), ("e", "reveal"), ("f", "estimate")]
    stored = {(e["participant"], e["item"]): e["likelihood"]
              for e in on_disk(path)["estimates"]}
    assert stored == {("p00", "item-00"): [0.1, 0.2], ("p01", "item-01"): [0.3, 0.4],
                      ("p02", "item-03"): [0.1, 0.2]}
    assert on_disk(path)["elicitation"]["revealed"] == [1]
    store.verify_chain()
    store.close()


def test_replaying_the_log_gives_the_same_review_json(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path)
    store.open()
    store.commit(estimate("p00", "item-00"), actor="p00")
    store.commit(lambda _: ("reveal", {}), actor="facilitator")
    store.edit(lambda data: data.update(horizon="two years"), actor="workbook")
    store.commit(lambda _: ("next-round", {}), actor="facilitator")
    store.commit(estimate("p01", "item-01"), actor="p01")
    written = path.read_bytes()
    # An independent replay of the stored rows, and a fresh store over the same log.
    data = None
    previous = ""
    for row in store.events():
        data = apply_event(data, row["kind"], json.loads(row["body"]))
        previous = chain_hash(previous, row)
    assert data is not None
    assert data["elicitation"] == {"round": 2, "blind": True, "revealed": [1]}
    assert data["horizon"] == "two years"
    assert [(e["participant"], e["round"]) for e in data["estimates"]] == [("p00", 1),
                                                                            ("p01", 2)]
    fresh = Store(path)
    assert fresh.state().data == data
    assert fresh.file_bytes(fresh.state()) == written
    assert on_disk(path)["event_log"]["sha256"] == previous == fresh.verify_chain()


def test_a_tampered_event_breaks_the_chain(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path)
    store.open()
    store.commit(estimate("p00", "item-00"), actor="p00")
    import sqlite3

    with sqlite3.connect(path.with_suffix(".events.sqlite")) as db:
        db.execute("UPDATE deliberation_events SET body = replace(body, '0.1', '0.9') "
                   "WHERE n = 2")
    with pytest.raises(Exception, match="event 2 does not match"):
        Store(path).verify_chain()


def test_a_stale_file_is_rewritten_and_a_hand_edit_imported(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path)
    store.open()
    stale = path.read_bytes()
    store.commit(estimate("p00", "item-00"), actor="p00")
    latest = path.read_bytes()
    # A writer killed after the commit but before its file reached the disk: the
    # file is one the log produced earlier, so it is rewritten, nothing imported.
    path.write_bytes(stale)
    assert Store(path).open().n == 2
    assert path.read_bytes() == latest
    # A hand edit (no event made these bytes) is imported as a new event.
    data = on_disk(path)
    data["horizon"] = "edited by hand"
    path.write_text(json.dumps(data), encoding="utf-8")
    state = Store(path).open()
    assert (state.n, state.data["horizon"]) == (3, "edited by hand")
    assert len(state.data["estimates"]) == 1


def test_a_workbook_refuses_a_hand_edit_and_the_server_imports_it(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r")
    session = ReviewSession(path, journal="create")
    assert session.journal is not None
    data = on_disk(path)
    data["horizon"] = "by hand"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConcurrentEdit):
        session.edit(lambda d: d.update(title="mine"))
    server = Store(path)
    outcome = server.commit(estimate("p00", "item-00"), actor="p00")
    assert outcome is not None
    assert outcome.state.data["horizon"] == "by hand"
    assert on_disk(path)["horizon"] == "by hand"
    assert len(on_disk(path)["estimates"]) == 1


def test_the_record_carries_the_event_log_hash(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r")
    store = Store(path)
    store.open()
    store.commit(estimate("p00", "item-00"), actor="p00")
    review, template, _ = open_review(path)
    record = build_record(review=review, template=template, analysis_json={},
                          gate_results_json=[], seed=0, samples=100, created="now",
                          versions={})
    assert record["event_log"] == {"review": review.id, "events": 2,
                                   "sha256": store.verify_chain()}


# --------------------------------------------------------------------------- the race
EDITS = 400


def _workbook_edits(path: str, item_index: int, url: str | None) -> int:
    """One workbook (its own process) appending EDITS references to one item."""
    import os

    if url:
        os.environ["DELIBERATION_STORE"] = url
    session = ReviewSession(Path(path), journal="create")
    acknowledged = 0
    for k in range(EDITS):
        def change(data: dict[str, Any], k: int = k) -> None:
            data["items"][item_index].setdefault("references", []).append(
                f"w{item_index}-{k}")
        if session.edit(change):
            acknowledged += 1
    return acknowledged


@pytest.mark.slow
def test_two_workbooks_autosaving_one_review_lose_no_edit(tmp_path: Path,
                                                          store_url: str | None) -> None:
    # The race: two workbooks, 800 acknowledged edits, and before the store
    # 24 to 36 of them were missing from review.json. Now every one is there.
    path = meeting_review(tmp_path / "r")
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        acknowledged = pool.starmap(_workbook_edits, [(str(path), 0, store_url),
                                                      (str(path), 1, store_url)])
    assert acknowledged == [EDITS, EDITS]
    items = on_disk(path)["items"]
    for index in (0, 1):
        refs = items[index].get("references", [])
        kept = [r for r in refs if r.startswith(f"w{index}-")]
        assert kept == [f"w{index}-{k}" for k in range(EDITS)]
    store = Store(path, store_url)
    assert len(store.events()) == 2 * EDITS + 1


def test_copies_of_a_review_have_their_own_store(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r")
    copy = path.with_name("review.copy.json")
    shutil.copyfile(path, copy)
    Store(path).commit(estimate("p00", "item-00"), actor="p00")
    other = Store(copy).open()
    assert copy.with_suffix(".events.sqlite").exists()
    assert (other.n, other.data["estimates"]) == (1, [])
    assert len(on_disk(path)["estimates"]) == 1
