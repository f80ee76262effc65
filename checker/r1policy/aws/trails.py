"""CloudTrail trails that may record a bucket's object writes (R1-S3-010), per account and region.

One DescribeTrails (with shadow trails: the multi-region and organization trails of other home regions)
per (account, region) of the audited buckets; per trail one GetTrailStatus and one GetEventSelectors,
called in the trail's home region. A failed read leaves its fact out and puts the reason under the
trail's ``errors`` (or the whole listing's reason under the bucket's ``errors["trails"]``).
CloudTrail Lake event data stores are not read (see docs/tamper-evidence.md).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from r1policy.aws.errors import CALL_ERRORS, classify
from r1policy.aws.pools import Pools
from r1policy.aws.session import AccountSession


def _trail(account: AccountSession, described: dict[str, Any]) -> dict[str, Any]:
    arn = str(described.get("TrailARN", ""))
    home = str(described.get("HomeRegion") or account.default_region)
    record: dict[str, Any] = {
        "name": str(described.get("Name", arn)),
        "arn": arn,
        "home_region": home,
        "multi_region": bool(described.get("IsMultiRegionTrail")),
        "organization": bool(described.get("IsOrganizationTrail")),
    }
    errors: dict[str, str] = {}
    client = account.client("cloudtrail", home)
    try:
        record["logging"] = bool(client.get_trail_status(Name=arn or record["name"]).get("IsLogging"))
    except CALL_ERRORS as exc:
        errors["logging"] = classify(exc)
    try:
        got = client.get_event_selectors(TrailName=arn or record["name"])
    except CALL_ERRORS as exc:
        errors["event_selectors"] = classify(exc)
    else:
        record["event_selectors"] = got.get("EventSelectors") or None
        record["advanced_event_selectors"] = got.get("AdvancedEventSelectors") or None
    if errors:
        record["errors"] = errors
    return record


def read_trails(account: AccountSession, region: str) -> dict[str, Any]:
    """``{"trails": [...]}`` visible in the account and region, or ``{"errors": {"trails": why}}``."""
    try:
        listed = account.client("cloudtrail", region).describe_trails(includeShadowTrails=True)
    except CALL_ERRORS as exc:
        return {"errors": {"trails": classify(exc)}}
    trails = [_trail(account, t) for t in listed.get("trailList", [])]
    return {"trails": sorted(trails, key=lambda t: (t["name"], t["arn"]))}


def attach_trails(
    buckets: dict[str, dict[str, Any]],
    owners: Mapping[str, str],
    by_id: Mapping[str, AccountSession],
    pools: Pools,
) -> None:
    """R1-S3-010: the trails of each owned bucket's account and region, read once per pair. A bucket of
    unknown region gets the trails of its account's default region (the shadow trails there include every
    multi-region trail; a single-region trail then stays undecided). A bucket no audited account owns gets
    none: its ``errors["account_id"]`` already says why."""

    def pair(name: str) -> tuple[str, str]:
        owner = owners[name]
        return owner, buckets[name].get("region") or by_id[owner].default_region

    wanted = sorted({pair(n) for n, r in buckets.items() if n in owners and set(r) != {"errors"}})
    futures = {p: pools.submit(p[0], p[1], read_trails, by_id[p[0]], p[1]) for p in wanted}
    for name, record in buckets.items():
        if set(record) == {"errors"}:  # the bucket does not exist: every fact says so, the trails too
            record["errors"]["trails"] = next(iter(record["errors"].values()))
        elif name in owners:
            got = futures[pair(name)].result()
            if "errors" in got:
                record.setdefault("errors", {}).update(got["errors"])
            else:
                record["trails"] = copy.deepcopy(got["trails"])
