"""Bucket policy and ACL analysis (R1-S3-003, R1-S3-004)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from r1policy.core import jsonsafe

# Condition keys that pin a statement to known callers or networks.
_RESTRICTING_KEYS = {
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:sourceip",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:principalarn",
    "aws:userid",
    "aws:username",
    "aws:principalservicename",
}
_PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    "AllUsers",
    "AuthenticatedUsers",
}


class PolicyDocumentError(ValueError):
    """The bucket policy is not a readable IAM policy document."""


@dataclass(frozen=True)
class PolicyFacts:
    public: bool
    denies_insecure_transport: bool


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _as_list(v) for v in principal.values())
    return False


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    condition = statement.get("Condition") or {}
    if not isinstance(condition, dict):
        raise PolicyDocumentError("Condition must be an object")
    for block in condition.values():
        if isinstance(block, dict):
            keys.update(k.lower() for k in block)
    return keys


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Deny" or not _principal_is_everyone(statement.get("Principal")):
        return False
    actions = {str(a).lower() for a in _as_list(statement.get("Action"))}
    if not actions & {"s3:*", "*", "s3:getobject"}:
        return False
    condition = statement.get("Condition") or {}
    for operator, block in condition.items():
        if not isinstance(block, dict):
            continue
        for key, value in block.items():
            if key.lower() != "aws:securetransport":
                continue
            values = {str(v).lower() for v in _as_list(value)}
            if operator.lower().startswith("bool") and "false" in values:
                return True
    return False


def analyse_policy(policy: Any) -> PolicyFacts:
    """Decide whether a policy grants public access and whether it denies non-TLS requests."""
    if policy is None:
        return PolicyFacts(public=False, denies_insecure_transport=False)
    if isinstance(policy, str):
        try:
            policy = jsonsafe.loads(policy)
        except json.JSONDecodeError as exc:
            raise PolicyDocumentError(
                f"bucket policy is not valid JSON: {exc.msg} at line {exc.lineno}"
            ) from exc
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise PolicyDocumentError("bucket policy has no Statement")
    public = False
    tls = False
    for statement in _as_list(policy["Statement"]):
        if not isinstance(statement, dict):
            raise PolicyDocumentError("a policy statement must be an object")
        if (
            statement.get("Effect") == "Allow"
            and _principal_is_everyone(statement.get("Principal"))
            and not (_condition_keys(statement) & _RESTRICTING_KEYS)
        ):
            public = True
        if _denies_plain_http(statement):
            tls = True
    return PolicyFacts(public=public, denies_insecure_transport=tls)


def acl_is_public(grants: list[dict[str, str]]) -> bool:
    return any(
        g.get("grantee", "").split(":", 1)[-1] in _PUBLIC_GRANTEES or g.get("grantee") in _PUBLIC_GRANTEES
        for g in grants
    )
