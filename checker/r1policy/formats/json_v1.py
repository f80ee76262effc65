"""JSON transfer format, schema_version 1 (schemas/report-v1.schema.json). Built field by field,
never a dump of internals."""

from __future__ import annotations

import json
from typing import Any

from r1policy.core.findings import Finding, Status, may_hold_secret, redact
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions

SCHEMA_VERSION = 1


def finding_to_json(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": f.rule_id,
        "title": f.title,
        # str() of these StrEnums is their value (Enum's .value property is slow on big reports)
        "severity": str(f.severity),
        "status": str(f.status),
        "enforcement": str(f.enforcement),
        "subject": {"type": str(f.subject.type), "id": f.subject.id},
        "message": f.message,
        "references": list(f.references),
    }
    if f.deployment:
        out["deployment"] = f.deployment
    if f.location is not None:
        out["location"] = {"path": f.location.path, "line": f.location.line, "column": f.location.column}
        if f.location.cell is not None:
            out["location"]["cell"] = f.location.cell
    if f.remediation is not None:
        rem = f.remediation
        out["remediation"] = {"summary": rem.summary, "steps": list(rem.steps)}
        for key in ("cli", "terraform", "cloudformation"):
            value = getattr(rem, key)
            if value:
                out["remediation"][key] = value
    if f.waiver is not None:
        out["waiver"] = _waiver(f.waiver)
    if f.expired_waiver is not None:
        out["expired_waiver"] = _waiver(f.expired_waiver)
    return out


def _waiver(w: Any) -> dict[str, Any]:
    out = {"reason": w.reason, "owner": w.owner, "expires": w.expires.isoformat()}
    if w.ticket:
        out["ticket"] = w.ticket
    return out


def report_to_json(report: Report, options: RenderOptions) -> dict[str, Any]:
    s = report.summary
    findings = [f for f in report.findings if options.show_passed or f.status is not Status.PASS]
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": report.tool_name, "version": report.tool_version},
        "command": report.command,
        "decision": report.decision,
        "summary": {
            "blocking": s.blocking,
            "warnings": s.warnings,
            "errors": s.errors,
            "skipped": s.skipped,
            "waived": s.waived,
            "passed": s.passed,
            "subjects": s.subjects,
        },
        "findings": [finding_to_json(f) for f in findings],
        "notices": [
            {"kind": n.kind, "message": n.message}
            | (
                {"location": {"path": n.location.path, "line": n.location.line, "column": n.location.column}}
                if n.location
                else {}
            )
            for n in report.notices
        ],
        "inputs": list(report.inputs),
        "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
    }
    if report.compliance is not None:
        out["compliance"] = {"frameworks": report.compliance}
    return out


def _redacted(value: Any) -> Any:
    """Every string of the document through findings.redact: no secret is printed whole, whatever field
    (message, remediation, waiver reason, subject) it reached."""
    kind = type(value)
    if kind is str:
        return redact(value)
    if kind is list:
        return [_redacted(v) for v in value]
    if kind is dict:
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, str):  # a str subclass (an enum value): as a plain string
        return redact(str(value))
    return value


# Up to this many findings the report is indented throughout (json's pure-Python encoder: about 25 µs
# per finding). Above it each finding is one compact line, written by the C encoder (about 10× faster):
# the same document, still one finding per line for grep and diff.
INDENTED_MAX_FINDINGS = 1000


def render(report: Report, options: RenderOptions) -> str:
    doc = report_to_json(report, options)
    text = _encoded(doc)
    # Redaction changes only strings holding one of the literals every secret pattern needs; JSON
    # keeps those literals intact (letters, digits and `_` are never escaped) and cannot join two
    # strings into one, so a report text without any needed no redaction at all (four C-level
    # searches instead of a walk over every string). Otherwise every string goes through `redact`.
    if not may_hold_secret(text):
        return text
    return _encoded(_redacted(doc))


def _encoded(doc: dict[str, Any]) -> str:
    if len(doc["findings"]) <= INDENTED_MAX_FINDINGS:
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return _compact_lines(doc)


# One encoder for every finding (json.dumps with options builds a new encoder per call).
_COMPACT = json.JSONEncoder(ensure_ascii=False).encode


def _compact_lines(doc: dict[str, Any]) -> str:
    """The document with one top-level field per line, and one finding per line."""
    compact = _COMPACT
    fields = []
    for key, value in doc.items():
        if key == "findings":
            body = ",\n    ".join(map(compact, value))
            fields.append(f'  "findings": [\n    {body}\n  ]')
        else:
            fields.append(f"  {compact(key)}: {compact(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"
