"""JSON transfer format, schema_version 1 (schemas/report-v1.schema.json). Built field by field,
never a dump of internals."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
# per finding). Above it each finding is one compact line (`_Parts`, about 15× faster): the same
# document, still one finding per line for grep and diff.
INDENTED_MAX_FINDINGS = 1000


def render(report: Report, options: RenderOptions) -> str:
    """The report as JSON. Nothing is redacted here: every string of a Report was redacted when it was
    built (core.findings, engine.report)."""
    findings = _shown(report, options)
    if len(findings) <= INDENTED_MAX_FINDINGS:
        doc = _document(report, [finding_to_json(f) for f in findings])
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return b"".join(_compact_parts(_document(report, findings), _Parts())).decode("utf-8")


def render_encoded(report: Report, options: RenderOptions) -> Iterator[bytes]:
    """`render(...)` as UTF-8 chunks, for a file, made as the file is written. The large form is
    assembled from encoded parts, each encoded once per report, and joined into chunks of about
    `_CHUNK_PARTS` parts, each handed to the file as soon as it is whole: no text of the whole report,
    or of each line, is built, no part is encoded twice, and the parts of one chunk only are held."""
    findings = _shown(report, options)
    if len(findings) <= INDENTED_MAX_FINDINGS:
        yield _encode(render(report, options))
        return
    yield from _compact_parts(_document(report, findings), _Parts())


_CHUNK_PARTS = 8192  # a finding is about 8 parts of about 130 bytes: chunks of about a megabyte


# The C encoder, compact; and its string encoder (the one it calls for every string when ensure_ascii is
# off), for the parts of a finding's line.
_COMPACT = json.JSONEncoder(ensure_ascii=False).encode
_STRING = encode_basestring


def _encode(text: str) -> bytes:
    """A part's UTF-8. `redact` wrote every lone surrogate of a finding as the byte it stands for; one
    left elsewhere (a compliance framework's name) is written as its JSON escape (`\\udcff`), which
    reads back as the same string."""
    return text.encode("utf-8", "backslashreplace")


# Between two findings' lines of the large form.
_BETWEEN = ",\n    "


def _compact_parts(doc: dict[str, Any], parts: _Parts) -> Iterator[bytes]:
    """The document with one top-level field per line and one finding per line, as encoded chunks of
    about `_CHUNK_PARTS` parts each, made one at a time (a large report is tens of megabytes: every
    copy counts). `doc["findings"]` holds the Finding objects; each finding's parts join to exactly
    `_COMPACT(finding_to_json(finding))`, and findings are separated by `_BETWEEN`."""
    fields = {key: f"  {_COMPACT(key)}: {_COMPACT(value)}" for key, value in doc.items() if key != "findings"}
    keys = list(doc)
    at = keys.index("findings")
    head = "".join(f"{fields[key]},\n" for key in keys[:at])
    tail = "".join(f",\n{fields[key]}" for key in keys[at + 1 :])
    found: list[Finding] = doc["findings"]
    if not found:
        yield _encode("{\n" + head + '  "findings": []' + tail + "\n}\n")
        return
    out = [_encode("{\n" + head + '  "findings": [\n    ')]
    add, append, between, join = parts.add, out.append, _encode(_BETWEEN), b"".join
    add(found[0], out)
    for f in found[1:]:
        if len(out) >= _CHUNK_PARTS:
            yield join(out)
            out.clear()
        append(between)
        add(f, out)
    append(_encode("\n  ]" + tail + "\n}\n"))
    yield join(out)


def _around(f: Finding) -> tuple[str, str]:
    """The line of `f` up to its subject id, and its references (which follow the message)."""
    fields = (f.rule_id, f.title, str(f.severity), str(f.status), str(f.enforcement))
    named = ", ".join(f"{_STRING(k)}: {_STRING(v)}" for k, v in zip(_HEAD_KEYS, fields, strict=True))
    head = f'{{{named}, "subject": {{"type": {_STRING(str(f.subject.type))}, "id": '
    return head, f', "references": {_COMPACT(list(f.references))}'


_HEAD_KEYS = ("rule_id", "title", "severity", "status", "enforcement")


def _number(value: int | None) -> str:
    return str(value) if type(value) is int else _COMPACT(value)


class _Parts:
    """Gives a finding's JSON line as encoded parts, each encoded once per report: the parts shared by
    a rule's findings of one status (rule, title, severity, status, enforcement, subject type,
    references), strings that recur (subject ids, messages, deployments), each Remediation object, each
    Location object."""

    def __init__(self) -> None:
        self.around: dict[tuple[Any, ...], tuple[bytes, bytes]] = {}
        self.idents: dict[str, bytes] = {}  # subject id -> its string, then `}, "message": `
        self.messages: dict[str, bytes] = {}
        self.deployments: dict[str, bytes] = {}  # deployment -> `, "deployment": ` and its string
        self.strings: dict[str, str] = {}  # paths and summaries: JSON strings, not yet encoded
        # Keyed by id(): each entry keeps its object, so no other object can take that id meanwhile.
        self.remediations: dict[int, tuple[Remediation, bytes]] = {}
        self.locations: dict[int, tuple[Location, bytes]] = {}

    def add(self, f: Finding, out: list[bytes]) -> None:
        """Append the parts of `f`'s line to `out`."""
        subject, append = f.subject, out.append
        key = (f.rule_id, f.title, f.severity, f.status, f.enforcement, subject.type, f.references)
        around = self.around.get(key)
        if around is None:
            head, refs = _around(f)
            around = self.around[key] = (_encode(head), _encode(refs))
        append(around[0])
        ident = self.idents.get(subject.id)
        if ident is None:
            ident = self.idents[subject.id] = _encode(f'{_STRING(subject.id)}}}, "message": ')
        append(ident)
        message = self.messages.get(f.message)  # a message recurs a dozen times
        if message is None:
            message = self.messages[f.message] = _encode(_STRING(f.message))
        append(message)
        append(around[1])
        if f.deployment:
            deployment = self.deployments.get(f.deployment)
            if deployment is None:
                deployment = _encode(f', "deployment": {_STRING(f.deployment)}')
                self.deployments[f.deployment] = deployment
            append(deployment)
        if f.location is not None:
            known = self.locations.get(id(f.location))
            append(known[1] if known is not None else self.location(f.location))
        if f.remediation is not None:
            known_fix = self.remediations.get(id(f.remediation))
            append(known_fix[1] if known_fix is not None else self.remediation(f.remediation))
        if f.waiver is not None:
            append(_encode(f', "waiver": {_COMPACT(_waiver(f.waiver))}'))
        if f.expired_waiver is not None:
            append(_encode(f', "expired_waiver": {_COMPACT(_waiver(f.expired_waiver))}'))
        append(b"}")

    def string(self, text: str) -> str:
        done = self.strings.get(text)
        if done is None:
            done = self.strings[text] = _STRING(text)
        return done

    def location(self, at: Location) -> bytes:
        path = self.string(at.path)
        line, column = at.line, at.column
        if at.cell is None and type(line) is int and type(column) is int:  # f-strings write ints as json
            text = f', "location": {{"path": {path}, "line": {line}, "column": {column}}}'
        else:
            cell = "" if at.cell is None else f', "cell": {_number(at.cell)}'
            place = f'"line": {_number(line)}, "column": {_number(column)}{cell}'
            text = f', "location": {{"path": {path}, {place}}}'
        done = _encode(text)
        self.locations[id(at)] = (at, done)
        return done

    def remediation(self, rem: Remediation) -> bytes:
        # Steps name the deployment's resources: seldom shared, encoded without the cache.
        steps = ", ".join(map(_STRING, rem.steps))
        text = f', "remediation": {{"summary": {self.string(rem.summary)}, "steps": [{steps}]'
        for key in ("cli", "terraform", "cloudformation"):
            value = getattr(rem, key)
            if value:
                text += f', "{key}": {_STRING(value)}'
        done = _encode(text + "}")
        self.remediations[id(rem)] = (rem, done)
        return done
