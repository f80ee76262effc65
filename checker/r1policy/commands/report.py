"""`r1policy report merge A.json B.json ... --output FILE [--report-dir DIR] [--baseline FILE]`: combine the
audit reports of disjoint shards (see ``r1policy.audit.merge``) into one, with its own diff against the
baseline and its trend, so that `audit`'s history, diff and trend work on merged reports."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from r1policy.core.errors import OutputError, UsageError


def add_report_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="work with audit reports (merge shards)")
    rsub = p.add_subparsers(dest="report_command", metavar="ACTION", parser_class=parser_class)
    m = rsub.add_parser(
        "merge",
        help="merge the audit JSON reports of disjoint shards (accounts / regions) into one report",
        description="Merge audit.json reports of disjoint shards (a CI matrix or AWS Batch array by "
        "account list) into the report one run over all of them would write. Overlapping shards are "
        "refused (exit 2). Exit 1 when the merged report blocks (unless --exit-zero).",
    )
    m.add_argument("reports", nargs="+", type=Path, metavar="REPORT.json", help="audit.json of each shard")
    m.add_argument("--output", type=Path, metavar="FILE", help="write the merged audit JSON here")
    m.add_argument(
        "--report-dir",
        type=Path,
        metavar="DIR",
        help="also publish the merged run as DIR/<run id>/audit.{json,md,html} (diff and trend against DIR)",
    )
    m.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="the previous audit JSON to diff against (default: the latest run in --report-dir, else none)",
    )
    m.add_argument("--exit-zero", action="store_true", help="exit 0 even when the merged report blocks")


def _baseline_json(
    path: Path, run_id: str, finished_at: str | None, report_dir: Path | None
) -> dict[str, Any]:
    shown = str(path)
    if report_dir is not None and path.resolve().is_relative_to(report_dir.resolve()):
        shown = path.resolve().relative_to(report_dir.resolve()).as_posix()
    out: dict[str, Any] = {"path": shown, "run_id": run_id}
    if finished_at:
        out["finished_at"] = finished_at
    return out


def _write_atomic(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # only when `report` writes: cli imports this module for its arguments

        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the merged report: {exc.strerror or exc}") from exc


def run_report(args: argparse.Namespace) -> int:
    from r1policy.audit.diff import diff_findings
    from r1policy.audit.document import trend_point
    from r1policy.audit.history import PastReport, load_report, recent
    from r1policy.audit.merge import merge_reports
    from r1policy.audit.publish import render_files
    from r1policy.audit.reportdir import free_run_id, write_run

    if args.report_command != "merge":
        raise UsageError("report: name an action (merge)")
    if args.output is None and args.report_dir is None:
        raise UsageError("report merge: give --output FILE and/or --report-dir DIR")
    document = merge_reports([load_report(p) for p in args.reports], _dt.datetime.now(_dt.UTC))
    audit = document["audit"]
    history = recent(args.report_dir) if args.report_dir is not None else []
    baseline: PastReport | None = load_report(args.baseline) if args.baseline else None
    if baseline is None and history:
        baseline = history[-1]
    if args.report_dir is not None:
        audit["run_id"] = free_run_id(args.report_dir, audit["run_id"])
    if baseline is not None:
        audit["baseline"] = _baseline_json(
            baseline.path, baseline.run_id, baseline.finished_at, args.report_dir
        )
    diff = diff_findings(document["findings"], baseline.document["findings"] if baseline else None)
    audit["diff"] = diff.to_json()
    audit["trend"] = [trend_point(p.document, p.run_id) for p in history] + [
        trend_point(document, audit["run_id"])
    ]
    if args.output is not None:
        _write_atomic(args.output, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    where = str(args.output)
    if args.report_dir is not None:
        where = str(write_run(args.report_dir, audit["run_id"], render_files(document)) / "audit.html")
    print(
        f"r1policy report merge: {len(args.reports)} shard(s), {len(audit['scope']['accounts'])} account(s); "
        f"{len(diff.new)} new, {len(diff.resolved)} resolved, {len(diff.persisting)} persisting; {where}",
        file=sys.stderr,
    )
    return 1 if document["decision"] == "block" and not args.exit_zero else 0
