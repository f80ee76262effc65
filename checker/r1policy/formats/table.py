"""A terminal table grouped by subject: status, severity, rule, message, first fix step, file:line."""

from __future__ import annotations

import io
from itertools import groupby

from r1policy.findings import Finding, Status
from r1policy.formats import RenderOptions
from r1policy.formats.common import clean
from r1policy.report import Report

_STATUS_STYLE = {
    Status.FAIL: "bold red",
    Status.ERROR: "bold magenta",
    Status.WAIVED: "cyan",
    Status.SKIPPED: "dim",
    Status.PASS: "green",
}
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "blue", "info": "dim"}


def _label(f: Finding) -> str:
    # Severity and outcome are spelled out, so the table reads without colour.
    if f.status in (Status.FAIL, Status.ERROR):
        verdict = {"block": "BLOCK", "warn": "warn", "off": "off"}[f.enforcement.value]
        return f"{f.status.value} ({verdict})"
    return f.status.value


def render(report: Report, options: RenderOptions) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=options.width,
        color_system="auto" if options.color else None,
        force_terminal=options.color,
        highlight=False,
        soft_wrap=False,
    )
    # Skipped rules are listed compactly after the tables, one line per subject and reason.
    skipped = [f for f in report.findings if f.status is Status.SKIPPED]
    shown = [
        f
        for f in report.findings
        if f.status is not Status.SKIPPED and (options.show_passed or f.status is not Status.PASS)
    ]
    order = sorted(
        shown, key=lambda f: (not f.blocks, f.subject.type.value, f.subject.id, f.severity.rank, f.rule_id)
    )
    for (_kind, _ident), group in groupby(order, key=lambda f: (f.subject.type.value, f.subject.id)):
        items = list(group)
        head = items[0]
        title = clean(f"{head.subject.type.value} {head.subject.id}")
        if head.deployment and head.deployment != head.subject.id:
            title += clean(f"  (deployment {head.deployment})")
        table = Table(
            title=Text(title), title_justify="left", title_style="bold", expand=False, show_lines=False
        )
        table.add_column("status", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("message", ratio=3)
        table.add_column("fix", ratio=2)
        table.add_column("where", no_wrap=True)
        for f in items:
            fix = ""
            if f.remediation is not None:
                fix = f.remediation.steps[0] if f.remediation.steps else f.remediation.summary
            if f.waiver is not None:
                fix = f"waived by {f.waiver.owner} until {f.waiver.expires.isoformat()}: {f.waiver.reason}"
            where = str(f.location) if f.location else ""
            table.add_row(
                Text(_label(f), style=_STATUS_STYLE[f.status]),
                Text(f.severity.value, style=_SEVERITY_STYLE[f.severity.value]),
                f.rule_id,
                Text(clean(f.message)),
                Text(clean(fix)),
                Text(clean(where)),
            )
        console.print(table)
    skipped.sort(key=lambda f: (f.subject.id, f.message, f.rule_id))
    for (ident, message), group in groupby(skipped, key=lambda f: (f.subject.id, f.message)):
        rules = ", ".join(dict.fromkeys(f.rule_id for f in group))  # one subject, several deployments
        console.print(Text(clean(f"skipped {rules} for {ident}: {message}"), style="dim"))
    if report.skipped:
        console.print(Text(clean(skipped_line(report)), style="dim"))
    for notice in report.notices:
        where = f"{notice.location}: " if notice.location else ""
        console.print(Text(clean(f"note: {where}{notice.message}"), style="yellow"))
    s = report.summary
    console.print(
        f"{s.subjects} subjects: {s.blocking} blocking, {s.warnings} warnings, {s.errors} errors, "
        f"{s.skipped} skipped, {s.waived} waived, {s.passed} passed"
    )
    decision = Text(
        "decision: BLOCK" if report.blocked else "decision: allow",
        style="bold red" if report.blocked else "bold green",
    )
    console.print(decision)
    return buffer.getvalue()


def skipped_line(report: Report, shown: int = 5) -> str:
    """One line naming what `check` did not read (the JSON report lists every path with its reason)."""
    items = report.skipped
    names = ", ".join(f"{s.path} ({s.reason})" for s in items[:shown])
    more = f", and {len(items) - shown} more (see the JSON report's `skipped`)" if len(items) > shown else ""
    return f"not read: {names}{more}"
