"""A full disk and a read-only file system, for real (issue 13, docs/design.md *Bad input*).

Each test mounts its own small tmpfs (CI runs as root in a container that allows it), so
the errors are the kernel's own ENOSPC and EROFS, not injected ones. Where mounting is
not allowed (not root, or a container without the capability) the tests say so and are
skipped.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deliberation.errors import RecordError
from deliberation.record.archive import publish, verify_archive

from .test_archive import build_archive
from .test_hostile import run

ROOT = Path(__file__).resolve().parents[1]


def _mount(point: Path, *options: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(point)],
                   check=True, capture_output=True)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs of its own, unmounted afterwards."""
    point = tmp_path / "fs"
    point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    try:
        _mount(point, "size=2m")
    except (subprocess.CalledProcessError, FileNotFoundError) as failure:
        pytest.skip(f"this container refuses to mount a tmpfs: {failure}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def _fill(folder: Path) -> Path:
    """Write until the file system says ENOSPC; returns the filler (delete it to free)."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb") as out:
        with pytest.raises(OSError, match="No space left") as full:  # noqa: PT012 (a loop)
            while True:
                out.write(chunk)
                out.flush()
        assert full.value.errno == errno.ENOSPC
    return filler


def _record(slot: object) -> dict[str, bytes]:
    return {"record.json": b"{}\n", "record.html": b"<p>" + b"x" * 200_000 + b"</p>\n"}


def test_a_full_disk_is_one_line_and_leaves_the_archive_intact(small_fs: Path) -> None:
    archive = small_fs / "archive"
    build_archive(archive)
    before = verify_archive(archive).entries
    filler = _fill(small_fs)
    with pytest.raises(RecordError) as raised:
        publish(archive, review_id="alpha-v3", subject="alpha", created="later", build=_record)
    message = str(raised.value)
    assert "No space left on device" in message
    assert "\n" not in message
    assert verify_archive(archive).entries == before  # nothing half-written counts
    filler.unlink()
    publish(archive, review_id="alpha-v3", subject="alpha", created="later", build=_record)
    assert verify_archive(archive).entries[-1].record == f"{len(before) + 1:06d}-alpha-v3"


def test_export_onto_a_full_disk_is_one_line_exit_2(small_fs: Path) -> None:
    archive = small_fs / "archive"
    build_archive(archive)
    before = verify_archive(archive).entries
    _fill(small_fs)
    result = run("export", ROOT / "workbooks" / "example", "--archive", archive, timeout=300)
    assert result.returncode == 2, (result.stdout, result.stderr)
    # progress lines come first on stderr; the failure is one line, the last
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert errors == [result.stderr.splitlines()[-1]]
    assert errors[0] == f"error: {archive}: cannot publish the record: No space left on device"
    assert "Traceback" not in result.stdout + result.stderr
    assert verify_archive(archive).entries == before


def test_a_read_only_file_system_is_one_line_and_the_next_export_succeeds(
        small_fs: Path) -> None:
    archive = small_fs / "archive"
    build_archive(archive)
    before = verify_archive(archive).entries
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    try:
        with pytest.raises(RecordError) as raised:
            publish(archive, review_id="alpha-v3", subject="alpha", created="later",
                    build=_record)
        assert "\n" not in str(raised.value)
        assert "read-only" in str(raised.value).lower()
        result = run("verify", archive, timeout=60)  # reading a read-only archive works
        assert result.returncode == 0, result.stderr
        new = run("new", small_fs / "review", "--template", "release-review", timeout=60)
        assert new.returncode == 2, (new.stdout, new.stderr)
        assert new.stderr.startswith("error: "), new.stderr
        assert new.stderr.count("\n") == 1, new.stderr
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    assert verify_archive(archive).entries == before
    publish(archive, review_id="alpha-v3", subject="alpha", created="later", build=_record)
    assert verify_archive(archive).entries[-1].record == f"{len(before) + 1:06d}-alpha-v3"


# The disk filled up to leave this many bytes free: nothing fits, the record's folder
# fits but not record.html (about 200 kB), record.html but not the manifest's copy ...
FREE_LEVELS = [0, 4096, 8192, 16384, 65536, 131072, 196608, 212992, 262144, 524288, 1 << 20]


def test_every_free_space_level_publishes_fully_or_not_at_all(small_fs: Path) -> None:
    """Issue 13 saw a traceback at 7 of 11 levels of free space. At each level a publish
    either succeeds or is one RecordError line; the archive verifies with the records it
    had (or one more), and once space is freed the next publish succeeds."""
    outcomes = []
    for level, free in enumerate(FREE_LEVELS):
        archive = small_fs / f"archive-{level}"
        build_archive(archive)
        before = verify_archive(archive).entries
        filler = _fill(small_fs)
        with filler.open("r+b") as out:
            out.truncate(max(filler.stat().st_size - free, 0))
        message = None
        try:
            publish(archive, review_id="alpha-v3", subject="alpha", created="later",
                    build=_record)
        except RecordError as error:
            message = str(error)
        if message is not None:
            assert "\n" not in message
            assert message.startswith(f"{archive}: "), message
            assert verify_archive(archive).entries == before
            outcomes.append("refused")
        else:
            assert [e.record for e in verify_archive(archive).entries][:-1] == [
                e.record for e in before]
            outcomes.append("published")
        filler.unlink()
        publish(archive, review_id="alpha-v4", subject="alpha", created="later",
                build=_record)
        assert verify_archive(archive).entries[-1].record.endswith("-alpha-v4")
        shutil.rmtree(archive)
    assert outcomes[0] == "refused"
    assert outcomes[-1] == "published"
