"""KMS key facts: per key one DescribeKey, one GetKeyPolicy (R1-S3-011) and, for symmetric
customer-managed keys, one GetKeyRotationStatus."""

from __future__ import annotations

from typing import Any

from r1policy.aws.bucketfacts import ABSENT, Reader, policy_document
from r1policy.aws.session import AccountSession


def key_region(key: str, default: str) -> str:
    parts = key.split(":")
    return parts[3] if key.startswith("arn:") and len(parts) > 3 and parts[3] else default


def read_kms_key(account: AccountSession, key: str, region: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    read = Reader(errors)
    kms = account.client("kms", key_region(key, region))
    described = read("customer_managed", kms.describe_key, KeyId=key)
    arn = key if described is ABSENT else described.get("KeyMetadata", {}).get("Arn", key)
    policy = read("key_policy", kms.get_key_policy, KeyId=arn, PolicyName="default")
    if described is ABSENT:
        return (
            {"errors": errors}
            if policy is ABSENT
            else {"key_policy": policy_document(policy), "errors": errors}
        )
    meta = described.get("KeyMetadata", {})
    record: dict[str, Any] = {"customer_managed": meta.get("KeyManager") == "CUSTOMER"}
    if record["customer_managed"] and meta.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT":
        rotation = read("rotation_enabled", kms.get_key_rotation_status, KeyId=meta.get("Arn", key))
        if rotation is not ABSENT:
            record["rotation_enabled"] = bool(rotation.get("KeyRotationEnabled"))
    else:
        record["rotation_enabled"] = None  # AWS-managed keys rotate on AWS's schedule; asymmetric never
    if policy is not ABSENT:
        record["key_policy"] = policy_document(policy)  # R1-S3-011
    if errors:
        record["errors"] = errors
    return record
