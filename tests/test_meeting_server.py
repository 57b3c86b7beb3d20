"""The meeting server, driven as the pages drive it: private links, blinding on the
wire, refusals, 15 participants at once (SQLite and PostgreSQL), SIGKILL restarts."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deliberation.errors import ReviewInvalid
from deliberation.journal.store import Store
from deliberation.meeting.server import FACILITATOR, Links, Meeting
from deliberation.review.entry import show

from .meeting_support import (
    BIN,
    Client,
    Served,
    fresh_database,
    meeting_review,
    postgres_cluster,
    serve,
)


def run_async(coroutine: Any) -> Any:
    """``asyncio.run`` in a thread of its own: Playwright's sync API (the browser tests,
    earlier in the same process) leaves an event loop running in the main thread."""
    outcome: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(coroutine))
        except BaseException as error:
            failure.append(error)

    runner = threading.Thread(target=target)
    runner.start()
    runner.join()
    if failure:
        raise failure[0]
    return outcome[0]



@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def meeting(tmp_path: Path) -> Iterator[tuple[Path, Served]]:
    path = meeting_review(tmp_path / "r")
    served = serve(path.parent)
    yield path, served
    served.stop()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def on_disk(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def deliberation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "deliberation"), *args], capture_output=True, text=True,
                          timeout=120, check=False)


# --------------------------------------------------------------------------- links
def test_serve_prints_one_private_link_per_participant(meeting: tuple[Path, Served]) -> None:
    path, served = meeting
    people = served.links["participants"]
    assert sorted(people) == ["p00", "p01", "p02"]
    tokens = {url.rsplit("/", 1)[1] for url in [*people.values(), served.facilitator]}
    assert len(tokens) == 4
    assert all(len(token) >= 22 for token in tokens)  # 24 random bytes, >= 128 bits
    assert served.links["store"] == f"sqlite:///{path.with_suffix('.events.sqlite')}"
    status, body = fetch(served.participant("p00"))
    assert status == 200
    assert b'src="/assets/participant.js"' in body


def test_a_wrong_or_missing_token_gets_403_and_no_content(meeting: tuple[Path, Served]) -> None:
    _, served = meeting
    page = served.participant("p00")
    base = page.split("/p/")[0]
    token = page.rsplit("/", 1)[1]
    other = served.participant("p01").rsplit("/", 1)[1]
    for url in (page[:-1] + ("A" if page[-1] != "A" else "B"),  # one character off
                f"{base}/p/p00/", f"{base}/p/p00", f"{base}/p/p01/{token}",  # another's page
                f"{base}/f/{token}", f"{base}/f/{other}", f"{base}/", f"{base}/f/",
                f"{base}/p/nobody/{token}"):
        status, body = fetch(url)
        assert (url, status, body) == (url, 403, b"")

    async def sockets() -> None:
        for url in (f"{base}/p/p01/{token}", f"{base}/f/{token}", f"{base}/p/p00/x"):
            with pytest.raises(Exception, match="403"):
                await Client.connect(url)

    run_async(sockets())


def test_a_participant_cannot_act_as_another_or_change_rounds(
        meeting: tuple[Path, Served]) -> None:
    path, served = meeting

    async def scenario() -> None:
        ana = await Client.connect(served.participant("p00"))
        await ana.wait_for(lambda c: c.states)
        forged = await ana.submit("item-00", "0.1 to 0.2", "10 to 100", participant="p01")
        assert forged["type"] == "refused"
        assert "your own" in forged["message"]
        ana.send({"type": "round", "action": "reveal", "id": "r1"})
        refused = await ana.wait_for(lambda c: c.answers.get("r1"))
        assert refused["type"] == "refused"
        assert "only the facilitator" in refused["message"]
        ana.send({"type": "run", "code": "import os", "id": "c1"})
        assert (await ana.wait_for(lambda c: c.answers.get("c1")))["type"] == "refused"
        bad = await ana.submit("item-00", "0.4 to 1.3", "10 to 100")
        assert (bad["type"], bad["field"]) == ("refused", "likelihood")
        ana.close()

    run_async(scenario())
    data = on_disk(path)
    assert data["estimates"] == []
    assert data["elicitation"] == {"round": 1, "blind": True, "revealed": []}


def test_an_acknowledgement_says_how_the_entries_were_read(
        meeting: tuple[Path, Served]) -> None:
    """The participant's page answers a saved estimate in the workbook's words, so an
    entry typed as people type it is confirmed as read, not only as saved."""
    path, served = meeting

    async def scenario() -> dict[str, Any]:
        ana = await Client.connect(served.participant("p00"))
        await ana.wait_for(lambda c: c.states)
        answer: dict[str, Any] = await ana.submit("item-00", "5% to 20%", "5k to 20k")
        ana.close()
        return answer

    answer = run_async(scenario())
    assert answer["type"] == "ack"
    assert "read as 5,000 to 20,000" in answer["read"]["impact"]
    assert "1 in 20 to 1 in 5" in answer["read"]["likelihood"]
    stored = on_disk(path)["estimates"][0]
    assert (stored["likelihood"], stored["impact"]) == ([0.05, 0.2], [5000, 20000])


# --------------------------------------------------------------------------- blinding
MARKS = {"p00": ("0.0111 to 0.0222", "1111 to 2222"),
         "p01": ("0.0333 to 0.0444", "3333 to 4444"),
         "p02": ("0.0555 to 0.0666", "5555 to 6666")}


def _forms(entered: str, kind: str) -> set[str]:
    """An entry's low end as typed and as pages show it ("0.0111" and "1.11%")."""
    low = entered.split(" to ", maxsplit=1)[0]
    return {low, show(float(low) if "." in low else int(low), kind)}  # type: ignore[arg-type]


def test_until_reveal_each_socket_carries_only_its_own_numbers(
        meeting: tuple[Path, Served]) -> None:
    path, served = meeting

    async def scenario() -> dict[str, Client]:
        clients = {pid: await Client.connect(served.participant(pid)) for pid in MARKS}
        console = await Client.connect(served.facilitator)
        answers = await asyncio.gather(*(
            clients[pid].submit("item-00", likelihood, impact, f"because {pid}-secret")
            for pid, (likelihood, impact) in MARKS.items()))
        assert [a["type"] for a in answers] == ["ack"] * 3
        await console.wait_for(lambda c: c.states and c.states[-1]["estimates_this_round"] == 3)
        for pid, client in clients.items():
            await client.wait_for(lambda c, pid=pid: c.states[-1]["items"][0]["mine"].get("1"))
            text = "\n".join(client.frames)
            for other, numbers in MARKS.items():
                seen = [any(form in text for form in _forms(n, kind))
                        for n, kind in zip(numbers, ("likelihood", "impact"), strict=True)]
                assert seen == [other == pid] * 2, (pid, other)
                assert (f"{other}-secret" in text) == (other == pid)
        console_text = "\n".join(console.frames)
        assert not any(form in console_text for v in MARKS.values()
                       for n, kind in zip(v, ("likelihood", "impact"), strict=True)
                       for form in _forms(n, kind))
        started = time.monotonic()
        assert deliberation("meeting", "reveal", str(path.parent)).returncode == 0
        for client in clients.values():
            state = await client.wait_for(
                lambda c: c.states[-1]["revealed"] and c.states[-1], timeout=5)
            spread = state["items"][0]["spread"]["1"]
            assert sorted(e["likelihood"] for e in spread) == sorted(
                show(tuple(float(x) for x in v[0].split(" to ")), "likelihood")
                for v in MARKS.values())
        # The command itself starts a Python process; the page follows within a second
        # of the event (polled ten times a second).
        assert time.monotonic() - started < 1 + command_seconds(path)
        for client in [*clients.values(), console]:
            client.close()
        return clients

    run_async(scenario())


def command_seconds(path: Path) -> float:
    started = time.monotonic()
    deliberation("meeting", "status", str(path.parent))
    return time.monotonic() - started


# --------------------------------------------------------------------------- load
PARTICIPANTS, ESTIMATES = 15, 20


def _load(path: Path, served: Served) -> None:
    async def participant(pid: str) -> list[dict[str, Any]]:
        client = await Client.connect(served.participant(pid))
        answers = []
        for k in range(ESTIMATES):
            event_id = f"{pid}-{k}"
            answer = await client.submit(f"item-{k:02d}", f"0.{k + 1:02d} to 0.5",
                                         f"{int(pid[1:]) + 1} to 1000", event_id=event_id)
            # A client that did not hear back sends again: stored once.
            if k % 4 == 0:
                client.answers.pop(event_id)
                again = await client.submit(f"item-{k:02d}", f"0.{k + 1:02d} to 0.5",
                                            f"{int(pid[1:]) + 1} to 1000", event_id=event_id)
                assert again["type"] == "ack"
            answers.append(answer)
        client.close()
        return answers

    async def everyone() -> list[list[dict[str, Any]]]:
        return await asyncio.gather(*(participant(f"p{k:02d}") for k in range(PARTICIPANTS)))

    results = run_async(everyone())
    assert all(a["type"] == "ack" for answers in results for a in answers)
    estimates = on_disk(path)["estimates"]
    assert len(estimates) == PARTICIPANTS * ESTIMATES
    assert len({(e["participant"], e["item"], e["round"]) for e in estimates}) == 300
    for e in estimates:
        k = int(e["item"].split("-")[1])
        assert e["likelihood"] == [(k + 1) / 100, 0.5]
        assert e["impact"] == [int(e["participant"][1:]) + 1, 1000]


def test_submissions_that_queue_share_one_transaction(tmp_path: Path) -> None:
    """Group commit: what arrives while a transaction is written goes into the next one;
    a submission the review refuses, or a retried id, costs the others nothing."""
    path = meeting_review(tmp_path / "r", participants=3, items=4)
    store = Store(path)
    batches: list[int] = []
    real_commit_many = store.commit_many

    def counted(requests: Any, **options: Any) -> Any:
        batches.append(len(requests))
        return real_commit_many(requests, **options)

    store.commit_many = counted  # type: ignore[method-assign]

    async def burst() -> list[Any]:
        state = store.open()
        meeting = Meeting(store=store, links=Links("http://127.0.0.1:1", store.links(
            [FACILITATOR, "p00", "p01", "p02"])), state=state)

        def message(item: str, event_id: str, likelihood: str = "0.1 to 0.3") -> Any:
            return {"item": item, "id": event_id, "likelihood": likelihood,
                    "impact": "10 to 100"}

        submissions = [
            meeting.submit("p00", message("item-00", "a")),
            meeting.submit("p01", message("item-01", "b")),
            meeting.submit("nobody", message("item-02", "c")),  # passes the socket's checks
            meeting.submit("p02", message("item-02", "d")),
            meeting.submit("p01", message("item-01", "b", "0.5 to 0.6")),  # a retry of "b"
            meeting.submit("p02", message("item-03", "e")),
        ]
        answers = await asyncio.gather(*submissions, return_exceptions=True)
        for executor in (meeting.writer, meeting.reader, meeting.analyst):
            executor.shutdown(wait=True)
        return answers

    answers = run_async(burst())
    assert isinstance(answers[2], ReviewInvalid)
    assert "participants' ids" in str(answers[2])
    numbers = [a for i, a in enumerate(answers) if i != 2]
    assert numbers[1] == numbers[3]  # the retry is answered with the first's event
    assert sorted(set(numbers)) == [2, 3, 4, 5]
    # All six were queued before the writer's first turn: one transaction for all.
    assert batches == [6]
    events = store.events()
    assert [e["event_id"] for e in events[1:]] == ["a", "b", "d", "e"]
    stored = {(e["participant"], e["item"]): e["likelihood"]
              for e in on_disk(path)["estimates"]}
    assert stored[("p01", "item-01")] == [0.1, 0.3]
    assert len(stored) == 4
    store.close()


@pytest.mark.slow
def test_fifteen_participants_twenty_estimates_each_sqlite(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r", participants=PARTICIPANTS, items=ESTIMATES)
    served = serve(path.parent)
    try:
        _load(path, served)
    finally:
        served.stop()
    assert len(Store(path).events()) == 301  # the import, then one per estimate


@pytest.mark.slow
def test_fifteen_participants_twenty_estimates_each_postgresql(tmp_path: Path,
                                                               postgres: str) -> None:
    path = meeting_review(tmp_path / "r", participants=PARTICIPANTS, items=ESTIMATES)
    url = fresh_database(postgres)
    served = serve(path.parent, store=url)
    try:
        _load(path, served)
    finally:
        served.stop()
    store = Store(path, url)
    assert len(store.events()) == 301
    assert store.events()[-1]["kind"] == "estimate"


# --------------------------------------------------------------------------- restarts
@pytest.mark.slow
def test_sigkill_during_submissions_loses_no_acknowledged_estimate(tmp_path: Path) -> None:
    path = meeting_review(tmp_path / "r", participants=3, items=40)
    acknowledged: dict[tuple[str, str], str] = {}
    # Sent after the last acknowledgement of the same estimate: the server may have
    # stored one of these before it died without answering.
    unanswered: dict[tuple[str, str], list[str]] = {}
    rng = random.Random(0)  # noqa: S311 - test timings and values, not secrets
    tokens: set[str] = set()
    acks: list[tuple[str, str]] = []

    async def submit_until_killed(served: Served, round_: int) -> None:
        clients = {pid: await Client.connect(served.participant(pid))
                   for pid in ("p00", "p01", "p02")}

        async def keep_submitting(pid: str, client: Client) -> None:
            for k in range(40):
                likelihood = f"0.{rng.randint(10, 49)} to 0.{rng.randint(50, 99)}"
                key = (pid, f"item-{k:02d}")
                unanswered.setdefault(key, []).append(likelihood)
                try:
                    answer = await client.submit(f"item-{k:02d}", likelihood, "10 to 100",
                                                 timeout=5)
                except (TimeoutError, ConnectionError):
                    return
                if answer["type"] == "ack":
                    acknowledged[key] = likelihood
                    unanswered[key] = []
                    acks.append(key)

        tasks = [asyncio.create_task(keep_submitting(p, c)) for p, c in clients.items()]
        await asyncio.sleep(rng.uniform(0.1, 0.8))
        served.stop(signal.SIGKILL)
        await asyncio.gather(*tasks)
        for client in clients.values():
            client.close()

    for round_ in range(20):
        served = serve(path.parent)
        tokens.add(served.participant("p00"))
        run_async(submit_until_killed(served, round_))
        assert served.process.returncode == -signal.SIGKILL
    served = serve(path.parent)  # the restart after the last kill
    try:
        assert len({url.rsplit("/", 1)[1] for url in tokens}) == 1  # the links still work
        assert len(acks) > 100  # the kills came in the middle of submissions
        stored = {(e["participant"], e["item"]): e["likelihood"]
                  for e in on_disk(path)["estimates"]}
        for key, likelihood in acknowledged.items():
            allowed = [[float(x) for x in text.split(" to ")]
                       for text in [likelihood, *unanswered[key]]]
            assert stored.get(key) in allowed, key
    finally:
        served.stop()


def test_the_facilitators_numbers_carry_their_intervals(tmp_path: Path) -> None:
    """The console's tradeoff numbers are written as everywhere else: each probability
    with its 95% interval, the mean with its ± (never a bare point)."""
    from deliberation.journal.store import StoreState
    from deliberation.meeting.server import numbers_of
    from deliberation.review.opening import open_review

    review, template, _ = open_review(Path(__file__).parent.parent / "workbooks" / "example")
    state = StoreState(n=1, chain="", data={}, review=review, template=template)
    numbers = numbers_of(state)
    assert numbers["variants"]
    for variant in numbers["variants"]:
        for key in ("p_extreme_bad", "p_extreme_good", "p_catastrophe"):
            assert "(95%" in variant[key], (key, variant[key])
        assert " ± " in variant["mean"]
