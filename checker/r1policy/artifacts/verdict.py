"""Scanner facts -> the Cedar `Artifact` entity (counts and flags the policies test) and the names
the rule messages render (redacted descriptions only)."""

from __future__ import annotations

from typing import Any

from r1policy.artifacts.model import FileFacts
from r1policy.engine.evaluate import ArtifactInput

_LISTED = 5


def _join(items: list[str]) -> str:
    shown = "; ".join(items[:_LISTED])
    return shown + (f"; and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def attrs(facts: FileFacts) -> dict[str, Any]:
    return {
        "path": facts.path,
        "format": facts.format,
        "pickle_based": facts.pickle_based,
        "unsafe_imports": len(facts.unsafe_imports),
        "unsafe_import_names": list(facts.unsafe_import_names),
        "pickle_problems": len(facts.pickle_problems),
        "secrets": len(facts.secrets),
        "header_problems": len(facts.header_problems),
        "archive_problems": len(facts.archive_problems),
        "reference_problems": len(facts.reference_problems),
        "template_problems": len(facts.template_problems),
        "keras_code_layers": len(facts.keras_code_layers),
        "code_files": len(facts.code),
        "auto_map": bool(facts.auto_map),
        "digest_mismatch": bool(facts.digest_problems),
        "unknown_format": facts.unknown_format is not None,
        "malware_matches": len(facts.malware),
        "signature_problems": len(facts.signature_problems),
    }


def names(facts: FileFacts) -> dict[str, Any]:
    fmt = facts.format + (f" ({facts.detail})" if facts.detail and facts.detail != facts.format else "")
    return {
        "path": facts.path,
        "name": facts.path.rsplit("!/", 1)[-1].rsplit("/", 1)[-1],
        "format": fmt,
        "sha256": facts.sha256 or "?",
        "unsafe_imports": _join(facts.unsafe_imports),
        "pickle_problems": _join(facts.pickle_problems),
        "secrets": _join(facts.secrets),
        "header_problems": _join(facts.header_problems),
        "archive_problems": _join(facts.archive_problems),
        "reference_problems": _join(facts.reference_problems),
        "template_problems": _join(facts.template_problems),
        "keras_code_layers": _join(facts.keras_code_layers),
        "code": _join(facts.code),
        "auto_map": _join(facts.auto_map),
        "digest_problems": _join(facts.digest_problems),
        "unknown_format": facts.unknown_format or "",
        "malware": _join(facts.malware),
        "signature_problems": _join(facts.signature_problems),
    }


def artifact_input(
    facts: FileFacts, location: str | None = None, *, lock_key: str = "", lock_path: str = "r1policy.lock"
) -> ArtifactInput:
    rendered = names(facts)
    # R1-ART-004 is shared with the deployment side; its remediation names these.
    rendered.update(
        deployment=facts.path,
        lock_key=lock_key or facts.path,
        lock_path=lock_path,
        locked_revision="",
        resolved_sha="",
        repo=lock_key or facts.path,
    )
    unavailable, not_applicable = _malware_facts(facts)
    _signature_facts(facts, unavailable, not_applicable)
    return ArtifactInput(
        path=facts.path,
        attrs=attrs(facts),
        names=rendered,
        unreadable=facts.unreadable,
        location=location,
        unavailable=unavailable,
        not_applicable=not_applicable,
    )


MALWARE_FACT = "artifact.malware_scan"
_NOT_READ = ("missing", "source", "signature")  # subjects made from the lock or the signature, not read


def _malware_facts(facts: FileFacts) -> tuple[dict[str, str], dict[str, str]]:
    """R1-ART-012 needs a complete clamd verdict: an error when it failed, skipped when not asked."""
    if facts.malware_error:
        return {MALWARE_FACT: f"the malware scan failed: {facts.malware_error}"}, {}
    if facts.format in _NOT_READ and not facts.malware_scanned:
        return {}, {MALWARE_FACT: "no content was read for this subject"}
    if facts.malware_skipped:
        return {}, {MALWARE_FACT: f"not scanned for malware: {facts.malware_skipped}"}
    if not facts.malware_scanned:
        return {}, {MALWARE_FACT: "malware_scan is not configured"}
    return {}, {}


SIGNATURE_FACT = "artifact.signature"


def _signature_facts(facts: FileFacts, unavailable: dict[str, str], not_applicable: dict[str, str]) -> None:
    """R1-ART-011: an error when the signature could not be evaluated, skipped when not asked."""
    if facts.signature_error:
        unavailable[SIGNATURE_FACT] = f"the model signature could not be verified: {facts.signature_error}"
    elif facts.signature_skipped:
        not_applicable[SIGNATURE_FACT] = facts.signature_skipped
    elif not facts.signature_checked:
        not_applicable[SIGNATURE_FACT] = "model_signing.required is not true"


def facts_from_case(spec: dict[str, Any]) -> FileFacts:
    """A policy test case's `artifact:` mapping (FileFacts field names) as facts."""
    values = dict(spec)
    values.setdefault("path", "models/case/model.bin")
    return FileFacts(**values)
