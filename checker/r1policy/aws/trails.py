"""CloudTrail trails that may record a bucket's object writes (R1-S3-010), per account and region.

One DescribeTrails (with shadow trails: the multi-region and organization trails of other home regions)
per (account, region) of the audited buckets; per trail one GetTrailStatus and one GetEventSelectors,
called in the trail's home region, once per trail however many regions list it (a multi-region trail
appears in every region's listing as a shadow trail). A failed read leaves its fact out and puts the
reason under the trail's ``errors`` (or the whole listing's reason under the bucket's ``errors["trails"]``).
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


def list_trails(account: AccountSession, region: str) -> dict[str, Any]:
    """``{"listed": [DescribeTrails entries]}`` in the account and region, or
    ``{"errors": {"trails": why}}``."""
    try:
        listed = account.client("cloudtrail", region).describe_trails(includeShadowTrails=True)
    except CALL_ERRORS as exc:
        return {"errors": {"trails": classify(exc)}}
    return {"listed": list(listed.get("trailList", []))}


def _trail_id(described: Mapping[str, Any]) -> str:
    return str(described.get("TrailARN") or described.get("Name", ""))


def _read_pairs(
    wanted: list[tuple[str, str]], by_id: Mapping[str, AccountSession], pools: Pools
) -> dict[tuple[str, str], dict[str, Any]]:
    """Each (account, region)'s trails: listed once per pair, each trail's details read once per run."""
    listings = {p: pools.submit(p[0], p[1], list_trails, by_id[p[0]], p[1]) for p in wanted}
    got = {p: future.result() for p, future in listings.items()}
    details: dict[tuple[str, str], Any] = {}
    for (account_id, region), listing in got.items():
        for described in listing.get("listed", []):
            key = (account_id, _trail_id(described))
            if key not in details:
                details[key] = pools.submit(account_id, region, _trail, by_id[account_id], described)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for (account_id, region), listing in got.items():
        if "errors" in listing:
            out[(account_id, region)] = listing
            continue
        trails = [details[(account_id, _trail_id(d))].result() for d in listing["listed"]]
        out[(account_id, region)] = {"trails": sorted(trails, key=lambda t: (t["name"], t["arn"]))}
    return out


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
    read = _read_pairs(wanted, by_id, pools)
    for name, record in buckets.items():
        if set(record) == {"errors"}:  # the bucket does not exist: every fact says so, the trails too
            record["errors"]["trails"] = next(iter(record["errors"].values()))
        elif name in owners:
            got = read[pair(name)]
            if "errors" in got:
                record.setdefault("errors", {}).update(got["errors"])
            else:
                record["trails"] = copy.deepcopy(got["trails"])
