"""Real parts for the meeting's tests and benchmark: a served meeting, protocol-level
participants (websockets, as the page speaks), and a throw-away PostgreSQL cluster.

PostgreSQL comes from Debian's ``postgresql`` package (``make test`` installs it); the
cluster lives in a temp folder and, since CI runs as root and PostgreSQL refuses to,
runs as the ``postgres`` system user.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tornado.websocket

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "workbooks" / "example" / "review.json"


def meeting_review(folder: Path, *, participants: int = 3, items: int = 4) -> Path:
    """A review of ``items`` harms and ``participants`` people, no estimates yet."""
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    harm = next(i for i in data["items"] if i["kind"] == "harm")
    data["participants"] = [{"id": f"p{k:02d}", "name": f"Person {k:02d}", "role": "safety"}
                            for k in range(participants)]
    data["items"] = [{**harm, "id": f"item-{k:02d}", "title": f"Harm number {k:02d}"}
                     for k in range(items)]
    data["estimates"] = []
    data["mitigations"] = []
    data["variants"] = []
    data.pop("decision", None)
    data.pop("not_applicable", None)
    data["elicitation"] = {"round": 1, "blind": True, "revealed": []}
    path = folder / "review.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@dataclass
class Served:
    """A ``deliberation serve`` process and the links it printed."""

    process: subprocess.Popen[bytes]
    links: dict[str, Any]
    log: Path

    @property
    def facilitator(self) -> str:
        return str(self.links["facilitator"])

    def participant(self, pid: str) -> str:
        return str(self.links["participants"][pid])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def serve(review_dir: Path, *, store: str | None = None, log: Path | None = None,
          env: dict[str, str] | None = None, timeout: float = 60, port: int = 0) -> Served:
    """Start ``deliberation serve REVIEW_DIR --port 0 --json`` and read its links."""
    log = log or review_dir / "serve.log"
    command = [str(BIN / "deliberation"), "serve", str(review_dir), "--port", str(port),
               "--json"]
    if store:
        command += ["--store", store]
    err = log.open("ab")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err,
                               env={**os.environ, **(env or {})})
    err.close()
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip() or process.poll() is not None:
            break
    if not line.strip():
        process.kill()
        raise RuntimeError(f"serve printed nothing:\n{log.read_text(errors='replace')}")
    return Served(process, json.loads(line), log)


def ws_url(page_url: str) -> str:
    _, rest = page_url.split("://", 1)
    host, path = rest.split("/", 1)
    return f"ws://{host}/ws/{path}"


@dataclass
class Client:
    """One participant's (or the facilitator's) websocket, as the page uses it."""

    connection: Any
    frames: list[str] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    states_by_frame: dict[int, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrived: dict[int, float] = field(default_factory=dict)  # frame index -> monotonic time
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def connect(cls, page_url: str) -> Client:
        connection = await tornado.websocket.websocket_connect(ws_url(page_url))
        client = cls(connection)
        client._reader = asyncio.get_running_loop().create_task(client._read())
        return client

    async def _read(self) -> None:
        while True:
            text = await self.connection.read_message()
            if text is None:
                self._changed.set()
                return
            assert isinstance(text, str)
            self.arrived[len(self.frames)] = time.monotonic()
            self.frames.append(text)
            message = json.loads(text)
            if message.get("type") in {"state", "console"}:
                self.states.append(message)
                self.states_by_frame[len(self.frames) - 1] = message
            elif "id" in message:
                self.answers[str(message["id"])] = message
            self._changed.set()

    @property
    def closed(self) -> bool:
        return self._reader is not None and self._reader.done()

    async def wait_for(self, predicate: Any, timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = predicate(self)
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                raise TimeoutError("the server did not answer as expected")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def send(self, message: dict[str, Any]) -> None:
        self.connection.write_message(json.dumps(message))

    async def submit(self, item: str, likelihood: str, impact: str, rationale: str = "",
                     *, event_id: str | None = None, timeout: float = 30,
                     **extra: Any) -> dict[str, Any]:
        """Send an estimate and wait for the server's answer (ack or refused)."""
        event_id = event_id or secrets.token_hex(16)
        if self.closed:
            raise ConnectionError("the server went away")
        try:
            self.send({"type": "estimate", "id": event_id, "item": item, "likelihood": likelihood,
                   "impact": impact, "rationale": rationale, **extra})
        except tornado.websocket.WebSocketClosedError:
            raise ConnectionError("the server went away") from None
        return await self.wait_for(lambda c: c.answers.get(event_id), timeout)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.connection.close()
        if self._reader is not None:
            self._reader.cancel()


# --------------------------------------------------------------------------- PostgreSQL
def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A fresh PostgreSQL on a free local port; yields its URL, removes it afterwards."""
    binaries = _postgres_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL not found: run `make test`, which installs Debian's "
                           "postgresql package")
    root = Path(tempfile.mkdtemp(prefix="deliberation-pg-"))
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(root, user="postgres")
    data, port = root / "data", free_port()
    try:
        subprocess.run([*prefix, str(binaries / "initdb"), "-D", str(data), "-A", "trust",
                        "-U", "postgres", "--no-instructions"], check=True,
                       capture_output=True)
        subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-l",
                        str(root / "log"), "-w", "-t", "60", "-o",
                        f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(url: str) -> str:
    """A new, empty database on the cluster at ``url``; its URL."""
    import psycopg

    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name
