"""`r1policy publish securityhub REPORT.json`: an audit report's findings, as ASFF, into each account's
Security Hub with that account's credentials. The report itself is only read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.formats.asff import (
    Place,
    dedupe_ids,
    exported,
    place_of_subject,
    product_arn,
    to_asff,
)
from r1policy.securityhub.importer import Outcome, import_findings


@dataclass(frozen=True)
class Prepared:
    """The report's findings as ASFF, grouped per (account, import region)."""

    groups: dict[tuple[str, str], list[dict[str, Any]]]
    scope_regions: tuple[str, ...]
    scope_accounts: tuple[str, ...]
    import_region: str | None
    now: str
    records: dict[str, dict[str, Any]]  # ASFF Id -> the report's finding (for messages)


def _place(record: Mapping[str, Any], placement: Mapping[str, Any], fallback: Place) -> Place:
    """Where the audit placed the subject; else the ARN's account and region; else `fallback`."""
    deployment = record.get("deployment")
    spot = placement.get("deployments", {}).get(deployment) if deployment else None
    subject = record["subject"]
    if spot is None and subject["type"] == "bucket":
        spot = placement.get("buckets", {}).get(str(subject["id"]).removeprefix("s3://"))
    if spot is not None:
        return Place(spot["account"], spot["region"])
    return place_of_subject(subject["id"]) or fallback


def prepare(
    document: Mapping[str, Any],
    path: Path,
    controls: Mapping[str, Mapping[str, tuple[str, ...]]],
    *,
    fallback: Place,
    import_region: str | None,
) -> Prepared:
    audit = document.get("audit")
    if not isinstance(audit, dict):
        raise InputError(Position(str(path)), "not an audit report (no `audit` block): run `r1policy audit`")
    now = audit["finished_at"]
    placement = audit.get("placement", {})
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    records: dict[str, dict[str, Any]] = {}
    out: list[tuple[tuple[str, str], dict[str, Any], dict[str, Any]]] = []
    for index, record in enumerate(document["findings"]):
        if not exported(record["status"], show_passed=True):
            continue
        place = _place(record, placement, fallback)
        finding = to_asff(
            record,
            place,
            now=now,
            controls=controls.get(record["rule_id"], {}),
            report_ref=f"{path} (findings[{index}])",
        )
        region = import_region or place.region
        if region != place.region:
            finding["ProductArn"] = product_arn(Place(place.account, region, place.partition))
        out.append(((place.account, region), finding, record))
    dedupe_ids([finding for _, finding, _ in out])
    for key, finding, record in out:
        groups[key].append(finding)
        records[finding["Id"]] = record
    scope = audit.get("scope", {})
    return Prepared(
        dict(groups),
        tuple(scope.get("regions", ())),
        tuple(scope.get("accounts", ())),
        import_region,
        now,
        records,
    )


def publish(prepared: Prepared, sessions: Mapping[str, Any], unavailable: Mapping[str, str]) -> Outcome:
    """Import each group with its account's session; an account without one is not imported."""
    total = Outcome()
    groups = dict(prepared.groups)
    # An audited account and region with nothing left to report still has findings to archive.
    regions = [prepared.import_region] if prepared.import_region else prepared.scope_regions
    for account in prepared.scope_accounts:
        for region in regions:
            if account in sessions and region:
                groups.setdefault((account, region), [])
    for (account, region), findings in sorted(groups.items()):
        if account not in sessions:
            reason = unavailable.get(account, f"no credentials for account {account}")
            total.failed += [(f["Id"], reason) for f in findings]
            continue
        client = sessions[account].client("securityhub", region)
        product = product_arn(Place(account, region))
        total.merge(
            import_findings(
                client,
                findings,
                account=account,
                region=region,
                product=product,
                scope_regions=prepared.scope_regions,
                now=prepared.now,
            )
        )
    return total
