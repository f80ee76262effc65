"""`--format cyclonedx`: the CycloneDX 1.6 AI bill of materials of what the run judged (r1policy.formats.bom;
cyclonedx-python-lib is imported only when this format is asked for)."""

from __future__ import annotations

from r1policy.engine.report import Report
from r1policy.formats import RenderOptions


def render(report: Report, options: RenderOptions) -> str:
    from r1policy.core.errors import UsageError
    from r1policy.formats.bom import render_bom

    if report.command != "check":
        raise UsageError(f"--format cyclonedx is written by `check` and `bom`, not by `{report.command}`")
    from r1policy.formats.common import one_line, shown

    verdicts = [
        one_line(f"{f.rule_id} {f.status.value} {f.subject.type.value} {f.subject.id}: {f.message}")
        for f in shown(report, options)
    ]
    return render_bom(list(report.models), report.decision, report.tool_version, verdicts)
