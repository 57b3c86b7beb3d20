"""The model artifact a record is about: its sha256, the subject of the record's attestation.

A file's digest is the sha256 of its bytes (what ``sha256sum FILE`` prints). A folder's
digest is the sha256 of its manifest: one line per regular file, sorted by path,

::

    <sha256 of the file>  <path relative to the folder, '/'-separated>\\n

which is exactly what ``sha256sum`` prints for those files, so ``sha256sum -c`` checks a
folder against the manifest a record keeps (``artifact.sha256sums``) and anyone can
recompute the digest without deliberation:
``cd DIR && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum``.

Files are read in blocks (memory stays flat for any size) and a progress bar on stderr
counts the bytes. Symbolic links to files are hashed by their content, as ``sha256sum``
reads them; a link to a folder is refused, since following it could never end.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import DeliberationError

SUMS_FILE = "artifact.sha256sums"
BLOCK = 1 << 20

Advance = Callable[[int], None]


class ArtifactInvalid(DeliberationError):
    """A model artifact that cannot be hashed (missing, empty, a special file)."""


@dataclass(frozen=True)
class Artifact:
    """The model artifact's digest, and for a folder the manifest it was computed from."""

    name: str
    kind: str  # "file" or "directory"
    sha256: str
    files: int
    size: int  # bytes in all
    manifest: bytes = b""  # for a folder: the sha256sum-format lines the digest covers

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "sha256": self.sha256,
                "files": self.files, "bytes": self.size}


def file_digest(path: Path, advance: Advance | None = None) -> str:
    """The sha256 of one file, read in 1 MiB blocks into one reused buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
            if advance is not None:
                advance(count)
    return digest.hexdigest()


def _files(root: Path) -> Iterator[tuple[bytes, Path, int]]:
    """Every regular file under ``root``: (relative path as bytes, path, size)."""
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in dirnames:
            if (base / name).is_symlink():
                raise ArtifactInvalid(
                    "expected regular files and folders; this is a link to a folder "
                    "(hash the folder it points to instead)", path=base / name)
        for name in filenames:
            path = base / name
            try:
                info = path.stat()
            except OSError as error:
                raise ArtifactInvalid(f"cannot be read ({error.strerror})", path=path) from None
            if not stat.S_ISREG(info.st_mode):
                raise ArtifactInvalid("expected a regular file (not a socket, pipe or device)",
                                      path=path)
            relative = os.fsencode(path.relative_to(root).as_posix())
            if b"\n" in relative or b"\\" in relative:
                raise ArtifactInvalid("expected a file name without a newline or backslash "
                                      "(sha256sum would escape it)", path=path)
            yield relative, path, info.st_size


def hash_artifact(path: Path | str, *, progress: bool = False,
                  stream: IO[str] | None = None) -> Artifact:
    """Hash a model file or folder; ``progress`` shows a tqdm bar of bytes on stderr."""
    from tqdm import tqdm

    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ArtifactInvalid("expected the model artifact (a file or folder); "
                              "no such file or folder", path=path, field="--artifact") from None
    except OSError as error:
        raise ArtifactInvalid(f"cannot be read ({error.strerror})", path=path,
                              field="--artifact") from None
    name = path.resolve().name
    if stat.S_ISREG(info.st_mode):
        entries = [(os.fsencode(name), path, info.st_size)]
    elif stat.S_ISDIR(info.st_mode):
        entries = sorted(_files(path))
        if not entries:
            raise ArtifactInvalid("expected a folder with at least one file; it is empty",
                                  path=path, field="--artifact")
    else:
        raise ArtifactInvalid("expected a regular file or a folder", path=path,
                              field="--artifact")
    total = sum(size for _, _, size in entries)
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
              desc=f"sha256 {name}", file=stream or sys.stderr, mininterval=0.5,
              disable=None if progress else True, delay=1.0) as bar:  # None: off if not a tty
        lines = []
        for relative, file_path, _ in entries:
            try:
                digest = file_digest(file_path, bar.update)
            except OSError as error:
                raise ArtifactInvalid(f"cannot be read ({error.strerror})",
                                      path=file_path) from None
            lines.append(digest.encode("ascii") + b"  " + relative + b"\n")
    if stat.S_ISREG(info.st_mode):
        return Artifact(name, "file", lines[0][:64].decode("ascii"), 1, total)
    manifest = b"".join(lines)
    return Artifact(name, "directory", hashlib.sha256(manifest).hexdigest(), len(entries),
                    total, manifest)


def changed_files(manifest: bytes, current: bytes) -> list[str]:
    """The paths whose digests differ between two folder manifests (added, removed, edited)."""

    def parse(data: bytes) -> dict[bytes, bytes]:
        return {line[66:]: line[:64] for line in data.splitlines() if len(line) > 66}

    old, new = parse(manifest), parse(current)
    names = sorted(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))
    return [os.fsdecode(n) for n in names]
