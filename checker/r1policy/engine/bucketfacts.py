"""Bucket facts for the S3 rules, from a state snapshot; what could not be read stays unavailable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from r1policy.project.config import Config
from r1policy.project.state import StateSnapshot

# The policy, writer, key and trail analysers are imported when a snapshot has the bucket (cold start:
# a --static check never reads one).

_PAB_KEYS = ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")
_NO_PAB = dict.fromkeys(_PAB_KEYS, False)
_AWS_MANAGED_S3_KEY = "alias/aws/s3"


@dataclass
class BucketFacts:
    """The facts of one S3 bucket as Cedar reads them, and why any of them is not known."""

    name: str
    attrs: dict[str, Any]
    # fact name -> why it is not known
    unavailable: dict[str, str] = field(default_factory=dict)
    known: bool = True

    @property
    def region(self) -> str | None:
        return self.attrs.get("region") or None


def _default_attrs(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "region": "",
        "encryption_algorithm": "none",
        "kms_key": "",
        "kms_customer_managed": False,
        "bucket_public_access_block": dict(_NO_PAB),
        "account_public_access_block": dict(_NO_PAB),
        "policy_public": True,
        "acl_public": True,
        "denies_insecure_transport": False,
        "versioning": "Disabled",
        "object_lock": False,
        "logging_enabled": False,
        "untrusted_writers": [],
        "untrusted_key_users": [],
        "write_events_recorded_by": [],
    }


ALL_FACTS = (
    "bucket.region",
    "bucket.encryption",
    "bucket.public_access_block",
    "bucket.account_public_access_block",
    "bucket.policy",
    "bucket.acl",
    "bucket.versioning",
    "bucket.object_lock",
    "bucket.logging",
    "bucket.writers",
    "bucket.key_policy",
    "bucket.data_events",
)


def unknown_bucket(name: str, why: str) -> BucketFacts:
    return BucketFacts(name, _default_attrs(name), dict.fromkeys(ALL_FACTS, why), known=False)


def bucket_facts(
    name: str, state: StateSnapshot | None, config: Config, *, no_state_hint: str
) -> BucketFacts:
    if state is None:
        return unknown_bucket(name, no_state_hint)
    entry = state.buckets.get(name)
    if entry is None:
        return unknown_bucket(
            name, f"bucket {name} is not in the state snapshot {state.path}; re-run `r1policy snapshot`"
        )
    from r1policy.engine.trustfacts import data_event_facts, key_policy_facts
    from r1policy.facts.bucketpolicy import PolicyDocumentError, acl_is_public, analyse_policy

    attrs = _default_attrs(name)
    missing: dict[str, str] = {}
    errors: dict[str, str] = entry.get("errors", {})

    def have(key: str, fact: str = "") -> bool:
        fact = fact or f"bucket.{key}"
        if key in errors:
            missing[fact] = f"{key} of bucket {name} could not be read: {errors[key]}"
            return False
        if key not in entry:
            missing[fact] = f"{key} of bucket {name} is not in the state snapshot {state.path}"
            return False
        return True

    if have("region"):
        attrs["region"] = entry["region"]
    if have("encryption"):
        _encryption(entry["encryption"], attrs, missing, state, config, name)
    if have("public_access_block"):
        attrs["bucket_public_access_block"] = entry["public_access_block"] or dict(_NO_PAB)
    _account_pab(entry, attrs, missing, state, name)
    if have("policy"):
        try:
            facts = analyse_policy(entry["policy"])
        except PolicyDocumentError as exc:
            missing["bucket.policy"] = f"policy of bucket {name} cannot be analysed: {exc}"
        else:
            attrs["policy_public"] = facts.public or bool(entry.get("policy_is_public"))
            attrs["denies_insecure_transport"] = facts.denies_insecure_transport
    if have("acl_grants", "bucket.acl"):
        attrs["acl_public"] = acl_is_public(entry["acl_grants"])
    _writers(entry, attrs, missing, config, name)
    if have("versioning"):
        attrs["versioning"] = entry["versioning"]
    if have("object_lock"):
        attrs["object_lock"] = bool(entry["object_lock"])
    if have("logging"):
        attrs["logging_enabled"] = entry["logging"] is not None
    key_policy_facts(entry, attrs, missing, state, config)
    data_event_facts(entry, attrs, missing, state)
    return BucketFacts(name, attrs, missing)


def _encryption(
    enc: dict[str, Any] | None,
    attrs: dict[str, Any],
    missing: dict[str, str],
    state: StateSnapshot,
    config: Config,
    name: str,
) -> None:
    if enc is None:
        return
    attrs["encryption_algorithm"] = enc["algorithm"]
    key = enc.get("kms_key") or ""
    attrs["kms_key"] = key
    if not enc["algorithm"].startswith("aws:kms"):
        return
    if not key or key.endswith(_AWS_MANAGED_S3_KEY):
        attrs["kms_customer_managed"] = False
        return
    info = state.kms_keys.get(key)
    if info is not None and "customer_managed" in info:
        attrs["kms_customer_managed"] = bool(info["customer_managed"])
    elif config.customer_managed_key:
        why = (info or {}).get("errors", {}).get("customer_managed", "not in the state snapshot")
        missing["bucket.encryption"] = (
            f"whether KMS key {key} of bucket {name} is customer-managed is unknown: {why}"
        )


def _account_pab(
    entry: dict[str, Any], attrs: dict[str, Any], missing: dict[str, str], state: StateSnapshot, name: str
) -> None:
    account = entry.get("account_id")
    fact = "bucket.account_public_access_block"
    if account is None:
        missing[fact] = entry.get("errors", {}).get(
            "account_id", f"the account of bucket {name} is not in the state snapshot"
        )
        return
    info = state.accounts.get(account)
    if info is None:
        missing[fact] = f"account {account} is not in the state snapshot {state.path}"
        return
    if "public_access_block" in info.get("errors", {}):
        missing[fact] = (
            f"account-level Block Public Access of {account} could not be read: "
            + info["errors"]["public_access_block"]
        )
        return
    if "public_access_block" not in info:
        missing[fact] = f"account-level Block Public Access of {account} is not in the state snapshot"
        return
    attrs["account_public_access_block"] = info["public_access_block"] or dict(_NO_PAB)


def _writers(
    entry: dict[str, Any], attrs: dict[str, Any], missing: dict[str, str], config: Config, name: str
) -> None:
    """R1-S3-009: principals outside the owning and trusted accounts that may write the bucket."""
    from r1policy.facts.bucketpolicy import PolicyDocumentError
    from r1policy.facts.bucketwriters import acl_writers, policy_writers, untrusted

    if "bucket.policy" in missing or "bucket.acl" in missing:
        return  # the rule requires both: already an error
    try:
        writers = policy_writers(entry["policy"], name)
    except PolicyDocumentError as exc:
        missing["bucket.writers"] = f"policy of bucket {name} cannot be analysed: {exc}"
        return
    writers |= acl_writers(entry["acl_grants"], entry.get("ownership"))
    outside, owner_needed = untrusted(writers, entry.get("account_id"), config.trusted_writer_accounts)
    if owner_needed:
        missing["bucket.writers"] = (
            f"the policy of bucket {name} lets named accounts write, and the bucket's own account is unknown"
        )
        return
    attrs["untrusted_writers"] = outside
