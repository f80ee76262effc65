"""One collection run: SageMaker inventories, the buckets they (or manifests) load from, KMS keys,
account-level Block Public Access → a complete state-v1 document."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Any

from r1policy import __version__
from r1policy.aws.buckets import BucketCollector
from r1policy.aws.ecr import own_ecr_images, read_scans
from r1policy.aws.iam import RoleReader
from r1policy.aws.modelfiles import ModelFileReads, model_prefixes
from r1policy.aws.pools import Pools
from r1policy.aws.sagemaker import (
    Inventory,
    bucket_of,
    describe_endpoints,
    enumerate_sagemaker,
    kms_keys_of,
    s3_uris,
)
from r1policy.aws.session import AccountSession

Progress = Callable[[str, int, int], None]


def collect_state(
    accounts: Sequence[AccountSession],
    *,
    regions: Sequence[str],
    buckets: Iterable[str] = (),
    endpoints: Iterable[tuple[str, str]] = (),
    sagemaker: bool = False,
    kms_keys: Iterable[tuple[str, str]] = (),
    progress: Progress | None = None,
    pools: Pools | None = None,
    roles: Iterable[str] = (),
) -> dict[str, Any]:
    """Read what the policies need and return it as a state-v1 document (see ``r1policy.aws``)."""
    own_pools = pools is None
    pools = pools or Pools()
    try:
        # ListBuckets of every account runs while the SageMaker inventory is read.
        collector = BucketCollector(accounts, pools, progress)
        inventories = _sagemaker(accounts, regions, endpoints, sagemaker, pools, progress)
        referenced_by, extra_keys = _references(accounts, inventories, kms_keys)
        names = set(buckets) | set(referenced_by)
        # The execution roles are read while the buckets are, and each model prefix's files as soon
        # as its bucket's region is known.
        reader, role_reads = _start_roles(accounts, inventories, roles, pools)
        files = ModelFileReads(
            model_prefixes(m for inv in inventories for m in inv.models) if sagemaker else (),
            collector.reader_of,
            pools,
        )
        collection = collector.collect(
            names, referenced_by=referenced_by, extra_kms_keys=extra_keys, on_bucket=files.start
        )
        model_files = files.result()  # live capacity facts for the audit (R1-EP-002)
        iam = _execution_roles(reader, role_reads)
        scans = _image_scans(accounts, inventories)
    finally:
        if own_pools:
            pools.close()
    doc: dict[str, Any] = {
        "schema_version": 1,
        "kind": "r1policy-state",
        "captured_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": f"r1policy {__version__}: accounts "
        + ", ".join(f"{a.account_id} ({a.label})" for a in accounts)
        + "; regions "
        + ", ".join(regions),
        "accounts": dict(sorted(collection.accounts.items())),
        "buckets": dict(sorted(collection.buckets.items())),
        "kms_keys": dict(sorted(collection.kms_keys.items())),
    }
    doc.update(iam)
    sm: dict[str, dict[str, Any]] = {}
    for inv in inventories:
        sm.setdefault(inv.account_id, {})[inv.region] = inv.as_state()
    optional = {"sagemaker": sm, "model_files": model_files, "ecr_image_scans": dict(sorted(scans.items()))}
    doc.update({key: value for key, value in optional.items() if value})
    return doc


def _image_scans(accounts: Sequence[AccountSession], inventories: list[Inventory]) -> dict[str, Any]:
    """ECR scan findings of the models' images in their own account's registry (R1-EP-008)."""
    by_id = {a.account_id: a for a in accounts}
    out: dict[str, Any] = {}
    for inv in inventories:
        account = by_id.get(inv.account_id)
        if account is not None:
            wanted = own_ecr_images(inv.models, inv.endpoints, inv.account_id)
            out.update(read_scans(account, {k: v for k, v in wanted.items() if k not in out}))
    return out


def _references(
    accounts: Sequence[AccountSession], inventories: list[Inventory], kms_keys: Iterable[tuple[str, str]]
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(bucket -> the account whose model loads from it, (account, region, key) of the KMS keys to read)."""
    referenced_by: dict[str, str] = {}
    extra_keys: list[tuple[str, str, str]] = [
        (accounts[0].account_id, region, key) for region, key in sorted(kms_keys) if accounts
    ]
    for inv in inventories:
        for model in inv.models:
            for uri in s3_uris(model):
                referenced_by.setdefault(bucket_of(uri), inv.account_id)
        for config in inv.endpoint_configs:
            extra_keys.extend((inv.account_id, inv.region, key) for key in kms_keys_of(config))
    return referenced_by, extra_keys


def _start_roles(
    accounts: Sequence[AccountSession], inventories: list[Inventory], roles: Iterable[str], pools: Pools
) -> tuple[RoleReader, dict[str, Future[dict[str, Any]]]]:
    """Start reading the roles the models run as (and those manifests name), each once."""
    arns = set(roles) | {
        str(m["ExecutionRoleArn"]) for inv in inventories for m in inv.models if m.get("ExecutionRoleArn")
    }
    reader = RoleReader(accounts)
    return reader, reader.start(arns, pools)


def _execution_roles(reader: RoleReader, reads: dict[str, Future[dict[str, Any]]]) -> dict[str, Any]:
    """`iam_roles` and `statistics` for the roles started by ``_start_roles``."""
    if not reads:
        return {}
    found = {arn: future.result() for arn, future in sorted(reads.items())}
    return {"iam_roles": found, "statistics": {"iam_roles": len(found), "iam_calls": reader.total_calls}}


def _sagemaker(
    accounts: Sequence[AccountSession],
    regions: Sequence[str],
    endpoints: Iterable[tuple[str, str]],
    enumerate_all: bool,
    pools: Pools,
    progress: Progress | None,
) -> list[Inventory]:
    inventories: list[Inventory] = []
    if enumerate_all:
        # One listing task per account+region, in the account's pool; describes run in region pools.
        futures = [
            pools.submit(
                a.account_id, "", lambda a=a, r=r: enumerate_sagemaker(a, r, pools=pools, progress=progress)
            )
            for a in accounts
            for r in regions
        ]
        inventories.extend(Pools.wait(futures))
        return inventories
    by_region: dict[str, set[str]] = {}
    for region, name in endpoints:
        by_region.setdefault(region, set()).add(name)
    for account in accounts:
        for region, names in sorted(by_region.items()):
            inventories.append(describe_endpoints(account, region, names, pools=pools))
    return inventories
