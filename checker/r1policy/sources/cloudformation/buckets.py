"""S3 buckets (+ bucket policies) and KMS keys defined in a CloudFormation template → `FileBucket`s.

Each bucket becomes a state-v1-shaped record (schemas/state-v1.schema.json) so that the S3 rules
judge it exactly like a bucket from a snapshot. What CloudFormation does for a new bucket when a
property is absent is a fact, not a guess: default encryption SSE-S3 (since January 2023), no
versioning, no server access logging, no object lock, a private ACL. Block Public Access is read
only when the template sets it; an absent `PublicAccessBlockConfiguration` is recorded as all four
settings on, which is what S3 applies to every new bucket since April 2023. Values that the template
does not decide are recorded under `errors`, so that the rules that need them are `error` (or
`skipped` with `--static`).
"""

from __future__ import annotations

from typing import Any

from r1policy.core.findings import Location
from r1policy.core.model import FileBucket
from r1policy.sources.cloudformation.resolve import Template
from r1policy.sources.cloudformation.trails import attach, file_trails
from r1policy.sources.cloudformation.values import (
    NOVALUE,
    Unknown,
    display,
    iter_unknowns,
    with_displays,
)

BUCKET = "AWS::S3::Bucket"
BUCKET_POLICY = "AWS::S3::BucketPolicy"
KMS_KEY = "AWS::KMS::Key"
_PAB = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}
_CANNED_ACL = {
    "PublicRead": [("Group:AllUsers", "READ")],
    "PublicReadWrite": [("Group:AllUsers", "READ"), ("Group:AllUsers", "WRITE")],
    "AuthenticatedRead": [("Group:AuthenticatedUsers", "READ")],
}
# Keys of a policy statement whose value decides whether it grants public access.
_DECISIVE = ("Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Condition")
# The bucket fact -> the property that sets it (its location when the template sets it).
_SET_BY = {
    "encryption": "BucketEncryption",
    "public_access_block": "PublicAccessBlockConfiguration",
    "versioning": "VersioningConfiguration",
    "object_lock": "ObjectLockEnabled",
    "logging": "LoggingConfiguration",
    "acl": "AccessControl",
}


def bucket_name(template: Template, logical: str) -> str:
    """The bucket's name, or `${Logical}` when CloudFormation generates it (the same text `!Sub` shows)."""
    name = template.name_of(logical, ("Resources", logical))
    return display(name)


def file_buckets(template: Template, live: set[str]) -> list[FileBucket]:
    keys = {logical for logical in live if template.type_of(logical) == KMS_KEY}
    policies = _policies(template, live)
    trails = file_trails(template, live)
    buckets: list[FileBucket] = []
    for logical in sorted(live):
        if template.type_of(logical) == BUCKET:
            bucket = _bucket(template, logical, keys, policies.get(logical))
            attach(bucket.record, bucket.record.setdefault("errors", {}), bucket.name, trails)
            if not bucket.record["errors"]:
                del bucket.record["errors"]
            buckets.append(bucket)
    return buckets


def _policies(template: Template, live: set[str]) -> dict[str, tuple[str, Any]]:
    """Bucket logical id (or literal name) -> (policy logical id, resolved document)."""
    found: dict[str, tuple[str, Any]] = {}
    names = {bucket_name(template, b): b for b in live if template.type_of(b) == BUCKET}
    for logical in sorted(live):
        if template.type_of(logical) != BUCKET_POLICY:
            continue
        base = ("Resources", logical, "Properties")
        props = template.properties(logical)
        target = template.resolve(props.get("Bucket"), (*base, "Bucket"))
        document = template.resolve(props.get("PolicyDocument"), (*base, "PolicyDocument"))
        key = names.get(display(target))
        if key is None and isinstance(target, Unknown):
            key = next((r for r in sorted(target.refs) if r in names.values()), None)
        if key is not None:
            found.setdefault(key, (logical, document))
    return found


def _bucket(template: Template, logical: str, keys: set[str], policy: tuple[str, Any] | None) -> FileBucket:
    base = ("Resources", logical, "Properties")
    props = template.resolve(template.properties(logical), base)
    name = bucket_name(template, logical)
    errors: dict[str, str] = {}
    locations: dict[str, Location] = {}
    record: dict[str, Any] = {}
    if "AWS::Region" in template.pseudo:  # the stack's region is known (a CDK environment)
        record["region"] = template.pseudo["AWS::Region"]
    else:
        errors["region"] = (
            "a CloudFormation bucket is created in the deploying stack's region, "
            "which the template does not state"
        )
    for fact, key in _SET_BY.items():  # where the template sets it; else the bucket's own line
        if key in props:
            pos = template.doc.position((*base, key), key=True)
            locations[f"bucket.{fact}"] = Location(pos.path, pos.line, pos.column)
    kms_keys: dict[str, dict[str, Any]] = {}
    record["encryption"] = _encryption(props.get("BucketEncryption"), keys, kms_keys, errors)
    for key, info in kms_keys.items():
        if info.get("customer_managed") and isinstance(info.get("logical"), str):
            kms_keys[key] = {"customer_managed": True, **_key_policy(template, info["logical"])}
    record["public_access_block"] = _pab(props.get("PublicAccessBlockConfiguration"), errors)
    _settings(props, name, record, errors)
    record["policy"] = None
    if policy is not None:
        _policy(template, policy, record, errors, locations)
    if errors:
        record["errors"] = errors
    origin_pos = template.doc.position(("Resources", logical), key=True)
    return FileBucket(
        name=name,
        record=record,
        origin=Location(origin_pos.path, origin_pos.line, origin_pos.column),
        locations=locations,
        kms_keys=kms_keys,
    )


def _settings(props: dict[str, Any], name: str, record: dict[str, Any], errors: dict[str, str]) -> None:
    """Versioning, object lock, logging and the canned ACL: CloudFormation's defaults when absent."""
    status = props.get("VersioningConfiguration", {}).get("Status", "Disabled")
    if isinstance(status, Unknown):
        errors["versioning"] = f"VersioningConfiguration.Status is not decided by the template: {status.why}"
    else:
        record["versioning"] = status if status in ("Enabled", "Suspended") else "Disabled"
    lock = props.get("ObjectLockEnabled", False)
    if isinstance(lock, Unknown):
        errors["object_lock"] = f"ObjectLockEnabled is not decided by the template: {lock.why}"
    else:
        record["object_lock"] = lock is True or str(lock).lower() == "true"
    logging = props.get("LoggingConfiguration")
    record["logging"] = (
        {
            "target_bucket": display(logging.get("DestinationBucketName", name)),
            "target_prefix": display(logging.get("LogFilePrefix", "")),
        }
        if isinstance(logging, dict)
        else None
    )
    acl = props.get("AccessControl", "Private")
    if isinstance(acl, Unknown):
        errors["acl_grants"] = f"AccessControl is not decided by the template: {acl.why}"
    else:
        grants = [("CanonicalUser:owner", "FULL_CONTROL"), *_CANNED_ACL.get(str(acl), [])]
        record["acl_grants"] = [{"grantee": g, "permission": p} for g, p in grants]


def _policy(
    template: Template,
    policy: tuple[str, Any],
    record: dict[str, Any],
    errors: dict[str, str],
    locations: dict[str, Location],
) -> None:
    """The bucket's policy document, unless a statement's decisive key is not decided by the template."""
    policy_logical, document = policy
    unknown = [u for stmt in _statements(document) for k in _DECISIVE for u in iter_unknowns(stmt.get(k))]
    if unknown:
        errors["policy"] = (
            f"bucket policy {policy_logical} uses values the template does not decide: {unknown[0].why}"
        )
    else:
        record["policy"] = with_displays(document)
    pos = template.doc.position(("Resources", policy_logical, "Properties", "PolicyDocument"), key=True)
    locations["bucket.policy"] = Location(pos.path, pos.line, pos.column)


def _encryption(
    spec: Any, keys: set[str], kms_keys: dict[str, dict[str, Any]], errors: dict[str, str]
) -> dict[str, Any] | None:
    if spec is None:
        return {"algorithm": "AES256"}  # S3 encrypts every new bucket with SSE-S3 by default
    rules = spec.get("ServerSideEncryptionConfiguration") if isinstance(spec, dict) else None
    rule = rules[0] if isinstance(rules, list) and rules and isinstance(rules[0], dict) else {}
    default = rule.get("ServerSideEncryptionByDefault", {})
    algorithm = default.get("SSEAlgorithm") if isinstance(default, dict) else None
    if isinstance(algorithm, Unknown) or algorithm not in ("aws:kms", "aws:kms:dsse", "AES256"):
        why = (
            algorithm.why
            if isinstance(algorithm, Unknown)
            else f"SSEAlgorithm {algorithm!r} is not one S3 knows"
        )
        errors["encryption"] = f"the default encryption is not decided by the template: {why}"
        return None
    result: dict[str, Any] = {"algorithm": algorithm, "bucket_key": rule.get("BucketKeyEnabled") is True}
    key = default.get("KMSMasterKeyID")
    if key is None or key is NOVALUE:
        return result
    result["kms_key"] = display(key)
    if isinstance(key, Unknown):
        if key.refs & keys:  # an AWS::KMS::Key of the same template is a customer-managed key
            kms_keys[display(key)] = {"customer_managed": True, "logical": sorted(key.refs & keys)[0]}
        elif key.maybe_absent:
            errors["encryption"] = (
                f"whether the bucket has a KMS key is not decided by the template: {key.why}"
            )
        else:
            kms_keys[display(key)] = {"errors": {"customer_managed": key.why}}
    return result


def _pab(spec: Any, errors: dict[str, str]) -> dict[str, bool] | None:
    if spec is None:
        return dict.fromkeys(_PAB.values(), True)  # S3's default for every new bucket since April 2023
    result: dict[str, bool] = {}
    for key, field in _PAB.items():
        value = spec.get(key, False) if isinstance(spec, dict) else False
        if isinstance(value, Unknown):
            errors["public_access_block"] = (
                f"PublicAccessBlockConfiguration.{key} is not decided: {value.why}"
            )
            return None
        result[field] = value is True or str(value).lower() == "true"
    return result


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement")
    items = statements if isinstance(statements, list) else [statements]
    return [s for s in items if isinstance(s, dict)]


def _key_policy(template: Template, logical: str) -> dict[str, Any]:
    """R1-S3-011: the KeyPolicy of an AWS::KMS::Key of the template (absent: KMS's default policy, which
    lets only the key's own account use the key). `${AWS::AccountId}` is the key's own account."""
    path = ("Resources", logical, "Properties", "KeyPolicy")
    document = template.resolve(template.properties(logical).get("KeyPolicy"), path)
    if document is None or document is NOVALUE:
        return {"key_policy": None}
    unknown = [
        u
        for stmt in _statements(document)
        for k in _DECISIVE
        for u in iter_unknowns(stmt.get(k))
        if not _own_account(u)
    ]
    if unknown:
        return {
            "errors": {
                "key_policy": f"key policy of {logical} uses values the template does not decide: "
                f"{unknown[0].why}"
            }
        }
    return {"key_policy": with_displays(document)}


def _own_account(value: Unknown) -> bool:
    """Whether the template leaves only the deploying account open in the value (`${AWS::AccountId}`)."""
    rest = value.display.replace("${AWS::AccountId}", "")
    return not value.refs and rest != value.display and "${" not in rest
