"""The audit.json document: exactly the JSON v1 report of the run, plus the additive `audit` block
(schemas/report-v1.schema.json, `$defs/audit`). The Markdown and HTML renderers read this document,
so all three files state the same numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from r1policy.audit.diff import Diff
from r1policy.audit.history import PastReport
from r1policy.audit.run import AuditRun, Place, iso
from r1policy.core.findings import Enforcement, Finding, Status, SubjectType
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.json_v1 import report_to_json

_OPEN = ("fail", "error")


def place_of(f: Finding, run: AuditRun) -> Place | None:
    if f.deployment is not None and f.deployment in run.deployments:
        return run.deployments[f.deployment]
    if f.subject.type is SubjectType.BUCKET:
        return run.buckets.get(f.subject.id.removeprefix("s3://"))
    return None


def _inventory(report: Report, run: AuditRun) -> list[dict[str, Any]]:
    rows: dict[Place, dict[str, Any]] = {}

    def row(place: Place) -> dict[str, Any]:
        return rows.setdefault(
            place,
            {
                "account": place.account,
                "region": place.region,
                "models": 0,
                "endpoint_configs": 0,
                "endpoints": 0,
                "buckets": 0,
                "blocking": 0,
                "warnings": 0,
                "errors": 0,
                "waived": 0,
            },
        )

    for inv in run.inventory:
        r = row(inv.place)
        r["models"] += inv.models
        r["endpoint_configs"] += inv.endpoint_configs
        r["endpoints"] += inv.endpoints
        r["buckets"] += inv.buckets
    for f in report.findings:
        place = place_of(f, run)
        if place is None:
            continue
        r = row(place)
        r["blocking"] += f.blocks
        r["warnings"] += f.warns
        r["errors"] += f.status is Status.ERROR and f.enforcement is not Enforcement.OFF
        r["waived"] += f.status is Status.WAIVED
    return [rows[p] for p in sorted(rows)]


def trend_point(document: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    summary = document["summary"]
    audit = document.get("audit") or {}
    return {
        "run_id": run_id,
        "finished_at": audit.get("finished_at"),
        "blocking": summary["blocking"],
        "warnings": summary["warnings"],
        "errors": summary["errors"],
        "waived": summary["waived"],
        "passed": summary["passed"],
        "open": sum(1 for f in document["findings"] if f["status"] in _OPEN),
    }


def _places(mapping: Mapping[str, Place]) -> dict[str, dict[str, str]]:
    return {name: {"account": p.account, "region": p.region} for name, p in sorted(mapping.items())}


def build_document(
    report: Report,
    run: AuditRun,
    *,
    diff: Diff,
    baseline: PastReport | None,
    history: Iterable[PastReport],
    show_passed: bool,
    report_dir: Path | None = None,
) -> dict[str, Any]:
    document = report_to_json(report, RenderOptions(show_passed=show_passed))
    baseline_json: dict[str, Any] | None = None
    if baseline is not None:
        path = baseline.path
        if report_dir is not None and path.resolve().is_relative_to(report_dir.resolve()):
            shown = path.resolve().relative_to(report_dir.resolve()).as_posix()
        else:
            shown = str(path)
        baseline_json = {"path": shown, "run_id": baseline.run_id}
        if baseline.finished_at:
            baseline_json["finished_at"] = baseline.finished_at
    audit: dict[str, Any] = {
        "run_id": run.run_id,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "source": run.source,
        "scope": {"regions": list(run.regions), "accounts": list(run.accounts)},
        "inventory": _inventory(report, run),
        "placement": {"deployments": _places(run.deployments), "buckets": _places(run.buckets)},
        "problems": [
            {"resource_id": p.resource_id, "message": p.message}
            | ({"account": p.place.account, "region": p.place.region} if p.place else {})
            for p in run.problems
        ],
        "baseline": baseline_json,
        "diff": diff.to_json(),
        "trend": [],
    }
    if run.state_file is not None:
        audit["state_file"] = run.state_file
    if run.licences:
        audit["licences"] = run.licences
    document["audit"] = audit
    audit["trend"] = [trend_point(p.document, p.run_id) for p in history] + [
        trend_point(document, run.run_id)
    ]
    return document
