"""The release gate: is this model artifact covered by an approved, signed, intact record?

:func:`release_gate` checks, in this order, and stops at the first condition that fails:

1. ``archive``: the archive verifies (hashes, chain, ``--anchor``) and so does every
   signature in it;
2. ``record``: some record's attestation has the artifact's sha256 as its subject; the
   newest such record is the one that decides;
3. ``decision``: that record approves (``approve`` or ``approve-with-conditions``), and no
   later record of the same review subject rejects or defers without naming an artifact
   (a later record that names this artifact would itself be the newest);
4. ``gates``: every policy gate of that record passed, or carries an override;
5. ``signatures``: for every role the template's ``signoffs-from-roles`` rules name, a
   signature by a participant holding that role, with a key the ``allowed_signers`` file
   allows for that participant; at least one such signature when no role is named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DeliberationError, RecordTampered
from .archive import Entry, verify_archive
from .artifact import SUMS_FILE, Artifact, changed_files, hash_artifact
from .attest import ATTESTATION, Attestation, load_attestation
from .build import load_record
from .signing import (
    ALLOWED_SIGNERS,
    Signature,
    SigningError,
    check_signatures,
    find_allowed_signers,
)

CONDITIONS = ("archive", "record", "decision", "gates", "signatures")
REVOKING = ("reject", "defer")


@dataclass
class GateVerdict:
    """What the gate found: passed, or the first failed condition and one line saying why."""

    artifact: Artifact
    failed: str | None = None
    message: str = ""
    record: str | None = None
    outcome: str | None = None
    signatures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failed is None

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": self.failed, "message": self.message,
                "artifact": self.artifact.to_json(), "record": self.record,
                "outcome": self.outcome, "signatures": self.signatures}


def _short(digest: str) -> str:
    return digest[:12] + "…"


def _records(archive: Path, entries: list[Entry]) -> list[tuple[Entry, Attestation | None]]:
    """Each record with its attestation (None for a record exported before attestations)."""
    found: list[tuple[Entry, Attestation | None]] = []
    for entry in entries:
        if entry.kind != "record":
            continue
        attested = ATTESTATION in entry.files
        found.append((entry, load_attestation(_folder(archive, entry)) if attested else None))
    return found


def _folder(archive: Path, entry: Entry) -> Path:
    folder = archive / "records" / entry.record
    return folder if folder.is_dir() else archive / "records" / (".pending-" + entry.record)


def _outcome(archive: Path, entry: Entry, attestation: Attestation | None) -> str | None:
    if attestation is not None:
        value = attestation.predicate["decision"].get("outcome")
        return str(value) if value else None
    decision = (load_record(_folder(archive, entry)).get("review") or {}).get("decision") or {}
    outcome = decision.get("outcome")
    return str(outcome) if outcome else None


def _overridden(gate: Mapping[str, Any], overrides: list[Any]) -> bool:
    if gate.get("overridden") or gate.get("override"):
        return True
    return any(isinstance(o, Mapping) and o.get("gate") in (gate.get("id"), gate.get("rule"))
               for o in overrides)


def _nearest(archive: Path, records: list[tuple[Entry, Attestation | None]],
             artifact: Artifact) -> str:
    """Why no record covers the artifact, naming the closest one (same name)."""
    same_name = [(e, a) for e, a in records
                 if a is not None and (a.predicate.get("artifact") or {}).get("name")
                 == artifact.name]
    text = (f"no record in the archive has artifact {artifact.name} (sha256 "
            f"{_short(artifact.sha256)}) as its subject")
    if not same_name:
        return text + " (export the review with --artifact PATH)"
    entry, attestation = same_name[-1]
    recorded = attestation.predicate["artifact"]
    text += (f"; the newest record for an artifact of that name, {entry.record}, has sha256 "
             f"{_short(recorded['sha256'])}: a different artifact")
    sums = archive / "records" / entry.record / SUMS_FILE
    if artifact.manifest and sums.is_file():
        changed = changed_files(sums.read_bytes(), artifact.manifest)
        if changed:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more"
                                              if len(changed) > 3 else "")
            text += f" ({shown} differ{'s' if len(changed) == 1 else ''})"
    return text


def _signatures(verdict: GateVerdict, attestation: Attestation, *, record: str,
                signatures: list[Signature], archive: Path, allowed: Path | None) -> None:
    signers = find_allowed_signers(archive, allowed)
    if signers is None:
        raise SigningError(f"expected an allowed_signers file: the archive has no "
                           f"{ALLOWED_SIGNERS} and --allowed-signers was not given",
                           path=archive, field="--allowed-signers")
    roles = {p["id"]: p.get("role", "") for p in attestation.predicate.get("participants", [])}
    counted: dict[str, list[str]] = {}
    refused: list[str] = []
    for signature in (s for s in signatures if s.record == record):
        refusal = signers.refusal(signature.participant, signature.public_key,
                                  signature.signed_at)
        if signature.participant not in roles:
            refusal = f"{signature.participant} is not a participant of the record"
        verdict.signatures.append({**signature.to_json(), "counted": refusal is None,
                                   "refusal": refusal,
                                   "role": roles.get(signature.participant, "")})
        if refusal is None:
            counted.setdefault(roles[signature.participant], []).append(signature.participant)
        else:
            refused.append(f"{signature.participant}'s signature ({signature.fingerprint}) "
                           f"does not count: {refusal}")
    required = list(attestation.predicate.get("required_roles") or [])
    missing = [role for role in required if role not in counted]
    if not required and not counted:
        missing_text = "the record has no signature by a key allowed to sign as its signer"
    elif missing:
        holders = {role: [p for p, r in roles.items() if r == role] for role in missing}
        missing_text = "no valid signature from the role" + ("s " if len(missing) > 1 else " ") \
            + "; ".join(f"{role} ({', '.join(holders[role]) or 'no participant has it'})"
                        for role in missing)
    else:
        return
    verdict.failed = "signatures"
    verdict.message = f"record {record}: {missing_text}" + (
        f"; {'; '.join(refused)}" if refused else "")


def release_gate(archive: Path | str, artifact_path: Path | str, *,
                 allowed_signers: Path | None = None, anchor: str | None = None,
                 progress: bool = False) -> GateVerdict:
    """Decide whether ``artifact_path`` may be released on the records of ``archive``."""
    archive = Path(archive)
    if not archive.is_dir():
        raise DeliberationError("expected an archive folder", path=archive, field="--archive")
    artifact = hash_artifact(artifact_path, progress=progress)
    verdict = GateVerdict(artifact)
    if allowed_signers is not None:
        find_allowed_signers(archive, allowed_signers)  # bad input first: exit 2, not 1
    try:
        entries = verify_archive(archive, anchor=anchor).entries
        signatures = check_signatures(archive, entries)
        records = _records(archive, entries)
    except RecordTampered as error:
        verdict.failed, verdict.message = "archive", f"the archive does not verify: {error}"
        return verdict
    covering = [(e, a) for e, a in records
                if a is not None and a.artifact_sha256 == artifact.sha256]
    if not covering:
        verdict.failed, verdict.message = "record", _nearest(archive, records, artifact)
        return verdict
    entry, attestation = covering[-1]
    verdict.record = entry.record
    decision = attestation.predicate["decision"]
    verdict.outcome = decision.get("outcome")
    if not attestation.approves:
        earlier = [e.record for e, a in covering[:-1] if a.approves]
        verdict.failed = "decision"
        verdict.message = (f"record {entry.record}, the newest for this artifact, decides "
                           f"{verdict.outcome!r}" + (f" (it overrules the approval in "
                                                     f"{earlier[-1]})" if earlier else ""))
        return verdict
    later = [(e, _outcome(archive, e, a)) for e, a in records
             if e.seq > entry.seq and e.subject == entry.subject
             and (a is None or a.artifact_sha256 is None)]
    revoking = [(e, outcome) for e, outcome in later if outcome in REVOKING]
    if revoking:
        e, outcome = revoking[-1]
        verdict.failed = "decision"
        verdict.message = (f"record {e.record}, later than {entry.record}, decides "
                           f"{outcome or 'nothing'!r} for the same subject {entry.subject} "
                           "(it names no artifact, so it covers this one)")
        return verdict
    overrides = list(attestation.predicate.get("overrides") or [])
    failing = [g for g in attestation.predicate.get("gates", [])
               if g.get("status") == "fail" and not _overridden(g, overrides)]
    if failing:
        gate = failing[0]
        verdict.failed = "gates"
        verdict.message = (f"record {entry.record}: gate {gate.get('id')} failed and carries "
                           f"no override ({gate.get('message', '')})"
                           + (f", and {len(failing) - 1} more" if len(failing) > 1 else ""))
        return verdict
    _signatures(verdict, attestation, record=entry.record, signatures=signatures,
                archive=archive, allowed=allowed_signers)
    if verdict.passed:
        who = ", ".join(f"{s['participant']} ({s['role'] or 'no role'})"
                        for s in verdict.signatures if s["counted"])
        verdict.message = (f"artifact {artifact.name} (sha256 {_short(artifact.sha256)}) is "
                           f"approved by record {entry.record} ({verdict.outcome}), every gate "
                           f"passed or overridden, signed by {who}")
    return verdict
