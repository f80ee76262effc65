"""JSON transfer format, schema_version 1 (schemas/report-v1.schema.json). Built field by field,
never a dump of internals."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

from r1policy.core.findings import Finding, Location, Remediation, Status
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
        out["remediation"] = _remediation(f.remediation)
    if f.waiver is not None:
        out["waiver"] = _waiver(f.waiver)
    if f.expired_waiver is not None:
        out["expired_waiver"] = _waiver(f.expired_waiver)
    return out


def _remediation(rem: Remediation) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": rem.summary, "steps": list(rem.steps)}
    for key in ("cli", "terraform", "cloudformation"):
        value = getattr(rem, key)
        if value:
            out[key] = value
    return out


def _waiver(w: Any) -> dict[str, Any]:
    out = {"reason": w.reason, "owner": w.owner, "expires": w.expires.isoformat()}
    if w.ticket:
        out["ticket"] = w.ticket
    return out


def report_to_json(report: Report, options: RenderOptions) -> dict[str, Any]:
    return _document(report, [finding_to_json(f) for f in _shown(report, options)])


def _shown(report: Report, options: RenderOptions) -> list[Finding]:
    if options.show_passed:
        return list(report.findings)
    passed = Status.PASS  # once: an enum member read from its class costs a lookup each time
    return [f for f in report.findings if f.status is not passed]


def _document(report: Report, findings: list[Any]) -> dict[str, Any]:
    s = report.summary
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
        "findings": findings,
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


# Up to this many findings the report is indented throughout (json's pure-Python encoder: about 25 µs
# per finding). Above it each finding is one compact line (`_Lines`, about 15× faster): the same
# document, still one finding per line for grep and diff.
INDENTED_MAX_FINDINGS = 1000


def render(report: Report, options: RenderOptions) -> str:
    """The report as JSON. Nothing is redacted here: every string of a Report was redacted when it was
    built (core.findings, engine.report)."""
    findings = _shown(report, options)
    if len(findings) <= INDENTED_MAX_FINDINGS:
        doc = _document(report, [finding_to_json(f) for f in findings])
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return _BETWEEN.join(_compact_lines(_document(report, findings)))


def render_encoded(report: Report, options: RenderOptions) -> list[bytes]:
    """`render(...)` as UTF-8 chunks, for a file. The large form is encoded line by line: most lines are
    ASCII, which encodes as a copy, where the whole text would be encoded character by character as soon
    as one line holds a non-ASCII character."""
    findings = _shown(report, options)
    if len(findings) <= INDENTED_MAX_FINDINGS:
        return [render(report, options).encode("utf-8")]
    lines = _compact_lines(_document(report, findings))
    lines.reverse()
    between = _BETWEEN.encode("utf-8")
    chunks: list[bytes] = []
    while lines:  # each line's text is freed as it is encoded: its memory holds the next line's bytes
        chunks.append(lines.pop().encode("utf-8"))
        chunks.append(between)
    chunks.pop()
    return chunks


# The C encoder, compact; and its string encoder (the one it calls for every string when ensure_ascii is
# off), for the parts of a finding's line.
_COMPACT = json.JSONEncoder(ensure_ascii=False).encode
_STRING = encode_basestring


# Between two findings' lines of the large form.
_BETWEEN = ",\n    "


def _compact_lines(doc: dict[str, Any]) -> list[str]:
    """The document with one top-level field per line and one finding per line, as parts to be joined
    with `_BETWEEN` (a large report is tens of megabytes: every copy counts).
    `doc["findings"]` holds the Finding objects; each line is exactly
    `_COMPACT(finding_to_json(finding))`."""
    fields = {key: f"  {_COMPACT(key)}: {_COMPACT(value)}" for key, value in doc.items() if key != "findings"}
    keys = list(doc)
    at = keys.index("findings")
    head = "".join(f"{fields[key]},\n" for key in keys[:at])
    tail = "".join(f",\n{fields[key]}" for key in keys[at + 1 :])
    lines = list(map(_Lines().line, doc["findings"]))
    if not lines:
        return ["{\n" + head + '  "findings": []' + tail + "\n}\n"]
    lines[0] = "{\n" + head + '  "findings": [\n    ' + lines[0]
    lines[-1] += "\n  ]" + tail + "\n}\n"
    return lines


def _around(f: Finding) -> tuple[str, str]:
    """The line of `f` up to its subject id, and its references (which follow the message)."""
    fields = (f.rule_id, f.title, str(f.severity), str(f.status), str(f.enforcement))
    named = ", ".join(f"{_STRING(k)}: {_STRING(v)}" for k, v in zip(_HEAD_KEYS, fields, strict=True))
    head = f'{{{named}, "subject": {{"type": {_STRING(str(f.subject.type))}, "id": '
    return head, f', "references": {_COMPACT(list(f.references))}'


_HEAD_KEYS = ("rule_id", "title", "severity", "status", "enforcement")


def _number(value: int | None) -> str:
    return str(value) if type(value) is int else _COMPACT(value)


class _Lines:
    """Builds a finding's JSON line from encoded parts, each encoded once per report: the parts shared by
    a rule's findings of one status (rule, title, severity, status, enforcement, subject type,
    references), strings that recur (subject ids, messages, deployments, paths), each Remediation
    object, each Location object."""

    def __init__(self) -> None:
        self.around: dict[tuple[Any, ...], tuple[str, str]] = {}
        self.strings: dict[str, str] = {}
        # Keyed by id(): each entry keeps its object, so no other object can take that id meanwhile.
        self.remediations: dict[int, tuple[Remediation, str]] = {}
        self.locations: dict[int, tuple[Location, str]] = {}

    def string(self, text: str) -> str:
        done = self.strings[text] = _STRING(text)
        return done

    def line(self, f: Finding) -> str:
        subject = f.subject
        key = (f.rule_id, f.title, f.severity, f.status, f.enforcement, subject.type, f.references)
        around = self.around.get(key)
        if around is None:
            around = self.around[key] = _around(f)
        strings = self.strings
        ident = strings.get(subject.id) or self.string(subject.id)
        deployment = location = remediation = ""
        if f.deployment:
            deployment = ', "deployment": ' + (strings.get(f.deployment) or self.string(f.deployment))
        if f.location is not None:
            known = self.locations.get(id(f.location))
            location = known[1] if known is not None else self.location(f.location)
        if f.remediation is not None:
            known_fix = self.remediations.get(id(f.remediation))
            remediation = known_fix[1] if known_fix is not None else self.remediation(f.remediation)
        message = strings.get(f.message) or self.string(f.message)  # a message recurs a dozen times
        rest = f"{around[1]}{deployment}{location}{remediation}"
        if f.waiver is None and f.expired_waiver is None:
            return f'{around[0]}{ident}}}, "message": {message}{rest}}}'
        out = f'{around[0]}{ident}}}, "message": {message}{rest}'
        if f.waiver is not None:
            out += f', "waiver": {_COMPACT(_waiver(f.waiver))}'
        if f.expired_waiver is not None:
            out += f', "expired_waiver": {_COMPACT(_waiver(f.expired_waiver))}'
        return out + "}"

    def location(self, at: Location) -> str:
        path = self.strings.get(at.path) or self.string(at.path)
        line, column = at.line, at.column
        if at.cell is None and type(line) is int and type(column) is int:  # f-strings write ints as json
            text = f', "location": {{"path": {path}, "line": {line}, "column": {column}}}'
        else:
            cell = "" if at.cell is None else f', "cell": {_number(at.cell)}'
            place = f'"line": {_number(line)}, "column": {_number(column)}{cell}'
            text = f', "location": {{"path": {path}, {place}}}'
        self.locations[id(at)] = (at, text)
        return text

    def remediation(self, rem: Remediation) -> str:
        # Steps name the deployment's resources: seldom shared, encoded without the cache.
        steps = ", ".join(map(_STRING, rem.steps))
        summary = self.strings.get(rem.summary) or self.string(rem.summary)
        text = f', "remediation": {{"summary": {summary}, "steps": [{steps}]'
        for key in ("cli", "terraform", "cloudformation"):
            value = getattr(rem, key)
            if value:
                text += f', "{key}": {_STRING(value)}'
        text += "}"
        self.remediations[id(rem)] = (rem, text)
        return text
