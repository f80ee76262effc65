"""JUnit XML: one `<testsuite>` per subject, one `<testcase>` per rule x subject.

fail -> `<failure>`, error -> `<error>` (the rule could not be evaluated), skipped -> `<skipped>` with the
reason, waived -> `<skipped>` with the waiver's reason, owner and expiry, pass -> an empty testcase. Passed
rules are always listed (a test report counts what passed); `type` carries the enforcement, so a CI that
wants to ignore warn-only failures can. Text is redacted and stripped of characters XML 1.0 forbids.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from r1policy.core.findings import Finding, Status
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.common import (
    clean,
    display_path,
    fix_line,
    one_line,
    root_of,
    shorten,
    summary_line,
)

MAX_ATTRIBUTE = 1_000
_ELEMENT = {
    Status.FAIL: "failure",
    Status.ERROR: "error",
    Status.SKIPPED: "skipped",
    Status.WAIVED: "skipped",
}


def _detail(f: Finding, where: str) -> str:
    lines = [clean(f.message)]
    if where:
        lines.append(f"at {where}")
    if f.remediation is not None:
        lines.append(f"How to fix: {clean(f.remediation.summary)}")
        lines += [f"  {i}. {clean(step)}" for i, step in enumerate(f.remediation.steps, 1)]
    if f.expired_waiver is not None:
        lines.append(f"A waiver expired on {f.expired_waiver.expires.isoformat()} and waives nothing.")
    return "\n".join(lines)


def _attribute(text: str) -> str:
    """Attributes are one line and short; the element text carries the whole message."""
    return shorten(one_line(text), MAX_ATTRIBUTE)


def _testcase(suite: ET.Element, f: Finding, options: RenderOptions, name: str) -> None:
    where = ""
    if f.location is not None:
        where = display_path(f.location.path, root_of(options))
        if f.location.line is not None:
            where += f":{f.location.line}"
    case = ET.SubElement(
        suite,
        "testcase",
        name=name,
        classname=one_line(f"r1policy.{f.subject.type.value}.{f.subject.id}"),
        time="0",
    )
    if f.location is not None:
        case.set("file", one_line(display_path(f.location.path, root_of(options))))
    element = _ELEMENT.get(f.status)
    if element is None:
        return
    if f.status is Status.WAIVED:
        ET.SubElement(case, element, message=_attribute(f"waived: {fix_line(f)}"))
        return
    if f.status is Status.SKIPPED:
        ET.SubElement(case, element, message=_attribute(f.message))
        return
    node = ET.SubElement(
        case,
        element,
        message=_attribute(f"[{f.severity.value}] {f.message}"),
        type=f"{f.rule_id} {f.enforcement.value}",
    )
    node.text = _detail(f, where)


def render(report: Report, options: RenderOptions) -> str:
    findings = sorted(report.findings, key=lambda f: f.sort_key())
    root = ET.Element("testsuites", name=f"{report.tool_name} {report.command}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for (kind, ident), group in groupby(findings, key=lambda f: (f.subject.type.value, f.subject.id)):
        items = list(group)
        counts = {
            "tests": len(items),
            "failures": sum(1 for f in items if f.status is Status.FAIL),
            "errors": sum(1 for f in items if f.status is Status.ERROR),
            "skipped": sum(1 for f in items if f.status in (Status.SKIPPED, Status.WAIVED)),
        }
        suite = ET.SubElement(root, "testsuite", name=one_line(f"{kind} {ident}"), time="0")
        for key, value in counts.items():
            suite.set(key, str(value))
        names: dict[str, int] = {}
        for f in items:
            # One rule can report a subject twice (two reasons): testcase names stay unique.
            name = one_line(f"{f.rule_id}: {f.title}")
            names[name] = names.get(name, 0) + 1
            _testcase(suite, f, options, name if names[name] == 1 else f"{name} ({names[name]})")
        for key, value in counts.items():
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    if report.notices:
        holder = ET.SubElement(root, "testsuite", name="r1policy notices", time="0")
        for key in ("tests", "failures", "errors", "skipped"):
            holder.set(key, "0")
        out = ET.SubElement(holder, "system-out")
        out.text = "\n".join(clean(n.message) for n in report.notices)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    comment = f"<!-- {one_line(summary_line(report)).replace('--', '- -')} -->"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{comment}\n{body}\n'
