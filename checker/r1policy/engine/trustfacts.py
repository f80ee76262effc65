"""Bucket facts for tamper evidence and key trust: R1-S3-010 (CloudTrail data events) and R1-S3-011
(who outside the key's account can use the bucket's KMS key). What could not be read stays unavailable."""

from __future__ import annotations

import re
from typing import Any

from r1policy.facts.bucketpolicy import PolicyDocumentError
from r1policy.facts.bucketwriters import untrusted
from r1policy.facts.keypolicy import key_users
from r1policy.facts.trails import TrailError, recorders
from r1policy.project.config import Config
from r1policy.project.state import StateSnapshot

_AWS_MANAGED_S3_KEY = "alias/aws/s3"
_KEY_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:kms:[^:]*:(\d{12}):")
_OWN_ACCOUNT = "${AWS::AccountId}"  # a CloudFormation key policy naming the deploying account


def key_policy_facts(
    entry: dict[str, Any],
    attrs: dict[str, Any],
    missing: dict[str, str],
    state: StateSnapshot,
    config: Config,
) -> None:
    """R1-S3-011: `untrusted_key_users`, the principals outside the key's (and bucket's) account and the
    trusted accounts that the key policy lets decrypt, encrypt or administer the bucket's KMS key."""
    name, fact = attrs["name"], "bucket.key_policy"
    if "encryption" in entry.get("errors", {}) or "encryption" not in entry:
        why = entry.get("errors", {}).get("encryption", "it is not in the state snapshot")
        missing[fact] = f"the default encryption (and so the KMS key) of bucket {name} is unknown: {why}"
        return
    enc = entry["encryption"] or {}
    key = enc.get("kms_key") or ""
    kms = str(enc.get("algorithm", "")).startswith("aws:kms")
    if not kms or not key or key.endswith(_AWS_MANAGED_S3_KEY):
        return  # no key, or the AWS-managed key whose policy admits only its own account's callers
    info = state.kms_keys.get(key)
    if info is None or ("key_policy" not in info and "key_policy" not in info.get("errors", {})):
        missing[fact] = f"the key policy of KMS key {key} of bucket {name} is not in the state snapshot"
        return
    if "key_policy" in info.get("errors", {}):
        missing[fact] = f"the key policy of KMS key {key} of bucket {name} could not be read: " + str(
            info["errors"]["key_policy"]
        )
        return
    try:
        users = key_users(info["key_policy"]) if info["key_policy"] is not None else set()
    except PolicyDocumentError as exc:
        missing[fact] = f"the key policy of KMS key {key} of bucket {name} cannot be analysed: {exc}"
        return
    users = {u for u in users if _OWN_ACCOUNT not in u}
    owner = m.group(1) if (m := _KEY_ACCOUNT.match(key)) else None
    bucket_account = entry.get("account_id")
    trusted = (*config.trusted_writer_accounts, *([bucket_account] if bucket_account else []))
    outside, owner_needed = untrusted(users, owner or bucket_account, trusted)
    if owner_needed:
        missing[fact] = (
            f"the key policy of KMS key {key} of bucket {name} names accounts, and the key's own account "
            "is unknown"
        )
        return
    attrs["untrusted_key_users"] = outside


def data_event_facts(
    entry: dict[str, Any], attrs: dict[str, Any], missing: dict[str, str], state: StateSnapshot
) -> None:
    """R1-S3-010: `write_events_recorded_by`, the logging trails whose event selectors record every
    object write of the bucket (its region must be known: a single-region trail records only its own)."""
    name, fact = attrs["name"], "bucket.data_events"
    if "trails" in entry.get("errors", {}):
        missing[fact] = f"the CloudTrail trails covering bucket {name} could not be read: " + str(
            entry["errors"]["trails"]
        )
        return
    if "trails" not in entry and "account_id" in entry.get("errors", {}):
        missing[fact] = f"the CloudTrail trails of the owner of bucket {name} are unknown: " + str(
            entry["errors"]["account_id"]
        )
        return
    if "trails" not in entry:
        missing[fact] = (
            f"the CloudTrail trails covering bucket {name} are not in the state snapshot {state.path}"
        )
        return
    region = entry.get("region")
    try:
        found, partial = recorders(entry["trails"], name, region)
    except TrailError as exc:
        missing[fact] = f"a CloudTrail trail covering bucket {name} cannot be analysed: {exc}"
        return
    if not found and partial:
        missing[fact] = partial
        return
    attrs["write_events_recorded_by"] = found
