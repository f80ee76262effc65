"""Organization views of an audit document, shared by the Markdown and HTML renderers: the summary on
top (accounts audited, incomplete, failed, skipped) and the inventory rolled up per account and per
region. All numbers come from audit.json, so the three files agree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

COUNTS = ("models", "endpoint_configs", "endpoints", "buckets", "blocking", "warnings", "errors", "waived")
ACCOUNT_STATUSES = ("audited", "incomplete", "failed", "skipped")


@dataclass
class OrgSummary:
    management_account: str
    role_name: str
    counts: dict[str, int]
    attention: list[Mapping[str, Any]] = field(default_factory=list)  # failed, incomplete, skipped rows

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def sentence(self) -> str:
        parts = ", ".join(f"{self.counts[s]} {s}" for s in ACCOUNT_STATUSES if self.counts[s])
        return (
            f"{self.total} account(s) listed by {self.management_account}, each read through role "
            f"{self.role_name}: {parts or 'none'}."
        )


def organization_summary(audit: Mapping[str, Any]) -> OrgSummary | None:
    org = audit.get("organization")
    if not org:
        return None
    counts = dict.fromkeys(ACCOUNT_STATUSES, 0)
    for row in org["accounts"]:
        counts[row["status"]] += 1
    attention = [row for row in org["accounts"] if row["status"] != "audited"]
    return OrgSummary(org["management_account"], org["role_name"], counts, attention)


def _rollup(inventory: Sequence[Mapping[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for item in inventory:
        row = rows.setdefault(item[key], {key: item[key], "places": set(), **dict.fromkeys(COUNTS, 0)})
        row["places"].add(item["region" if key == "account" else "account"])
        for count in COUNTS:
            row[count] += item[count]
    return rows


def by_account(audit: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per account: name and status (organization audits), regions, counts."""
    rows = _rollup(audit["inventory"], "account")
    org_rows = {r["account"]: r for r in (audit.get("organization") or {}).get("accounts", [])}
    for account, org_row in org_rows.items():
        rows.setdefault(
            account, {"account": account, "places": set(org_row["regions"]), **dict.fromkeys(COUNTS, 0)}
        )
    out = []
    for account in sorted(rows):
        row = rows[account]
        org_row = org_rows.get(account, {})
        row["name"] = org_row.get("name", "")
        row["status"] = org_row.get("status", "audited")
        row["regions"] = len(row.pop("places"))
        out.append(row)
    return out


def by_region(audit: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per region: accounts with resources or findings there, counts."""
    rows = _rollup(audit["inventory"], "region")
    out = []
    for region in sorted(rows):
        row = rows[region]
        row["accounts"] = len(row.pop("places"))
        out.append(row)
    return out


def rollups_wanted(audit: Mapping[str, Any]) -> bool:
    """The per-account and per-region tables: for organization audits and whenever several accounts or
    regions were audited (one account in one region needs only the inventory table)."""
    scope = audit["scope"]
    return bool(audit.get("organization")) or len(scope["accounts"]) > 1 or len(scope["regions"]) > 1
