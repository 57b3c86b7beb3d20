"""The meeting server: private pages and websockets over one review's store.

Tornado serves it (the HTTP and websocket server JupyterLab and Voila run on, so no
new server stack): ``/p/<participant>/<token>`` is a participant's page,
``/f/<token>`` the facilitator's console, and each page opens a websocket at the
same path under ``/ws``. A wrong or missing token gets 403 and an empty body.

Every message a participant's socket receives is :func:`.views.participant_view` of
the latest review for that participant, so blinding holds on the wire, not only on
screen. A participant can send one kind of message, an estimate of an item for the
open round, under their own id only; rounds change through the facilitator's socket
or ``deliberation meeting``. The server polls the store ten times a second, so edits
from the workbook and the command line reach every page within a second.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from ..errors import DeliberationError
from ..journal.events import ROUND_STEPS
from ..journal.store import Answer, Outcome, Request, Store, StoreState
from ..review import entry
from ..workbook.fields import labels_of, parse_quantity, read_note
from .views import facilitator_view, participant_view

ASSETS = Path(__file__).parent / "assets"
FACILITATOR = "@facilitator"  # no participant id can start with "@"
POLL_SECONDS = 0.1
PUSH_SECONDS = 0.02  # changes within this spell reach the pages in one message
NUMBERS_SAMPLES = 5_000  # the live numbers; the record uses the full count
MAX_RATIONALE = 5000
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Refused(DeliberationError):
    """A message the server will not act on (shown to the sender, nothing stored)."""


@dataclass
class Links:
    """The base URL and every private link of a meeting."""

    base: str
    tokens: dict[str, str]

    def facilitator(self) -> str:
        return f"{self.base}/f/{self.tokens[FACILITATOR]}"

    def participant(self, pid: str) -> str:
        return f"{self.base}/p/{pid}/{self.tokens[pid]}"

    def check(self, who: str, token: str) -> bool:
        """Constant-time comparison with ``who``'s token (a dummy for an unknown id)."""
        expected = self.tokens.get(who)
        candidate = expected if expected is not None else secrets.token_urlsafe(24)
        same = secrets.compare_digest(token.encode("utf-8"), candidate.encode("utf-8"))
        return same and expected is not None


@dataclass
class Meeting:
    """The running meeting: the store, the latest review, and every open socket."""

    store: Store
    links: Links
    state: StoreState
    sockets: set[Any] = field(default_factory=set)
    numbers: dict[str, Any] | None = None
    numbers_for: int = -1
    writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    reader: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    analyst: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    _analysing: bool = False
    _push_pending: bool = False
    _queue: list[tuple[Request, asyncio.Future[Answer]]] = field(default_factory=list)
    _writing: bool = False

    # ------------------------------------------------------------------ changes
    async def run(self, function: Any, *args: Any, pool: ThreadPoolExecutor | None = None) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool or self.writer, function,
                                                                *args)

    async def poll(self) -> None:
        """Follow the store: the workbook, the command line and other servers write too."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                version = await self.run(self.store.version, pool=self.reader)
                if version != self.state.n:
                    self.changed(await self.run(self.store.state, pool=self.reader))
            except DeliberationError:
                continue  # a broken hand edit of review.json: shown when someone writes

    def changed(self, state: StoreState) -> None:
        if state.n < self.state.n:
            return
        self.state = state
        if not self._push_pending:
            self._push_pending = True
            asyncio.get_running_loop().call_later(PUSH_SECONDS, self._push)

    def _push(self) -> None:
        self._push_pending = False
        people = [p.id for p in self.state.review.participants]
        if any(pid not in self.links.tokens for pid in people):
            self.links.tokens.update(self.store.links(people))
        for socket in list(self.sockets):
            socket.push()
        self.schedule_numbers()

    def schedule_numbers(self) -> None:
        if self._analysing or self.numbers_for == self.state.n:
            return
        self._analysing = True
        asyncio.get_running_loop().create_task(self._compute_numbers())

    async def _compute_numbers(self) -> None:
        try:
            while self.numbers_for != self.state.n:
                state = self.state
                self.numbers = await self.run(numbers_of, state, pool=self.analyst)
                self.numbers_for = state.n
                for socket in list(self.sockets):
                    if socket.who == FACILITATOR:
                        socket.push()
        finally:
            self._analysing = False

    # ------------------------------------------------------------------ actions
    async def submit(self, participant: str, message: dict[str, Any]) -> int:
        """Store one estimate of ``participant`` for the open round; the event's number."""
        claimed = message.get("participant", participant)
        if claimed != participant:
            raise Refused("you can only submit your own estimates", field="participant")
        item = message.get("item")
        review, template = self.state.review, self.state.template
        if item not in {i.id for i in review.items}:
            raise Refused(f"expected one of the items' ids, got {item!r}", field="item")
        values: dict[str, Any] = {}
        for kind in ("likelihood", "impact"):
            text = message.get(kind)
            if not isinstance(text, str):
                raise Refused(f"expected the {kind} as text", field=kind)
            try:
                values[kind] = parse_quantity(text, kind, labels_of(template, kind))
            except ValueError as problem:
                raise Refused(str(problem), field=kind) from None
            if values[kind] is None:
                raise Refused(f"enter a {kind}: the estimate is saved once both are there",
                              field=kind)
        rationale = message.get("rationale", "")
        if not isinstance(rationale, str) or len(rationale) > MAX_RATIONALE:
            raise Refused(f"expected a rationale of at most {MAX_RATIONALE} characters",
                          field="rationale")
        event_id = message.get("id")
        if not isinstance(event_id, str):
            raise Refused("expected the message's id", field="id")

        def make(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            from ..review.elicitation import Elicitation

            return "estimate", {
                "participant": participant, "item": item, "round": Elicitation.of(data).round,
                "likelihood": _json(values["likelihood"]), "impact": _json(values["impact"]),
                "rationale": rationale}

        outcome = await self.append(Request(make, participant, event_id))
        return outcome.n

    def read_notes(self, message: dict[str, Any]) -> dict[str, str]:
        """How a stored submission's entries were read, in the workbook's words ("read as
        5,000 to 20,000", "you say 1 in 20 to 1 in 5"): for the participant's page."""
        template = self.state.template
        notes = {}
        for kind in ("likelihood", "impact"):
            text = str(message.get(kind, ""))
            reading = entry.read(text, kind, labels_of(template, kind))
            notes[kind] = read_note(text, reading, kind, template)
        return notes

    async def step_round(self, action: str) -> None:
        if action not in ROUND_STEPS:
            raise Refused(f"expected one of {', '.join(ROUND_STEPS)}, got {action!r}",
                          field="action")
        await self.append(Request(lambda _: (action, {}), FACILITATOR))

    async def append(self, request: Request) -> Outcome:
        """Store one event, by group commit: the events that arrive while a transaction is
        being written all go into the next one (one review.json write, one commit), so a
        burst of submissions waits for two transactions, not for one each. Each event is
        still checked on its own; the answer is its own outcome or refusal."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write_queued())
        answer = await future
        if isinstance(answer, Exception):
            raise answer
        if answer is None:  # no make of the server's returns None
            raise Refused("nothing to store", field="type")
        return answer

    async def _write_queued(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    answers = await self.run(self.store.commit_many,
                                             [request for request, _ in batch])
                except Exception as problem:  # the transaction failed: nothing was stored
                    answers = [problem] * len(batch)
                for (_, future), answer in zip(batch, answers, strict=True):
                    if isinstance(answer, Outcome):
                        self.changed(answer.state)
                    if not future.done():  # its socket may have gone
                        future.set_result(answer)
        finally:
            self._writing = False

    def view_for(self, who: str) -> dict[str, Any]:
        if who == FACILITATOR:
            view = facilitator_view(self.state.review, self.state.template,
                                    self.numbers if self.numbers_for >= 0 else None)
            view["links"] = {pid: self.links.participant(pid)
                             for pid in (p.id for p in self.state.review.participants)
                             if pid in self.links.tokens}
            view["numbers_current"] = self.numbers_for == self.state.n
            return view
        return participant_view(self.state.review, self.state.template, who)


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def numbers_of(state: StoreState) -> dict[str, Any]:
    """The facilitator's tradeoff numbers: each option's tails and mean, pooled."""
    from ..engine.analysis import analyze
    from ..numbers import catastrophe_probability, mean_value, probability

    try:
        analysis = analyze(state.review, state.template, samples=NUMBERS_SAMPLES, seed=0,
                           sensitivity=False, gate_cap=NUMBERS_SAMPLES)  # no gates shown
    except (DeliberationError, ValueError) as problem:
        return {"error": str(problem), "variants": []}
    return {"event": state.n, "variants": [
        {"id": v.id, "title": v.title,
         "p_extreme_bad": probability(v.p_extreme_bad, v.p_extreme_bad_low,
                                      v.p_extreme_bad_high),
         "p_extreme_good": probability(v.p_extreme_good, v.p_extreme_good_low,
                                       v.p_extreme_good_high),
         "p_catastrophe": catastrophe_probability(v.p_catastrophe, v.p_catastrophe_low,
                                                  v.p_catastrophe_high),
         "mean": mean_value(v.mean, v.mean_se, reliable=v.mean_reliable,
                            median=v.p50)}
        for v in analysis.variants.values()]}


# --------------------------------------------------------------------------- handlers
class _Private:
    """Security headers on every answer; 403 with an empty body for a bad token."""

    meeting: Meeting

    def set_default_headers(self) -> None:
        handler: Any = self
        handler.set_header("Content-Security-Policy", CSP)
        handler.set_header("Referrer-Policy", "no-referrer")  # the token is in the URL
        handler.set_header("Cache-Control", "no-store")
        handler.set_header("X-Content-Type-Options", "nosniff")
        handler.set_header("X-Frame-Options", "DENY")

    def initialize(self, meeting: Meeting) -> None:
        self.meeting = meeting

    def write_error(self, status_code: int, **_: Any) -> None:
        handler: Any = self
        handler.clear_header("Content-Type")
        handler.finish()


class PageHandler(_Private, tornado.web.RequestHandler):
    def get(self, who: str, token: str) -> None:
        if not self.meeting.links.check(who, token):
            raise tornado.web.HTTPError(403)
        page = "console" if who == FACILITATOR else "participant"
        html = (ASSETS / f"{page}.html").read_text(encoding="utf-8")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(html)


class AssetHandler(_Private, tornado.web.RequestHandler):
    TYPES: ClassVar[dict[str, str]] = {".js": "text/javascript; charset=utf-8",
                                       ".css": "text/css; charset=utf-8"}

    def get(self, name: str) -> None:
        path = ASSETS / name
        if path.suffix not in self.TYPES or not path.is_file() or "/" in name:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", self.TYPES[path.suffix])
        self.finish(path.read_bytes())


class SocketHandler(_Private, tornado.websocket.WebSocketHandler):
    who = ""

    async def get(self, *args: Any, **kwargs: Any) -> None:
        who, token = args
        if not self.meeting.links.check(who, token):
            self.set_status(403)
            self.finish()
            return
        self.who = who
        await super().get(*args, **kwargs)

    def open(self, *_: Any, **__: Any) -> None:
        self.last: str | None = None
        self.meeting.sockets.add(self)
        self.push()
        if self.who == FACILITATOR:
            self.meeting.schedule_numbers()

    def on_close(self) -> None:
        self.meeting.sockets.discard(self)

    def push(self) -> None:
        """Send this socket its view of the latest review, if it changed."""
        text = json.dumps(self.meeting.view_for(self.who), ensure_ascii=False)
        if text != self.last:
            self.last = text
            self._send(text)

    def _send(self, text: str) -> None:
        try:
            self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            self.meeting.sockets.discard(self)

    async def on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._send(json.dumps({"type": "refused", "message": "expected a JSON object"}))
            return
        kind, event_id = message.get("type"), message.get("id")
        try:
            if kind == "estimate" and self.who != FACILITATOR:
                n = await self.meeting.submit(self.who, message)
                self._send(json.dumps({"type": "ack", "id": event_id, "event": n,
                                       "item": message.get("item"),
                                       "read": self.meeting.read_notes(message)},
                                      ensure_ascii=False))
            elif kind == "round" and self.who == FACILITATOR:
                await self.meeting.step_round(str(message.get("action")))
                self._send(json.dumps({"type": "ack", "id": event_id}))
            elif kind == "round":
                raise Refused("only the facilitator opens, reveals and hides rounds",
                              field="type")
            else:
                raise Refused(f"expected a message of type estimate, got {kind!r}",
                              field="type")
        except DeliberationError as problem:
            self._send(json.dumps({"type": "refused", "id": event_id, "field": problem.field,
                                   "item": message.get("item"), "message": problem.detail}))


# --------------------------------------------------------------------------- serving
def application(meeting: Meeting) -> tornado.web.Application:
    token = r"([A-Za-z0-9_-]{1,100})"  # noqa: S105 - the pattern of a token, not one
    who = r"([A-Za-z0-9][A-Za-z0-9_.-]{0,199})"
    args = {"meeting": meeting}
    return tornado.web.Application([
        (rf"/p/{who}/{token}", PageHandler, args),
        (rf"/f/{token}", _FacilitatorPage, args),
        (rf"/ws/p/{who}/{token}", SocketHandler, args),
        (rf"/ws/f/{token}", _FacilitatorSocket, args),
        (r"/assets/([a-z-]+\.(?:js|css))", AssetHandler, args),
        (r"/favicon\.ico", _NoIcon),
    ], websocket_ping_interval=10, websocket_max_message_size=64 * 1024,
        default_handler_class=_NotFound, default_handler_args=args)


class _FacilitatorPage(PageHandler):
    def get(self, token: str) -> None:  # type: ignore[override]
        super().get(FACILITATOR, token)


class _FacilitatorSocket(SocketHandler):
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await super().get(FACILITATOR, *args, **kwargs)


class _NoIcon(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_status(204)  # browsers ask for one; there is none


class _NotFound(_Private, tornado.web.RequestHandler):
    def prepare(self) -> None:
        raise tornado.web.HTTPError(403)  # nothing here for anyone without a link


def url_host(host: str) -> str:
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - naming the wildcard, not binding it
        import socket

        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


async def serve(store: Store, *, host: str, port: int,
                ready: Any = None) -> None:
    """Serve the meeting until SIGINT or SIGTERM; ``ready(links, port)`` once listening."""
    state = await asyncio.get_running_loop().run_in_executor(None, store.open)
    sockets = tornado.netutil.bind_sockets(port, host)
    actual = sockets[0].getsockname()[1]
    people = [p.id for p in state.review.participants]
    links = Links(f"http://{url_host(host)}:{actual}", store.links([FACILITATOR, *people]))
    meeting = Meeting(store=store, links=links, state=state)
    server = tornado.httpserver.HTTPServer(application(meeting), xheaders=False)
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    poller = loop.create_task(meeting.poll())
    if ready is not None:
        ready(links, actual)
    try:
        await stop.wait()
    finally:
        poller.cancel()
        server.stop()
        for executor in (meeting.writer, meeting.reader, meeting.analyst):
            executor.shutdown(wait=True)


def participants_of(state: StoreState) -> Iterable[tuple[str, str]]:
    return ((p.id, p.name) for p in state.review.participants)
