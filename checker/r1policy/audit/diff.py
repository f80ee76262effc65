"""Finding identity and the diff of two runs: new, resolved and persisting.

Identity is rule id + subject id (+ location path when the finding comes from a file). Only findings
that need attention are tracked: `fail`, `error` and `waived`. A tracked finding that is absent from the
baseline is new; one that the baseline had and this run has not (the rule now passes, is skipped, or the
resource is gone) is resolved; one in both is persisting, with its status then and now (so `fail` →
`waived` is visible). Several findings with one identity count once, with the most urgent status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TRACKED = frozenset({"fail", "error", "waived"})
_URGENCY = {"fail": 0, "error": 1, "waived": 2, "skipped": 3, "pass": 4}
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}

Key = tuple[str, str, str]
Finding = Mapping[str, Any]


def identity(finding: Finding) -> Key:
    location = finding.get("location") or {}
    return (finding["rule_id"], finding["subject"]["id"], location.get("path") or "")


def _index(findings: Iterable[Finding]) -> dict[Key, Finding]:
    out: dict[Key, Finding] = {}
    for f in findings:
        key = identity(f)
        held = out.get(key)
        if held is None or _URGENCY[f["status"]] < _URGENCY[held["status"]]:
            out[key] = f
    return out


@dataclass
class Diff:
    new: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    persisting: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"new": self.new, "resolved": self.resolved, "persisting": self.persisting}


def _change(f: Finding, status: str | None, previous: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": f["rule_id"],
        "title": f["title"],
        "severity": f["severity"],
        "subject": {"type": f["subject"]["type"], "id": f["subject"]["id"]},
        "status": status,
        "previous_status": previous,
    }
    path = (f.get("location") or {}).get("path")
    if path:
        out["location_path"] = path
    return out


def _order(change: Mapping[str, Any]) -> tuple[int, str, str, str]:
    return (
        _SEVERITY_RANK.get(change["severity"], 9),
        change["rule_id"],
        change["subject"]["id"],
        change.get("location_path", ""),
    )


def diff_findings(current: Iterable[Finding], baseline: Iterable[Finding] | None) -> Diff:
    """`current` should include passed and skipped findings so that a resolved finding can say why."""
    now = _index(current)
    before = _index(baseline or ())
    result = Diff()
    for key, f in now.items():
        if f["status"] not in TRACKED:
            continue
        old = before.get(key)
        if old is not None and old["status"] in TRACKED:
            result.persisting.append(_change(f, f["status"], old["status"]))
        else:
            result.new.append(_change(f, f["status"], old["status"] if old is not None else None))
    for key, old in before.items():
        if old["status"] not in TRACKED:
            continue
        found = now.get(key)
        if found is None or found["status"] not in TRACKED:
            result.resolved.append(
                _change(old, found["status"] if found is not None else None, old["status"])
            )
    for bucket in (result.new, result.resolved, result.persisting):
        bucket.sort(key=_order)
    return result


def keys_of(changes: Iterable[Mapping[str, Any]]) -> set[Key]:
    return {(c["rule_id"], c["subject"]["id"], c.get("location_path", "")) for c in changes}
