"""Hashing a model artifact folder: ``hash_artifact`` against coreutils' ``sha256sum``.

A folder shaped like a checkpoint (eight equal weight shards, a tokenizer and configs;
2 GiB in all, ``DELIBERATION_BENCH_ARTIFACT_MB`` to change it) is written once into a
temp folder; both then hash the same files from the page cache, alternating, and the
fastest of three runs of each is compared. ``sha256sum`` gets every file in one call
(``xargs``-style), so neither pays a start-up per file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import Budget
from deliberation.record.artifact import hash_artifact

SHARDS = 8
SMALL_FILES = 40


def _make(folder: Path, total_mb: int) -> list[Path]:
    shard = (total_mb << 20) // SHARDS
    block = os.urandom(1 << 20)
    for index in range(1, SHARDS + 1):
        with (folder / f"model-{index:05d}-of-{SHARDS:05d}.safetensors").open("wb") as handle:
            for offset in range(0, shard, len(block)):
                handle.write(block[: min(len(block), shard - offset)])
    (folder / "tokenizer").mkdir()
    for index in range(SMALL_FILES):
        (folder / "tokenizer" / f"part-{index}.json").write_bytes(os.urandom(4096))
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _timed(command: list[str] | None, folder: Path) -> tuple[float, str]:
    started = time.perf_counter()
    if command is None:
        digest = hash_artifact(folder).sha256
    else:
        subprocess.run(command, cwd=folder, check=True, stdout=subprocess.DEVNULL)
        digest = ""
    return time.perf_counter() - started, digest


def main() -> list[Budget]:
    total_mb = int(os.environ.get("DELIBERATION_BENCH_ARTIFACT_MB", "2048"))
    scratch = Path(tempfile.mkdtemp(prefix="deliberation-bench-artifact-"))
    try:
        folder = scratch / "model"
        folder.mkdir()
        files = _make(folder, total_mb)
        command = ["sha256sum", *(str(p.relative_to(folder)) for p in files)]
        ours, theirs = [], []
        for _ in range(3):  # the first pass of each also warms the page cache
            seconds, _ = _timed(None, folder)
            ours.append(seconds)
            seconds, _ = _timed(command, folder)
            theirs.append(seconds)
        size = sum(p.stat().st_size for p in files) / (1 << 20)
        best_ours, best_theirs = min(ours), min(theirs)
        print(f"{len(files)} files, {size:,.0f} MiB: hash_artifact {best_ours:.2f} s "
              f"({size / best_ours:,.0f} MiB/s), sha256sum {best_theirs:.2f} s "
              f"({size / best_theirs:,.0f} MiB/s)")
    finally:
        shutil.rmtree(scratch)
    return [Budget(f"hash a {size / 1024:.1f} GiB artifact folder / sha256sum",
                   best_ours / best_theirs, 1.2, "x")]


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
