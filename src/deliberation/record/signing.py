"""Signatures of a record's attestation with the participants' OpenSSH ed25519 keys.

A signature is a DSSE signature (ed25519 over the envelope's PAE, as securesystemslib
makes it) of the record's own statement, with the OpenSSH fingerprint of the key as
its ``keyid`` (``SHA256:...``, what ``ssh-keygen -lf`` prints). It is published as its
own entry of the archive, ``records/<seq>-sig-<record seq>-<participant>/signature.json``,
chained in the manifest like a record, so the signed record is never rewritten and
``verify`` covers the signature's bytes too.

Who may sign as whom is an ``allowed_signers`` file in the format of ``ssh-keygen`` and
git (``gpg.ssh.allowedSignersFile``): ``principals [options] ssh-ed25519 KEY``, the
principal being the participant's id; ``namespaces="..."`` must then include
``deliberation``, and ``valid-after``/``valid-before`` bound the signing time. The
archive's own is ``DIR/allowed_signers``; keep the authoritative copy somewhere the
release engineer cannot edit (a protected branch) and pass it with
``--allowed-signers``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_ssh_private_key,
    load_ssh_public_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey
from sshsig.allowed_signers import AllowedSigner, load_allowed_signers_file

from ..errors import DeliberationError, RecordTampered
from ..files import read_regular
from .archive import Entry, publish, read_entries, verify_archive
from .attest import ATTESTATION, Attestation, load_attestation, parse_envelope
from .layout import find_archive, record_name

SIGNATURE = "signature.json"
SIGNATURE_SCHEMA = "deliberation/signature@1"
ALLOWED_SIGNERS = "allowed_signers"
NAMESPACE = "deliberation"


class SigningError(DeliberationError):
    """A key, an allowed_signers file or a signing request that cannot be used."""


# --------------------------------------------------------------------------- keys


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """The key's OpenSSH SHA256 fingerprint, as ``ssh-keygen -lf`` prints it."""
    line = public_key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).split()
    blob = base64.b64decode(line[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def openssh_public(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode("ascii")


def _read_small(path: Path, field: str, *, limit: int) -> bytes:
    """A key or allowed_signers file: a regular file, read with a limit (a FIFO or
    /dev/zero given by mistake neither blocks nor reads forever)."""
    try:
        return read_regular(path, limit=limit, error=SigningError)
    except SigningError as error:
        raise SigningError(error.detail, path=path, field=field) from None


def load_private_key(path: Path, passphrase: Callable[[], str] | None = None
                     ) -> Ed25519PrivateKey:
    """An OpenSSH ed25519 private key; ``passphrase`` is asked only if the key has one."""
    data = _read_small(path.expanduser(), "--key", limit=64 << 10)
    try:
        key = load_ssh_private_key(data, password=None)
    except TypeError:  # encrypted: cryptography wants the passphrase
        if passphrase is None:
            raise SigningError("the key has a passphrase and none can be asked for",
                               path=path, field="--key") from None
        try:
            key = load_ssh_private_key(data, password=passphrase().encode("utf-8"))
        except ValueError:
            raise SigningError("wrong passphrase for the key", path=path,
                               field="--key") from None
    except (ValueError, binascii.Error):
        raise SigningError("expected an OpenSSH private key (as ssh-keygen -t ed25519 "
                           "writes, the file without .pub)", path=path, field="--key") from None
    except Exception as error:  # cryptography's errors for unsupported formats vary
        raise SigningError(f"the key cannot be loaded ({error})", path=path,
                           field="--key") from None
    if not isinstance(key, Ed25519PrivateKey):
        kind = type(key).__name__.removeprefix("_").removesuffix("PrivateKey")
        raise SigningError(f"expected an ed25519 key, got {kind}", path=path, field="--key")
    return key


# --------------------------------------------------------------------------- allowed_signers


def _pattern(pattern: str) -> re.Pattern[str]:
    # OpenSSH patterns: '*' any run, '?' one character, nothing else special.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in pattern), re.DOTALL)


def matches_pattern_list(name: str, patterns: str) -> bool:
    """OpenSSH's match_pattern_list: any positive pattern matches and no '!' pattern does."""
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if _pattern(pattern[1:] if negated else pattern).fullmatch(name):
            if negated:
                return False
            matched = True
    return matched


def _ssh_time(text: str) -> datetime:
    """A valid-after/valid-before time: YYYYMMDD[HHMM[SS]], with Z for UTC (else UTC too)."""
    digits = text.removesuffix("Z").removesuffix("z")
    formats = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    if len(digits) not in formats or not digits.isdigit():
        raise ValueError(f"expected a time as YYYYMMDD[HHMM[SS]][Z], got {text!r}")
    return datetime.strptime(digits, formats[len(digits)]).replace(tzinfo=UTC)


@dataclass(frozen=True)
class AllowedSigners:
    """The parsed allowed_signers file: which key may sign as which participant."""

    path: Path
    entries: tuple[AllowedSigner, ...]

    @classmethod
    def load(cls, path: Path) -> AllowedSigners:
        text = _read_small(path, "--allowed-signers", limit=1 << 20)
        try:
            entries = tuple(load_allowed_signers_file(io.StringIO(text.decode("ascii"))))
            for entry in entries:
                for option in ("valid-after", "valid-before"):
                    if entry.options and option in entry.options:
                        _ssh_time(entry.options[option])
        except (OSError, UnicodeDecodeError) as error:
            raise SigningError(f"cannot read it as text ({error})", path=path,
                               field="--allowed-signers") from None
        except (ValueError, NotImplementedError) as error:
            raise SigningError(f"expected lines 'principals [options] ssh-ed25519 KEY' "
                               f"as git and ssh-keygen read them: {error}", path=path,
                               field="--allowed-signers") from None
        return cls(path, entries)

    def refusal(self, participant: str, public_key: str, signed_at: str) -> str | None:
        """Why this key may not sign as ``participant`` (None when it may)."""
        blob = public_key.split()[1]
        listed = [e for e in self.entries if e.key_type == "ssh-ed25519"
                  and e.base64_key == blob and "cert-authority" not in (e.options or {})]
        if not listed:
            return f"its key is not in {self.path.name}"
        mine = [e for e in listed if matches_pattern_list(participant, e.principals)]
        if not mine:
            owners = ", ".join(sorted({e.principals for e in listed}))
            return f"its key is listed in {self.path.name} for {owners}, not for {participant}"
        when = datetime.fromisoformat(signed_at.replace("Z", "+00:00"))
        reasons = []
        for entry in mine:
            options = entry.options or {}
            if "namespaces" in options and not matches_pattern_list(NAMESPACE,
                                                                    options["namespaces"]):
                reasons.append(f"its key is limited to the namespaces {options['namespaces']}")
            elif "valid-after" in options and when < _ssh_time(options["valid-after"]):
                reasons.append("it was made before the key's valid-after "
                               f"{options['valid-after']}")
            elif "valid-before" in options and when >= _ssh_time(options["valid-before"]):
                reasons.append("it was made after the key's valid-before "
                               f"{options['valid-before']}")
            else:
                return None
        return "; ".join(reasons)


def find_allowed_signers(archive: Path, given: Path | None) -> AllowedSigners | None:
    """``--allowed-signers`` if given, else the archive's own, else None."""
    if given is not None:
        return AllowedSigners.load(given)
    own = archive / ALLOWED_SIGNERS
    return AllowedSigners.load(own) if own.is_file() else None


# --------------------------------------------------------------------------- signatures


@dataclass(frozen=True)
class Signature:
    """One published signature, checked against the record it signs."""

    entry: Entry
    record: str
    participant: str
    public_key: str
    fingerprint: str
    signed_at: str

    def to_json(self) -> dict[str, Any]:
        return {"signature": self.entry.record, "record": self.record,
                "participant": self.participant, "fingerprint": self.fingerprint,
                "signed_at": self.signed_at}


def _signature_file(*, participant: str, attestation: Attestation, record: str,
                    attestation_bytes: bytes, key: Ed25519PrivateKey, signed_at: str) -> bytes:
    public = key.public_key()
    keyid = fingerprint(public)
    envelope = Envelope(attestation.envelope.payload, attestation.envelope.payload_type, {})
    envelope.sign(CryptoSigner(key, SSlibKey.from_crypto(public, keyid=keyid)))
    document = {
        "schema": SIGNATURE_SCHEMA,
        "record": record,
        "attestation_sha256": hashlib.sha256(attestation_bytes).hexdigest(),
        "participant": participant,
        "signed_at": signed_at,
        "public_key": openssh_public(public),
        "fingerprint": keyid,
        "envelope": envelope.to_dict(),
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("ascii")


def check_signature(archive: Path, entry: Entry) -> Signature:
    """Check one signature entry: its file, its binding to the record, the ed25519 math."""
    folder = archive / "records" / entry.record
    if not folder.is_dir():
        folder = archive / "records" / (".pending-" + entry.record)
    where = f"signature {entry.record}"
    try:
        document = json.loads((folder / SIGNATURE).read_bytes().decode("utf-8"))
        participant = document["participant"]
        public_key = document["public_key"]
        claimed = document["fingerprint"]
        signed_at = document["signed_at"]
        record = document["record"]
        datetime.fromisoformat(signed_at.replace("Z", "+00:00"))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise RecordTampered(f"{where}: expected a {SIGNATURE_SCHEMA} document", path=archive
                             ) from None
    if record != entry.signs:
        raise RecordTampered(f"{where}: the file says it signs {record}, the manifest "
                             f"{entry.signs}", path=archive)
    target = archive / "records" / entry.signs
    attestation = load_attestation(target)
    envelope = parse_envelope(json.dumps(document.get("envelope")).encode(), where)
    if (envelope.payload != attestation.envelope.payload
            or envelope.payload_type != attestation.envelope.payload_type):
        other = _statement_record(envelope.payload)
        if other == entry.signs:
            raise RecordTampered(f"{where}: is over another version of the statement of "
                                 f"{entry.signs} (its attestation.json or the signature was "
                                 "edited)", path=archive)
        raise RecordTampered(
            f"{where}: is over the statement of {other or 'another record'}, not of "
            f"{entry.signs} (a signature replayed from another record)", path=archive)
    try:
        public = load_ssh_public_key(public_key.encode("ascii"))
    except (ValueError, UnicodeError, AttributeError):
        raise RecordTampered(f"{where}: public_key is not an OpenSSH public key",
                             path=archive) from None
    if not isinstance(public, Ed25519PublicKey):
        raise RecordTampered(f"{where}: expected an ed25519 public key", path=archive)
    keyid = fingerprint(public)
    if claimed != keyid or list(envelope.signatures) != [keyid]:
        raise RecordTampered(f"{where}: the signature's key id is not the fingerprint of "
                             f"its public key {keyid}", path=archive)
    try:
        envelope.verify([SSlibKey.from_crypto(public, keyid=keyid)], 1)
    except VerificationError:
        raise RecordTampered(f"{where}: the ed25519 signature by {participant} ({keyid}) "
                             f"does not verify against the statement of {entry.signs}",
                             path=archive) from None
    return Signature(entry, entry.signs, str(participant), public_key, keyid, signed_at)


def _statement_record(payload: bytes) -> str | None:
    try:
        value = json.loads(payload)["predicate"]["record"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(value) if value else None


def check_signatures(archive: Path, entries: list[Entry]) -> list[Signature]:
    """Every signature entry of a verified archive, checked; RecordTampered names a bad one."""
    return [check_signature(archive, e) for e in entries if e.kind == "signature"]


def verify_attestations(archive: Path, entries: list[Entry]) -> list[str]:
    """What ``verify`` adds to the hash chain: each record's attestation agrees with its
    files and each signature verifies. Notes to print; RecordTampered names a bad one."""
    for entry in entries:
        if entry.kind == "record" and ATTESTATION in entry.files:
            folder = archive / "records" / entry.record
            load_attestation(folder if folder.is_dir()
                             else archive / "records" / (".pending-" + entry.record))
    signatures = check_signatures(archive, entries)
    if not signatures:
        return []
    signed = ", ".join(f"{s.participant} ({s.fingerprint}) for {s.record}" for s in signatures)
    plural = "s" if len(signatures) != 1 else ""
    return [f"{len(signatures)} signature{plural} verified: {signed}"]


def sign_record(
    record_dir: Path | str,
    *,
    key_path: Path,
    participant: str,
    allowed_signers: Path | None = None,
    passphrase: Callable[[], str] | None = None,
    clock: Callable[[], str] | None = None,
) -> Signature:
    """Append ``participant``'s signature of a published record to its archive."""
    from .build import utc_now

    record_dir = Path(record_dir)
    archive = find_archive(record_dir)
    if archive is None or not (record_dir / ATTESTATION).is_file():
        raise SigningError("expected a record folder of an archive "
                           "(DIR/records/<seq>-<review id>)", path=record_dir)
    name = record_name(record_dir)
    verify_archive(archive)  # never sign into a tampered archive
    entry = next((e for e in read_entries(archive) if e.record == name), None)
    if entry is None or entry.kind != "record":
        raise SigningError("expected a record (not a signature) published in the archive",
                           path=record_dir)
    attestation = load_attestation(archive / "records" / name)
    people = {p["id"]: p for p in attestation.predicate.get("participants", [])}
    if participant not in people:
        raise SigningError(f"expected one of the record's participants "
                           f"({', '.join(people) or 'none'}), got {participant!r}",
                           field="--as")
    key = load_private_key(key_path, passphrase)
    signed_at = (clock or utc_now)()
    public = openssh_public(key.public_key())
    signers = find_allowed_signers(archive, allowed_signers)
    if signers is not None and (why := signers.refusal(participant, public, signed_at)):
        raise SigningError(f"this key may not sign as {participant}: {why}",
                           path=signers.path, field="--as")
    keyid = fingerprint(key.public_key())
    for earlier in check_signatures(archive, read_entries(archive)):
        if earlier.record == name and earlier.fingerprint == keyid \
                and earlier.participant == participant:
            raise SigningError(f"{participant} already signed {name} with this key "
                               f"({earlier.entry.record})", path=record_dir)
    attestation_bytes = (archive / "records" / name / ATTESTATION).read_bytes()
    data = _signature_file(participant=participant, attestation=attestation, record=name,
                           attestation_bytes=attestation_bytes, key=key, signed_at=signed_at)
    published = publish(archive, review_id=f"sig-{entry.seq:06d}-{participant}",
                        subject=entry.subject, created=signed_at,
                        build=lambda slot: {SIGNATURE: data}, signs=name)
    signed = next(e for e in read_entries(archive) if e.record == published.name)
    return check_signature(archive, signed)


def signature_rows(archive: Path, record: str, allowed_signers: Path | None = None
                   ) -> list[dict[str, Any]]:
    """The checked signatures of one record, for its page: who, when, which key, and why
    one would not count (by the archive's allowed_signers, or ``allowed_signers``)."""
    verified = verify_archive(archive)
    signers = find_allowed_signers(archive, allowed_signers)
    rows = []
    for signature in check_signatures(archive, verified.entries):
        if signature.record != record:
            continue
        refusal = (signers.refusal(signature.participant, signature.public_key,
                                   signature.signed_at) if signers is not None
                   else f"no {ALLOWED_SIGNERS} file to check the key against")
        rows.append({**signature.to_json(), "refusal": refusal})
    return rows
