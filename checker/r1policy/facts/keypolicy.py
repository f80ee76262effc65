"""Who outside the key's account can use or administer the model bucket's KMS key (R1-S3-011).

A key policy is the root of a KMS key's access: a principal it names (or `*`) is allowed whatever IAM
says in the caller's own account. Conservative for a prohibition: an `Allow` statement counts when its
Action (or what its NotAction leaves) covers a use of the key's data (`kms:Decrypt`, `kms:Encrypt`,
`kms:ReEncrypt*`, `kms:GenerateDataKey*`, `kms:CreateGrant`) or its administration (`kms:PutKeyPolicy`,
`kms:ScheduleKeyDeletion`, `kms:DisableKey`, ...). The Resource of a key policy is always the key itself,
so it is not read. A condition narrows an Allow for `*` only when it pins the caller's account
(`StringEquals` on `kms:CallerAccount`, `aws:PrincipalAccount` or `aws:SourceAccount`) — that is how
AWS-managed key policies are written; any other condition may be met from outside ("* (conditional)").
Conditions never narrow a named other account. Deny statements are not subtracted. Service principals
are AWS services, not accounts.
"""

from __future__ import annotations

from typing import Any

from r1policy.facts.bucketpolicy import PolicyDocumentError
from r1policy.facts.bucketwriters import _as_list, _matches, allowed_principals, policy_document

# The uses of a key that read or replace what it protects, and the actions that hand the key over.
KEY_ACTIONS = (
    "kms:decrypt",
    "kms:encrypt",
    "kms:reencryptfrom",
    "kms:reencryptto",
    "kms:generatedatakey",
    "kms:generatedatakeywithoutplaintext",
    "kms:creategrant",
    "kms:putkeypolicy",
    "kms:schedulekeydeletion",
    "kms:disablekey",
    "kms:updatekeydescription",
    "kms:importkeymaterial",
    "kms:deleteimportedkeymaterial",
)
_PINNING_KEYS = frozenset({"kms:calleraccount", "aws:principalaccount", "aws:sourceaccount"})


def _uses_key(statement: dict[str, Any]) -> bool:
    if "NotAction" in statement:
        excluded = [str(a).lower() for a in _as_list(statement["NotAction"])]
        return any(not any(_matches(p, a) for p in excluded) for a in KEY_ACTIONS)
    patterns = [str(a).lower() for a in _as_list(statement.get("Action"))]
    return any(_matches(p, a) for p in patterns for a in KEY_ACTIONS)


def key_users(policy: Any) -> set[str]:
    """Principals (account ids, '*', '* (conditional)' or 'kind:value') the key policy lets use the key."""
    users: set[str] = set()
    for statement in _as_list(policy_document(policy, "key policy")["Statement"]):
        if not isinstance(statement, dict):
            raise PolicyDocumentError("a key policy statement must be an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyDocumentError(f"statement Effect {statement.get('Effect')!r} is not Allow or Deny")
        if statement["Effect"] != "Allow" or not _uses_key(statement):
            continue
        users |= allowed_principals(statement, _PINNING_KEYS)
    return users
