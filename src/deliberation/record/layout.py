"""The archive's layout on disk: its names, its lock, reading its files safely, and
which leftovers are an exporter's own (see :mod:`.archive` for the chain).

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

Stray temp files (``.manifest.jsonl.XXXXXXXX.tmp``, ``.HEAD.XXXXXXXX.tmp``) are likewise
ignored by verify and removed by the next publish. Verify never writes.

Recovery removes only what an exporter wrote, recognised by exact name and content:
``records/.pending-<next seq>-<id>/`` holding only plain record files, a manifest temp
file that is a prefix of the manifest's bytes (a copy cut short) or those bytes plus
at most one line, a HEAD temp file that is part of a hash.
Anything else in the archive (a user's ``records/.notes/``, ``.DS_Store``) is reported
by verify and left alone. An archive holds regular files and folders only: a symbolic
link anywhere in it is reported as tampering, so nothing is read or written through one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import fsync_dir, write_atomic
from ..errors import DeliberationError, RecordError, RecordTampered
from ..files import kind_of, read_regular

if TYPE_CHECKING:
    from .archive import Entry

DOMAIN = b"deliberation-manifest-v1\n"
GENESIS = "0" * 64
MANIFEST = "manifest.jsonl"
HEAD = "HEAD"
RECORDS = "records"
LOCK = ".lock"
PENDING = ".pending-"
KINDS = ("record", "signature")
ALLOWED_SIGNERS = "allowed_signers"  # who may sign for whom (signing.py reads it)
MAX_MANIFEST_BYTES = 1 << 28  # 256 MiB: a million records
# Exact ASCII patterns (\A...\Z, [0-9]): "$" would accept a trailing newline and "\d"
# non-ASCII digits, names the exporter never writes.
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_NAME = re.compile(r"\A([0-9]{6})-([A-Za-z0-9][A-Za-z0-9_.\-]{0,99})\Z")
_FILE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\Z")
# What tempfile.mkstemp names write_atomic's temp files (8 of [a-z0-9_]).
_TEMP = re.compile(r"\A\.(manifest\.jsonl|HEAD)\.[a-z0-9_]{8}\.tmp\Z")
_HEAD_PART = re.compile(rb"\A[0-9a-f]{0,64}\n?\Z")


def file_sha256(path: Path) -> str:
    """The sha256 of a regular file, never following a link nor blocking on a FIFO."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"expected a regular file, found {kind_of(mode)}")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    finally:
        os.close(fd)
    return digest.hexdigest()


def _tampered(message: str, archive: Path) -> RecordTampered:
    return RecordTampered(message, path=archive)


class _InsideArchive(RecordTampered):
    """A file of the archive that is not a regular file (raised by read_regular)."""


def _read_inside(archive: Path, name: str, limit: int) -> bytes | None:
    """A file of the archive's root, or None when absent; a link, a folder or a FIFO
    there is tampering (never followed, never blocking)."""
    path = archive / name
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink():
        raise _tampered(f"{name} is a symbolic link (an archive holds only regular files)",
                        archive)
    return read_regular(path, limit=limit, error=_InsideArchive, follow_symlinks=False)


def _open_lock(archive: Path, *, create: bool) -> int | None:
    """The lock file, opened without blocking or following a link; None if absent and
    not to be created. A lock that is not a regular file is one clear error."""
    flags = os.O_NONBLOCK | os.O_NOFOLLOW | (os.O_RDWR | os.O_CREAT if create else os.O_RDONLY)
    try:
        fd = os.open(archive / LOCK, flags, 0o644)
    except FileNotFoundError:
        if create:
            raise
        return None
    except OSError as error:
        lock = archive / LOCK
        if not lock.exists() and not lock.is_symlink():
            raise RecordError(f"cannot create {LOCK}: {error.strerror}", path=archive) from None
        found = "a symbolic link" if lock.is_symlink() else kind_of(lock.stat().st_mode)
        raise RecordError(f"{LOCK}: expected a regular file, found {found}",
                          path=archive) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise RecordError(f"{LOCK}: expected a regular file, found {kind_of(mode)}",
                          path=archive)
    os.set_blocking(fd, True)
    return fd


@contextlib.contextmanager
def _shared_lock(archive: Path) -> Iterator[None]:
    """Hold a shared lock while reading, if the archive has a lock file; never create one."""
    fd = _open_lock(archive, create=False)
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _exclusive_lock(archive: Path) -> Iterator[None]:
    fd = _open_lock(archive, create=True)
    assert fd is not None  # noqa: S101 - created when absent
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def is_archive(folder: Path) -> bool:
    """Whether ``folder`` is an archive: it has a manifest, or the records folder and lock
    an export makes before its first record is committed."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if (folder / MANIFEST).exists() or (folder / MANIFEST).is_symlink():
        return True
    if not (folder / RECORDS).is_dir():
        return False
    return (folder / LOCK).exists() or {p.name for p in folder.iterdir()} == {RECORDS}


def enclosing_archive(path: Path) -> Path | None:
    """The archive ``path`` would be written into, if any: its folder or one above it,
    as written or with symbolic links followed (a link to a record folder is inside)."""
    folder = Path(os.path.abspath(path)).parent
    for start in (folder, Path(os.path.realpath(folder))):
        for candidate in (start, *start.parents):
            if is_archive(candidate):
                return candidate
    return None


def find_archive(record_folder: Path) -> Path | None:
    """The archive a record folder sits in, if it sits in one."""
    parent = record_folder.resolve().parent
    if parent.name == RECORDS and (parent.parent / MANIFEST).is_file():
        return parent.parent
    return None


def record_name(folder: Path) -> str:
    name = folder.name
    return name[len(PENDING):] if name.startswith(PENDING) else name


def _is_own_temp(archive: Path, path: Path) -> bool:
    """Whether ``path`` is a temp file write_atomic left (exact name, plausible content)."""
    match = _TEMP.match(path.name)
    if match is None or path.is_symlink() or not path.is_file():
        return False
    try:
        content = read_regular(path, limit=MAX_MANIFEST_BYTES + 4096, follow_symlinks=False)
    except DeliberationError:  # anything unreadable is not ours to remove
        return False
    if match.group(1) == HEAD:
        return _HEAD_PART.match(content) is not None
    manifest = _read_inside(archive, MANIFEST, MAX_MANIFEST_BYTES) or b""
    if manifest.startswith(content):  # killed while copying the manifest's bytes
        return True
    return content.startswith(manifest) and content.count(b"\n") <= manifest.count(b"\n") + 1


def _is_own_pending(path: Path, next_seq: int) -> bool:
    """Whether ``path`` is the folder an interrupted publish of record ``next_seq`` wrote:
    exact name, a real folder, holding only plain files with record file names."""
    name = path.name[len(PENDING):] if path.name.startswith(PENDING) else ""
    match = _NAME.match(name)
    if match is None or int(match.group(1)) != next_seq:
        return False
    if path.is_symlink() or not path.is_dir():
        return False
    return all(_FILE.match(child.name) and not child.is_symlink() and child.is_file()
               for child in path.iterdir())


def recover(archive: Path, entries: list[Entry]) -> None:
    """Finish a committed publish or undo an uncommitted one (call under the lock, after
    verifying). Removes only what an exporter wrote (:func:`_is_own_pending`,
    :func:`_is_own_temp`); anything else stays where the user put it."""
    records = archive / RECORDS
    last = entries[-1] if entries else None
    if records.is_dir() and not records.is_symlink():
        for path in records.iterdir():
            if not path.name.startswith("."):
                continue
            committed = last is not None and path.name == PENDING + last.record
            if committed and last is not None and not (records / last.record).exists():
                if path.is_symlink():
                    continue  # verify reports it as tampering; never renamed into place
                os.rename(path, records / last.record)  # committed: roll forward
                fsync_dir(records)
                continue
            if _is_own_pending(path, len(entries) + 1):
                shutil.rmtree(path)
    for stray in archive.iterdir():
        if _is_own_temp(archive, stray):
            stray.unlink()
    head = (last.hash if last else GENESIS) + "\n"
    if last is not None:
        current = _read_inside(archive, HEAD, 4096)
        if current != head.encode("ascii"):
            write_atomic(archive / HEAD, head.encode("ascii"))


# ------------------------------------------------ verify's checks of one record and HEAD


def _check_files(folder: Path, entry: Entry, label: str, archive: Path) -> None:
    with os.scandir(folder) as scan:  # one listing, and each entry's type without a stat
        present = {item.name: item for item in scan}
    for name in sorted(present.keys() - entry.files.keys()):
        raise _tampered(f"{label}: extra file {name} not in the manifest (added)", archive)
    for name, expected in entry.files.items():
        item = present.get(name)
        if item is not None and item.is_symlink():
            raise _tampered(f"{label}: {name} is a symbolic link, expected the file itself",
                            archive)
        if item is None or not item.is_file(follow_symlinks=False):
            raise _tampered(f"{label}: {name} is missing (deleted)", archive)
        try:
            actual = file_sha256(folder / name)
        except OSError as error:
            raise _tampered(f"{label}: {name} can not be read ({error})", archive) from None
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
            if _is_own_pending(path, len(entries) + 1):
                notes.append(
                    f"{RECORDS}/{path.name}: left by an interrupted export, never published "
                    "(the next export removes it)"
                )
            else:
                notes.append(f"{RECORDS}/{path.name}: not part of the archive (verify ignores "
                             "it, export leaves it alone)")
        elif path.name not in named:
            raise _tampered(
                f"record {path.name}: not in the manifest (a record was added, or its "
                "manifest line deleted)",
                archive,
            )


def _check_head(archive: Path, entries: list[Entry], notes: list[str]) -> str:
    raw = _read_inside(archive, HEAD, 4096)
    try:
        text = raw.decode("ascii") if raw is not None else None
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
