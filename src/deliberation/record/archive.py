"""The archive of decision records: write-once folders chained by a manifest.

::

    DIR/records/<seq:06d>-<review id>/   the record's files (record.html, record.json, ...)
    DIR/manifest.jsonl                    one JSON line per record: seq, record, prev,
                                          created, subject, files {name: sha256}
    DIR/HEAD                              the hash of the last manifest line, hex + newline
    DIR/.lock                             held (flock) while a record is published

A line's hash is ``sha256(DOMAIN + line)`` over the exact bytes written, newline
included; each line's ``prev`` is the hash of the line before (64 zeros for the
first), so changing, deleting or reordering any line breaks every hash after it.
A rewritten chain is consistent with itself: only an anchor (a HEAD printed at
export time and kept elsewhere) catches it.

Crash ordering. ``publish`` takes the lock, verifies what is there (it never
appends to a tampered archive), finishes or undoes what an interrupted publish
left, then:

1. writes the files into ``records/.pending-<name>/`` (exclusive create, fsync);
2. commits: ``manifest.jsonl`` is replaced atomically by its old bytes plus the
   new line (temp file, fsync, ``os.replace``), so no reader ever sees half a line;
3. renames ``.pending-<name>`` to ``<name>``;
4. replaces ``HEAD`` atomically.

A SIGKILL leaves one of these states, each of which verifies:

- before 2: a ``.pending-`` folder no line names. It is not part of the archive:
  verify ignores it, the next publish deletes it (the record was never published);
- between 2 and 3: the last line's record is still under ``.pending-<name>``:
  verify checks it there, the next publish renames it into place;
- between 2 and 4: HEAD is one line behind: verify accepts it and says so, the
  next publish rewrites it.

Stray temp files (``.manifest.jsonl.*.tmp``, ``.HEAD.*.tmp``) are likewise ignored
by verify and removed by the next publish. Verify never writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import fsync_dir, write_atomic
from ..errors import RecordError, RecordTampered

DOMAIN = b"deliberation-manifest-v1\n"
GENESIS = "0" * 64
MANIFEST = "manifest.jsonl"
HEAD = "HEAD"
RECORDS = "records"
LOCK = ".lock"
PENDING = ".pending-"
KINDS = ("record", "signature")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^(\d{6})-([A-Za-z0-9][A-Za-z0-9_.\-]*)$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_LINE_KEYS = {"seq", "record", "prev", "created", "files"}


def line_hash(line: bytes) -> str:
    """The hash of one manifest line: sha256 over the domain prefix and the exact bytes."""
    return hashlib.sha256(DOMAIN + line).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Entry:
    """One manifest line, parsed, with the hash of its exact bytes."""

    seq: int
    record: str
    prev: str
    created: str
    subject: str
    files: dict[str, str]
    hash: str
    kind: str = "record"  # or "signature": a signature appended for an earlier record
    signs: str = ""  # a signature's record (its folder name)


@dataclass(frozen=True)
class Slot:
    """What a record being published learns under the lock: its place in the archive."""

    seq: int
    name: str
    created: str
    supersedes: dict[str, Any] | None


@dataclass(frozen=True)
class Published:
    seq: int
    name: str
    path: Path
    head: str


@dataclass
class Verified:
    """An archive that checked out: its entries and any notes on interrupted exports."""

    entries: list[Entry]
    head: str
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def _tampered(message: str, archive: Path) -> RecordTampered:
    return RecordTampered(message, path=archive)


def _parse_line(raw: bytes, number: int, archive: Path) -> Entry:
    where = f"{MANIFEST} line {number}"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _tampered(f"{where}: not a valid JSON line (edited or corrupted)", archive) from None
    if not isinstance(data, dict) or not data.keys() >= _LINE_KEYS:
        raise _tampered(
            f"{where}: expected an object with {', '.join(sorted(_LINE_KEYS))}", archive
        )
    seq, record, prev = data["seq"], data["record"], data["prev"]
    files, created = data["files"], data["created"]
    subject = data.get("subject", "")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise _tampered(f"{where}: seq is not an integer", archive)
    if not isinstance(record, str) or not (match := _NAME.match(record)):
        raise _tampered(f"{where}: record {record!r} is not a record folder name", archive)
    if int(match.group(1)) != seq:
        raise _tampered(f"{where}: record {record} does not match seq {seq}", archive)
    if not isinstance(prev, str) or not _HEX64.match(prev):
        raise _tampered(f"{where}: prev is not a sha256", archive)
    if not isinstance(created, str) or not isinstance(subject, str):
        raise _tampered(f"{where}: created and subject must be strings", archive)
    if (
        not isinstance(files, dict)
        or not files
        or not all(isinstance(k, str) and _FILE.match(k) for k in files)
        or not all(isinstance(v, str) and _HEX64.match(v) for v in files.values())
    ):
        raise _tampered(f"{where}: files must map file names to sha256 hashes", archive)
    kind, signs = data.get("kind", "record"), data.get("signs", "")
    if kind not in KINDS or not isinstance(signs, str) or (
            kind == "signature") != bool(_NAME.match(signs)):
        raise _tampered(f"{where}: expected kind 'record', or 'signature' with the record it "
                        "signs", archive)
    return Entry(seq, record, prev, created, subject, dict(files), line_hash(raw), kind, signs)


def _split_lines(data: bytes, archive: Path) -> list[bytes]:
    """The manifest's lines, each with its newline; a last line without one is damage."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] != b"":
        raise _tampered(
            f"{MANIFEST} line {len(lines)}: incomplete line at the end of the file "
            "(truncated, or bytes appended)",
            archive,
        )
    return [line + b"\n" for line in lines[:-1]]


def read_entries(archive: Path) -> list[Entry]:
    """Parse the manifest (format only: hashes are checked by ``verify_archive``)."""
    path = archive / MANIFEST
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [_parse_line(raw, n, archive) for n, raw in enumerate(_split_lines(data, archive), 1)]


@contextlib.contextmanager
def _shared_lock(archive: Path) -> Iterator[None]:
    """Hold a shared lock while reading, if the archive has a lock file; never create one."""
    try:
        fd = os.open(archive / LOCK, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def verify_archive(archive: Path | str, *, anchor: str | None = None) -> Verified:
    """Re-hash every file and walk the chain; raise RecordTampered naming the first problem."""
    archive = Path(archive)
    if not archive.is_dir():
        raise RecordError("expected an archive folder (or a record folder)", path=archive)
    if anchor is not None:
        anchor = anchor.strip().lower()
        if not _HEX64.match(anchor):
            raise RecordError(f"expected the anchor as 64 hex digits, got {anchor!r}",
                              path=archive, field="--anchor")
    with _shared_lock(archive):
        return _verify_locked(archive, anchor)


def _verify_locked(archive: Path, anchor: str | None) -> Verified:
    notes: list[str] = []
    entries = read_entries(archive)
    records = archive / RECORDS
    expected_prev = GENESIS
    earlier_records: set[str] = set()  # records a signature line may name
    for number, entry in enumerate(entries, 1):
        label = f"record {entry.record} ({MANIFEST} line {number})"
        if entry.seq != number:
            raise _tampered(
                f"{label}: seq {entry.seq} where {number} was expected "
                "(manifest lines deleted, duplicated or reordered)",
                archive,
            )
        if entry.prev != expected_prev:
            raise _tampered(
                f"{label}: prev does not match the hash of line {number - 1} "
                "(an earlier line was changed, deleted or reordered)",
                archive,
            )
        expected_prev = entry.hash
        if entry.kind == "signature" and entry.signs not in earlier_records:
            raise _tampered(f"{label}: signs {entry.signs}, which is not an earlier record",
                            archive)
        if entry.kind == "record":
            earlier_records.add(entry.record)
        folder = records / entry.record
        if not folder.is_dir():
            pending = records / (PENDING + entry.record)
            if number == len(entries) and pending.is_dir():
                folder = pending
                notes.append(
                    f"record {entry.record} is published but still under {pending.name} "
                    "(an export was interrupted); the next export moves it into place"
                )
            else:
                raise _tampered(f"{label}: the record folder is missing (deleted)", archive)
        _check_files(folder, entry, label, archive)
    _check_extra_records(records, entries, archive, notes)
    head = _check_head(archive, entries, notes)
    if anchor is not None and anchor not in {e.hash for e in entries}:
        raise _tampered(
            f"anchor {anchor[:16]}… is not a line of the chain: the archive was rewritten or "
            "rolled back since the anchor was taken",
            archive,
        )
    for stray in sorted(archive.glob(".*.tmp")):
        notes.append(f"{stray.name}: a temp file of an interrupted export (removed by the next)")
    return Verified(entries, head, notes)


def _check_files(folder: Path, entry: Entry, label: str, archive: Path) -> None:
    present = {p.name for p in folder.iterdir()}
    for name in sorted(present - entry.files.keys()):
        raise _tampered(f"{label}: extra file {name} not in the manifest (added)", archive)
    for name, expected in entry.files.items():
        path = folder / name
        if name not in present or not path.is_file():
            raise _tampered(f"{label}: {name} is missing (deleted)", archive)
        actual = file_sha256(path)
        if actual != expected:
            raise _tampered(
                f"{label}: {name} does not match its sha256 in the manifest (the file was "
                f"changed: expected {expected[:12]}…, found {actual[:12]}…)",
                archive,
            )


def _check_extra_records(
    records: Path, entries: list[Entry], archive: Path, notes: list[str]
) -> None:
    if not records.is_dir():
        return
    named = {e.record for e in entries}
    for path in sorted(records.iterdir()):
        if path.name.startswith("."):
            if path.name.startswith(PENDING) and path.name[len(PENDING):] in named:
                continue  # the committed last record, reported above
            notes.append(
                f"{RECORDS}/{path.name}: left by an interrupted export, never published "
                "(the next export removes it)"
            )
        elif path.name not in named:
            raise _tampered(
                f"record {path.name}: not in the manifest (a record was added, or its "
                "manifest line deleted)",
                archive,
            )


def _check_head(archive: Path, entries: list[Entry], notes: list[str]) -> str:
    try:
        text = (archive / HEAD).read_bytes().decode("ascii")
    except FileNotFoundError:
        text = None
    except UnicodeDecodeError:
        raise _tampered(f"{HEAD}: not a sha256 (replaced or corrupted)", archive) from None
    last = entries[-1].hash if entries else GENESIS
    previous = entries[-2].hash if len(entries) > 1 else None
    if text is None:
        if len(entries) <= 1:
            if entries:
                notes.append(f"{HEAD} not written yet (an export was interrupted); "
                             "the next export writes it")
            return last
        raise _tampered(f"{HEAD} is missing (deleted)", archive)
    if not text.endswith("\n") or not _HEX64.match(text[:-1]):
        raise _tampered(f"{HEAD}: not a sha256 followed by a newline (replaced or corrupted)",
                        archive)
    head = text[:-1]
    if head == last:
        return head
    if head == previous:
        notes.append(f"{HEAD} is one line behind the manifest (an export was interrupted); "
                     "the next export updates it")
        return last
    raise _tampered(
        f"{HEAD} does not match the last manifest line (HEAD replaced, or the manifest "
        "changed after it)",
        archive,
    )


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def _exclusive_lock(archive: Path) -> Iterator[None]:
    fd = os.open(archive / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def recover(archive: Path, entries: list[Entry]) -> None:
    """Finish a committed publish or undo an uncommitted one (call under the lock)."""
    records = archive / RECORDS
    last = entries[-1] if entries else None
    if records.is_dir():
        for path in records.iterdir():
            if not path.name.startswith("."):
                continue
            committed = last is not None and path.name == PENDING + last.record
            if committed and last is not None and not (records / last.record).exists():
                os.rename(path, records / last.record)  # committed: roll forward
                fsync_dir(records)
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for stray in archive.glob(".*.tmp"):
        stray.unlink()
    head = (last.hash if last else GENESIS) + "\n"
    if last is not None:
        try:
            current = (archive / HEAD).read_text(encoding="ascii")
        except FileNotFoundError:
            current = ""
        if current != head:
            write_atomic(archive / HEAD, head.encode("ascii"))


def clean(archive: Path | str) -> Verified:
    """Verify the archive and tidy what interrupted exports left (under the lock)."""
    archive = Path(archive)
    with _exclusive_lock(archive):
        verified = _verify_locked(archive, None)
        recover(archive, verified.entries)
    return verified


def latest_of_subject(entries: list[Entry], subject: str) -> Entry | None:
    """The latest record of the same subject: the one a new record supersedes."""
    return next((e for e in reversed(entries) if e.kind == "record" and e.subject == subject),
                None)


def publish(
    archive: Path | str,
    *,
    review_id: str,
    subject: str,
    created: str,
    build: Callable[[Slot], Mapping[str, bytes]],
    signs: str | None = None,
) -> Published:
    """Add one write-once record to the archive, crash-safe, with the lock held.

    ``build`` receives the record's slot (seq, folder name, supersedes) and returns
    the record's files by name; it runs under the lock, so it should be quick.
    With ``signs`` (an earlier record's folder name) the entry is a signature of that
    record: its own folder and line, so the signed record is never rewritten.
    """
    archive = Path(archive)
    if not _NAME.match(f"000001-{review_id}"):
        raise RecordError(f"expected a review id usable as a folder name, got {review_id!r}",
                          path=archive, field="id")
    archive.mkdir(parents=True, exist_ok=True)
    (archive / RECORDS).mkdir(exist_ok=True)
    with _exclusive_lock(archive):
        try:
            verified = _verify_locked(archive, None)
        except RecordTampered as error:
            raise RecordTampered(
                f"refusing to add a record to an archive that fails verification: {error.detail}",
                path=archive,
            ) from None
        entries = verified.entries
        recover(archive, entries)
        if signs is not None and signs not in {e.record for e in entries if e.kind == "record"}:
            raise RecordError(f"expected a record of this archive to sign, got {signs!r}",
                              path=archive)
        seq = len(entries) + 1
        name = f"{seq:06d}-{review_id}"
        earlier = latest_of_subject(entries, subject)
        supersedes = (
            {"record": earlier.record, "seq": earlier.seq, "sha256": earlier.hash}
            if earlier else None
        )
        files = dict(build(Slot(seq, name, created, supersedes)))
        for file_name in files:
            if not _FILE.match(file_name):
                raise RecordError(f"expected a plain file name, got {file_name!r}", path=archive)
        records = archive / RECORDS
        pending = records / (PENDING + name)
        pending.mkdir()
        for file_name, data in files.items():
            fd = os.open(pending / file_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        fsync_dir(pending)
        line = _line_bytes(
            seq=seq, record=name, prev=entries[-1].hash if entries else GENESIS,
            created=created, subject=subject,
            files={n: hashlib.sha256(d).hexdigest() for n, d in files.items()},
            **({"kind": "signature", "signs": signs} if signs else {}),
        )
        try:
            old = (archive / MANIFEST).read_bytes()
        except FileNotFoundError:
            old = b""
        write_atomic(archive / MANIFEST, old + line)  # the commit point
        os.rename(pending, records / name)
        fsync_dir(records)
        head = line_hash(line)
        write_atomic(archive / HEAD, (head + "\n").encode("ascii"))
    return Published(seq, name, records / name, head)


def _line_bytes(**fields: Any) -> bytes:
    # Compact, sorted and ASCII-only: the bytes are what is hashed, so they must not
    # depend on the locale or on anything but the fields.
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    ) + b"\n"


def find_archive(record_folder: Path) -> Path | None:
    """The archive a record folder sits in, if it sits in one."""
    parent = record_folder.resolve().parent
    if parent.name == RECORDS and (parent.parent / MANIFEST).is_file():
        return parent.parent
    return None


def record_name(folder: Path) -> str:
    name = folder.name
    return name[len(PENDING):] if name.startswith(PENDING) else name
