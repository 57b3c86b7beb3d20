"""The tamper corpus: each function damages a pristine archive the way its name says.

Applied by tests/test_archive.py to a fresh copy of a three-record archive; the
expected error of each is data, in corpus.json beside this file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

DOMAIN = b"deliberation-manifest-v1\n"
Mutation = Callable[[Path], None]
MUTATIONS: dict[str, Mutation] = {}


def mutation(function: Mutation) -> Mutation:
    MUTATIONS[function.__name__.replace("_", "-")] = function
    return function


def _record(archive: Path, seq: int) -> Path:
    return next((archive / "records").glob(f"{seq:06d}-*"))


def _rewrite(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)  # records are written read-only; an attacker does not care
    path.write_bytes(data)


def _flip(path: Path, offset: int, bit: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    _rewrite(path, bytes(data))


def _lines(archive: Path) -> list[bytes]:
    return (archive / "manifest.jsonl").read_bytes().splitlines(keepends=True)


def _write_lines(archive: Path, lines: list[bytes]) -> None:
    (archive / "manifest.jsonl").write_bytes(b"".join(lines))


def _hash(line: bytes) -> str:
    return hashlib.sha256(DOMAIN + line).hexdigest()


def _line(fields: dict[str, object]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode() + b"\n"


@mutation
def bit_flip_record_html(archive: Path) -> None:
    _flip(_record(archive, 2) / "record.html", 500, 2)


@mutation
def bit_flip_record_json(archive: Path) -> None:
    _flip(_record(archive, 1) / "record.json", 100, 0)


@mutation
def bit_flip_review_ipynb(archive: Path) -> None:
    _flip(_record(archive, 3) / "review.ipynb", 40, 1)


@mutation
def bit_flip_manifest(archive: Path) -> None:
    lines = _lines(archive)
    position = lines[1].index(b'"created":"') + len(b'"created":"') + 3  # a digit of the year
    line = bytearray(lines[1])
    line[position] ^= 1  # '6' <-> '7': still valid JSON, a different line
    lines[1] = bytes(line)
    _write_lines(archive, lines)


@mutation
def bit_flip_head(archive: Path) -> None:
    _flip(archive / "HEAD", 10, 0)


@mutation
def truncated_record_json(archive: Path) -> None:
    path = _record(archive, 1) / "record.json"
    _rewrite(path, path.read_bytes()[: path.stat().st_size // 2])


@mutation
def truncated_manifest(archive: Path) -> None:
    path = archive / "manifest.jsonl"
    path.write_bytes(path.read_bytes()[:-40])


@mutation
def trailing_garbage_manifest(archive: Path) -> None:
    with (archive / "manifest.jsonl").open("ab") as handle:
        handle.write(b"garbage")


@mutation
def trailing_garbage_record_html(archive: Path) -> None:
    path = _record(archive, 2) / "record.html"
    _rewrite(path, path.read_bytes() + b"<!-- appended -->")


@mutation
def trailing_line_manifest(archive: Path) -> None:
    with (archive / "manifest.jsonl").open("ab") as handle:
        handle.write(b"{}\n")


@mutation
def record_deleted(archive: Path) -> None:
    shutil.rmtree(_record(archive, 2))


@mutation
def record_added(archive: Path) -> None:
    shutil.copytree(_record(archive, 3), archive / "records" / "000004-alpha-v2")


@mutation
def file_added(archive: Path) -> None:
    (_record(archive, 2) / "notes.txt").write_text("added later\n")


@mutation
def file_deleted(archive: Path) -> None:
    (_record(archive, 2) / "review.ipynb").unlink()


@mutation
def manifest_line_deleted(archive: Path) -> None:
    lines = _lines(archive)
    del lines[1]
    _write_lines(archive, lines)


@mutation
def manifest_last_line_deleted(archive: Path) -> None:
    _write_lines(archive, _lines(archive)[:-1])


@mutation
def manifest_line_duplicated(archive: Path) -> None:
    lines = _lines(archive)
    lines.insert(1, lines[1])
    _write_lines(archive, lines)


@mutation
def manifest_lines_reordered(archive: Path) -> None:
    lines = _lines(archive)
    lines[1], lines[2] = lines[2], lines[1]
    _write_lines(archive, lines)


@mutation
def manifest_deleted(archive: Path) -> None:
    (archive / "manifest.jsonl").unlink()


def _edit_and_rehash(archive: Path, seq: int) -> list[bytes]:
    """Edit a record's record.json and put its new hash in the manifest line."""
    path = _record(archive, seq) / "record.json"
    data = path.read_bytes().replace(b'"approve-with-conditions"', b'"approve"', 1)
    assert data != path.read_bytes()
    _rewrite(path, data)
    lines = _lines(archive)
    fields = json.loads(lines[seq - 1])
    fields["files"]["record.json"] = hashlib.sha256(data).hexdigest()
    lines[seq - 1] = _line(fields)
    _write_lines(archive, lines)
    return lines


@mutation
def edited_with_hash_updated(archive: Path) -> None:
    _edit_and_rehash(archive, 2)


@mutation
def last_edited_with_hash_updated(archive: Path) -> None:
    _edit_and_rehash(archive, 3)


@mutation
def head_replaced(archive: Path) -> None:
    (archive / "HEAD").write_text(hashlib.sha256(b"another archive").hexdigest() + "\n")


@mutation
def head_deleted(archive: Path) -> None:
    (archive / "HEAD").unlink()


@mutation
def chain_rewritten(archive: Path) -> None:
    """Edit record 1, then recompute every hash after it and HEAD: consistent with itself."""
    lines = _edit_and_rehash(archive, 1)
    previous = "0" * 64
    for index, raw in enumerate(lines):
        fields = json.loads(raw)
        fields["prev"] = previous
        lines[index] = _line(fields)
        previous = _hash(lines[index])
    _write_lines(archive, lines)
    (archive / "HEAD").write_text(previous + "\n")


@mutation
def rollback(archive: Path) -> None:
    """Roll the archive back to its state after record 2: line, folder and HEAD."""
    lines = _lines(archive)[:2]
    _write_lines(archive, lines)
    shutil.rmtree(_record(archive, 3))
    (archive / "HEAD").write_text(_hash(lines[-1]) + "\n")
