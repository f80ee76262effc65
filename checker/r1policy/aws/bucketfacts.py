"""The S3 reads of one bucket, one task per fact (state-v1 bucket record fields).

Each fact is one read call (the policy adds GetBucketPolicyStatus when a policy exists): location,
encryption, public access block, policy, ACL, ownership controls, versioning, Object Lock, logging.
The reads of one bucket are independent tasks, so that they run side by side in the bucket's region
pool; ``assemble`` joins their results into the record. A failed read leaves its fact out of the
record and puts the reason under ``errors``; an absent configuration (its "not found" code) is
``None``; a bucket that does not exist makes every fact an error naming that.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from r1policy.aws.errors import CALL_ERRORS, classify, error_code
from r1policy.aws.session import AccountSession
from r1policy.core import jsonsafe

_PAB_FIELDS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}
_NO_BUCKET = "NoSuchBucket"
ABSENT = object()  # the call failed; the reason is in errors

ALL_FACTS = (
    "region",
    "encryption",
    "public_access_block",
    "policy",
    "acl_grants",
    "ownership",
    "versioning",
    "object_lock",
    "logging",
)


@dataclass
class FactRead:
    """What the read(s) of one fact gave: record fields, errors, or that the bucket does not exist."""

    fields: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    missing: str | None = None


class Reader:
    """Runs one read; absent-configuration codes map to ``None``, other failures to ``errors``."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        self.missing_bucket: str | None = None

    def __call__(self, fact: str, call: Callable[..., Any], absent: str = "", **kwargs: Any) -> Any:
        if self.missing_bucket is not None:
            self.errors[fact] = self.missing_bucket
            return ABSENT
        try:
            return call(**kwargs)
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            if absent and code == absent:
                return None
            reason = classify(exc)
            if code == _NO_BUCKET:
                self.missing_bucket = f"the bucket does not exist ({code})"
                reason = self.missing_bucket
            self.errors[fact] = reason
            return ABSENT
        except CALL_ERRORS as exc:
            self.errors[fact] = classify(exc)
            return ABSENT


def pab(config: Mapping[str, Any] | None) -> dict[str, bool] | None:
    if config is None:
        return None
    return {ours: bool(config.get(theirs, False)) for theirs, ours in _PAB_FIELDS.items()}


def region_of(location: Mapping[str, Any]) -> str:
    constraint = location.get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


def _encryption(got: Mapping[str, Any] | None) -> dict[str, Any]:
    rules = (got or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules") or []
    default = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if rules else {}
    algorithm = default.get("SSEAlgorithm")
    if not algorithm:
        return {"encryption": None}
    result: dict[str, Any] = {
        "algorithm": algorithm,
        "bucket_key": bool(rules[0].get("BucketKeyEnabled", False)),
    }
    if default.get("KMSMasterKeyID"):
        result["kms_key"] = default["KMSMasterKeyID"]
    return {"encryption": result}


def policy_document(got: Mapping[str, Any] | None) -> Any:
    if got is None:
        return None
    text = got.get("Policy", "")
    try:
        return jsonsafe.loads(text)
    except json.JSONDecodeError:
        return text  # kept verbatim: the engine reports the policy as unanalysable (error)


def _grants(got: Mapping[str, Any]) -> dict[str, Any]:
    owner = got.get("Owner", {}).get("ID")
    grants = []
    for grant in got.get("Grants", []):
        grantee = grant.get("Grantee", {})
        kind = grantee.get("Type", "")
        if kind == "Group":
            ident = grantee.get("URI", "")
        elif kind == "AmazonCustomerByEmail":
            ident = grantee.get("EmailAddress", "")
        else:
            ident = "owner" if grantee.get("ID") == owner else grantee.get("ID", "")
        grants.append({"grantee": f"{kind}:{ident}", "permission": grant.get("Permission", "")})
    return {"acl_grants": grants}


def _ownership(got: Mapping[str, Any] | None) -> dict[str, Any]:
    rules = (got or {}).get("OwnershipControls", {}).get("Rules") or [{}]
    return {"ownership": rules[0].get("ObjectOwnership")}


def _versioning(got: Mapping[str, Any]) -> dict[str, Any]:
    return {"versioning": got.get("Status") or "Disabled", "mfa_delete": got.get("MFADelete") == "Enabled"}


def _object_lock(got: Mapping[str, Any] | None) -> dict[str, Any]:
    config = (got or {}).get("ObjectLockConfiguration", {})
    return {"object_lock": config.get("ObjectLockEnabled") == "Enabled"}


def _logging(got: Mapping[str, Any]) -> dict[str, Any]:
    enabled = got.get("LoggingEnabled")
    if not enabled:
        return {"logging": None}
    return {
        "logging": {
            "target_bucket": enabled["TargetBucket"],
            "target_prefix": enabled.get("TargetPrefix", ""),
        }
    }


def _pab_fields(got: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"public_access_block": pab(got and got.get("PublicAccessBlockConfiguration"))}


# fact, client method, the error code that means "not configured", got -> record fields
_SIMPLE: Sequence[tuple[str, str, str, Callable[[Any], dict[str, Any]]]] = (
    ("encryption", "get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError", _encryption),
    ("public_access_block", "get_public_access_block", "NoSuchPublicAccessBlockConfiguration", _pab_fields),
    ("acl_grants", "get_bucket_acl", "", _grants),
    ("ownership", "get_bucket_ownership_controls", "OwnershipControlsNotFoundError", _ownership),
    ("versioning", "get_bucket_versioning", "", _versioning),
    ("object_lock", "get_object_lock_configuration", "ObjectLockConfigurationNotFoundError", _object_lock),
    ("logging", "get_bucket_logging", "", _logging),
)
# The order of the facts in a record (the policy between the public access block and the ACL).
FACT_READS: tuple[str, ...] = ("encryption", "public_access_block", "policy", *(f for f, *_ in _SIMPLE[2:]))
_BY_FACT = {fact: (method, absent, convert) for fact, method, absent, convert in _SIMPLE}


def read_fact(account: AccountSession, region: str, name: str, fact: str) -> FactRead:
    """One fact of bucket ``name`` (one task; the policy's two reads are one task, the second
    depending on the first)."""
    result = FactRead()
    read = Reader(result.errors)
    s3 = account.client("s3", region)
    if fact == "policy":
        _read_policy(read, s3, name, result)
    else:
        method, absent, convert = _BY_FACT[fact]
        got = read(fact, getattr(s3, method), absent, Bucket=name)
        if got is not ABSENT:
            result.fields = convert(got)
    result.missing = read.missing_bucket
    return result


def _read_policy(read: Reader, s3: Any, name: str, result: FactRead) -> None:
    got = read("policy", s3.get_bucket_policy, "NoSuchBucketPolicy", Bucket=name)
    if got is ABSENT:
        return
    result.fields["policy"] = policy_document(got)
    if got is None:
        return
    status = read("policy_is_public", s3.get_bucket_policy_status, "NoSuchBucketPolicy", Bucket=name)
    if status is not ABSENT:
        result.fields["policy_is_public"] = (
            None if status is None else bool(status.get("PolicyStatus", {}).get("IsPublic"))
        )


def assemble(
    region: str | None, located_errors: Mapping[str, str], reads: Sequence[FactRead]
) -> dict[str, Any]:
    """The bucket record from its location and its fact reads (in ``FACT_READS`` order).

    ``account_id`` is left to the caller (it knows which audited account owns the bucket)."""
    missing = next((r.missing for r in reads if r.missing is not None), None)
    if missing is not None:  # deleted between locating and reading
        return {"errors": dict.fromkeys(ALL_FACTS, missing)}
    record: dict[str, Any] = {} if region is None else {"region": region}
    errors = dict(located_errors)
    for read in reads:
        record.update(read.fields)
        errors.update(read.errors)
    if errors:
        record["errors"] = dict(sorted(errors.items()))
    return record
