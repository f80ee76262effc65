"""Markdown for a pull-request comment: the decision and counts, then one collapsible `<details>` per
subject with a table of its findings.

GitHub refuses comments over 65,536 characters, so the text is built within `COMMENT_LIMIT` (counted in
UTF-16 code units, as the web front end counts): when findings do not fit, the last section is closed
early and a note says how many findings and subjects were left out and where to find them all. Every
cell is escaped (`|`, newlines, `<`, `>`, `&`), so finding text cannot break the table or inject HTML.
"""

from __future__ import annotations

from itertools import groupby

from r1policy.core.findings import Finding, Status
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.common import (
    by_subject,
    clean,
    display_path,
    fix_line,
    root_of,
    shorten,
    shown,
    summary_line,
    verdict,
)

COMMENT_LIMIT = 65_536
MARKER = "<!-- r1policy-report -->"
MAX_CELL = 1_000
_NOTE_RESERVE = 600


def size(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units): an emoji counts twice."""
    return len(text.encode("utf-16-le")) // 2


def cell(text: str, limit: int = MAX_CELL) -> str:
    flat = " ".join(clean(text).split())
    flat = shorten(flat, limit)
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def summary_markdown(report: Report, options: RenderOptions, *, limit: int = COMMENT_LIMIT) -> str:
    """Decision, counts and the blocking findings as one table (also the GitHub job summary)."""
    s = report.summary
    counts = (s.blocking, s.warnings, s.errors, s.skipped, s.waived, s.passed, s.subjects)
    icon = "❌" if report.blocked else "✅"
    lines = [
        f"### {icon} r1policy {cell(report.command)}: {'BLOCK' if report.blocked else 'allow'}",
        "",
        "| blocking | warnings | errors | skipped | waived | passed | subjects |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        "| " + " | ".join(str(n) for n in counts) + " |",
    ]
    blocking = [f for f in shown(report, options) if f.blocks]
    if blocking:
        root = root_of(options)
        lines += [
            "",
            "| outcome | severity | rule | subject | message | where |",
            "|---|---|---|---|---|---|",
        ]
        used = size("\n".join(lines))
        for i, f in enumerate(blocking):
            where = f"{display_path(f.location.path, root)}:{f.location.line or ''}" if f.location else ""
            row = (
                f"| {verdict(f)} | {f.severity.value} | {f.rule_id} | {cell(f.subject.id, 200)} "
                f"| {cell(f.message, 500)} | {cell(where, 200)} |"
            )
            if used + size(row) + _NOTE_RESERVE > limit:
                lines.append(f"\n_{len(blocking) - i} more blocking findings not shown (size limit)._")
                break
            lines.append(row)
            used += size(row) + 1
    return "\n".join(lines)


def _row(f: Finding, options: RenderOptions) -> str:
    where = ""
    if f.location is not None:
        line = f":{f.location.line}" if f.location.line is not None else ""
        where = cell(display_path(f.location.path, root_of(options)) + line, 300)
    return (
        f"| {verdict(f)} | {f.severity.value} | {f.rule_id} | {cell(f.message)} | {cell(fix_line(f))} "
        f"| {where} |"
    )


def _skipped_section(report: Report) -> str:
    """Skipped rules, one line per subject and reason (as the table lists them), collapsed."""
    skipped = sorted(
        (f for f in report.findings if f.status is Status.SKIPPED),
        key=lambda f: (f.subject.id, f.message, f.rule_id),
    )
    if not skipped:
        return ""
    lines = [f"<details>\n<summary>{len(skipped)} rule evaluations skipped</summary>\n"]
    for (ident, message), group in groupby(skipped, key=lambda f: (f.subject.id, f.message)):
        rules = ", ".join(f.rule_id for f in group)
        lines.append(f"- {rules} for {cell(ident, 300)}: {cell(message, 500)}")
    lines.append("\n</details>\n")
    return "\n".join(lines)


def render(report: Report, options: RenderOptions, *, limit: int = COMMENT_LIMIT) -> str:
    head = MARKER + "\n" + summary_markdown(report, options, limit=limit // 3)
    parts = [head, ""]
    used = size(head) + 1
    findings = [f for f in shown(report, options) if f.status is not Status.SKIPPED]
    groups = by_subject(findings)
    left_findings = len(findings)
    left_groups = len(groups)
    truncated = False
    for title, items in groups:
        blocking = sum(1 for f in items if f.blocks)
        label = f"{blocking} blocking" if blocking else "nothing blocks"
        opening = [
            f"<details{' open' if blocking else ''}>",
            f"<summary><b>{cell(title, 500)}</b> — {label}, {len(items)} findings</summary>",
            "",
            "| outcome | severity | rule | message | fix | where |",
            "|---|---|---|---|---|---|",
        ]
        section = "\n".join(opening)
        if used + size(section) + _NOTE_RESERVE > limit:
            truncated = True
            break
        rows: list[str] = []
        section_size = size(section)
        for f in items:
            row = _row(f, options)
            if used + section_size + size(row) + 1 + _NOTE_RESERVE > limit:
                truncated = True
                break
            rows.append(row)
            section_size += size(row) + 1
        block = "\n".join([*opening, *rows, "", "</details>", ""])
        parts.append(block)
        used += size(block) + 1
        left_findings -= len(rows)
        left_groups -= 1 if not truncated else 0
        if truncated:
            break
    skipped = _skipped_section(report)
    if skipped and not truncated:
        if used + size(skipped) + _NOTE_RESERVE <= limit:
            parts.append(skipped)
        else:
            count = sum(1 for f in report.findings if f.status is Status.SKIPPED)
            parts.append(f"<sub>{count} rule evaluations skipped (the JSON output gives the reasons).</sub>")
    if truncated:
        parts.append(
            f"> **Truncated:** {left_findings} more findings in {left_groups} subjects are not shown "
            f"(a GitHub comment holds at most {COMMENT_LIMIT:,} characters). The complete report is in the "
            "JSON or SARIF output of the same run."
        )
    parts.append(f"\n<sub>{cell(summary_line(report))} · r1policy {cell(report.tool_version)}</sub>")
    return "\n".join(parts) + "\n"
