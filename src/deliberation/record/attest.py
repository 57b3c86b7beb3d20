"""The record's attestation: an in-toto Statement v1 in a DSSE envelope.

Every record carries ``attestation.json``, a DSSE envelope (``payloadType``
``application/vnd.in-toto+json``) whose payload is a Statement:

- ``subject``: the model artifact's digest (annotated ``{"deliberation": "artifact"}``)
  and each file of the record (``record.json``, ``record.html``, ``review.ipynb``, ...);
- ``predicateType``: :data:`PREDICATE_TYPE`;
- ``predicate``: what was decided and under which rules (:func:`predicate`).

The envelope is published without signatures: the people who approved the decision
sign this exact payload later (:mod:`.signing`), each signature in its own file chained
in the manifest, so publishing never rewrites a record. The envelope, PAE and signature
encoding are securesystemslib's; only the predicate is ours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.dsse import Envelope

from ..engine.choice import chosen_variant
from ..errors import RecordTampered
from ..review.model import parse_review

ATTESTATION = "attestation.json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
# A URN: the project has no web address of its own to mint an https type URI under.
PREDICATE_TYPE = "urn:deliberation:release-decision:v1"
APPROVING = ("approve", "approve-with-conditions")


def required_roles(template_definition: Mapping[str, Any]) -> list[str]:
    """Every role a ``signoffs-from-roles`` rule of the template names, in order."""
    roles: list[str] = []
    for rule in template_definition.get("policy", []):
        if rule.get("rule") == "signoffs-from-roles":
            roles += [r for r in rule.get("roles", []) if r not in roles]
    return roles


def predicate(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the signers approve: decision, chosen variant, gates, overrides, template."""
    review = record["review"]
    decision = review.get("decision") or {}
    means = {name: float(v["mean"]) for name, v in
             (record.get("analysis") or {}).get("variants", {}).items() if "mean" in v}
    chosen: dict[str, Any] | None = None
    if means:
        variant, chosen_by = chosen_variant(parse_review(review, path="record.json"), means)
        chosen = {"id": variant, "by": chosen_by}
    template = record["template"]
    return {
        "record": record.get("record"),
        "seq": record.get("seq"),
        "created": record.get("created"),
        "supersedes": record.get("supersedes"),
        "review": {"id": review["id"], "title": review.get("title", ""),
                   "subject": review.get("subject", {})},
        "participants": [{"id": p["id"], "name": p.get("name", ""), "role": p.get("role", "")}
                         for p in review.get("participants", [])],
        "decision": {key: decision.get(key) for key in
                     ("outcome", "variant", "rationale", "conditions", "dissent", "signoffs")},
        "chosen_variant": chosen,
        "overrides": list(decision.get("overrides") or []),
        "gates": list((record.get("policy") or {}).get("gates", [])),
        "template": {"id": template["id"], "version": template.get("version", ""),
                     "sha256": template["sha256"]},
        "required_roles": required_roles(template.get("definition") or {}),
        "artifact": record.get("artifact"),
        "seed": record.get("seed"),
        "samples": record.get("samples"),
    }


def statement(record: Mapping[str, Any], files: Mapping[str, bytes]) -> dict[str, Any]:
    """The in-toto Statement v1 of a record whose other files are ``files``."""
    subjects: list[dict[str, Any]] = []
    artifact = record.get("artifact")
    if artifact:
        subjects.append({"name": artifact["name"], "digest": {"sha256": artifact["sha256"]},
                         "annotations": {"deliberation": "artifact", "kind": artifact["kind"]}})
    name = record.get("record") or ""
    for file_name in sorted(files):
        subjects.append({"name": f"{name}/{file_name}",
                         "digest": {"sha256": hashlib.sha256(files[file_name]).hexdigest()},
                         "annotations": {"deliberation": "record-file"}})
    return {"_type": STATEMENT_TYPE, "subject": subjects, "predicateType": PREDICATE_TYPE,
            "predicate": predicate(record)}


def payload_bytes(statement_data: Mapping[str, Any]) -> bytes:
    """The statement's bytes as signed: compact, sorted keys, UTF-8."""
    return json.dumps(statement_data, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def envelope_bytes(envelope: Envelope) -> bytes:
    return (json.dumps(envelope.to_dict(), indent=2, sort_keys=True) + "\n").encode("ascii")


def seal(files: Mapping[str, bytes], record: Mapping[str, Any]) -> dict[str, bytes]:
    """The record's files plus ``attestation.json``: the unsigned envelope over them."""
    envelope = Envelope(payload_bytes(statement(record, files)), PAYLOAD_TYPE, {})
    return {**files, ATTESTATION: envelope_bytes(envelope)}


@dataclass(frozen=True)
class Attestation:
    """A record's parsed attestation."""

    envelope: Envelope
    statement: dict[str, Any]

    @property
    def predicate(self) -> dict[str, Any]:
        value: dict[str, Any] = self.statement["predicate"]
        return value

    @property
    def artifact_sha256(self) -> str | None:
        for subject in self.statement["subject"]:
            if (subject.get("annotations") or {}).get("deliberation") == "artifact":
                return str(subject["digest"]["sha256"])
        return None

    @property
    def approves(self) -> bool:
        return self.predicate["decision"].get("outcome") in APPROVING


def parse_envelope(data: bytes, where: Path | str) -> Envelope:
    """A DSSE envelope from JSON bytes; RecordTampered naming ``where`` if it is not one."""
    try:
        raw = json.loads(data.decode("utf-8"))
        envelope = Envelope.from_dict(raw)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise RecordTampered(f"expected a DSSE envelope ({type(error).__name__}: {error})",
                             path=where) from None
    return envelope


def load_attestation(folder: Path) -> Attestation:
    """Read and check ``attestation.json`` of a record folder against the folder's files."""
    path = folder / ATTESTATION
    try:
        envelope = parse_envelope(path.read_bytes(), path)
    except FileNotFoundError:
        raise RecordTampered("the record has no attestation.json (exported without one, "
                             "or deleted)", path=folder) from None
    if envelope.payload_type != PAYLOAD_TYPE:
        raise RecordTampered(f"expected payloadType {PAYLOAD_TYPE!r}", path=path)
    try:
        data = json.loads(envelope.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RecordTampered("the payload is not a JSON statement", path=path) from None
    if (not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE
            or data.get("predicateType") != PREDICATE_TYPE
            or not isinstance(data.get("subject"), list)
            or not isinstance(data.get("predicate"), dict)):
        raise RecordTampered(f"expected an in-toto Statement v1 with predicateType "
                             f"{PREDICATE_TYPE}", path=path)
    name = folder.name.removeprefix(".pending-")
    for subject in data["subject"]:
        if (subject.get("annotations") or {}).get("deliberation") != "record-file":
            continue
        file_name = str(subject.get("name", "")).removeprefix(f"{name}/")
        target = folder / file_name
        expected = (subject.get("digest") or {}).get("sha256")
        if "/" in file_name or not target.is_file():
            raise RecordTampered(f"the statement names {subject.get('name')!r}, which is not "
                                 "a file of this record", path=path)
        if hashlib.sha256(target.read_bytes()).hexdigest() != expected:
            raise RecordTampered(f"{file_name} does not match its digest in the statement",
                                 path=path)
    return Attestation(envelope, data)
