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

Publishing is crash-safe and recovery removes only what an exporter wrote: see
:mod:`.layout`. Verify never writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import fsync_dir, write_atomic
from ..errors import RecordError, RecordTampered
from .layout import (
    _FILE,
    _HEX64,
    _NAME,
    ALLOWED_SIGNERS,
    DOMAIN,
    GENESIS,
    HEAD,
    KINDS,
    LOCK,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    PENDING,
    RECORDS,
    _check_extra_records,
    _check_files,
    _check_head,
    _exclusive_lock,
    _is_own_temp,
    _open_lock,
    _read_inside,
    _shared_lock,
    _tampered,
    is_archive,
    recover,
)

_LINE_KEYS = {"seq", "record", "prev", "created", "files"}


def line_hash(line: bytes) -> str:
    """The hash of one manifest line: sha256 over the domain prefix and the exact bytes."""
    return hashlib.sha256(DOMAIN + line).hexdigest()




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
        or not all(isinstance(v, str) and _HEX64.match(v) for v in files.values())
    ):
        raise _tampered(f"{where}: files must map file names to sha256 hashes", archive)
    for name in files:
        if not _FILE.match(name):
            raise _tampered(f"{where}: file {name!r} is not a record file name", archive)
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
    data = _read_inside(archive, MANIFEST, MAX_MANIFEST_BYTES)
    if data is None:
        return []
    return [_parse_line(raw, n, archive) for n, raw in enumerate(_split_lines(data, archive), 1)]










def verify_archive(archive: Path | str, *, anchor: str | None = None) -> Verified:
    """Re-hash every file and walk the chain; raise RecordTampered naming the first problem.

    ``archive`` must be an archive (:func:`is_archive`); anything else is a RecordError,
    never "0 records intact": a mistyped path must not pass a pipeline.
    """
    archive = Path(archive)
    _refuse_a_link(archive)
    if not archive.is_dir():
        raise RecordError("expected an archive folder, found "
                          + ("a file" if archive.exists() else "nothing"), path=archive)
    if not is_archive(archive):
        raise RecordError(
            f"not an archive: no {MANIFEST} (to check one record folder, run "
            "`deliberation verify --record FOLDER`)", path=archive)
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
    if records.is_symlink() or (records.exists() and not records.is_dir()):
        raise _tampered(f"{RECORDS} is {'a symbolic link' if records.is_symlink() else 'a file'}"
                        ", expected a folder", archive)
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
        pending = records / (PENDING + entry.record)
        for candidate in (folder, pending):
            if candidate.is_symlink():
                raise _tampered(f"{label}: {RECORDS}/{candidate.name} is a symbolic link, "
                                "expected the record's folder", archive)
        if not folder.is_dir():
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
    for entry_path in sorted(archive.iterdir()):
        name = entry_path.name
        if name in {MANIFEST, HEAD, RECORDS, LOCK, ALLOWED_SIGNERS}:
            continue
        if _is_own_temp(archive, entry_path):
            notes.append(f"{name}: a temp file of an interrupted export (removed by the next)")
        else:
            notes.append(f"{name}: not part of the archive (verify ignores it, export leaves "
                         "it alone)")
    return Verified(entries, head, notes)












# --------------------------------------------------------------------------- writing






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


def _refuse_a_link(archive: Path) -> None:
    """The archive's own folder given as a symbolic link: say where it points, since
    nothing in an archive may be a link (name the folder itself)."""
    if archive.is_symlink():
        raise RecordError("expected an archive folder, found a symbolic link (to "
                          f"{os.path.realpath(archive)}; give that folder)", path=archive)


def _where(archive: Path, error: RecordTampered) -> str:
    """``HEAD: `` when the failure names a file of the archive, not the archive itself."""
    if error.path is None or Path(error.path) == archive:
        return ""
    return f"{os.path.relpath(error.path, archive)}: "


def preflight(archive: Path | str, *, verify: bool = True) -> None:
    """Raise RecordError unless a record could be published into ``archive`` now: an
    archive that verifies, or a new or empty folder, writable. Export calls this before it
    runs the workbook, so a wrong path fails in a second, not after the whole analysis;
    publish calls it without ``verify`` (it verifies under the lock anyway)."""
    archive = Path(archive)
    _refuse_a_link(archive)
    if archive.exists() or archive.is_symlink():
        if not archive.is_dir():
            raise RecordError("expected an archive folder, found a file", path=archive)
        if not is_archive(archive) and any(archive.iterdir()):
            raise RecordError(f"expected an archive (with {MANIFEST}) or a new or empty "
                              "folder; it holds other files", path=archive)
        records, lock = archive / RECORDS, archive / LOCK
        if records.exists() and (records.is_symlink() or not records.is_dir()):
            raise RecordError(f"{RECORDS}: expected a folder, found "
                              f"{'a symbolic link' if records.is_symlink() else 'a file'}",
                              path=archive)
        if lock.exists() or lock.is_symlink():
            fd = _open_lock(archive, create=False)
            if fd is not None:
                os.close(fd)
        if not os.access(archive, os.W_OK):
            raise RecordError("cannot write into the archive (read-only file system or "
                              "permissions)", path=archive)
        if verify and is_archive(archive):
            try:
                verify_archive(archive)
            except RecordTampered as error:
                raise RecordTampered(f"refusing to add a record to an archive that fails "
                                     f"verification: {_where(archive, error)}{error.detail}",
                                     path=archive) from None
        return
    ancestor = Path(os.path.abspath(archive)).parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise RecordError(f"cannot create the archive: {ancestor} is a file", path=archive)
    if not os.access(ancestor, os.W_OK):
        raise RecordError(f"cannot create the archive: {ancestor} is not writable "
                          "(read-only file system or permissions)", path=archive)


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
    record: its own folder and line, so the signed record is never rewritten. An error
    of the file system (full disk, read-only, a file where a folder should be) is one
    RecordError; the archive stays as it was (an uncommitted record is removed).
    """
    archive = Path(archive)
    if not _NAME.match(f"000001-{review_id}"):
        raise RecordError(f"expected a review id usable as a folder name, got {review_id!r}",
                          path=archive, field="id")
    preflight(archive, verify=False)
    try:
        return _publish(archive, review_id=review_id, subject=subject, created=created,
                        build=build, signs=signs)
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        raise RecordError(f"cannot publish the record: {error.strerror or error}{where}",
                          path=archive) from None


def _publish(
    archive: Path,
    *,
    review_id: str,
    subject: str,
    created: str,
    build: Callable[[Slot], Mapping[str, bytes]],
    signs: str | None,
) -> Published:
    archive.mkdir(parents=True, exist_ok=True)
    (archive / RECORDS).mkdir(exist_ok=True)
    with _exclusive_lock(archive):
        try:
            verified = _verify_locked(archive, None)
        except RecordTampered as error:
            raise RecordTampered(
                "refusing to add a record to an archive that fails verification: "
                f"{_where(archive, error)}{error.detail}", path=archive,
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
        try:
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
            old = _read_inside(archive, MANIFEST, MAX_MANIFEST_BYTES) or b""
            write_atomic(archive / MANIFEST, old + line)  # the commit point
        except OSError:
            shutil.rmtree(pending, ignore_errors=True)  # ours, never published
            raise
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




