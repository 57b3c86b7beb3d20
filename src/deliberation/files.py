"""Reading a user's file without surprises: regular files only, never blocking, bounded.

A path a user gives may name a FIFO (reading it blocks forever), a device such as
``/dev/zero`` (reading it never ends), a folder, or a file far larger than any review.
:func:`read_regular` opens without blocking, looks at what it opened, and reads at
most ``limit`` bytes; anything else is one error naming the path and what was found.
:func:`load_json` adds strict JSON with bounded nesting.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from .errors import DeliberationError

MAX_DEPTH = 64  # a review nests five levels deep; a record about ten


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(count: int) -> str:
    """``16 MiB`` for a whole number of MiB (the limits), else exact: ``16,777,217 bytes``
    (a file one byte over the limit is not "16 MiB, found 16 MiB")."""
    return f"{count >> 20} MiB" if count and count % (1 << 20) == 0 else f"{count:,} bytes"


def read_regular(
    path: Path | str,
    *,
    limit: int,
    error: type[DeliberationError] = DeliberationError,
    follow_symlinks: bool = True,
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them, or ``error``."""
    path = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error("no such file", path=path) from None
    except IsADirectoryError:
        raise error("expected a file, found a folder", path=path) from None
    except OSError as failure:
        if not follow_symlinks and path.is_symlink():
            raise error("expected a regular file, found a symbolic link", path=path) from None
        raise error(f"cannot read: {failure.strerror}", path=path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"expected a regular file, found {kind_of(info.st_mode)}", path=path)
        if info.st_size > limit:
            raise error(f"expected a file of at most {_size(limit)}, found {_size(info.st_size)}",
                        path=path)
        os.set_blocking(fd, True)
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:  # it grew while we read
            raise error(f"expected a file of at most {_size(limit)}", path=path)
        return data
    except OSError as failure:
        raise error(f"cannot read: {failure.strerror}", path=path) from None
    finally:
        os.close(fd)


class LongInteger(float):
    """An integer of more than 18 digits, read as a float so that validation names the
    field and the bound, and shown in messages as what was typed."""

    digits: int

    def __repr__(self) -> str:
        return f"an integer of {self.digits} digits"


def _parse_int(text: str) -> int | float:
    # More than 18 digits can not be a count and is beyond every bound of a quantity;
    # Python itself refuses to read 4300 digits, with no position.
    if len(text.lstrip("-")) <= 18:
        return int(text)
    number = LongInteger(text)  # float() reads any length (inf beyond 1e308)
    number.digits = len(text.lstrip("-"))
    return number


def depth_of(data: Any) -> int:
    """How deeply lists and objects nest in ``data`` (iteratively: no recursion limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((child, depth) for child in
                         (value.values() if isinstance(value, dict) else value))
    return deepest


def load_json(
    path: Path | str, *, limit: int, error: type[DeliberationError] = DeliberationError
) -> Any:
    """Parse a JSON file: a regular file of at most ``limit`` bytes, UTF-8, nested at most
    :data:`MAX_DEPTH` deep. NaN and Infinity parse (validation rejects them by field)."""
    raw = read_regular(path, limit=limit, error=error)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as failure:
        raise error(f"expected UTF-8 text ({failure.reason})", path=path) from None
    try:
        data = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as failure:
        raise error(
            f"line {failure.lineno} column {failure.colno}: expected valid JSON "
            f"({failure.msg.removesuffix(' at')})",
            path=path,
        ) from None
    except RecursionError:
        raise error(f"expected JSON nested at most {MAX_DEPTH} levels deep", path=path) from None
    except ValueError as failure:
        raise error(f"expected valid JSON ({failure})", path=path) from None
    if depth_of(data) > MAX_DEPTH:
        raise error(f"expected JSON nested at most {MAX_DEPTH} levels deep", path=path)
    return data
