"""Cross-account model buckets in `audit --organization` (docs/organization.md, docs/s3-hashing.md).

Each account is collected on its own, so a model that loads from a bucket another account owns gets an
`errors.account_id` record ("not owned by any audited account"). After the accounts are merged, such a
bucket is looked for among the audited member accounts: their bucket listings (ListBuckets through
each member's assumed role, one listing per member, only while some bucket is unresolved) name the
owner, and the bucket's facts are read again through the owner's role, once per bucket, with its KMS
key and the owner's account-level public access block. A bucket no audited member owns keeps its
`error`, with the reason naming the organization.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from r1policy.aws.organization import AccountTask, AccountUnavailable, assume

NOT_OWNED = "is not owned by any audited account"


def foreign_buckets(buckets: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The buckets whose record says no audited account owns them."""
    return sorted(
        name
        for name, record in buckets.items()
        if NOT_OWNED in str(((record.get("errors") or {}).get("account_id")) or "")
    )


def resolve(
    doc: dict[str, Any],
    tasks: Iterable[AccountTask],
    *,
    assume_role: Callable[[AccountTask], Any] = assume,
) -> None:
    """Read each foreign bucket of the merged state ``doc`` through its owner's role (in place)."""
    from r1policy.aws.buckets import owned_buckets

    pending = set(foreign_buckets(doc.get("buckets") or {}))
    if not pending:
        return
    audited = sorted(tasks, key=lambda t: t.account_id)
    owners: dict[str, Any] = {}  # bucket -> the owner's session
    listed: list[str] = []
    for task in audited:
        if not pending - set(owners):
            break
        try:
            session = assume_role(task)
        except AccountUnavailable:
            continue  # reported with the account itself
        owned, _why = owned_buckets(session)
        listed.append(task.account_id)
        for name in sorted((pending - set(owners)) & set(owned or ())):
            owners[name] = session
    for session in {id(s): s for s in owners.values()}.values():
        names = sorted(n for n, s in owners.items() if s is session)
        _read(doc, session, names)
    for name in sorted(pending - set(owners)):
        errors = doc["buckets"][name].setdefault("errors", {})
        errors["account_id"] = (
            f"bucket {name} is not owned by any audited account of the organization "
            f"(listed in {', '.join(listed) or 'no account'}); audit its owner with --profiles/--role-arns"
        )


def _read(doc: dict[str, Any], session: Any, names: list[str]) -> None:
    """The buckets' facts through their owner's session, replacing the referencing account's read."""
    from r1policy.aws.buckets import collect_buckets
    from r1policy.aws.pools import Pools

    pools = Pools()
    try:
        collection = collect_buckets([session], names, pools=pools)
    finally:
        pools.close()
    for name in names:
        doc["buckets"][name] = collection.buckets[name]
    accounts = doc.setdefault("accounts", {})
    for account_id, block in collection.accounts.items():
        accounts.setdefault(account_id, block)
    keys = doc.setdefault("kms_keys", {})
    for key, record in collection.kms_keys.items():
        if key not in keys or keys[key].get("errors"):  # the owner reads what the referencer could not
            keys[key] = record
