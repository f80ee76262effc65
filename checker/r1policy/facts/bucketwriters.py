"""Who outside the owning account can write the model bucket through its bucket policy or ACL (R1-S3-009).

Conservative for a prohibition: a statement that may allow a write counts. Deny statements are not
subtracted (a Deny rarely covers every path; the finding names the Allow to remove). Action and resource
patterns use IAM's `*` / `?` wildcards (case-insensitive for actions); `NotAction` / `NotResource` allow
everything they do not name. A condition narrows an `Allow` for everyone only when it pins
`aws:PrincipalAccount` / `aws:SourceAccount` (StringEquals) to the owner or trusted accounts; any other
condition may be met by another account, so the writer stays (marked "conditional"). Service principals
act for AWS services and are not accounts. ACL grants of WRITE, WRITE_ACP or FULL_CONTROL to anyone but
the owner count unless the bucket's Object Ownership is BucketOwnerEnforced (ACLs disabled).
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from r1policy.core import jsonsafe
from r1policy.facts.bucketpolicy import PolicyDocumentError

# What replaces, deletes or re-ACLs approved weights, or lets a caller grant itself that.
WRITE_ACTIONS = (
    "s3:putobject",
    "s3:putobjectacl",
    "s3:putobjectversionacl",
    "s3:deleteobject",
    "s3:deleteobjectversion",
    "s3:putbucketpolicy",
    "s3:putbucketacl",
)
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")
_ACL_WRITE = {"WRITE", "WRITE_ACP", "FULL_CONTROL"}
_PINNING_KEYS = frozenset({"aws:principalaccount", "aws:sourceaccount"})


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.lower().replace("[", "[[]"))


def _writes(statement: dict[str, Any]) -> bool:
    if "NotAction" in statement:
        excluded = [str(a).lower() for a in _as_list(statement["NotAction"])]
        return any(not any(_matches(p, a) for p in excluded) for a in WRITE_ACTIONS)
    patterns = [str(a).lower() for a in _as_list(statement.get("Action"))]
    return any(_matches(p, a) for p in patterns for a in WRITE_ACTIONS)


def _covers_bucket(statement: dict[str, Any], bucket: str) -> bool:
    """Whether a Resource (or what a NotResource leaves) may name the bucket or any object in it."""

    def hit(resource: Any) -> bool:
        text = str(resource)
        m = re.match(r"^arn:aws[a-z-]*:s3:::([^/]*)", text)
        if m:  # an S3 ARN: its bucket part decides, whatever prefix of the bucket it names
            return fnmatch.fnmatchcase(bucket, m.group(1).replace("[", "[[]"))
        if not text.startswith("arn:") and text != "*":
            return True  # a value r1policy cannot read (e.g. a template intrinsic): may name the bucket
        pattern = text.replace("[", "[[]")
        return any(fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket}{tail}", pattern) for tail in ("", "/x"))

    if "NotResource" in statement:
        # everything outside NotResource is allowed: only a NotResource naming the whole bucket excludes it
        whole = (f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}*", "arn:aws:s3:::*", "*")
        return not any(str(r) in whole for r in _as_list(statement["NotResource"]))
    return any(hit(r) for r in _as_list(statement.get("Resource")))


def _principals(principal: Any) -> list[str]:
    """'*' for everyone, account ids, or other principal strings (federated, canonical users)."""
    if principal == "*":
        return ["*"]
    if not isinstance(principal, dict):
        raise PolicyDocumentError('Principal must be "*" or an object')
    found: list[str] = []
    for kind, values in principal.items():
        if kind == "Service":
            continue
        for value in _as_list(values):
            text = str(value)
            if text == "*":
                found.append("*")
            elif re.fullmatch(r"\d{12}", text):
                found.append(text)
            elif m := _ACCOUNT_IN_ARN.match(text):
                found.append(m.group(1))
            else:
                found.append(f"{kind}:{text}")
    return found


def _pinned_accounts(statement: dict[str, Any], pinning: frozenset[str]) -> set[str] | None:
    """The accounts a condition pins the caller to (through one of the `pinning` keys), or None."""
    condition = statement.get("Condition") or {}
    if not isinstance(condition, dict):
        raise PolicyDocumentError("Condition must be an object")
    for operator, block in condition.items():
        if not isinstance(block, dict) or operator.lower() not in ("stringequals", "stringequalsignorecase"):
            continue
        for key, value in block.items():
            if key.lower() in pinning:
                return {str(v) for v in _as_list(value)}
    return None


def allowed_principals(statement: dict[str, Any], pinning: frozenset[str]) -> set[str]:
    """Who an Allow statement names: account ids, 'kind:value', '*'; a `*` whose condition pins the
    caller's account (a `pinning` key) counts as those accounts, any other condition as
    '* (conditional)'; NotPrincipal as '* (NotPrincipal)'."""
    if "NotPrincipal" in statement:
        return {"* (NotPrincipal)"}
    out: set[str] = set()
    for who in _principals(statement.get("Principal")):
        pinned = _pinned_accounts(statement, pinning) if who == "*" else None
        if pinned is not None:
            out.update(pinned)
        elif who == "*" and statement.get("Condition"):
            out.add("* (conditional)")
        else:
            out.add(who)
    return out


def policy_document(policy: Any, what: str) -> dict[str, Any]:
    """A policy (its JSON text or the parsed object) with a Statement, or PolicyDocumentError naming
    `what` ("bucket policy", "key policy")."""
    if isinstance(policy, str):
        try:
            policy = jsonsafe.loads(policy)
        except json.JSONDecodeError as exc:
            raise PolicyDocumentError(f"{what} is not valid JSON: {exc.msg}") from exc
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise PolicyDocumentError(f"{what} has no Statement")
    return policy


def policy_writers(policy: Any, bucket: str) -> set[str]:
    """Principals (account ids, '*' or 'kind:value') an Allow statement may let write the bucket."""
    if policy is None:
        return set()
    writers: set[str] = set()
    for statement in _as_list(policy_document(policy, "bucket policy")["Statement"]):
        if not isinstance(statement, dict):
            raise PolicyDocumentError("a policy statement must be an object")
        if (
            statement.get("Effect") != "Allow"
            or not _writes(statement)
            or not _covers_bucket(statement, bucket)
        ):
            continue
        writers |= allowed_principals(statement, _PINNING_KEYS)
    return writers


def acl_writers(grants: list[dict[str, str]], ownership: str | None) -> set[str]:
    if ownership == "BucketOwnerEnforced":
        return set()  # ACLs are disabled: S3 ignores every grant
    return {
        g["grantee"]
        for g in grants
        if g.get("permission") in _ACL_WRITE and g.get("grantee") != "CanonicalUser:owner"
    }


def untrusted(writers: set[str], owner: str | None, trusted: tuple[str, ...]) -> tuple[list[str], bool]:
    """Writers outside the owner and trusted accounts; and whether the owner had to be known to say so."""
    needs_owner = any(re.fullmatch(r"\d{12}", w) for w in writers)
    allowed = {*trusted, *([owner] if owner else [])}
    return sorted(w for w in writers if w not in allowed), needs_owner and owner is None
