"""The report's `compliance` section: pure functions from (findings, rule metadata, catalogues) to a
per-framework, per-control status table. One pass over the findings, so linear in their number.

A control's status, from the findings of the rules that support it:
- no rule of the run supports it: "not covered" (never passed);
- any of them failed: "fail"; else any could not be evaluated: "error";
- else any failure was waived: "waived" (the waivers are named);
- else any passed: "pass"; else (all skipped, or nothing judged): "not evaluated".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from r1policy.core.findings import Finding, Status
from r1policy.rules.catalogue import Catalogue, rules_by_control
from r1policy.rules.metadata import RuleMeta

NOT_COVERED = "not covered"
NOT_EVALUATED = "not evaluated"
CONTROL_STATUSES = ("fail", "error", "waived", "pass", NOT_EVALUATED, NOT_COVERED)
_ORDER = (Status.FAIL, Status.ERROR, Status.WAIVED, Status.PASS)


def control_status(rule_ids: Sequence[str], statuses: Iterable[Status]) -> str:
    if not rule_ids:
        return NOT_COVERED
    seen = set(statuses)
    for status in _ORDER:
        if status in seen:
            return status.value
    return NOT_EVALUATED


def _by_rule(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.rule_id, []).append(f)
    return out


def _counts(findings: Sequence[Finding]) -> dict[str, int]:
    counts = dict.fromkeys((*(s.value for s in _ORDER), Status.SKIPPED.value), 0)
    for f in findings:
        counts[f.status.value] += 1
    return counts


def _subjects(findings: Sequence[Finding]) -> list[dict[str, str]]:
    """The subjects of every finding but the passed ones (those are counted): what to look at."""
    seen: dict[tuple[str, str, str, str], None] = {}
    for f in findings:
        if f.status is not Status.PASS:
            seen[(f.rule_id, f.subject.type.value, f.subject.id, f.status.value)] = None
    return [
        {"rule_id": r, "type": t, "id": i, "status": s}
        for r, t, i, s in sorted(seen, key=lambda k: (_rank(k[3]), k[0], k[1], k[2]))
    ]


def _rank(status: str) -> int:
    order = [s.value for s in (*_ORDER, Status.SKIPPED)]
    return order.index(status) if status in order else len(order)


def _waivers(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    out = []
    for f in findings:
        if f.status is Status.WAIVED and f.waiver is not None:
            w = f.waiver
            entry: dict[str, Any] = {
                "rule_id": f.rule_id,
                "subject": f.subject.id,
                "owner": w.owner,
                "reason": w.reason,
                "expires": w.expires.isoformat(),
            }
            if w.ticket:
                entry["ticket"] = w.ticket
            out.append(entry)
    return sorted(out, key=lambda e: (e["rule_id"], e["subject"]))


def _control(
    control_id: str, title: str, rule_ids: Sequence[str], by_rule: Mapping[str, list[Finding]]
) -> dict[str, Any]:
    findings = [f for r in rule_ids for f in by_rule.get(r, ())]
    status = control_status(rule_ids, (f.status for f in findings))
    row: dict[str, Any] = {
        "id": control_id,
        "title": title,
        "status": status,
        "rules": list(rule_ids),
        "counts": _counts(findings),
        "subjects": _subjects(findings),
    }
    waivers = _waivers(findings)
    if waivers:
        row["waivers"] = waivers
    return row


def framework_section(
    catalogue: Catalogue, rules: Mapping[str, RuleMeta], by_rule: Mapping[str, list[Finding]]
) -> dict[str, Any]:
    mapped = rules_by_control(catalogue, rules)
    controls = [_control(c.id, c.title, mapped[c.id], by_rule) for c in catalogue.controls]
    summary = {s: sum(1 for c in controls if c["status"] == s) for s in CONTROL_STATUSES}
    return {
        "id": catalogue.id,
        "name": catalogue.name,
        "version": catalogue.version,
        "sources": list(catalogue.sources),
        "scope": catalogue.scope,
        "custom": catalogue.custom,
        "summary": summary,
        "controls": controls,
    }


def compliance_section(
    findings: Iterable[Finding], rules: Mapping[str, RuleMeta], catalogues: Sequence[Catalogue]
) -> list[dict[str, Any]]:
    """One entry per requested framework, in the order asked for."""
    by_rule = _by_rule(findings)
    return [framework_section(c, rules, by_rule) for c in catalogues]
