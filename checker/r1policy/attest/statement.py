"""The in-toto v1 Statement `check --attest` signs: subjects are the SHA-256 of each judged model's files
(from r1policy.lock) and of each manifest; the predicate (schemas/attestation-predicate-v1.schema.json)
holds the decision, the findings summary, the rule-pack and config digests and the tool version."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from r1policy import __version__
from r1policy.attest import PREDICATE_TYPE, STATEMENT_TYPE
from r1policy.core.model import Deployment, SourceKind
from r1policy.engine.report import Report
from r1policy.project.lockfile import Lock, LockedFile, LockedSource, hub_key, s3_key_from_uri
from r1policy.rules.registry import RuleRegistry

_READ = 8 * 1024 * 1024


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_READ):
            digest.update(chunk)
    return digest.hexdigest()


def locked_source(lock: Lock, dep: Deployment) -> tuple[str, LockedSource] | None:
    """The lock entry of a deployment's model source (an S3 object inside a locked prefix counts)."""
    model = dep.model
    if model.kind is SourceKind.HUB and model.repo:
        key = hub_key(model.repo)
        found = lock.get(key)
        if found is None or (model.revision and found.revision and found.revision != model.revision):
            return None
        return key, found
    if model.kind is SourceKind.S3 and model.s3_uri:
        return locked_s3(lock, model.s3_uri)
    return None


def locked_s3(lock: Lock, uri: str) -> tuple[str, LockedSource] | None:
    key = s3_key_from_uri(uri)
    found = lock.get(key)
    if found is not None:
        return key, found
    inside = key.rstrip("/")
    for other, source in lock.sources.items():
        rel = inside[len(other) :]
        if other.startswith("s3://") and inside.startswith(other) and rel in source.files:
            return other, LockedSource(source.revision, source.repo_id, {rel: source.files[rel]})
    return None


def _digest(entry: LockedFile) -> dict[str, str]:
    """The file's SHA-256; for a file locked by its parts only (lock schema 2), the SHA-256 of the
    concatenated part digests under r1policy's own algorithm name (in-toto allows any)."""
    if entry.sha256 is not None:
        return {"sha256": entry.sha256}
    joined = b"".join(bytes.fromhex(digest) for _, digest in entry.parts)
    return {"r1policy-sha256-parts": hashlib.sha256(joined).hexdigest()}


def model_subjects(key: str, source: LockedSource) -> list[dict[str, Any]]:
    base = key.rstrip("/")
    return [
        {"name": f"{base}/{rel}", "digest": _digest(entry)} for rel, entry in sorted(source.files.items())
    ]


def subjects(
    deployments: Iterable[Deployment], manifests: Iterable[str], lock: Lock | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """(subjects, deployments whose model files are not in the lock)."""
    out: dict[str, dict[str, Any]] = {}
    unlocked: list[str] = []
    for dep in deployments:
        found = locked_source(lock, dep) if lock is not None else None
        if found is None:
            unlocked.append(f"{dep.name} ({dep.model.uri or 'no model source'})")
            continue
        for subject in model_subjects(*found):
            out[subject["name"]] = subject
    for manifest in manifests:
        path = Path(manifest)
        if path.is_file():
            out[manifest] = {"name": manifest, "digest": {"sha256": file_sha256(path)}}
    return sorted(out.values(), key=lambda s: s["name"]), unlocked


def rule_pack_digest(registry: RuleRegistry) -> str:
    """SHA-256 over the Cedar schema and every rule's metadata and policy file (by rule-relative name)."""
    files: set[Path] = {Path(p.path) for p in registry.policies.values()}
    for meta in registry.rules.values():
        if meta.folder and (Path(meta.folder) / "rule.yaml").is_file():
            files.add(Path(meta.folder) / "rule.yaml")
    entries = {"cedarschema": hashlib.sha256(registry.schema_text.encode()).hexdigest()}
    for path in files:
        entries[f"{path.parent.name}/{path.name}"] = file_sha256(path)
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()


def config_digest(source: str) -> str:
    path = Path(source)
    return file_sha256(path) if path.is_file() else hashlib.sha256(b"").hexdigest()


def statement(
    report: Report, subject_list: list[dict[str, Any]], registry: RuleRegistry, config_source: str
) -> dict[str, Any]:
    summary = report.summary
    return {
        "_type": STATEMENT_TYPE,
        "subject": subject_list,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "decision": report.decision,
            "summary": {
                "blocking": summary.blocking,
                "warnings": summary.warnings,
                "errors": summary.errors,
                "skipped": summary.skipped,
                "waived": summary.waived,
                "passed": summary.passed,
                "subjects": summary.subjects,
            },
            "rule_pack": {"digest": {"sha256": rule_pack_digest(registry)}, "rules": len(registry.rules)},
            "config": {"source": config_source, "digest": {"sha256": config_digest(config_source)}},
            "tool": {"name": "r1policy", "version": __version__},
            "command": report.command,
            "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
