"""The archive: write-once records chained by a manifest, verified against tampering."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deliberation.errors import RecordError, RecordTampered
from deliberation.record.archive import (
    DOMAIN,
    GENESIS,
    Slot,
    clean,
    line_hash,
    publish,
    read_entries,
    verify_archive,
)

from .conftest import DATA, ROOT, TEST_TEMPLATES

TAMPER = DATA / "tamper"
CORPUS = json.loads((TAMPER / "corpus.json").read_text())["mutations"]


def _load_mutations() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("tamper_mutations", TAMPER / "mutations.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.MUTATIONS)


MUTATIONS = _load_mutations()


# --------------------------------------------------------------------------- a pristine archive


def record_files(review_id: str, subject: str, slot: Slot) -> dict[str, bytes]:
    """Real record files (record.json, record.html by the real renderer, a notebook)."""
    from deliberation.record.build import build_record, dumps_record, render_record
    from deliberation.review.model import load_review, review_to_data
    from deliberation.review.policy import evaluate_policy
    from deliberation.review.templates import load_template

    review = load_review(DATA / "good" / "minimal.json")
    review = review.model_copy(update={"id": review_id})
    review.subject.name = subject
    template = load_template("test-minimal", search=[TEST_TEMPLATES])
    analysis = {"samples": 1000, "seed": 0, "extreme_bad": -5000, "extreme_good": 5000,
                "variants": {"open": {"mean": 10.0, "p_extreme_bad": 0.1,
                                      "p_extreme_good": 0.2, "p5": -1, "p50": 1, "p95": 2}}}
    record = build_record(
        review=review, template=template, analysis_json=analysis,
        gate_results_json=[g.to_json() for g in evaluate_policy(review, template)],
        seed=0, samples=1000, created=slot.created, slot=slot,
        versions={"deliberation": "test"},
    )
    assert review_to_data(review)["id"] == review_id
    data = dumps_record(record)
    notebook = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    return {"record.html": render_record(json.loads(data)).encode(), "record.json": data,
            "review.ipynb": notebook.encode()}


PLAN = [("alpha-v1", "alpha"), ("beta-v1", "beta"), ("alpha-v2", "alpha")]


def build_archive(archive: Path) -> list[Any]:
    published = []
    for index, (review_id, subject) in enumerate(PLAN, 1):
        published.append(publish(
            archive, review_id=review_id, subject=subject,
            created=f"2026-11-28T10:00:0{index}Z",
            build=lambda slot, r=review_id, s=subject: record_files(r, s, slot),
        ))
    return published


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = tmp_path_factory.mktemp("pristine") / "archive"
    build_archive(archive)
    return archive


@pytest.fixture
def archive(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "archive"
    shutil.copytree(pristine, copy)
    return copy


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns,
                                     p.stat().st_mode)
        for p in sorted(folder.rglob("*"))
    }


# --------------------------------------------------------------------------- format


def test_manifest_lines_chain_by_hash_of_exact_bytes(archive: Path) -> None:
    raw = (archive / "manifest.jsonl").read_bytes().splitlines(keepends=True)
    assert len(raw) == 3
    previous = GENESIS
    for seq, line in enumerate(raw, 1):
        fields = json.loads(line)
        assert fields["seq"] == seq
        assert fields["prev"] == previous
        assert fields["record"] == f"{seq:06d}-{PLAN[seq - 1][0]}"
        folder = archive / "records" / fields["record"]
        assert set(fields["files"]) == {"record.html", "record.json", "review.ipynb"}
        for name, digest in fields["files"].items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
        previous = hashlib.sha256(DOMAIN + line).hexdigest()
        assert previous == line_hash(line)
    assert (archive / "HEAD").read_text() == previous + "\n"


def test_supersedes_names_latest_record_of_the_same_subject(archive: Path) -> None:
    entries = read_entries(archive)
    third = json.loads((archive / "records" / entries[2].record / "record.json").read_text())
    assert third["supersedes"] == {"record": entries[0].record, "seq": 1,
                                   "sha256": entries[0].hash}
    second = json.loads((archive / "records" / entries[1].record / "record.json").read_text())
    assert second["supersedes"] is None
    assert third["record"] == "000003-alpha-v2"
    assert third["seq"] == 3


def test_pristine_archive_verifies_without_notes(archive: Path) -> None:
    verified = verify_archive(archive, anchor=(archive / "HEAD").read_text().strip())
    assert len(verified.entries) == 3
    assert verified.notes == []


def test_records_are_write_once(archive: Path) -> None:
    # A folder in the way of the next seq is not silently overwritten: it is an extra record.
    (archive / "records" / "000004-alpha-v3").mkdir()
    with pytest.raises(RecordTampered, match="refusing to add a record"):
        publish(archive, review_id="alpha-v3", subject="alpha", created="2026-11-28T11:00:00Z",
                build=lambda slot: {"record.json": b"{}"})
    assert len(read_entries(archive)) == 3
    folder = archive / "records" / "000001-alpha-v1"
    assert not os.access(folder / "record.json", os.W_OK) or os.geteuid() == 0
    assert (folder / "record.json").stat().st_mode & 0o222 == 0


def test_publish_rejects_bad_names(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="plain file name"):
        publish(tmp_path / "a", review_id="r", subject="s", created="x",
                build=lambda slot: {"../escape": b""})
    with pytest.raises(RecordError, match="folder name"):
        publish(tmp_path / "a", review_id="../r", subject="s", created="x",
                build=lambda slot: {"f": b""})
    # Neither attempt published anything, and the next publish cleans up after them.
    clean(tmp_path / "a")
    assert read_entries(tmp_path / "a") == []
    assert [p.name for p in (tmp_path / "a" / "records").iterdir()] == []


# --------------------------------------------------------------------------- the tamper corpus


def test_corpus_and_mutations_match() -> None:
    assert {entry["name"] for entry in CORPUS} == set(MUTATIONS)
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["name"] for entry in CORPUS])
def test_tamper_corpus(entry: dict[str, Any], archive: Path) -> None:
    anchor = (archive / "HEAD").read_text().strip()
    MUTATIONS[entry["name"]](archive)
    if entry.get("anchor_only"):
        verify_archive(archive)  # self-consistent: passes without the anchor ...
        with pytest.raises(RecordTampered) as caught:  # ... and fails against it
            verify_archive(archive, anchor=anchor)
    else:
        with pytest.raises(RecordTampered) as caught:
            verify_archive(archive)
    assert entry["expected"] in str(caught.value)


def test_verify_never_writes(archive: Path) -> None:
    (archive / "records" / ".pending-000004-x").mkdir()  # a crash leftover: noted, kept
    before = snapshot(archive)
    verify_archive(archive)
    assert snapshot(archive) == before
    MUTATIONS["record-deleted"](archive)
    before = snapshot(archive)
    with pytest.raises(RecordTampered):
        verify_archive(archive)
    assert snapshot(archive) == before


def test_verify_cli_exit_codes(archive: Path) -> None:
    command = [sys.executable, "-m", "deliberation", "verify", str(archive)]
    intact = subprocess.run(command, capture_output=True, text=True, check=False)
    assert intact.returncode == 0, intact.stderr
    assert "ok: 3 records intact" in intact.stdout
    MUTATIONS["file-deleted"](archive)
    tampered = subprocess.run(command, capture_output=True, text=True, check=False)
    assert tampered.returncode == 1
    assert "000002-beta-v1" in tampered.stderr
    assert "review.ipynb is missing" in tampered.stderr
    assert "Traceback" not in tampered.stderr
    bad_anchor = subprocess.run([*command, "--anchor", "xyz"], capture_output=True, text=True,
                                check=False)
    assert bad_anchor.returncode == 2
    assert "64 hex digits" in bad_anchor.stderr


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_fails_verification(pristine: Path, data: st.DataObject) -> None:
    import tempfile

    files = sorted(p.relative_to(pristine) for p in pristine.rglob("*")
                   if p.is_file() and p.stat().st_size > 0)
    target = data.draw(st.sampled_from(files), label="file")
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "archive"
        shutil.copytree(pristine, archive)
        path = archive / target
        content = bytearray(path.read_bytes())
        offset = data.draw(st.integers(0, len(content) - 1), label="offset")
        value = data.draw(st.integers(0, 255).filter(lambda b: b != content[offset]),
                          label="byte")
        content[offset] = value
        os.chmod(path, 0o644)
        path.write_bytes(bytes(content))
        with pytest.raises(RecordTampered):
            verify_archive(archive)


# --------------------------------------------------------------------------- crash states


def _crash_states(archive: Path) -> Iterator[tuple[str, Path]]:
    """Yield the archive in each state a SIGKILL during a publish can leave."""
    entries = read_entries(archive)
    records = archive / "records"
    # 1. killed while writing the pending folder: never published
    (records / ".pending-000004-alpha-v3").mkdir()
    (records / ".pending-000004-alpha-v3" / "record.html").write_bytes(b"<html>half")
    manifest = (archive / "manifest.jsonl").read_bytes()
    (archive / ".manifest.jsonl.x1y2z3w4.tmp").write_bytes(manifest + b'{"seq": 4, "reco')
    yield "pending folder and temp manifest", archive
    # 2. committed (line written), folder not yet renamed, HEAD not yet written
    shutil.rmtree(records / ".pending-000004-alpha-v3")
    (archive / ".manifest.jsonl.x1y2z3w4.tmp").unlink()
    files = record_files("alpha-v3", "alpha", Slot(4, "000004-alpha-v3", "t", None))
    pending = records / ".pending-000004-alpha-v3"
    pending.mkdir()
    for name, content in files.items():
        (pending / name).write_bytes(content)
    line = json.dumps({
        "seq": 4, "record": "000004-alpha-v3", "prev": entries[-1].hash, "created": "t",
        "subject": "alpha",
        "files": {n: hashlib.sha256(c).hexdigest() for n, c in files.items()},
    }, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    with (archive / "manifest.jsonl").open("ab") as handle:
        handle.write(line)
    yield "committed, still pending, HEAD behind", archive
    # 3. renamed, HEAD not yet written
    pending.rename(records / "000004-alpha-v3")
    (archive / ".HEAD.abc_1234.tmp").write_bytes(b"")
    yield "renamed, HEAD behind", archive


def test_every_crash_state_verifies_and_the_next_publish_tidies(archive: Path) -> None:
    for state, folder in _crash_states(archive):
        verified = verify_archive(folder)
        assert verified.notes, state  # the interruption is reported, not hidden
        snapshot_before = snapshot(folder)
        copy = folder.parent / f"copy-{len(state)}"
        shutil.copytree(folder, copy)
        published = publish(copy, review_id="alpha-v9", subject="alpha", created="later",
                            build=lambda slot: {"record.json": b"{}\n"})
        assert snapshot(folder) == snapshot_before
        tidy = verify_archive(copy)
        assert tidy.notes == [], state
        assert tidy.head == published.head
        assert not [p for p in copy.rglob(".*") if p.name != ".lock"], state
        shutil.rmtree(copy)
    entries = read_entries(archive)
    assert entries[-1].record == "000004-alpha-v3"


CONCURRENT_CHILD = r"""
import sys
from deliberation.record.archive import publish
archive, name = sys.argv[1], sys.argv[2]
for n in range(15):
    publish(archive, review_id=f"{name}-{n}", subject=name, created="t",
            build=lambda slot: {"record.json": f"{name} {n} {slot.seq}".encode()})
"""


def test_concurrent_publishes_do_not_interleave(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    children = [subprocess.Popen([sys.executable, "-c", CONCURRENT_CHILD, str(archive), name],
                                 env=env) for name in ("a", "b", "c")]
    assert [child.wait(timeout=120) for child in children] == [0, 0, 0]
    verified = verify_archive(archive)
    assert [e.seq for e in verified.entries] == list(range(1, 46))
    assert verified.notes == []
    for entry in verified.entries:
        name, n, seq = (archive / "records" / entry.record / "record.json").read_text().split()
        assert entry.record == f"{entry.seq:06d}-{name}-{n}"
        assert int(seq) == entry.seq  # each build saw its own slot
    # Each subject's records supersede in order: the chain of "a" is a, a, a ...
    subjects = [e.subject for e in verified.entries]
    assert sorted(subjects) == sorted(["a", "b", "c"] * 15)


KILL_CHILD = r"""
import sys, time
from deliberation.record.archive import publish
archive = sys.argv[1]
payload = {"record.html": b"<html>" + b"x" * 20000, "record.json": b"{}" * 5000,
           "review.ipynb": b"{}"}
print("ready", flush=True)
n = 0
while True:
    n += 1
    started = time.perf_counter()
    publish(archive, review_id=f"r{n}", subject="s" if n % 2 else "t",
            created=f"{time.time():.6f}", build=lambda slot: payload)
    print(f"published {time.perf_counter() - started:.6f}", flush=True)
"""


def test_sigkill_during_publishes_leaves_an_archive_that_verifies(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    rng = random.Random(20261128)  # noqa: S311 - reproducible kill times
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    runs = 50
    for _ in range(runs):
        child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(archive)],
                                 stdout=subprocess.PIPE, env=env)
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        # Wait for one whole publish, then kill within the time one takes on this
        # machine: the kill lands mid-publish however loaded the machine is.
        took = float(child.stdout.readline().split()[1])
        time.sleep(rng.uniform(0, 1.5 * took))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        verify_archive(archive)  # whatever the moment, the archive verifies
        for folder in (archive / "records").iterdir():
            if not folder.name.startswith("."):  # no partial record under a final name
                assert sorted(p.name for p in folder.iterdir()) == [
                    "record.html", "record.json", "review.ipynb"]
    verified = clean(archive)
    assert len(verified.entries) >= runs  # each run published one whole record, then was killed
    after = verify_archive(archive)
    assert after.notes == []
    assert not [p for p in archive.rglob(".*") if p.name != ".lock"]
