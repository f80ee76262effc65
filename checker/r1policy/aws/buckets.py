"""S3 bucket facts (state-v1 bucket records), account-level Block Public Access and KMS key facts.

Per bucket at most 11 read calls (location, encryption, public access block, policy, policy status
when a policy exists, ACL, ownership controls, versioning, Object Lock, logging); per account one
ListBuckets (to know which audited account owns a bucket) and one S3 Control GetPublicAccessBlock;
per KMS key one DescribeKey and, for customer-managed keys, one GetKeyRotationStatus.
A failed read leaves its fact out of the record and puts the reason under ``errors``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from r1policy.aws.errors import CALL_ERRORS, classify, error_code
from r1policy.aws.pools import Pools
from r1policy.aws.session import AccountSession
from r1policy.core import jsonsafe

Progress = Callable[[str, int, int], None]

_PAB_FIELDS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}
_NO_BUCKET = "NoSuchBucket"
_ABSENT = object()  # the call failed; the reason is in errors


@dataclass
class BucketCollection:
    """The bucket-related parts of a state-v1 document."""

    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    kms_keys: dict[str, dict[str, Any]] = field(default_factory=dict)


def _pab(config: Mapping[str, Any] | None) -> dict[str, bool] | None:
    if config is None:
        return None
    return {ours: bool(config.get(theirs, False)) for theirs, ours in _PAB_FIELDS.items()}


class _Reader:
    """Runs one read; absent-configuration codes map to ``None``, other failures to ``errors``."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        self.missing_bucket: str | None = None

    def __call__(self, fact: str, call: Callable[..., Any], absent: str = "", **kwargs: Any) -> Any:
        if self.missing_bucket is not None:
            self.errors[fact] = self.missing_bucket
            return _ABSENT
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
            return _ABSENT
        except CALL_ERRORS as exc:
            self.errors[fact] = classify(exc)
            return _ABSENT


def _region_of(location: Mapping[str, Any]) -> str:
    constraint = location.get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


_ALL_FACTS = (
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
class Located:
    """Phase 1 of a bucket read (account pool): where the bucket is, or why that is unknown."""

    name: str
    region: str | None
    errors: dict[str, str]
    missing: str | None  # set when the bucket does not exist


def locate_bucket(account: AccountSession, name: str) -> Located:
    errors: dict[str, str] = {}
    read = _Reader(errors)
    location = read("region", account.client("s3").get_bucket_location, Bucket=name)
    region = None if location is _ABSENT else _region_of(location)
    return Located(name, region, errors, read.missing_bucket)


def read_bucket(account: AccountSession, located: Located) -> dict[str, Any]:
    """Phase 2 (region pool): the bucket's facts, read with the given account's credentials.

    ``account_id`` is left to the caller (it knows which audited account owns the bucket)."""
    name, errors = located.name, dict(located.errors)
    if located.missing is not None:
        return {"errors": dict.fromkeys(_ALL_FACTS, located.missing)}
    read = _Reader(errors)
    record: dict[str, Any] = {}
    if located.region is not None:
        record["region"] = located.region
    s3 = account.client("s3", located.region or account.default_region)

    got = read(
        "encryption", s3.get_bucket_encryption, "ServerSideEncryptionConfigurationNotFoundError", Bucket=name
    )
    if got is not _ABSENT:
        record["encryption"] = _encryption(got)
    got = read(
        "public_access_block", s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration", Bucket=name
    )
    if got is not _ABSENT:
        record["public_access_block"] = _pab(got and got.get("PublicAccessBlockConfiguration"))
    got = read("policy", s3.get_bucket_policy, "NoSuchBucketPolicy", Bucket=name)
    if got is not _ABSENT:
        record["policy"] = _policy(got)
        if got is not None:
            status = read("policy_is_public", s3.get_bucket_policy_status, "NoSuchBucketPolicy", Bucket=name)
            if status is not _ABSENT:
                record["policy_is_public"] = (
                    None if status is None else bool(status.get("PolicyStatus", {}).get("IsPublic"))
                )
    got = read("acl_grants", s3.get_bucket_acl, Bucket=name)
    if got is not _ABSENT:
        record["acl_grants"] = _grants(got)
    got = read("ownership", s3.get_bucket_ownership_controls, "OwnershipControlsNotFoundError", Bucket=name)
    if got is not _ABSENT:
        rules = (got or {}).get("OwnershipControls", {}).get("Rules") or [{}]
        record["ownership"] = rules[0].get("ObjectOwnership")
    got = read("versioning", s3.get_bucket_versioning, Bucket=name)
    if got is not _ABSENT:
        record["versioning"] = got.get("Status") or "Disabled"
        record["mfa_delete"] = got.get("MFADelete") == "Enabled"
    got = read(
        "object_lock", s3.get_object_lock_configuration, "ObjectLockConfigurationNotFoundError", Bucket=name
    )
    if got is not _ABSENT:
        record["object_lock"] = (got or {}).get("ObjectLockConfiguration", {}).get(
            "ObjectLockEnabled"
        ) == "Enabled"
    got = read("logging", s3.get_bucket_logging, Bucket=name)
    if got is not _ABSENT:
        enabled = got.get("LoggingEnabled")
        record["logging"] = (
            {"target_bucket": enabled["TargetBucket"], "target_prefix": enabled.get("TargetPrefix", "")}
            if enabled
            else None
        )
    if read.missing_bucket is not None:  # deleted between the two phases
        return {"errors": dict.fromkeys(_ALL_FACTS, read.missing_bucket)}
    if errors:
        record["errors"] = dict(sorted(errors.items()))
    return record


def _encryption(got: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if got is None:
        return None
    rules = got.get("ServerSideEncryptionConfiguration", {}).get("Rules") or []
    if not rules:
        return None
    rule = rules[0]
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    algorithm = default.get("SSEAlgorithm")
    if not algorithm:
        return None
    result: dict[str, Any] = {"algorithm": algorithm, "bucket_key": bool(rule.get("BucketKeyEnabled", False))}
    if default.get("KMSMasterKeyID"):
        result["kms_key"] = default["KMSMasterKeyID"]
    return result


def _policy(got: Mapping[str, Any] | None) -> Any:
    if got is None:
        return None
    text = got.get("Policy", "")
    try:
        return jsonsafe.loads(text)
    except json.JSONDecodeError:
        return text  # kept verbatim: the engine reports the policy as unanalysable (error)


def _grants(got: Mapping[str, Any]) -> list[dict[str, str]]:
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
    return grants


def owned_buckets(account: AccountSession) -> tuple[set[str] | None, str | None]:
    """The names of the buckets the account owns (ListBuckets), or the reason they are unknown."""
    names: set[str] = set()
    try:
        for page in account.client("s3").get_paginator("list_buckets").paginate():
            names.update(b["Name"] for b in page.get("Buckets", []))
    except CALL_ERRORS as exc:
        return None, classify(exc)
    return names, None


def account_public_access_block(account: AccountSession) -> dict[str, Any]:
    errors: dict[str, str] = {}
    got = _Reader(errors)(
        "public_access_block",
        account.client("s3control").get_public_access_block,
        "NoSuchPublicAccessBlockConfiguration",
        AccountId=account.account_id,
    )
    if got is _ABSENT:
        return {"errors": errors}
    return {"public_access_block": _pab(got and got.get("PublicAccessBlockConfiguration"))}


def key_region(key: str, default: str) -> str:
    parts = key.split(":")
    return parts[3] if key.startswith("arn:") and len(parts) > 3 and parts[3] else default


def read_kms_key(account: AccountSession, key: str, region: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    read = _Reader(errors)
    kms = account.client("kms", key_region(key, region))
    described = read("customer_managed", kms.describe_key, KeyId=key)
    if described is _ABSENT:
        return {"errors": errors}
    meta = described.get("KeyMetadata", {})
    record: dict[str, Any] = {"customer_managed": meta.get("KeyManager") == "CUSTOMER"}
    if record["customer_managed"] and meta.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT":
        rotation = read("rotation_enabled", kms.get_key_rotation_status, KeyId=meta.get("Arn", key))
        if rotation is not _ABSENT:
            record["rotation_enabled"] = bool(rotation.get("KeyRotationEnabled"))
    else:
        record["rotation_enabled"] = None  # AWS-managed keys rotate on AWS's schedule; asymmetric never
    if errors:
        record["errors"] = errors
    return record


def collect_buckets(
    accounts: Sequence[AccountSession],
    names: Iterable[str],
    *,
    pools: Pools,
    referenced_by: Mapping[str, str] | None = None,
    extra_kms_keys: Iterable[tuple[str, str, str]] = (),
    progress: Progress | None = None,
) -> BucketCollection:
    """Read every named bucket once, with the credentials of the audited account that owns it.

    ``referenced_by`` maps a bucket to the account id of the resource that loads from it; a bucket
    that no audited account owns is read with that account's credentials (else the first account's),
    and its ``account_id`` is recorded as unknown. ``extra_kms_keys``: ``(account id, region, key)``
    of KMS keys referenced elsewhere (endpoint configs) to describe as well.
    """
    wanted = sorted(set(names))
    result = BucketCollection()
    if not accounts:
        return result
    by_id = {a.account_id: a for a in accounts}
    listings = dict(
        zip(
            by_id,
            Pools.wait(pools.submit(a.account_id, "", owned_buckets, a) for a in accounts),
            strict=True,
        )
    )
    owners: dict[str, str] = {}
    for account_id, (owned, _) in listings.items():
        for name in owned or ():
            owners.setdefault(name, account_id)
    failed_listing = "; ".join(f"ListBuckets of {a}: {why}" for a, (_, why) in listings.items() if why)
    needed_accounts = sorted({owners[n] for n in wanted if n in owners})
    for account_id, record in zip(
        needed_accounts,
        Pools.wait(pools.submit(a, "", account_public_access_block, by_id[a]) for a in needed_accounts),
        strict=True,
    ):
        result.accounts[account_id] = record

    def reader_of(name: str) -> AccountSession:
        owner = owners.get(name) or (referenced_by or {}).get(name, "")
        return by_id.get(owner, accounts[0])

    def locate_then_read(reader: AccountSession, name: str) -> tuple[Located, Future[dict[str, Any]]]:
        # Runs in the account pool; hands the facts to the bucket's region pool without waiting,
        # so locating and reading overlap (no phase barrier, no pool waits on itself).
        loc = locate_bucket(reader, name)
        region = loc.region or reader.default_region
        return loc, pools.submit(reader.account_id, region, read_bucket, reader, loc)

    staged = Pools.wait(
        pools.submit(reader_of(n).account_id, "", locate_then_read, reader_of(n), n) for n in wanted
    )
    located = [loc for loc, _ in staged]
    futures = [future for _, future in staged]
    for done, (loc, future) in enumerate(zip(located, futures, strict=True), start=1):
        name, record = loc.name, future.result()
        if name in owners:
            record["account_id"] = owners[name]
        elif loc.missing is None:
            why = (
                f"bucket {name} is not owned by any audited account "
                f"({', '.join(sorted(by_id))}); audit its owner with --profiles/--role-arns"
            )
            if failed_listing:
                why = f"the owner of bucket {name} is unknown ({failed_listing})"
            record.setdefault("errors", {})["account_id"] = why
        result.buckets[name] = record
        if progress is not None:
            progress("buckets", done, len(wanted))

    keys: dict[str, tuple[AccountSession, str]] = {}
    for name, record in result.buckets.items():
        enc = record.get("encryption") or {}
        key = enc.get("kms_key")
        if key and enc.get("algorithm", "").startswith("aws:kms") and key not in keys:
            keys[key] = (reader_of(name), record.get("region") or reader_of(name).default_region)
    for account_id, region, key in extra_kms_keys:
        if key not in keys:
            keys[key] = (by_id.get(account_id, accounts[0]), region)
    key_futures = {
        key: pools.submit(acct.account_id, key_region(key, region), read_kms_key, acct, key, region)
        for key, (acct, region) in keys.items()
    }
    for key, future in key_futures.items():
        result.kms_keys[key] = future.result()
    return result
