"""The release gate, signing and signature checks, with real keys made by ssh-keygen.

Records are published with the real record builder (record.json, record.html by the
real renderer, the attestation); signing and the gate run as the command line does.
Every way the gate must refuse has its own case and its own line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deliberation.record.archive import line_hash, publish
from deliberation.record.artifact import SUMS_FILE, hash_artifact
from deliberation.record.attest import PREDICATE_TYPE, seal
from deliberation.record.signing import AllowedSigners, matches_pattern_list

from .conftest import DATA, ROOT, TEST_TEMPLATES

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None,
                                reason="needs ssh-keygen (Debian's openssh-client)")
PASSPHRASE = "correct horse battery"  # noqa: S105 - the test key's, made at test time


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deliberation", *args], capture_output=True,
                          text=True, cwd=ROOT, env=os.environ.copy(), input=stdin,
                          check=False)


def keygen(folder: Path, name: str, passphrase: str = "") -> Path:
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C",
                    f"{name}@example.org", "-f", str(path)], check=True)
    return path


def public_line(key: Path) -> str:
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    found = {name: keygen(folder, name) for name in ("ana", "ben", "mallory")}
    found["ana-locked"] = keygen(folder, "ana-locked", PASSPHRASE)
    return found


@pytest.fixture(scope="module")
def trusted(keys: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The allowed_signers file kept outside the archive (a protected branch's copy)."""
    path = tmp_path_factory.mktemp("protected") / "allowed_signers"
    path.write_text(
        "# who may sign release decisions\n"
        f'ana namespaces="deliberation,git" {public_line(keys["ana"])} ana@example.org\n'
        f'ana {public_line(keys["ana-locked"])}\n'
        f'"ben,benjamin" {public_line(keys["ben"])}\n'
    )
    return path


# --------------------------------------------------------------------------- records


def publish_record(archive: Path, artifact: Path | None, *, outcome: str = "approve",
                   review_id: str = "chat-v1", created: str = "2026-11-28T10:00:00Z",
                   fail_gate: bool = False, override: bool = False) -> Path:
    """One record of tests/data/good/minimal.json (template test-minimal: roles safety, legal)."""
    from deliberation.record.build import build_record, dumps_record, render_record
    from deliberation.review.model import load_review
    from deliberation.review.policy import evaluate_policy
    from deliberation.review.templates import load_template

    review = load_review(DATA / "good" / "minimal.json")
    assert review.decision is not None
    review = review.model_copy(update={
        "id": review_id, "decision": review.decision.model_copy(update={"outcome": outcome})})
    if override:  # the misuse category left uncovered, and the approval overrides that gate
        from deliberation.review.model import Override

        phishing = review.items[1].model_copy(update={"category": None})
        overrides = [Override(gate="categories", reason="misuse is the abuse policy's", by="ana")]
        review = review.model_copy(update={
            "items": [review.items[0], phishing],
            "decision": review.decision.model_copy(update={"overrides": overrides})})
    template = load_template("test-minimal", search=[TEST_TEMPLATES])
    gates = [g.to_json() for g in evaluate_policy(review, template)]
    if fail_gate:
        gates[0] = {**gates[0], "status": "fail", "message": "1 category not considered"}
    analysis = {"samples": 1000, "seed": 0, "extreme_bad": -5000, "extreme_good": 5000,
                "variants": {v: {"mean": mean, "p_extreme_bad": 0.001, "p_extreme_good": 0.2,
                                 "p5": -1, "p50": 1, "p95": 2}
                             for v, mean in (("open", 10.0), ("monitored", 12.0))}}
    hashed = hash_artifact(artifact) if artifact is not None else None

    def build(slot: Any) -> dict[str, bytes]:
        record = build_record(review=review, template=template, analysis_json=analysis,
                              gate_results_json=gates, seed=0, samples=1000,
                              created=slot.created, slot=slot, versions={"deliberation": "t"},
                              artifact=hashed.to_json() if hashed else None)
        data = dumps_record(record)
        files = {"record.json": data, "record.html": render_record(json.loads(data)).encode(),
                 "review.ipynb": b'{"cells": [], "metadata": {}, "nbformat": 4}\n'}
        if hashed is not None and hashed.manifest:
            files[SUMS_FILE] = hashed.manifest
        return seal(files, record)

    return publish(archive, review_id=review_id, subject="chat", created=created,
                   build=build).path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    folder = tmp_path / "chat-v1-weights"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(bytes(range(256)) * 4096)
    (folder / "config.json").write_text('{"layers": 2}\n')
    return folder


def sign(record: Path, key: Path, participant: str, *extra: str
         ) -> subprocess.CompletedProcess[str]:
    return run("sign", str(record), "--key", str(key), "--as", participant, *extra)


def gate(archive: Path, artifact: Path, trusted: Path | None, *extra: str
         ) -> subprocess.CompletedProcess[str]:
    signers = ["--allowed-signers", str(trusted)] if trusted else []
    return run("gate", "--archive", str(archive), "--artifact", str(artifact), *signers, *extra)


@pytest.fixture
def signed(tmp_path: Path, model: Path, keys: dict[str, Path]) -> tuple[Path, Path]:
    """An archive whose one record approves ``model`` and is signed by ana and ben."""
    archive = tmp_path / "archive"
    record = publish_record(archive, model)
    for participant in ("ana", "ben"):
        done = sign(record, keys[participant], participant)
        assert done.returncode == 0, done.stderr
    return archive, record


def fail_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("FAIL  ")
    return lines[0]


def rehash(archive: Path) -> None:
    """What an attacker with write access does after editing files: a consistent chain."""
    lines = (archive / "manifest.jsonl").read_bytes().splitlines()
    prev, out = "0" * 64, []
    for raw in lines:
        fields = json.loads(raw)
        folder = archive / "records" / fields["record"]
        fields["files"] = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest()
                           for n in fields["files"]}
        fields["prev"] = prev
        line = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        out.append(line)
        prev = line_hash(line)
    (archive / "manifest.jsonl").write_bytes(b"".join(out))
    (archive / "HEAD").write_text(prev + "\n")


def rewrite(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    edit(data)
    os.chmod(path, 0o644)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- the gate passes


def test_signed_approved_record_passes_the_gate(signed: tuple[Path, Path], model: Path,
                                                trusted: Path) -> None:
    archive, _ = signed
    result = gate(archive, model, trusted)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"PASS  artifact {model.name} (sha256 ")
    assert "approved by record 000001-chat-v1 (approve)" in result.stdout
    assert "signed by ana (safety), ben (legal)" in result.stdout
    verdict = json.loads(gate(archive, model, trusted, "--json").stdout)
    assert verdict["passed"] is True
    assert verdict["artifact"]["sha256"] == hash_artifact(model).sha256
    assert [s["participant"] for s in verdict["signatures"]] == ["ana", "ben"]


def test_the_statement_is_in_toto_v1_over_the_artifact_and_the_record_files(
        signed: tuple[Path, Path], model: Path) -> None:
    _, record = signed
    envelope = json.loads((record / "attestation.json").read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert envelope["signatures"] == []  # published unsigned; signatures come as entries
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert subjects[model.name] == hash_artifact(model).sha256
    for name in ("record.json", "record.html", "review.ipynb", SUMS_FILE):
        assert subjects[f"000001-chat-v1/{name}"] == hashlib.sha256(
            (record / name).read_bytes()).hexdigest()
    predicate = statement["predicate"]
    assert predicate["decision"]["outcome"] == "approve"
    assert predicate["chosen_variant"] == {"id": "monitored", "by": "decision"}
    assert predicate["required_roles"] == ["safety", "legal"]
    assert predicate["template"]["id"] == "test-minimal"
    assert [g["id"] for g in predicate["gates"]][:2] == ["categories", "participants"]


def test_a_signature_verifies_with_openssl_and_the_key_ssh_keygen_made(
        signed: tuple[Path, Path], keys: dict[str, Path], tmp_path: Path) -> None:
    """An independent check: PAE by hand, the key converted by ssh-keygen, openssl verifies."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    archive, _ = signed
    document = json.loads((archive / "records" / "000002-sig-000001-ana" /
                           "signature.json").read_text())
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(keys["ana"].with_suffix(".pub"))],
                                 capture_output=True, text=True, check=True).stdout.split()[1]
    assert document["fingerprint"] == fingerprint
    envelope = document["envelope"]
    assert envelope["signatures"][0]["keyid"] == fingerprint
    payload = base64.b64decode(envelope["payload"])
    kind = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    (tmp_path / "pae").write_bytes(pae)
    (tmp_path / "sig").write_bytes(base64.b64decode(envelope["signatures"][0]["sig"]))
    # the key ssh-keygen wrote, as DER SubjectPublicKeyInfo: the fixed ed25519 prefix
    # (RFC 8410) and the 32 raw bytes that end the OpenSSH blob
    blob = base64.b64decode(public_line(keys["ana"]).split()[1])
    der = bytes.fromhex("302a300506032b6570032100") + blob[-32:]
    (tmp_path / "ana.pem").write_text("-----BEGIN PUBLIC KEY-----\n"
                                      + base64.b64encode(der).decode()
                                      + "\n-----END PUBLIC KEY-----\n")
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "ana.pem"),
               "-rawin", "-in", str(tmp_path / "pae"), "-sigfile", str(tmp_path / "sig")]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    (tmp_path / "pae").write_bytes(pae.replace(b'"approve"', b'"reject"'))
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0


# --------------------------------------------------------------------------- the gate refuses


def test_one_changed_byte_of_the_artifact_fails(signed: tuple[Path, Path], model: Path,
                                                trusted: Path) -> None:
    archive, _ = signed
    weights = model / "weights.bin"
    data = bytearray(weights.read_bytes())
    data[1000] ^= 1
    weights.write_bytes(bytes(data))
    line = fail_line(gate(archive, model, trusted))
    assert line.startswith("FAIL  record: no record in the archive has artifact "
                           f"{model.name} (sha256 ")
    assert "a different artifact (weights.bin differs)" in line


def test_a_key_not_in_allowed_signers_does_not_count(tmp_path: Path, model: Path,
                                                     keys: dict[str, Path],
                                                     trusted: Path) -> None:
    archive = tmp_path / "archive"
    record = publish_record(archive, model)
    assert sign(record, keys["ana"], "ana").returncode == 0
    assert sign(record, keys["mallory"], "ben").returncode == 0  # no file to refuse it here
    line = fail_line(gate(archive, model, trusted))
    fingerprint = json.loads((archive / "records" / "000003-sig-000001-ben" /
                              "signature.json").read_text())["fingerprint"]
    assert line == (f"FAIL  signatures: record 000001-chat-v1: no valid signature from the "
                    f"role legal (ben); ben's signature ({fingerprint}) does not count: its "
                    "key is not in allowed_signers")


def test_a_key_signing_as_someone_else_does_not_count(tmp_path: Path, model: Path,
                                                      keys: dict[str, Path],
                                                      trusted: Path) -> None:
    archive = tmp_path / "archive"
    record = publish_record(archive, model)
    assert sign(record, keys["ana"], "ana").returncode == 0
    assert sign(record, keys["ana"], "ben").returncode == 0
    line = fail_line(gate(archive, model, trusted))
    assert line.startswith("FAIL  signatures: record 000001-chat-v1: no valid signature from "
                           "the role legal (ben); ben's signature (SHA256:")
    assert line.endswith("does not count: its key is listed in allowed_signers for ana, "
                         "not for ben")


def test_sign_refuses_a_key_the_allowed_signers_file_does_not_list_for_that_person(
        tmp_path: Path, model: Path, keys: dict[str, Path], trusted: Path) -> None:
    record = publish_record(tmp_path / "archive", model)
    result = sign(record, keys["ana"], "ben", "--allowed-signers", str(trusted))
    assert result.returncode == 2
    assert result.stderr == (f"error: {trusted}: --as: this key may not sign as ben: its key "
                             "is listed in allowed_signers for ana, not for ben\n")
    assert len((tmp_path / "archive" / "manifest.jsonl").read_bytes().splitlines()) == 1


def test_a_missing_required_role_fails(tmp_path: Path, model: Path, keys: dict[str, Path],
                                       trusted: Path) -> None:
    archive = tmp_path / "archive"
    record = publish_record(archive, model)
    assert sign(record, keys["ana"], "ana").returncode == 0
    assert fail_line(gate(archive, model, trusted)) == (
        "FAIL  signatures: record 000001-chat-v1: no valid signature from the role legal (ben)")
    verdict = json.loads(gate(archive, model, trusted, "--json").stdout)
    assert (verdict["passed"], verdict["failed"]) == (False, "signatures")


def test_a_later_record_that_rejects_the_same_artifact_wins(signed: tuple[Path, Path],
                                                           model: Path,
                                                           trusted: Path) -> None:
    archive, _ = signed
    publish_record(archive, model, outcome="reject", review_id="chat-v1-rereview",
                   created="2026-12-01T10:00:00Z")
    assert fail_line(gate(archive, model, trusted)) == (
        "FAIL  decision: record 000004-chat-v1-rereview, the newest for this artifact, decides "
        "'reject' (it overrules the approval in 000001-chat-v1)")


def test_a_later_defer_without_an_artifact_of_the_same_subject_wins(
        signed: tuple[Path, Path], model: Path, trusted: Path) -> None:
    archive, _ = signed
    publish_record(archive, None, outcome="defer", review_id="chat-v1-pause")
    assert fail_line(gate(archive, model, trusted)) == (
        "FAIL  decision: record 000004-chat-v1-pause, later than 000001-chat-v1, decides "
        "'defer' for the same subject chat (it names no artifact, so it covers this one)")


def test_a_failed_gate_without_override_fails(tmp_path: Path, model: Path,
                                              keys: dict[str, Path], trusted: Path) -> None:
    archive = tmp_path / "archive"
    record = publish_record(archive, model, fail_gate=True)
    for participant in ("ana", "ben"):
        assert sign(record, keys[participant], participant).returncode == 0
    assert fail_line(gate(archive, model, trusted)) == (
        "FAIL  gates: record 000001-chat-v1: gate categories failed and carries no override "
        "(1 category not considered)")


def test_an_overridden_gate_does_not_block(tmp_path: Path, model: Path,
                                           keys: dict[str, Path], trusted: Path) -> None:
    """The approval overrides the failed categories gate: the record says so, the release
    gate accepts it (test_a_failed_gate_without_override_fails is the other side)."""
    archive = tmp_path / "archive"
    record = publish_record(archive, model, override=True)
    policy = json.loads((record / "record.json").read_text())["policy"]
    assert policy["gates"][0]["status"] == "overridden"  # evaluated for real: misuse uncovered
    assert policy["gates"][0]["override"]["by"] == "ana"
    assert policy["passed"] is True
    for participant in ("ana", "ben"):
        assert sign(record, keys[participant], participant).returncode == 0
    result = gate(archive, model, trusted)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every gate passed or overridden" in result.stdout


def test_a_tampered_record_file_fails(signed: tuple[Path, Path], model: Path,
                                      trusted: Path) -> None:
    archive, record = signed
    path = record / "record.json"
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b'"approve"', b'"reject" '))
    line = fail_line(gate(archive, model, trusted))
    assert line.startswith("FAIL  archive: the archive does not verify: ")
    assert "record.json does not match its sha256 in the manifest" in line


def test_an_edited_predicate_with_a_rewritten_chain_fails_on_the_signatures(
        signed: tuple[Path, Path], model: Path, trusted: Path) -> None:
    """Flip the decision in the statement, in each signature's copy, and rehash everything:
    the chain is consistent again, but no ed25519 signature verifies."""
    archive, record = signed

    def flip(envelope: dict[str, Any]) -> None:
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["predicate"]["gates"][0]["status"] = "pass"
        statement["predicate"]["decision"]["conditions"] = []
        envelope["payload"] = base64.b64encode(
            json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()).decode()

    rewrite(record / "attestation.json", flip)
    for folder in sorted((archive / "records").glob("*-sig-*")):
        rewrite(folder / "signature.json", lambda d: flip(d["envelope"]))
    rehash(archive)
    line = fail_line(gate(archive, model, trusted))
    assert line.startswith("FAIL  archive: the archive does not verify: ")
    assert "signature 000002-sig-000001-ana: the ed25519 signature by ana (SHA256:" in line
    assert "does not verify against the statement of 000001-chat-v1" in line
    verify = run("verify", str(archive))
    assert verify.returncode == 1
    assert "signature 000002-sig-000001-ana: the ed25519 signature by ana" in verify.stderr


def test_a_signature_replayed_from_an_older_record_fails(tmp_path: Path, model: Path,
                                                        keys: dict[str, Path],
                                                        trusted: Path) -> None:
    archive = tmp_path / "archive"
    old = publish_record(archive, model)
    for participant in ("ana", "ben"):
        assert sign(old, keys[participant], participant).returncode == 0
    new = publish_record(archive, model, review_id="chat-v1-again",
                         created="2026-12-01T10:00:00Z")
    for participant in ("ana", "ben"):  # ana's and ben's old signatures, re-filed for new
        document = json.loads((archive / "records" /
                               f"00000{2 if participant == 'ana' else 3}-sig-000001-"
                               f"{participant}" / "signature.json").read_text())
        document["record"] = new.name
        data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
        publish(archive, review_id=f"sig-000004-{participant}", subject="chat",
                created="2026-12-01T10:05:00Z", build=lambda slot, d=data: {"signature.json": d},
                signs=new.name)
    line = fail_line(gate(archive, model, trusted))
    assert line == (f"FAIL  archive: the archive does not verify: {archive}: signature "
                    "000005-sig-000004-ana"
                    ": is over the statement of 000001-chat-v1, not of 000004-chat-v1-again (a "
                    "signature replayed from another record)")


def test_a_rolled_back_archive_fails_against_the_anchor(signed: tuple[Path, Path],
                                                        model: Path, trusted: Path,
                                                        tmp_path: Path) -> None:
    archive, _ = signed
    rolled_back = tmp_path / "rolled-back"
    shutil.copytree(archive, rolled_back)
    publish_record(archive, model, outcome="reject", review_id="chat-v1-rereview")
    anchor = (archive / "HEAD").read_text().strip()
    # the reject is dropped by restoring the copy taken before it
    shutil.rmtree(archive)
    shutil.copytree(rolled_back, archive)
    assert gate(archive, model, trusted).returncode == 0  # consistent by itself
    line = fail_line(gate(archive, model, trusted, "--anchor", anchor))
    assert line == (f"FAIL  archive: the archive does not verify: {archive}: anchor "
                    f"{anchor[:16]}… is not a line of the chain: the archive was rewritten or "
                    "rolled back since the anchor was taken")


def test_a_corrupted_signature_is_named_by_verify(signed: tuple[Path, Path]) -> None:
    archive, _ = signed
    path = archive / "records" / "000003-sig-000001-ben" / "signature.json"

    def corrupt(document: dict[str, Any]) -> None:
        sig = bytearray(base64.b64decode(document["envelope"]["signatures"][0]["sig"]))
        sig[5] ^= 0x10
        document["envelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()

    assert run("verify", str(archive)).returncode == 0
    rewrite(path, corrupt)
    assert "signature.json does not match its sha256" in run("verify", str(archive)).stderr
    rehash(archive)
    result = run("verify", str(archive))
    assert result.returncode == 1
    assert result.stderr.startswith("TAMPERED: ")
    assert ("signature 000003-sig-000001-ben: the ed25519 signature by ben (SHA256:"
            in result.stderr)


# --------------------------------------------------------------------------- bad input: exit 2


@pytest.mark.parametrize(("args", "expected"), [
    (["--artifact", "missing-model"], "missing-model: --artifact: expected the model artifact"),
    (["--allowed-signers", "missing-file"], "missing-file: --allowed-signers: no such file"),
])
def test_bad_gate_input_exits_2_with_one_line(signed: tuple[Path, Path], model: Path,
                                              trusted: Path, *, args: list[str],
                                              expected: str, tmp_path: Path) -> None:
    archive, _ = signed
    options = {"--artifact": str(model), "--allowed-signers": str(trusted)}
    options[args[0]] = str(tmp_path / args[1])
    result = run("gate", "--archive", str(archive), *[x for kv in options.items() for x in kv])
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert expected in result.stderr


def test_a_gate_without_any_allowed_signers_is_bad_input(signed: tuple[Path, Path],
                                                         model: Path) -> None:
    archive, _ = signed
    result = gate(archive, model, None)
    assert result.returncode == 2
    assert result.stderr == (f"error: {archive}: --allowed-signers: expected an allowed_signers "
                             "file: the archive has no allowed_signers and --allowed-signers "
                             "was not given\n")


def test_the_archives_own_allowed_signers_is_used_when_none_is_given(
        signed: tuple[Path, Path], model: Path, trusted: Path) -> None:
    archive, _ = signed
    shutil.copyfile(trusted, archive / "allowed_signers")
    assert gate(archive, model, None).returncode == 0


def test_a_malformed_allowed_signers_file_is_bad_input(signed: tuple[Path, Path],
                                                       model: Path, tmp_path: Path) -> None:
    archive, _ = signed
    bad = tmp_path / "allowed_signers"
    bad.write_text('ana namespaces="deliberation ssh-ed25519 AAAA\n')
    result = gate(archive, model, bad)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad}: --allowed-signers: expected lines")


# --------------------------------------------------------------------------- keys


def test_a_key_with_a_passphrase_prompts_for_it(tmp_path: Path, model: Path,
                                                keys: dict[str, Path]) -> None:
    pexpect = pytest.importorskip("pexpect")
    record = publish_record(tmp_path / "archive", model)
    command = [sys.executable, "-m", "deliberation", "sign", str(record), "--key",
               str(keys["ana-locked"]), "--as", "ana"]
    child = pexpect.spawn(command[0], command[1:], cwd=str(ROOT), encoding="utf-8",
                          timeout=60)
    child.expect("Enter passphrase for ")
    child.sendline("not it")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "--key: wrong passphrase for the key" in (child.before or "")
    child = pexpect.spawn(command[0], command[1:], cwd=str(ROOT), encoding="utf-8",
                          timeout=60)
    child.expect("Enter passphrase for ")
    child.sendline(PASSPHRASE)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "signed 000001-chat-v1 as ana with SHA256:" in (child.before or "")
    assert PASSPHRASE not in (child.before or "")  # not echoed


def test_sign_refuses_bad_keys_and_unknown_participants(tmp_path: Path, model: Path,
                                                        keys: dict[str, Path]) -> None:
    record = publish_record(tmp_path / "archive", model)
    public = sign(record, keys["ana"].with_suffix(".pub"), "ana")
    assert public.returncode == 2
    assert "--key: expected an OpenSSH private key" in public.stderr
    rsa = tmp_path / "rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(rsa)],
                   check=True)
    result = sign(record, rsa, "ana")
    assert (result.returncode, result.stderr) == (
        2, f"error: {rsa}: --key: expected an ed25519 key, got RSA\n")
    stranger = sign(record, keys["ana"], "zoe")
    assert stranger.returncode == 2
    assert stranger.stderr == ("error: --as: expected one of the record's participants "
                               "(ana, ben), got 'zoe'\n")
    assert sign(record, keys["ana"], "ana").returncode == 0
    again = sign(record, keys["ana"], "ana")
    assert again.returncode == 2
    assert "ana already signed 000001-chat-v1 with this key" in again.stderr


def test_allowed_signers_options_are_honoured(keys: dict[str, Path], tmp_path: Path) -> None:
    key = public_line(keys["ana"])
    path = tmp_path / "allowed_signers"
    path.write_text(f'ana,!ana-old namespaces="git" {key}\n'
                    f'"b*" valid-after="20270101" {public_line(keys["ben"])}\n')
    signers = AllowedSigners.load(path)
    assert signers.refusal("ana", key, "2026-11-28T10:00:00Z") == (
        "its key is limited to the namespaces git")
    assert signers.refusal("ben", public_line(keys["ben"]), "2026-11-28T10:00:00Z") == (
        "it was made before the key's valid-after 20270101")
    assert signers.refusal("bob", public_line(keys["ben"]), "2027-02-01T00:00:00Z") is None
    assert matches_pattern_list("ana", "ana,!ana-old")
    assert not matches_pattern_list("ana-old", "ana*,!ana-old")
    assert matches_pattern_list("ana.b", "ana?b")
    assert not matches_pattern_list("anaxxb", "ana?b")


# --------------------------------------------------------------------------- the record page


def test_the_page_shows_the_artifact_and_marks_unsigned_signoffs(
        signed: tuple[Path, Path], model: Path, trusted: Path, tmp_path: Path) -> None:
    archive, record = signed
    published = (record / "record.html").read_text()
    digest = hash_artifact(model).sha256
    assert f'<code class="hash artifact-digest">{digest}</code>' in published
    assert published.count("not signed") == 2  # written before anyone could sign
    shutil.copyfile(trusted, archive / "allowed_signers")
    page = tmp_path / "page.html"
    result = run("render", str(record / "record.json"), "-o", str(page), "--signatures")
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    for participant in ("ana", "ben"):
        fingerprint = json.loads(next((archive / "records").glob(
            f"*-sig-000001-{participant}")).joinpath("signature.json").read_text())["fingerprint"]
        assert fingerprint in html
    assert "not signed" not in html
    assert "not counted" not in html
    # the published page still re-renders byte for byte, and verify says so
    assert run("verify", "--record", str(record)).returncode == 0


@pytest.mark.slow
def test_export_with_an_artifact_sign_and_gate_end_to_end(tmp_path: Path, model: Path,
                                                          keys: dict[str, Path]) -> None:
    """The real export (the workbook run headless) of the example, signed by its roles."""
    review = tmp_path / "review"
    review.mkdir()
    shutil.copy(ROOT / "workbooks" / "example" / "review.json", review)
    shutil.copy(ROOT / "workbooks" / "release_review.ipynb", review)
    archive = tmp_path / "archive"
    exported = run("export", str(review), "--archive", str(archive), "--artifact", str(model))
    assert exported.returncode == 0, exported.stderr
    digest = hash_artifact(model).sha256
    assert (f"artifact: {model.name} (directory, 2 files, 1,048,590 bytes) sha256 {digest}"
            in exported.stdout)
    record = next((archive / "records").iterdir())
    assert json.loads((record / "record.json").read_text())["artifact"]["sha256"] == digest
    people = {"ana": keys["ana"], "ben": keys["ben"], "chen": keys["mallory"]}
    (archive / "allowed_signers").write_text(
        "".join(f"{who} {public_line(key)}\n" for who, key in people.items()))
    for who in ("ana", "ben"):
        assert sign(record, people[who], who).returncode == 0
    assert fail_line(gate(archive, model, None)).endswith("no valid signature from the role "
                                                          "product (chen)")
    assert sign(record, people["chen"], "chen").returncode == 0
    passed = gate(archive, model, None)
    assert passed.returncode == 0, passed.stdout
    assert "signed by ana (safety), ben (legal), chen (product)" in passed.stdout


def test_an_edited_attestation_no_longer_matches_its_signatures(
        signed: tuple[Path, Path], model: Path, trusted: Path) -> None:
    archive, record = signed

    def approve_more(envelope: dict[str, Any]) -> None:
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["predicate"]["required_roles"] = []
        envelope["payload"] = base64.b64encode(
            json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()).decode()

    rewrite(record / "attestation.json", approve_more)
    rehash(archive)
    line = fail_line(gate(archive, model, trusted))
    assert line == (f"FAIL  archive: the archive does not verify: {archive}: signature "
                    "000002-sig-000001-ana: is over another version of the statement of "
                    "000001-chat-v1 (its attestation.json or the signature was edited)")
