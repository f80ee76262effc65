"""`check --live`: read exactly what the manifests reference (model buckets, KMS keys, existing
endpoints of the same name) with the default credential chain, as a state snapshot."""

from __future__ import annotations

from collections.abc import Sequence

from r1policy.aws.collect import collect_state
from r1policy.aws.session import open_accounts
from r1policy.core.model import Deployment
from r1policy.project.state import StateSnapshot, from_value

LIVE_SOURCE = "live AWS state"


def references(
    deployments: Sequence[Deployment], default_region: str
) -> tuple[set[str], set[tuple[str, str]], set[tuple[str, str]]]:
    """Buckets, (region, endpoint name) and (region, KMS key) that the deployments reference."""
    buckets: set[str] = set()
    endpoints: set[tuple[str, str]] = set()
    keys: set[tuple[str, str]] = set()
    for dep in deployments:
        if dep.model.bucket:
            buckets.add(dep.model.bucket)
        ep = dep.endpoint
        if ep is None:
            continue
        region = ep.region or default_region
        if ep.resource == "endpoint":
            endpoints.add((region, ep.name))
        for enc in (ep.data_capture, ep.async_output):
            if enc is not None and enc.kms_key:
                keys.add((region, enc.kms_key))
        if ep.kms_key:
            keys.add((region, ep.kms_key))
    return buckets, endpoints, keys


def live_state(deployments: Sequence[Deployment], *, region: str | None = None) -> StateSnapshot:
    accounts = open_accounts(region=region)
    default_region = accounts[0].default_region
    buckets, endpoints, keys = references(deployments, default_region)
    regions = sorted({r for r, _ in endpoints} | {default_region})
    doc = collect_state(accounts, regions=regions, buckets=buckets, endpoints=endpoints, kms_keys=keys)
    return from_value(doc, LIVE_SOURCE)
