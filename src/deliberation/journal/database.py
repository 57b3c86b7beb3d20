"""The journal's database: its tables, the URL and engines that reach it, the hash chain
and the layout of the review.json written beside it.

SQLite (WAL, full sync: an acknowledged event is on disk) whose writer transactions
begin with ``BEGIN IMMEDIATE`` and so take the write lock first, or PostgreSQL, where
the store takes an advisory lock per review.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import DeliberationError

CHAIN_DOMAIN = b"deliberation/event-log@1\n"
SQLITE_SUFFIX = ".events.sqlite"

metadata = sa.MetaData()
events_table = sa.Table(
    "deliberation_events",
    metadata,
    sa.Column("review", sa.String(200), primary_key=True),
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("result_sha256", sa.String(64), nullable=False),
    sa.Column("chain_sha256", sa.String(64), nullable=False),
    sa.UniqueConstraint("review", "event_id", name="deliberation_events_client_id"),
    sa.Index("deliberation_events_result", "review", "result_sha256"),
)

# The private links: one secret per participant and one for the facilitator, kept so a
# restarted server answers the links people already have.
links_table = sa.Table(
    "deliberation_links",
    metadata,
    sa.Column("review", sa.String(200), primary_key=True),
    sa.Column("who", sa.String(200), primary_key=True),
    sa.Column("token", sa.String(100), nullable=False),
)


class StoreError(DeliberationError):
    """A store that cannot be opened or written (a bad URL, a database that refuses)."""


def default_url(review_path: Path) -> str:
    """SQLite next to review.json: ``review.json`` -> ``review.events.sqlite``."""
    return f"sqlite:///{review_path.resolve().with_suffix(SQLITE_SUFFIX)}"


def shown_url(url: str) -> str:
    """The URL without its password, for printing."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def new_event_id() -> str:
    return secrets.token_hex(16)


def chain_hash(previous: str, row: Mapping[str, Any]) -> str:
    """sha256 over the previous hash and this event's own fields, exactly as stored."""
    line = json.dumps([row["n"], row["event_id"], row["kind"], row["actor"], row["at"],
                       row["body"]], ensure_ascii=False)
    return hashlib.sha256(CHAIN_DOMAIN + previous.encode() + b"\n" + line.encode()).hexdigest()


def engines(url: str) -> tuple[Engine, Engine]:
    """A writer engine whose transactions take the write lock first, and a reader engine."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(f"expected a database URL such as sqlite:///FILE or "
                         f"postgresql://USER@HOST/DB, got {url!r}", field="--store") from None
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engines = []
        for begin in ("BEGIN IMMEDIATE", "BEGIN"):
            engine = sa.create_engine(parsed, connect_args={"timeout": 60})

            @sa.event.listens_for(engine, "connect")
            def _connect(dbapi: Any, _record: Any) -> None:
                dbapi.isolation_level = None  # we issue BEGIN ourselves
                cursor = dbapi.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged event is on disk
                cursor.execute("PRAGMA busy_timeout=60000")
                cursor.close()

            @sa.event.listens_for(engine, "begin")
            def _begin(connection: Connection, begin: str = begin) -> None:
                connection.exec_driver_sql(begin)

            engines.append(engine)
        return engines[0], engines[1]
    engine = sa.create_engine(parsed, pool_pre_ping=True)
    return engine, engine


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def readable_json(data: Mapping[str, Any]) -> str:
    """JSON with one top-level field, and one entry of each list, per line.

    Python's json module indents only in its slow pure-Python encoder; this layout uses
    the fast one and still reads (and diffs) well: each estimate is one line.
    """
    fields = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            entries = ",\n".join(f"    {_compact(entry)}" for entry in value)
            fields.append(f"  {_compact(key)}: [\n{entries}\n  ]")
        else:
            fields.append(f"  {_compact(key)}: {_compact(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"
