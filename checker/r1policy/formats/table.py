"""The terminal view: one compact block per finding, grouped by subject, readable at 80 columns.

Each finding is a block: a first line with status (and whether it blocks), severity, rule id and
`file:line:col`; the message wrapped to the width; `fix:` with the first remediation step. Then the
skipped rules (one line per subject and reason), notices, a one-line summary and the decision.
Severity and outcome are spelled out, so the output reads without colour; colour is plain ANSI
(`NO_COLOR`, `--no-color` and non-terminals turn it off). Plain string building, no layout engine:
20,000 findings render in well under a second (docs/benchmarks.md).
"""

from __future__ import annotations

import textwrap
from itertools import groupby

from r1policy.core.findings import Finding, Status
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.common import clean

_RESET = "\x1b[0m"
_STATUS_STYLE = {
    Status.FAIL: "\x1b[1;31m",
    Status.ERROR: "\x1b[1;35m",
    Status.WAIVED: "\x1b[36m",
    Status.SKIPPED: "\x1b[2m",
    Status.PASS: "\x1b[32m",
}
_SEVERITY_STYLE = {
    "critical": "\x1b[1;31m",
    "high": "\x1b[31m",
    "medium": "\x1b[33m",
    "low": "\x1b[34m",
    "info": "\x1b[2m",
}
_BOLD, _DIM, _YELLOW = "\x1b[1m", "\x1b[2m", "\x1b[33m"
_INDENT = "    "
_MIN_WIDTH = 40


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if self.color and style else text


def _label(f: Finding) -> str:
    if f.status in (Status.FAIL, Status.ERROR):
        verdict = {"block": "BLOCK", "warn": "warn", "off": "off"}[f.enforcement.value]
        return f"{f.status.value} ({verdict})"
    return f.status.value


def _fix(f: Finding) -> str:
    if f.waiver is not None:
        return f"waived by {f.waiver.owner} until {f.waiver.expires.isoformat()}: {f.waiver.reason}"
    if f.remediation is None:
        return ""
    return f.remediation.steps[0] if f.remediation.steps else f.remediation.summary


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    """Wrap on spaces; a word longer than the line (a path, an ARN) is broken, never cut off."""
    lines: list[str] = []
    for i, para in enumerate(clean(text).splitlines() or [""]):
        lines += textwrap.wrap(
            para,
            width=width,
            initial_indent=first if i == 0 else rest,
            subsequent_indent=rest,
            break_long_words=True,
            break_on_hyphens=False,
        ) or [first if i == 0 else rest]
    return lines


def _block(f: Finding, width: int, paint: _Painter) -> list[str]:
    label = _label(f)
    head = [paint(_STATUS_STYLE[f.status], label), paint(_SEVERITY_STYLE[f.severity.value], f.severity.value)]
    plain = f"  {label}  {f.severity.value}  {f.rule_id}"
    line = "  " + "  ".join([*head, f.rule_id])
    lines = []
    where = clean(str(f.location)) if f.location else ""
    if where and len(plain) + 2 + len(where) <= width:
        lines.append(f"{line}  {paint(_DIM, where)}")
    else:
        lines.append(line)
        if where:
            lines += [paint(_DIM, part) for part in _wrap(where, width, _INDENT, _INDENT)]
    lines += _wrap(f.message, width, _INDENT, _INDENT)
    fix = _fix(f)
    if fix:
        lines += _wrap(fix, width, _INDENT + "fix: ", _INDENT + "     ")
    return lines


def _title(head: Finding) -> str:
    title = f"{head.subject.type.value} {head.subject.id}"
    if head.deployment and head.deployment != head.subject.id:
        title += f"  (deployment {head.deployment})"
    return title


def render(report: Report, options: RenderOptions) -> str:
    width = max(_MIN_WIDTH, options.width)
    paint = _Painter(options.color)
    out: list[str] = []
    skipped = [f for f in report.findings if f.status is Status.SKIPPED]
    shown = [
        f
        for f in report.findings
        if f.status is not Status.SKIPPED and (options.show_passed or f.status is not Status.PASS)
    ]
    order = sorted(
        shown, key=lambda f: (not f.blocks, f.subject.type.value, f.subject.id, f.severity.rank, f.rule_id)
    )
    for _key, group in groupby(order, key=lambda f: (f.subject.type.value, f.subject.id)):
        items = list(group)
        out += [paint(_BOLD, part) for part in _wrap(_title(items[0]), width, "", "  ")]
        for f in items:
            out += _block(f, width, paint)
        out.append("")
    skipped.sort(key=lambda f: (f.subject.id, f.message, f.rule_id))
    for (ident, message), group in groupby(skipped, key=lambda f: (f.subject.id, f.message)):
        rules = ", ".join(dict.fromkeys(f.rule_id for f in group))  # one subject, several deployments
        out += [
            paint(_DIM, part) for part in _wrap(f"skipped {rules} for {ident}: {message}", width, "", "  ")
        ]
    if report.skipped:
        out += [paint(_DIM, part) for part in _wrap(skipped_line(report), width, "", "  ")]
    for notice in report.notices:
        where = f"{notice.location}: " if notice.location else ""
        out += [paint(_YELLOW, part) for part in _wrap(f"note: {where}{notice.message}", width, "", "  ")]
    s = report.summary
    out += _wrap(
        f"{s.subjects} subjects: {s.blocking} blocking, {s.warnings} warnings, {s.errors} errors, "
        f"{s.skipped} skipped, {s.waived} waived, {s.passed} passed",
        width,
        "",
        "  ",
    )
    decision = "decision: BLOCK" if report.blocked else "decision: allow"
    out.append(paint("\x1b[1;31m" if report.blocked else "\x1b[1;32m", decision))
    return "\n".join(out) + "\n"


def skipped_line(report: Report, shown: int = 5) -> str:
    """One line naming what `check` did not read (the JSON report lists every path with its reason)."""
    items = report.skipped
    names = ", ".join(f"{s.path} ({s.reason})" for s in items[:shown])
    more = f", and {len(items) - shown} more (see the JSON report's `skipped`)" if len(items) > shown else ""
    return f"not read: {names}{more}"
