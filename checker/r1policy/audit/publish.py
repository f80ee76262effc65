"""Turn an evaluated audit into its report run: baseline, diff, trend, three files, one atomic folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1policy.audit.diff import Diff, diff_findings
from r1policy.audit.document import build_document
from r1policy.audit.history import REPORT_JSON, PastReport, load_report, recent
from r1policy.audit.html import render_html
from r1policy.audit.markdown import render_markdown
from r1policy.audit.reportdir import free_run_id, write_run
from r1policy.audit.run import AuditRun
from r1policy.engine.report import Report
from r1policy.formats.json_v1 import finding_to_json

REPORT_MD = "audit.md"
REPORT_HTML = "audit.html"


@dataclass(frozen=True)
class Published:
    folder: Path
    document: dict[str, Any]
    diff: Diff
    baseline: PastReport | None

    @property
    def html(self) -> Path:
        return self.folder / REPORT_HTML


def render_files(document: dict[str, Any]) -> dict[str, str]:
    return {
        REPORT_JSON: json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        REPORT_MD: render_markdown(document),
        REPORT_HTML: render_html(document),
    }


def publish(
    report: Report,
    run: AuditRun,
    *,
    report_dir: Path,
    baseline_path: Path | None = None,
    show_passed: bool = False,
) -> Published:
    """Everything is read and rendered before anything is written; then the run folder appears at once."""
    history = recent(report_dir)
    if baseline_path is not None:
        baseline: PastReport | None = load_report(baseline_path)
    else:
        baseline = history[-1] if history else None
    run.run_id = free_run_id(report_dir, run.run_id)
    current = [finding_to_json(f) for f in report.findings]
    diff = diff_findings(current, baseline.document["findings"] if baseline is not None else None)
    document = build_document(
        report,
        run,
        diff=diff,
        baseline=baseline,
        history=history,
        show_passed=show_passed,
        report_dir=report_dir,
    )
    folder = write_run(report_dir, run.run_id, render_files(document))
    return Published(folder, document, diff, baseline)
