"""The model artifact's digest, checked against coreutils' sha256sum on the same files."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from deliberation.record.artifact import (
    BLOCK,
    ArtifactInvalid,
    changed_files,
    hash_artifact,
)


def sha256sum_folder(folder: Path) -> str:
    """The folder digest as a shell computes it, without deliberation."""
    script = ("find -L . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum "
              "| sha256sum")
    out = subprocess.run(["sh", "-c", script], cwd=folder, capture_output=True, text=True,
                         check=True).stdout
    return out.split()[0]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    folder = tmp_path / "model-v2"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "weights-00001.safetensors").write_bytes(os.urandom(3 * BLOCK + 12345))
    (folder / "weights-00002.safetensors").write_bytes(os.urandom(BLOCK))  # exactly one block
    (folder / "config file.json").write_text('{"layers": 2}\n')
    (folder / "tokenizer" / "vocab-é.txt").write_text("a\nb\n")
    (folder / "tokenizer" / "empty").write_bytes(b"")
    return folder


def test_a_file_digest_is_what_sha256sum_prints(model: Path) -> None:
    path = model / "weights-00001.safetensors"
    artifact = hash_artifact(path)
    expected = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True,
                              check=True).stdout.split()[0]
    assert artifact.sha256 == expected
    assert (artifact.kind, artifact.files, artifact.size) == ("file", 1, 3 * BLOCK + 12345)


def test_a_folder_digest_is_the_sha256_of_its_sha256sum_manifest(model: Path) -> None:
    artifact = hash_artifact(model)
    assert artifact.sha256 == sha256sum_folder(model)
    assert artifact.kind == "directory"
    assert artifact.files == 5
    assert artifact.size == sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
    assert artifact.manifest.decode().splitlines()[0].endswith("  config file.json")
    # the manifest a record keeps checks the folder with coreutils alone
    sums = model.parent / "artifact.sha256sums"
    sums.write_bytes(artifact.manifest)
    check = subprocess.run(["sha256sum", "--check", "--strict", str(sums)], cwd=model,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 5


def test_one_changed_byte_changes_the_digest_and_names_the_file(model: Path) -> None:
    before = hash_artifact(model)
    path = model / "weights-00002.safetensors"
    data = bytearray(path.read_bytes())
    data[BLOCK // 2] ^= 1
    path.write_bytes(bytes(data))
    after = hash_artifact(model)
    assert after.sha256 != before.sha256
    assert after.sha256 == sha256sum_folder(model)
    assert changed_files(before.manifest, after.manifest) == ["weights-00002.safetensors"]
    (model / "extra.bin").write_bytes(b"x")
    assert changed_files(before.manifest, hash_artifact(model).manifest) == [
        "extra.bin", "weights-00002.safetensors"]


def test_renaming_a_file_changes_the_digest(model: Path) -> None:
    before = hash_artifact(model).sha256
    (model / "config file.json").rename(model / "config.json")
    assert hash_artifact(model).sha256 != before


def test_a_link_to_a_file_is_hashed_by_its_content(model: Path, tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"shared weights")
    (model / "linked.bin").symlink_to(blob)
    assert hash_artifact(model).sha256 == sha256sum_folder(model)
    line = next(line for line in hash_artifact(model).manifest.splitlines()
                if line.endswith(b"linked.bin"))
    assert line[:64].decode() == hashlib.sha256(b"shared weights").hexdigest()


def test_the_progress_bar_counts_every_byte(model: Path) -> None:
    import io

    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    artifact = hash_artifact(model, progress=True, stream=stream)
    assert artifact.sha256 == sha256sum_folder(model)


@pytest.mark.parametrize(("make", "expected"), [
    (lambda p: p / "missing", "no such file or folder"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "it is empty"),
])
def test_bad_artifacts_say_what_was_expected(tmp_path: Path, make: object,
                                             expected: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ArtifactInvalid, match=expected) as raised:
        hash_artifact(path)
    assert str(path) in str(raised.value)


def test_a_link_to_a_folder_and_a_pipe_are_refused(model: Path, tmp_path: Path) -> None:
    (model / "loop").symlink_to(model)
    with pytest.raises(ArtifactInvalid, match="link to a folder"):
        hash_artifact(model)
    (model / "loop").unlink()
    os.mkfifo(model / "pipe")
    with pytest.raises(ArtifactInvalid, match="expected a regular file") as raised:
        hash_artifact(model)
    assert "pipe" in str(raised.value)
