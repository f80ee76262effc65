"""S3 bucket records, account-level Block Public Access and KMS key facts of one collection run.

Per bucket at most 11 read calls (``r1policy.aws.bucketfacts``: location, then the other facts side
by side in the bucket's region pool); per account one ListBuckets (to know which audited account
owns a bucket, started as soon as the collection starts) and one S3 Control GetPublicAccessBlock;
per KMS key one DescribeKey, one GetKeyPolicy and, for customer-managed keys, one GetKeyRotationStatus;
per (owning account, region) of the buckets the CloudTrail reads of aws/trails.py
(``r1policy.aws.kms``). Every bucket and key is read once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from r1policy.aws.bucketfacts import (
    ABSENT,
    ALL_FACTS,
    FACT_READS,
    FactRead,
    Reader,
    assemble,
    pab,
    read_fact,
    region_of,
)
from r1policy.aws.errors import CALL_ERRORS, classify
from r1policy.aws.kms import key_region, read_kms_key
from r1policy.aws.pools import Pools
from r1policy.aws.session import AccountSession
from r1policy.aws.trails import attach_trails

Progress = Callable[[str, int, int], None]
Listing = tuple[set[str] | None, str | None]


@dataclass
class BucketCollection:
    """The bucket-related parts of a state-v1 document."""

    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    kms_keys: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Located:
    """Phase 1 of a bucket read (account pool): where the bucket is, or why that is unknown."""

    name: str
    region: str | None
    errors: dict[str, str]
    missing: str | None  # set when the bucket does not exist


def locate_bucket(account: AccountSession, name: str) -> Located:
    errors: dict[str, str] = {}
    read = Reader(errors)
    location = read("region", account.client("s3").get_bucket_location, Bucket=name)
    region = None if location is ABSENT else region_of(location)
    return Located(name, region, errors, read.missing_bucket)


def owned_buckets(account: AccountSession) -> Listing:
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
    got = Reader(errors)(
        "public_access_block",
        account.client("s3control").get_public_access_block,
        "NoSuchPublicAccessBlockConfiguration",
        AccountId=account.account_id,
    )
    if got is ABSENT:
        return {"errors": errors}
    return {"public_access_block": pab(got and got.get("PublicAccessBlockConfiguration"))}


class BucketCollector:
    """Reads buckets with the credentials of the audited account that owns them.

    Created at the start of a run: the ListBuckets of every account start at once, while the
    SageMaker inventory (which names most of the buckets) is still being read."""

    def __init__(
        self, accounts: Sequence[AccountSession], pools: Pools, progress: Progress | None = None
    ) -> None:
        self.accounts = list(accounts)
        self.by_id = {a.account_id: a for a in accounts}
        self.pools = pools
        self.progress = progress
        self._listings = {a.account_id: pools.submit(a.account_id, "", owned_buckets, a) for a in accounts}
        self.owners: dict[str, str] = {}
        self.referenced_by: Mapping[str, str] = {}

    def collect(
        self,
        names: Iterable[str],
        *,
        referenced_by: Mapping[str, str] | None = None,
        extra_kms_keys: Iterable[tuple[str, str, str]] = (),
        on_bucket: Callable[[str, Mapping[str, Any]], None] | None = None,
    ) -> BucketCollection:
        """Read every named bucket once (see ``collect_buckets``); ``on_bucket(name, record)`` is
        called as each bucket's record is complete (the trails come later)."""
        wanted = sorted(set(names))
        result = BucketCollection()
        if not self.accounts:
            return result
        self.referenced_by = referenced_by or {}
        failed_listing = self._owners()
        needed = sorted({self.owners[n] for n in wanted if n in self.owners})
        blocks = {a: self.pools.submit(a, "", account_public_access_block, self.by_id[a]) for a in needed}
        staged = [
            self.pools.submit(self.reader_of(n).account_id, "", self._locate_then_read, n) for n in wanted
        ]
        keys: dict[str, Future[dict[str, Any]]] = {}
        for done, future in enumerate(staged, start=1):
            located, reads = future.result()
            if located.missing is not None:
                record: dict[str, Any] = {"errors": dict.fromkeys(ALL_FACTS, located.missing)}
            else:
                record = assemble(located.region, located.errors, Pools.wait(reads))
            self._owner_of(located, record, failed_listing)
            result.buckets[located.name] = record
            self._bucket_key(located.name, record, keys)
            if on_bucket is not None:
                on_bucket(located.name, record)
            if self.progress is not None:
                self.progress("buckets", done, len(wanted))
        attach_trails(result.buckets, self.owners, self.by_id, self.pools)  # R1-S3-010
        for account_id, region, key in extra_kms_keys:
            if key not in keys:
                acct = self.by_id.get(account_id, self.accounts[0])
                keys[key] = self.pools.submit(
                    acct.account_id, key_region(key, region), read_kms_key, acct, key, region
                )
        result.accounts = {a: future.result() for a, future in blocks.items()}
        result.kms_keys = {key: future.result() for key, future in keys.items()}
        return result

    def _owners(self) -> str:
        """Which audited account owns which bucket; the failed listings, as one line ("" if none)."""
        listings = {a: future.result() for a, future in self._listings.items()}
        for account_id, (owned, _) in listings.items():
            for name in owned or ():
                self.owners.setdefault(name, account_id)
        return "; ".join(f"ListBuckets of {a}: {why}" for a, (_, why) in listings.items() if why)

    def reader_of(self, name: str) -> AccountSession:
        owner = self.owners.get(name) or self.referenced_by.get(name, "")
        return self.by_id.get(owner, self.accounts[0])

    def _locate_then_read(self, name: str) -> tuple[Located, list[Future[FactRead]]]:
        # Runs in the account pool; hands the facts to the bucket's region pool without waiting for
        # them (no pool waits on itself), one task per fact so that they run side by side.
        reader = self.reader_of(name)
        located = locate_bucket(reader, name)
        if located.missing is not None:
            return located, []
        region = located.region or reader.default_region
        submit = self.pools.submit
        return located, [
            submit(reader.account_id, region, read_fact, reader, region, name, fact) for fact in FACT_READS
        ]

    def _owner_of(self, located: Located, record: dict[str, Any], failed_listing: str) -> None:
        name = located.name
        if name in self.owners:
            record["account_id"] = self.owners[name]
        elif located.missing is None:
            why = (
                f"bucket {name} is not owned by any audited account "
                f"({', '.join(sorted(self.by_id))}); audit its owner with --profiles/--role-arns"
            )
            if failed_listing:
                why = f"the owner of bucket {name} is unknown ({failed_listing})"
            record.setdefault("errors", {})["account_id"] = why

    def _bucket_key(
        self, name: str, record: Mapping[str, Any], keys: dict[str, Future[dict[str, Any]]]
    ) -> None:
        """Start reading the bucket's KMS key as soon as its encryption is known (once per key)."""
        enc = record.get("encryption") or {}
        key = enc.get("kms_key")
        if not key or not enc.get("algorithm", "").startswith("aws:kms") or key in keys:
            return
        reader = self.reader_of(name)
        region = record.get("region") or reader.default_region
        keys[key] = self.pools.submit(
            reader.account_id, key_region(key, region), read_kms_key, reader, key, region
        )


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
    collector = BucketCollector(accounts, pools, progress)
    return collector.collect(names, referenced_by=referenced_by, extra_kms_keys=extra_kms_keys)
