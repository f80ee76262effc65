"""The audit report's "Who can change the weights": per model bucket, which execution roles may write,
delete or decrypt the model data, and which principals the bucket policy lets write.

The roles are those the audited models run as, judged with the same evaluator as R1-IAM-001
(facts/iamrole.py) against each model's S3 prefix and the bucket's KMS key; a role that could not be read
is listed as such, never left out. Bucket-policy writers come from R1-S3-009's analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from r1policy.core.model import Deployment
from r1policy.facts.bucketpolicy import PolicyDocumentError
from r1policy.facts.bucketwriters import policy_writers
from r1policy.facts.iamrole import RoleUnreadable, judge_role
from r1policy.project.state import StateSnapshot

_KINDS = ("writers", "deleters", "decrypters", "unknown")


def _kms_key(record: dict[str, Any]) -> str | None:
    encryption = record.get("encryption") or {}
    key = encryption.get("kms_key") if isinstance(encryption, dict) else None
    return str(key) if key else None


def _judge(row: dict[str, set[str]], dep: Deployment, state: StateSnapshot, key: str | None) -> None:
    role = dep.execution_role
    if not role:
        row["unknown"].add(f"{dep.name}: no execution role")
        return
    record = dep.role_record or state.iam_roles.get(role)
    if record is None:
        row["unknown"].add(f"{role}: not read")
        return
    try:
        verdict = judge_role(record, role, dep.model.s3_uri, key)
    except RoleUnreadable as exc:
        row["unknown"].add(f"{role}: {exc}")
        return
    for kind, grants in (
        ("writers", verdict.writes),
        ("deleters", verdict.deletes),
        ("decrypters", verdict.decrypts),
    ):
        if grants:
            conditional = all(g.conditional for g in grants)
            row[kind].add(role + (" (conditional)" if conditional else ""))


def role_reads(state: StateSnapshot) -> str:
    """How the roles were read, for the report: `5 execution roles read with 30 IAM calls`."""
    stats = state.statistics
    if "iam_calls" in stats:
        return f"{stats.get('iam_roles', 0)} execution role(s) read with {stats['iam_calls']} IAM call(s)"
    return f"{len(state.iam_roles)} execution role(s) from the state snapshot"


def weights_access(deployments: Sequence[Deployment], state: StateSnapshot) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, set[str]]] = {}
    for dep in deployments:
        bucket = dep.model.bucket
        if not bucket:
            continue
        row = rows.setdefault(bucket, {kind: set() for kind in _KINDS})
        _judge(row, dep, state, _kms_key(state.buckets.get(bucket) or {}))
    result = []
    for bucket, row in sorted(rows.items()):
        record = state.buckets.get(bucket) or {}
        if "policy" in record:
            try:
                row["writers"] |= {f"bucket policy: {w}" for w in policy_writers(record["policy"], bucket)}
            except PolicyDocumentError as exc:
                row["unknown"].add(f"bucket policy: {exc}")
        else:
            row["unknown"].add("bucket policy: not read")
        result.append({"bucket": bucket, **{kind: sorted(row[kind]) for kind in _KINDS}})
    return result
