"""`r1policy report merge`: audit JSON reports of disjoint shards (accounts or regions, e.g. one CI matrix
job or AWS Batch array job per account list) combined into the report one run over all of them writes.

Refused (exit 2, naming the files): a file that is not a valid audit report; shards of different tool
versions, sources or organizations; shards that overlap (an account and region in both scopes, an account
audited by both, the same finding identity in both); compliance sections (re-run the audit with
--compliance over the whole scope instead). Counts are added, findings and tables are put in the order a
single run gives them, and a deployment name used in two shards is made unique the way a single run does
(`name (account/region)`). The baseline, diff and trend are computed for the merged report itself.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from r1policy.audit.diff import identity
from r1policy.audit.history import PastReport
from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Severity

SUMMARY_KEYS = ("blocking", "warnings", "errors", "skipped", "waived", "passed", "subjects")
_ACTIVE = frozenset({"audited", "incomplete", "failed"})


@dataclass(frozen=True)
class Shard:
    report: PastReport

    @property
    def doc(self) -> dict[str, Any]:
        return self.report.document

    @property
    def audit(self) -> dict[str, Any]:
        audit: dict[str, Any] = self.doc["audit"]
        return audit

    def refuse(self, message: str) -> InputError:
        return InputError(Position(str(self.report.path)), message)

    def places(self) -> set[tuple[str, str]]:
        scope = self.audit["scope"]
        return {(a, r) for a in scope["accounts"] for r in scope["regions"]}

    def org_accounts(self) -> dict[str, dict[str, Any]]:
        return {row["account"]: row for row in (self.audit.get("organization") or {}).get("accounts", [])}


def _check_shard(shard: Shard, first: Shard) -> None:
    if shard.doc.get("command") != "audit" or not isinstance(shard.doc.get("audit"), dict):
        raise shard.refuse("not an audit report (no `audit` block): only `r1policy audit` JSON merges")
    if "compliance" in shard.doc:
        raise shard.refuse(
            "has a compliance section, which cannot be combined from shards: "
            "merge reports audited without --compliance"
        )
    facts: dict[str, Callable[[Shard], Any]] = {
        "tool version": lambda s: s.doc["tool"],
        "source": lambda s: s.audit["source"],
        "organization caller": lambda s: (s.audit.get("organization") or {}).get("management_account"),
        "organization role": lambda s: (s.audit.get("organization") or {}).get("role_name"),
    }
    for what, get in facts.items():
        if get(shard) != get(first):
            raise shard.refuse(f"{what} {get(shard)!r} differs from {get(first)!r} in {first.report.path}")


def _check_disjoint(shards: Sequence[Shard]) -> None:
    places: dict[tuple[str, str], Shard] = {}
    accounts: dict[str, Shard] = {}
    for shard in shards:
        for place in sorted(shard.places()):
            if place in places:
                raise shard.refuse(
                    f"overlaps {places[place].report.path}: both audited account {place[0]} in {place[1]}"
                )
            places[place] = shard
        for account, row in shard.org_accounts().items():
            if row["status"] in _ACTIVE and account in accounts:
                raise shard.refuse(
                    f"overlaps {accounts[account].report.path}: both audited account {account}"
                )
            if row["status"] in _ACTIVE:
                accounts[account] = shard


def _check_findings(shards: Sequence[Shard], findings: Sequence[Sequence[Mapping[str, Any]]]) -> None:
    seen: dict[tuple[str, str, str], Shard] = {}
    for shard, items in zip(shards, findings, strict=True):
        for f in items:
            key = identity(f)
            if key in seen and seen[key] is not shard:
                raise shard.refuse(
                    f"overlaps {seen[key].report.path}: both report {key[0]} on {key[1]} "
                    "(a resource judged by two shards, such as a bucket two shards' models load from)"
                )
            seen[key] = shard


def _finding_order(f: Mapping[str, Any]) -> tuple[str, str, int, str]:
    return (f["subject"]["type"], f["subject"]["id"], Severity(f["severity"]).rank, f["rule_id"])


def _place_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return (str(item.get("account", "")), str(item.get("region", "")))


def _unique_names(shards: Sequence[Shard]) -> list[dict[str, str]]:
    """Per shard, old deployment name -> merged name: a name taken by an earlier account/region gets
    ` (account/region)`, as world_from_state does in a single run."""
    entries: list[tuple[tuple[str, str], str, int, str]] = []
    for index, shard in enumerate(shards):
        for name, place in shard.audit.get("placement", {}).get("deployments", {}).items():
            suffix = f" ({place['account']}/{place['region']})"
            original = name.removesuffix(suffix)
            entries.append(((place["account"], place["region"]), original, index, name))
    taken: set[str] = set()
    renames: list[dict[str, str]] = [{} for _ in shards]
    for place, original, index, name in sorted(entries, key=lambda e: (e[0], e[3] != e[1], e[1])):
        merged = original if original not in taken else f"{original} ({place[0]}/{place[1]})"
        taken.add(merged)
        renames[index][name] = merged
    return renames


def _renamed(items: Sequence[Mapping[str, Any]], names: Mapping[str, str], key: str) -> list[dict[str, Any]]:
    return [dict(i) | ({key: names[i[key]]} if i.get(key) in names else {}) for i in items]


def _organization(shards: Sequence[Shard]) -> dict[str, Any] | None:
    if not any("organization" in s.audit for s in shards):
        return None
    rows: dict[str, dict[str, Any]] = {}
    for shard in shards:
        if "organization" not in shard.audit:
            raise shard.refuse("is not an organization audit, unlike the other shards")
        for account, row in shard.org_accounts().items():
            if account in rows and rows[account] != row:
                raise shard.refuse(f"reports account {account} differently from another shard")
            rows[account] = row
    first = shards[0].audit["organization"]
    return {
        "management_account": first["management_account"],
        "role_name": first["role_name"],
        "accounts": [rows[a] for a in sorted(rows)],
    }


def _notices(shards: Sequence[Shard]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for shard in shards:
        for notice in shard.doc.get("notices", []):
            seen.setdefault(repr(sorted(notice.items())), notice)
    nothing = [n for n in seen.values() if n["kind"] == "nothing-to-audit"]
    if nothing and not all(
        any(n["kind"] == "nothing-to-audit" for n in s.doc.get("notices", [])) for s in shards
    ):
        return [n for n in seen.values() if n["kind"] != "nothing-to-audit"]
    return list(seen.values())


def _renamed_findings(
    findings: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The shard's findings with merged deployment names (a deployment subject's id is its name)."""
    out = []
    for f in findings:
        item = dict(f)
        if item.get("deployment") in names:
            item["deployment"] = names[item["deployment"]]
        subject = item["subject"]
        if subject["type"] == "deployment" and subject["id"] in names:
            item["subject"] = {**subject, "id": names[subject["id"]]}
        out.append(item)
    return out


def _audit_block(
    shards: Sequence[Shard], renames: Sequence[Mapping[str, str]], run_id: str
) -> dict[str, Any]:
    audits = [s.audit for s in shards]
    deployments: dict[str, Any] = {}
    buckets: dict[str, Any] = {}
    licences: list[dict[str, Any]] = []
    for audit, names in zip(audits, renames, strict=True):
        placement = audit.get("placement", {})
        deployments |= {names.get(n, n): p for n, p in placement.get("deployments", {}).items()}
        buckets |= placement.get("buckets", {})
        licences += _renamed(audit.get("licences", []), names, "deployment")
    block: dict[str, Any] = {
        "run_id": run_id,
        "started_at": min(a["started_at"] for a in audits),
        "finished_at": max(a["finished_at"] for a in audits),
        "source": audits[0]["source"],
        "scope": {
            "regions": list(dict.fromkeys(r for a in audits for r in a["scope"]["regions"])),
            "accounts": sorted({x for a in audits for x in a["scope"]["accounts"]}),
        },
        "inventory": sorted((row for a in audits for row in a["inventory"]), key=_place_key),
        "placement": {
            "deployments": dict(sorted(deployments.items())),
            "buckets": dict(sorted(buckets.items())),
        },
        "problems": sorted((p for a in audits for p in a["problems"]), key=_place_key),
        "baseline": None,
        "diff": {"new": [], "resolved": [], "persisting": []},
        "trend": [],
    }
    if licences:
        place = {name: _place_key(p) for name, p in deployments.items()}
        block["licences"] = sorted(licences, key=lambda r: place.get(r["deployment"], ("", "")))
    organization = _organization(shards)
    if organization is not None:
        block["organization"] = organization
    block.update(_weights(audits))
    block["merged_from"] = [a["run_id"] for a in audits]
    return block


def merge_reports(reports: Sequence[PastReport], now: _dt.datetime) -> dict[str, Any]:
    """The merged audit document (without baseline, diff and trend: see ``r1policy.commands.report``)."""
    from r1policy.audit.run import run_id_for

    shards = [Shard(r) for r in reports]
    for shard in shards:
        _check_shard(shard, shards[0])
    _check_disjoint(shards)
    shards.sort(key=lambda s: min(s.places(), default=("", "")))
    renames = _unique_names(shards)
    findings = [_renamed_findings(s.doc["findings"], n) for s, n in zip(shards, renames, strict=True)]
    _check_findings(shards, findings)
    docs = [s.doc for s in shards]
    blocked = any(d["decision"] == "block" for d in docs)
    return {
        "schema_version": 1,
        "tool": docs[0]["tool"],
        "command": "audit",
        "decision": "block" if blocked else "allow",
        "summary": {k: sum(d["summary"][k] for d in docs) for k in SUMMARY_KEYS},
        "findings": sorted((f for items in findings for f in items), key=_finding_order),
        "notices": _notices(shards),
        "inputs": list(dict.fromkeys(i for d in docs for i in d.get("inputs", []))),
        "skipped": [s for d in docs for s in d.get("skipped", [])],
        "audit": _audit_block(shards, renames, run_id_for(now)),
    }


_ROLE_READS = re.compile(r"^(\d+) execution role\(s\)(?: read with (\d+) IAM call\(s\))?")


def _weights(audits: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """ "Who can change the weights": the shards' rows per bucket (a bucket two shards judged gets the
    union of both), and the role reads summed."""
    rows: dict[str, dict[str, set[str]]] = {}
    for audit in audits:
        for row in audit.get("weights_access", []):
            merged = rows.setdefault(row["bucket"], {})
            for kind, names in row.items():
                if kind != "bucket":
                    merged.setdefault(kind, set()).update(names)
    if not rows:
        return {}
    roles = calls = 0
    counted = True
    for audit in audits:
        match = _ROLE_READS.match(str(audit.get("role_reads", "")))
        if match is None:
            continue
        roles += int(match.group(1))
        counted = counted and match.group(2) is not None
        calls += int(match.group(2) or 0)
    reads = (
        f"{roles} execution role(s) read with {calls} IAM call(s)"
        if counted
        else f"{roles} execution role(s) from the state snapshot"
    )
    weights = [{"bucket": b, **{k: sorted(v) for k, v in sorted(r.items())}} for b, r in sorted(rows.items())]
    return {"weights_access": weights, "role_reads": reads}
