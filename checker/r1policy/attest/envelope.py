"""DSSE envelopes through securesystemslib: sign a Statement, write it atomically; read one back and
verify it against trusted keys, its payload type, the Statement and predicate shape, and subjects.

Reading distinguishes what cannot be read at all (`AttestationUnreadable`: not JSON, not an envelope;
exit 2) from what is read but not valid (`Verification.problems`: bad signature, untrusted signer, wrong
payload type, wrong statement or predicate type, missing subject; exit 1)."""

from __future__ import annotations

import binascii
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1policy.attest import PAYLOAD_TYPE, PREDICATE_SCHEMA, PREDICATE_TYPE, STATEMENT_TYPE
from r1policy.core import jsonsafe
from r1policy.core.errors import InputError, OutputError, Position

MAX_ENVELOPE_BYTES = 64 * 1024 * 1024


class AttestationUnreadable(InputError):
    """The file is not a DSSE envelope at all."""


@dataclass
class Verification:
    path: str
    statement: dict[str, Any] = field(default_factory=dict)
    signers: list[str] = field(default_factory=list)  # key ids that verified
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def decision(self) -> str | None:
        predicate = self.statement.get("predicate")
        return predicate.get("decision") if isinstance(predicate, dict) else None

    def digests(self) -> dict[str, str]:
        """subject sha256 -> subject name."""
        out: dict[str, str] = {}
        for subject in self.statement.get("subject") or []:
            if isinstance(subject, dict) and isinstance(subject.get("digest"), dict):
                sha = subject["digest"].get("sha256")
                if isinstance(sha, str):
                    out[sha] = str(subject.get("name", ""))
        return out


def sign(statement: dict[str, Any], signer: Any) -> dict[str, Any]:
    from securesystemslib.dsse import Envelope

    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(signer)
    result: dict[str, Any] = envelope.to_dict()
    return result


def write(path: Path, envelope: dict[str, Any]) -> None:
    text = json.dumps(envelope, indent=2, sort_keys=True) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the attestation: {exc}") from exc


def read(path: Path) -> Any:
    """The securesystemslib Envelope in `path` (AttestationUnreadable when it is not one)."""
    where = Position(str(path))
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_ENVELOPE_BYTES + 1)
    except OSError as exc:
        raise AttestationUnreadable(where, f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise AttestationUnreadable(where, "larger than 64 MiB; not an attestation")
    try:
        data = jsonsafe.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise AttestationUnreadable(Position(str(path), line), f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or not {"payload", "payloadType", "signatures"} <= set(data):
        raise AttestationUnreadable(where, "not a DSSE envelope (payload, payloadType, signatures)")
    if not isinstance(data["signatures"], list) or not all(isinstance(s, dict) for s in data["signatures"]):
        raise AttestationUnreadable(where, "not a DSSE envelope: signatures is not a list of objects")
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import FormatError

    try:
        return Envelope.from_dict(data)
    except (KeyError, ValueError, TypeError, FormatError, binascii.Error) as exc:
        raise AttestationUnreadable(where, f"not a DSSE envelope: {exc}") from exc


def verify(path: Path, keys: list[Any]) -> Verification:
    from securesystemslib.exceptions import VerificationError

    envelope = read(path)
    result = Verification(str(path))
    if envelope.payload_type != PAYLOAD_TYPE:
        result.problems.append(f"payloadType is {envelope.payload_type!r}, expected {PAYLOAD_TYPE!r}")
        return result
    try:
        accepted = envelope.verify(keys, 1)
        result.signers = sorted(accepted)
    except (VerificationError, ValueError) as exc:
        named = ", ".join(sorted(envelope.signatures)) or "none"
        result.problems.append(f"no signature by a trusted key verifies (signature key ids: {named}): {exc}")
        return result
    _check_statement(envelope.payload, result)
    return result


def _check_statement(payload: bytes, result: Verification) -> None:
    from r1policy.core.validation import validator

    try:
        statement = jsonsafe.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        result.problems.append(f"the signed payload is not JSON: {exc}")
        return
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        result.problems.append(f"the payload is not an in-toto {STATEMENT_TYPE} Statement")
        return
    result.statement = statement
    if statement.get("predicateType") != PREDICATE_TYPE:
        found = statement.get("predicateType")
        result.problems.append(f"predicateType is {found!r}, expected {PREDICATE_TYPE}")
        return
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        result.problems.append("the Statement has no subjects")
    for error in validator(PREDICATE_SCHEMA).iter_errors(statement.get("predicate")):
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        result.problems.append(f"predicate {where}: {error.message}")
