"""The state snapshot (schemas/state-v1.schema.json): live AWS facts captured for offline checks."""

from __future__ import annotations

from dataclasses import field, replace
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.model import Deployment
from r1policy.core.record import frozen_record
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import load_yaml_documents, read_text

SCHEMA = "state-v1.schema.json"
STATE_KIND = "r1policy-state"
MAX_STATE_BYTES = 256 * 1024 * 1024


@frozen_record
class StateSnapshot:
    """A state snapshot (schemas/state-v1.schema.json): live AWS facts captured for offline checks."""

    path: str
    captured_at: str
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    kms_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    # account id -> region -> {"models", "endpoint_configs", "endpoints": [Describe* dicts], "errors"}
    sagemaker: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # s3 model prefix -> {"config", "index", "errors"} (r1policy.facts.modelfiles), from a live audit
    model_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    # execution role ARN -> {"inline_policies", "attached_policies", "errors"} (facts/iamrole.py)
    iam_roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    # serving image -> its ECR scan findings or why they are unknown (aws/ecr.py; R1-EP-008)
    ecr_image_scans: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what the collection cost ({"iam_roles": N, "iam_calls": M})
    statistics: dict[str, int] = field(default_factory=dict)


def is_state(value: Any) -> bool:
    return isinstance(value, dict) and value.get("kind") == STATE_KIND


def load_state(path: Path) -> StateSnapshot:
    text = read_text(path, limit=MAX_STATE_BYTES)
    docs = list(load_yaml_documents(text, str(path)))
    if len(docs) != 1 or not is_state(docs[0].value):
        raise InputError(Position(str(path), 1, 1), f"not an r1policy state snapshot (kind: {STATE_KIND})")
    doc = docs[0]
    version = doc.value.get("schema_version")
    if version != 1:
        raise InputError(
            doc.position(("schema_version",)),
            f"state schema_version {version!r} is not supported (this r1policy reads version 1)",
        )
    validate_document(doc, SCHEMA)
    return from_value(doc.value, str(path))


def from_value(value: dict[str, Any], path: str) -> StateSnapshot:
    return StateSnapshot(
        path=path,
        captured_at=value["captured_at"],
        buckets=value.get("buckets", {}),
        accounts=value.get("accounts", {}),
        kms_keys=value.get("kms_keys", {}),
        sagemaker=value.get("sagemaker", {}),
        model_files=value.get("model_files", {}),
        iam_roles=value.get("iam_roles", {}),
        statistics=value.get("statistics", {}),
        ecr_image_scans=value.get("ecr_image_scans", {}),
    )


def with_existing_endpoints(deployments: list[Deployment], state: StateSnapshot | None) -> list[Deployment]:
    """Give a manifest's endpoint the account of the live endpoint of the same name and region
    (from `check --live` or a snapshot), so that its findings carry the real endpoint ARN."""
    if state is None or not state.sagemaker:
        return deployments
    owners: dict[tuple[str, str], set[str]] = {}
    for account, regions in state.sagemaker.items():
        for region, entry in regions.items():
            for endpoint in entry.get("endpoints", []):
                owners.setdefault((region, endpoint.get("EndpointName", "")), set()).add(account)
    result = []
    for dep in deployments:
        ep = dep.endpoint
        if ep is not None and ep.account is None and ep.resource == "endpoint" and ep.region:
            found = owners.get((ep.region, ep.name), set())
            if len(found) == 1:
                dep = replace(dep, endpoint=replace(ep, account=next(iter(found))))
        result.append(dep)
    return result


def sagemaker_errors(state: StateSnapshot | None) -> list[str]:
    """One line per SageMaker read that failed (a region not enabled, a denied Describe*)."""
    if state is None:
        return []
    return [
        f"account {account}, {region}: {what}: {why}"
        for account, regions in sorted(state.sagemaker.items())
        for region, entry in sorted(regions.items())
        for what, why in sorted(entry.get("errors", {}).items())
    ]
