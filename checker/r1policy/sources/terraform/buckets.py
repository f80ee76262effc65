"""S3 buckets in a Terraform plan → `FileBucket`s (state-v1 bucket records), judged statically.

A fact comes from the split-out resource (`aws_s3_bucket_server_side_encryption_configuration`,
`_public_access_block`, `_versioning`, `_policy`, `_logging`, `_object_lock_configuration`, `_acl`),
else from the bucket's own (legacy or computed) attribute when the plan knows it, else — for a bucket
the plan creates — from what S3 does for every new bucket (SSE-S3, Block Public Access on, no
versioning, no logging, no object lock, private ACL). For a bucket the plan does not create, a fact
that the plan does not show is recorded as unknown (`errors`), never assumed. Split-out resources
find their bucket by the `bucket` value or, when that is known only after apply, by the configuration
reference. `aws_s3_account_public_access_block` gives the account-level setting for every bucket of
the plan.
"""

from __future__ import annotations

from typing import Any

from r1policy.core.findings import Location
from r1policy.core.model import FileBucket
from r1policy.sources.cloudformation.values import Unknown, iter_unknowns
from r1policy.sources.terraform.plan import Plan, Resource

PREFIX = "aws_s3_bucket_"
_PAB = ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")
_CANNED = {
    "public-read": [("Group:AllUsers", "READ")],
    "public-read-write": [("Group:AllUsers", "READ"), ("Group:AllUsers", "WRITE")],
    "authenticated-read": [("Group:AuthenticatedUsers", "READ")],
}
PLAN_ACCOUNT = "the-plan-account"


def file_buckets(plan: Plan) -> list[FileBucket]:
    buckets = {r.address: r for r in plan.resources if r.type == "aws_s3_bucket"}
    parts: dict[str, dict[str, Resource]] = {a: {} for a in buckets}
    for res in plan.resources:
        if not res.type.startswith(PREFIX):
            continue
        target = _target(plan, res, buckets)
        if target is not None:
            parts[target].setdefault(res.type[len(PREFIX) :], res)
    account = next((r for r in plan.resources if r.type == "aws_s3_account_public_access_block"), None)
    keys = {r.address for r in plan.resources if r.type == "aws_kms_key"}
    return [_bucket(plan, buckets[a], parts[a], account, keys) for a in sorted(buckets)]


def _target(plan: Plan, res: Resource, buckets: dict[str, Resource]) -> str | None:
    name = res.value("bucket")
    if isinstance(name, str):
        return next((a for a, b in buckets.items() if b.get("bucket") == name), None)
    refs = [a for a in res.references(("bucket",)) if a in buckets]
    return refs[0] if len(refs) == 1 else None


def _loc(res: Resource, *path: str | int) -> Location:
    pos = res.position(path)
    return Location(pos.path, pos.line, pos.column)


class _Facts:
    def __init__(self, bucket: Resource) -> None:
        self.bucket = bucket
        self.record: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.locations: dict[str, Location] = {}
        self.kms_keys: dict[str, dict[str, Any]] = {}

    def put(self, key: str, value: Any, where: Location, fact: str | None = None) -> None:
        unknown = list(iter_unknowns(value))
        if unknown:
            self.errors[key] = unknown[0].why
        else:
            self.record[key] = value
        self.locations[fact or f"bucket.{key}"] = where

    def default(self, key: str, value: Any, what: str, fact: str | None = None) -> None:
        """What S3 does for a new bucket, or unknown for a bucket the plan does not create."""
        if self.bucket.created:
            self.record[key] = value
        else:
            self.errors[key] = f"the {what} of existing bucket {self.bucket.address} is not in this plan"
        self.locations.setdefault(fact or f"bucket.{key}", _loc(self.bucket))


def _bucket(
    plan: Plan, bucket: Resource, parts: dict[str, Resource], account: Resource | None, keys: set[str]
) -> FileBucket:
    facts = _Facts(bucket)
    _encryption(facts, bucket, parts.get("server_side_encryption_configuration"), keys, plan)
    pab = parts.get("public_access_block")
    if pab is not None:
        facts.put("public_access_block", {k: pab.value(k) is True for k in _PAB}, _loc(pab))
        if any(isinstance(pab.value(k), Unknown) for k in _PAB):
            facts.errors["public_access_block"] = f"{pab.address} is known only after apply"
    else:
        facts.default("public_access_block", dict.fromkeys(_PAB, True), "Block Public Access")
    versioning = parts.get("versioning")
    if versioning is not None:
        status = versioning.value("versioning_configuration", 0, "status")
        facts.put(
            "versioning",
            status if status in ("Enabled", "Suspended") else status or "Disabled",
            _loc(versioning, "versioning_configuration"),
        )
    elif isinstance(bucket.get("versioning", 0, "enabled"), bool):
        facts.put(
            "versioning",
            "Enabled" if bucket.get("versioning", 0, "enabled") else "Disabled",
            _loc(bucket, "versioning"),
        )
    else:
        facts.default("versioning", "Disabled", "versioning")
    policy = parts.get("policy")
    if policy is not None:
        facts.put("policy", policy.value("policy"), _loc(policy, "policy"))
    elif isinstance(bucket.get("policy"), str) and not bucket.created:
        facts.put("policy", bucket.get("policy") or None, _loc(bucket, "policy"))
    else:
        facts.default("policy", None, "bucket policy")
    logging = parts.get("logging")
    if logging is not None:
        target = {
            "target_bucket": logging.value("target_bucket"),
            "target_prefix": logging.value("target_prefix") or "",
        }
        facts.put("logging", target, _loc(logging))
    else:
        facts.default("logging", None, "server access logging")
    lock = parts.get("object_lock_configuration")
    if lock is not None:
        facts.put("object_lock", lock.value("object_lock_enabled") in ("Enabled", None), _loc(lock))
    elif isinstance(bucket.get("object_lock_enabled"), bool):
        facts.put("object_lock", bucket.get("object_lock_enabled"), _loc(bucket, "object_lock_enabled"))
    else:
        facts.default("object_lock", False, "object lock")
    acl_res = parts.get("acl")
    acl = acl_res.value("acl") if acl_res is not None else bucket.get("acl")
    if isinstance(acl, str | Unknown):
        grants = [
            {"grantee": g, "permission": p}
            for g, p in [("CanonicalUser:owner", "FULL_CONTROL"), *_CANNED.get(str(acl), [])]
        ]
        facts.put(
            "acl_grants",
            acl if isinstance(acl, Unknown) else grants,
            _loc(acl_res or bucket, "acl"),
            "bucket.acl",
        )
    else:
        facts.default(
            "acl_grants",
            [{"grantee": "CanonicalUser:owner", "permission": "FULL_CONTROL"}],
            "ACL",
            "bucket.acl",
        )
    region = plan.region(bucket)
    if region:
        facts.record["region"] = region
    else:
        facts.errors["region"] = "the plan does not state the region of the AWS provider as a constant"
    accounts: dict[str, dict[str, Any]] = {}
    if account is not None:
        facts.record["account_id"] = PLAN_ACCOUNT
        values = {k: account.value(k) for k in _PAB}
        if any(isinstance(v, Unknown) for v in values.values()):
            accounts[PLAN_ACCOUNT] = {
                "errors": {"public_access_block": f"{account.address} is known only after apply"}
            }
        else:
            accounts[PLAN_ACCOUNT] = {"public_access_block": {k: v is True for k, v in values.items()}}
    if facts.errors:
        facts.record["errors"] = facts.errors
    return FileBucket(
        name=plan.bucket_name(bucket),
        record=facts.record,
        origin=_loc(bucket),
        locations=facts.locations,
        kms_keys=facts.kms_keys,
        accounts=accounts,
    )


def _encryption(facts: _Facts, bucket: Resource, sse: Resource | None, keys: set[str], plan: Plan) -> None:
    rule: tuple[str | int, ...]
    base: tuple[str | int, ...]
    if sse is not None:
        res, rule = sse, ("rule", 0)
        base = (*rule, "apply_server_side_encryption_by_default", 0)
    elif isinstance(bucket.get("server_side_encryption_configuration"), list) and bucket.get(
        "server_side_encryption_configuration", 0
    ):
        res, rule = bucket, ("server_side_encryption_configuration", 0, "rule", 0)
        base = (*rule, "apply_server_side_encryption_by_default", 0)
    else:
        facts.default("encryption", {"algorithm": "AES256"}, "default encryption")
        return
    algorithm = res.value(*base, "sse_algorithm")
    key = res.value(*base, "kms_master_key_id")
    where = _loc(res, *base) if res is sse else _loc(res, "server_side_encryption_configuration")
    if isinstance(algorithm, Unknown) or algorithm not in ("aws:kms", "aws:kms:dsse", "AES256"):
        facts.put("encryption", algorithm if isinstance(algorithm, Unknown) else None, where)
        if not isinstance(algorithm, Unknown):
            facts.errors["encryption"] = f"sse_algorithm {algorithm!r} is not one S3 knows"
        return
    record: dict[str, Any] = {
        "algorithm": algorithm,
        "bucket_key": res.value(*rule, "bucket_key_enabled") is True,
    }
    if isinstance(key, Unknown):
        record["kms_key"] = key.display
        if key.refs & keys:  # an aws_kms_key of the same plan is a customer-managed key
            facts.kms_keys[key.display] = {"customer_managed": True}
        else:
            facts.kms_keys[key.display] = {"errors": {"customer_managed": key.why}}
    elif isinstance(key, str) and key:
        record["kms_key"] = key
        owned = {plan.by_address[k].get(attr) for k in keys for attr in ("arn", "key_id", "id")}
        if key in owned:
            facts.kms_keys[key] = {"customer_managed": True}
    facts.put("encryption", record, where)
