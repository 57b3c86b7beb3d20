"""The meeting's store: an append-only log of events, the truth while a meeting runs.

Every change to a review in a meeting (a participant's estimate, a facilitator's
edit in the workbook, a reveal) is one row of ``deliberation_events``, appended in a
transaction that holds the review's write lock: catch up with the log, fold the
event onto the latest review (:mod:`.events`), validate the result with the review's
template, rewrite review.json atomically, insert the row, commit. Writers therefore
never overwrite each other: a second workbook's edit is applied on top of the
first's, not instead of it. Each event carries an id its client made, and a retried
event with an id the log holds is acknowledged again and stored once. Events that
arrive together can share one transaction (``commit_many``, the server's group commit):
one fold and validation of the result, one review.json write, one commit, and each
event still accepted or refused on its own.

The store is SQLite in WAL mode next to review.json by default (``review.events.sqlite``,
no set-up), or any SQLAlchemy URL, PostgreSQL for an organisation
(``postgresql://user@host/db``). The rows form a hash chain (each row's
``chain_sha256`` covers the previous one's and its own fields), and review.json
carries the last hash and the event count in its ``event_log`` field, so a record
names the exact log its review came from.

review.json is written while the lock is held, so it always holds the latest event's
review; a writer killed between writing it and committing leaves a file that no
event produced, which the next open imports (nothing acknowledged is lost, and
nothing unacknowledged is silently dropped). A review.json edited by hand while the
store is in use is detected the same way (its sha256 is no event's result).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..atomic import write_atomic
from ..errors import ConcurrentEdit, ReviewInvalid
from ..files import load_json, read_regular
from ..review.model import MAX_REVIEW_BYTES, SCHEMA_ID, Review, parse_review, review_to_data
from ..review.opening import check_review_against
from ..review.template import Template
from ..review.templates import load_template
from .database import (
    StoreError,
    chain_hash,
    default_url,
    engines,
    events_table,
    links_table,
    metadata,
    new_event_id,
    readable_json,
    shown_url,
)
from .events import LOG_FIELD, apply_event, edit_patch, without_log

__all__ = ["Answer", "Make", "Outcome", "OutsideEdit", "Request", "Store", "StoreError",
           "StoreState", "chain_hash", "default_url", "new_event_id", "readable_json",
           "shown_url"]

Make = Callable[[dict[str, Any]], tuple[str, dict[str, Any]] | None]
OutsideEdit = Literal["refuse", "import"]


@dataclass(frozen=True)
class StoreState:
    """The review after event ``n``: as data, as the model, with its template."""

    n: int
    chain: str
    data: dict[str, Any]
    review: Review
    template: Template


@dataclass(frozen=True)
class Request:
    """One event to append: ``make`` turns the latest review into the event (or None)."""

    make: Make
    actor: str
    event_id: str | None = None


@dataclass
class _Folded:
    """A request's event, folded (and, when validated one at a time, its review)."""

    index: int
    kind: str
    text: str
    data: dict[str, Any]
    checked: tuple[Review, Template] | None
    n: int = 0


@dataclass(frozen=True)
class Outcome:
    """What an append did: the event's number, whether it was a retry, the review after."""

    n: int
    duplicate: bool
    state: StoreState


Answer = Outcome | None | Exception  # commit_many's answer to one request

def _present(state: StoreState | None) -> StoreState:
    if state is None:
        raise StoreError("the event log is empty")
    return state


class Store:
    """One review's event log in a database, and the review.json it keeps up to date."""

    def __init__(self, review_path: Path | str, url: str | None = None, *,
                 template_search: Iterable[Path | str] = ()) -> None:
        review_path = Path(review_path)
        if review_path.is_dir():
            review_path = review_path / "review.json"
        self.path = review_path
        self.url = url or default_url(review_path)
        self.template_search = (*template_search, review_path.parent / "templates")
        self._templates: dict[str, Template] = {}
        self._writer, self._reader = engines(self.url)
        self.postgres = self._writer.dialect.name == "postgresql"
        self._lock = threading.RLock()  # one writer per process; the database orders processes
        self._state: StoreState | None = None
        self._bytes: tuple[tuple[int, str], bytes] | None = None  # the last file_bytes
        self.key = self._key_of_file()
        try:
            with self._writer.begin() as connection:
                self._lock_review(connection, "deliberation-schema")
                metadata.create_all(connection)
        except sa.exc.OperationalError as error:
            raise StoreError(f"cannot open the store: {error.orig}",
                             path=shown_url(self.url)) from None

    # ------------------------------------------------------------------ opening
    def _key_of_file(self) -> str:
        """Which review of the store this file is: its ``event_log.review``, else its id."""
        # regular files only, bounded (a FIFO would block the meeting forever)
        data = load_json(self.path, limit=MAX_REVIEW_BYTES, error=ReviewInvalid)
        log = data.get(LOG_FIELD) if isinstance(data, dict) else None
        if isinstance(log, dict) and isinstance(log.get("review"), str):
            return str(log["review"])
        review = parse_review(data, path=self.path)
        return review.id

    def open(self) -> StoreState:
        """Bring the log and review.json together: import the file into an empty log or
        after a hand edit, rewrite a stale or missing file; return the latest review."""
        with self._lock, self._writer.begin() as connection:
            self._lock_review(connection, self.key)
            state = self._catch_up(connection)
            status = self._file_status(connection, state)
            if status == "outside":
                state = self._append(connection, state, "import",
                                     {"review": self._read_file()}, actor="review.json",
                                     event_id=new_event_id())
            elif status in {"stale", "missing"} and state is not None:
                self._write_file(state)
            return _present(state)

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    # ------------------------------------------------------------------ reading
    def version(self) -> int:
        """The number of the last event (cheap: for polling)."""
        with self._reader.connect() as connection:
            value = connection.execute(
                sa.select(sa.func.max(events_table.c.n)).where(
                    events_table.c.review == self.key)).scalar()
        return int(value or 0)

    def state(self) -> StoreState:
        """The review after the latest event in the log."""
        with self._lock, self._reader.connect() as connection:
            state = self._catch_up(connection)
        if state is None:
            return self.open()
        return state

    def events(self) -> list[dict[str, Any]]:
        """Every event of this review, in order, as stored."""
        with self._reader.connect() as connection:
            rows = connection.execute(
                sa.select(events_table).where(events_table.c.review == self.key)
                .order_by(events_table.c.n)).mappings().all()
        return [dict(row) for row in rows]

    def verify_chain(self) -> str:
        """Recompute the hash chain; the last hash, or StoreError naming the first bad event."""
        previous = ""
        for row in self.events():
            expected = chain_hash(previous, row)
            if expected != row["chain_sha256"]:
                raise StoreError(f"event {row['n']} does not match its hash in the chain",
                                 path=shown_url(self.url))
            previous = expected
        return previous

    def links(self, people: Iterable[str]) -> dict[str, str]:
        """The secret of each of ``people`` (made on first use: 192 random bits each)."""
        wanted = list(people)
        with self._lock, self._writer.begin() as connection:
            self._lock_review(connection, self.key)
            rows = connection.execute(sa.select(links_table.c.who, links_table.c.token).where(
                links_table.c.review == self.key)).all()
            tokens = {str(who): str(token) for who, token in rows}
            for who in wanted:
                if who not in tokens:
                    tokens[who] = secrets.token_urlsafe(24)
                    connection.execute(sa.insert(links_table).values(
                        review=self.key, who=who, token=tokens[who]))
        return {who: tokens[who] for who in wanted}

    # ------------------------------------------------------------------ writing
    def commit(self, make: Make, *, actor: str, event_id: str | None = None,
               outside: OutsideEdit = "import") -> Outcome | None:
        """Append the event ``make`` returns for the latest review, or nothing if it
        returns None. A retried ``event_id`` returns the first outcome (duplicate=True).

        ``outside`` says what to do when review.json was edited by hand since the store
        last wrote it: ``import`` it first (the server), or ``refuse`` with ConcurrentEdit
        (a workbook, which asks its user).
        """
        (answer,) = self.commit_many([Request(make, actor, event_id)], outside=outside)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def commit_many(self, requests: Sequence[Request], *,
                    outside: OutsideEdit = "import") -> list[Answer]:
        """Append several events in one transaction (group commit): one lock, one fold,
        one validation of the result, one review.json write, one commit.

        One answer per request, in order: its Outcome (whose ``state`` is the review
        after the whole batch), None when its ``make`` made nothing, or the error that
        refused it alone: a refused request never costs the others their place. An
        ``event_id`` that the log, or an earlier request of the batch, holds is a
        duplicate. When the batch's result fails validation the events are folded and
        validated again one at a time, so exactly the ones that break the review are
        refused (each on the review the accepted ones before it left).
        """
        ids = [request.event_id or new_event_id() for request in requests]
        refused: dict[int, Answer] = {
            index: ReviewInvalid("expected an event id of 1 to 100 characters", field="id")
            for index, event_id in enumerate(ids) if not 0 < len(event_id) <= 100}
        with self._lock:
            before = self._state
            try:
                with self._writer.begin() as connection:
                    self._lock_review(connection, self.key)
                    return self._append_batch(connection, requests, ids, refused, outside)
            except BaseException:
                self._state = before  # rolled back: the cache must not run ahead of the log
                raise

    def _append_batch(self, connection: Connection, requests: Sequence[Request],
                      ids: list[str], refused: dict[int, Answer],
                      outside: OutsideEdit) -> list[Answer]:
        """commit_many's transaction, the write lock held."""
        state = self._catch_up(connection)
        asked = sorted({ids[index] for index in range(len(ids)) if index not in refused})
        numbers: dict[str, int] = {str(event_id): int(n) for event_id, n in connection.execute(
            sa.select(events_table.c.event_id, events_table.c.n).where(
                events_table.c.review == self.key, events_table.c.event_id.in_(asked)))
        } if asked else {}
        todo = [index for index in range(len(ids))
                if index not in refused and ids[index] not in numbers]
        answers = dict(refused)
        folded: list[_Folded] = []
        if todo:
            status = self._file_status(connection, state)
            if status == "outside" and state is not None and outside == "refuse":
                raise ConcurrentEdit(
                    "review.json was changed elsewhere since this workbook loaded it: "
                    "reload or save as a copy", path=self.path)
            if status == "outside" or state is None:
                state = self._append(connection, state, "import",
                                     {"review": self._read_file()}, actor="review.json",
                                     event_id=new_event_id())
            folded, problems = self._fold(state, requests, ids, todo, each=False)
            try:
                last = self._validated(folded[-1].data) if folded else None
            except ReviewInvalid as problem:
                if len(folded) == 1:
                    folded, problems, last = [], {**problems, folded[0].index: problem}, None
                else:  # find the ones that break it: again, one at a time
                    folded, problems = self._fold(state, requests, ids, todo, each=True)
                    last = folded[-1].checked if folded else None
            answers.update(problems)
            if folded and last is not None:
                state = self._insert(connection, state, folded, last,
                                     requests=requests, ids=ids)
                numbers.update({ids[f.index]: f.n for f in folded})
        inserted = {f.index for f in folded}
        present = _present(state)
        return [answers[index] if index in answers else
                Outcome(numbers[ids[index]], index not in inserted, present)
                for index in range(len(ids))]

    def _fold(self, state: StoreState, requests: Sequence[Request], ids: list[str],
              todo: list[int], *, each: bool) -> tuple[list[_Folded], dict[int, Answer]]:
        """Each request's event folded onto the review the ones before it left; with
        ``each``, each result validated and an event that breaks it refused."""
        data, accepted = state.data, set()
        folded: list[_Folded] = []
        problems: dict[int, Answer] = {}
        for index in todo:
            if ids[index] in accepted:
                continue  # a duplicate within the batch: answered with its original
            try:
                made = requests[index].make(data)  # read-only: Store.edit copies
                if made is None:
                    problems[index] = None
                    continue
                kind, body = made
                # Folded as it will be read back, so the live state is the replayed one
                # (key order included: it decides review.json's bytes).
                text = json.dumps(body, ensure_ascii=False, allow_nan=False)
                after = apply_event(data, kind, json.loads(text))
                checked = self._validated(after) if each else None
            except Exception as problem:  # refused alone; the others go on without it
                problems[index] = problem
                continue
            folded.append(_Folded(index, kind, text, after, checked))
            accepted.add(ids[index])
            data = after
        return folded, problems

    def _insert(self, connection: Connection, state: StoreState, folded: list[_Folded],
                last: tuple[Review, Template], *, requests: Sequence[Request],
                ids: list[str]) -> StoreState:
        """Number, chain and insert the folded events; write review.json once, for the
        last of them, before the commit."""
        n, chain, rows = state.n, state.chain, []
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for item in folded:
            n += 1
            row: dict[str, Any] = {
                "review": self.key, "n": n, "event_id": ids[item.index], "kind": item.kind,
                "actor": requests[item.index].actor, "at": at, "body": item.text}
            chain = row["chain_sha256"] = chain_hash(chain, row)
            # Each event names the review.json it results in, though only the batch's
            # last is written: a file left at any of them is the log's, not a hand edit.
            row["result_sha256"] = hashlib.sha256(
                self._bytes_of(item.data, n, chain)).hexdigest()
            rows.append(row)
            item.n = n
        review, template = last
        # The state is the raw fold (never re-serialised through the model), so replaying
        # the log gives the same bytes whatever defaults a later version of the model has.
        new = StoreState(n, chain, folded[-1].data, review, template)
        self._write_file(new)
        connection.execute(sa.insert(events_table), rows)
        self._state = new
        return new

    def edit(self, change: Callable[[dict[str, Any]], None], *, actor: str,
             outside: OutsideEdit = "refuse") -> Outcome | None:
        """Apply a workbook's ``change`` to the latest review, as an ``edit`` event (a JSON
        Patch); None when it changes nothing. Two workbooks' edits apply one after the
        other, each to the review the other left."""
        def make(data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
            after = json.loads(json.dumps(data))
            change(after)
            patch = edit_patch(data, after)
            return ("edit", {"patch": patch}) if patch else None
        return self.commit(make, actor=actor, outside=outside)

    # ------------------------------------------------------------------ internals
    def _lock_review(self, connection: Connection, key: str) -> None:
        """PostgreSQL: one writer per review at a time (SQLite's BEGIN IMMEDIATE does it)."""
        if self.postgres:
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                               {"key": key})

    def template_of(self, template_id: str) -> Template:
        if template_id not in self._templates:
            self._templates[template_id] = load_template(template_id,
                                                         search=self.template_search)
        return self._templates[template_id]

    def _validated(self, data: dict[str, Any]) -> tuple[Review, Template]:
        review = parse_review(data, path=self.path)
        template = self.template_of(review.template.id)
        check_review_against(review, template, self.path)
        return review, template

    def _catch_up(self, connection: Connection) -> StoreState | None:
        state = self._state
        after = state.n if state is not None else 0
        rows = connection.execute(
            sa.select(events_table).where(events_table.c.review == self.key,
                                          events_table.c.n > after)
            .order_by(events_table.c.n)).mappings().all()
        if not rows:
            return state
        data = state.data if state is not None else None
        chain = state.chain if state is not None else ""
        for row in rows:
            data = apply_event(data, row["kind"], json.loads(row["body"]))
            chain = row["chain_sha256"]
        if data is None:
            raise StoreError("the event log holds no import event", path=shown_url(self.url))
        review, template = self._validated(data)
        self._state = StoreState(int(rows[-1]["n"]), str(chain), data, review, template)
        return self._state

    def _append(self, connection: Connection, state: StoreState | None, kind: str,
                body: dict[str, Any], *, actor: str, event_id: str) -> StoreState:
        # Fold the body as it will be read back, so the live state is the replayed one
        # (key order included: it decides review.json's bytes).
        text = json.dumps(body, ensure_ascii=False, allow_nan=False)
        data = apply_event(state.data if state is not None else None, kind, json.loads(text))
        review, template = self._validated(data)  # ReviewInvalid rolls the transaction back
        row: dict[str, Any] = {
            "review": self.key, "n": (state.n if state is not None else 0) + 1,
            "event_id": event_id, "kind": kind, "actor": actor,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "body": text,
        }
        row["chain_sha256"] = chain_hash(state.chain if state is not None else "", row)
        # The state is the raw fold (never re-serialised through the model), so replaying
        # the log gives the same bytes whatever defaults a later version of the model has.
        new = StoreState(int(row["n"]), str(row["chain_sha256"]), data, review, template)
        row["result_sha256"] = self._write_file(new)
        connection.execute(sa.insert(events_table).values(**row))
        self._state = new
        return new

    def file_bytes(self, state: StoreState) -> bytes:
        """review.json's bytes for ``state``: the review and the log it came from."""
        cached = self._bytes
        if cached is not None and cached[0] == (state.n, state.chain):
            return cached[1]
        self._bytes = ((state.n, state.chain), self._bytes_of(state.data, state.n, state.chain))
        return self._bytes[1]

    def _bytes_of(self, data: Mapping[str, Any], n: int, chain: str) -> bytes:
        return readable_json({**without_log(data), LOG_FIELD: {
            "review": self.key, "events": n, "sha256": chain}}).encode("utf-8")

    def _write_file(self, state: StoreState) -> str:
        data = self.file_bytes(state)
        write_atomic(self.path, data)
        return hashlib.sha256(data).hexdigest()

    def _read_file(self) -> dict[str, Any]:
        data = load_json(self.path, limit=MAX_REVIEW_BYTES, error=ReviewInvalid)
        if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
            raise ReviewInvalid(f"expected {SCHEMA_ID!r}", path=self.path, field="schema")
        # Imported as the model writes it, so every later event applies to the same
        # shape of data the workbook edits, whatever the hand-written file looked like.
        return review_to_data(parse_review(without_log(data), path=self.path))

    def _file_status(self, connection: Connection,
                     state: StoreState | None) -> Literal["current", "stale", "missing",
                                                          "outside"]:
        try:
            raw = read_regular(self.path, limit=MAX_REVIEW_BYTES, error=ReviewInvalid)
        except ReviewInvalid:
            if not (self.path.exists() or self.path.is_symlink()):
                return "missing"
            raise
        digest = hashlib.sha256(raw).hexdigest()
        if state is None:
            return "outside"
        if digest == hashlib.sha256(self.file_bytes(state)).hexdigest():
            return "current"
        known = connection.execute(
            sa.select(events_table.c.n).where(events_table.c.review == self.key,
                                              events_table.c.result_sha256 == digest)
            .limit(1)).scalar()
        return "stale" if known is not None else "outside"
