"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).

Decisions (documented in docs/github.md):
- One run. `tool.driver.rules` lists the run's rule catalogue (`Report.rules`, every loaded rule) plus any
  rule that appears only in findings; each result points at its rule by `ruleId` and `ruleIndex`.
- `fail` and `error` are results of kind `fail` (an `error` blocks like a `fail`: fail closed). The level
  comes from severity x enforcement (see `level`): `error` whenever it blocks, `warning` for warn (`note`
  when the severity is low or info), `note` for off. `properties.status` says fail or error.
- `waived` is a result with a `suppressions` entry (kind external, the waiver's reason as justification,
  owner and expiry as properties), so code scanning shows it as dismissed instead of losing it.
- `skipped` is not a result (code scanning would open an alert for it) but a tool execution notification
  of level `note` naming the rule and the reason. `pass` is a result of kind `pass` and level `none`
  only with --show-passed.
- Locations: file findings get `artifactLocation.uri` relative to the repository root with
  `uriBaseId: %SRCROOT%` and a region; every result also carries the subject (ARN, s3://, hf://, path)
  as a logical location. GitHub code scanning rejects a whole SARIF file if any result lacks a physical
  location, so a finding about a live resource (no file) is anchored, without a region, to the
  configuration file `r1policy.yaml` at the repository root, where a waiver for it would be written.
- `partialFingerprints["r1policy/v1"]`: a hash of rule id, subject and file path, not the line (a
  second result of the same rule for the same subject and file gets `#1`, ordered by message).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from r1policy.core.findings import Finding, Severity, Status
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.common import clean, fingerprint, fix_line, level, relative_path, root_of
from r1policy.ruledocs.markdown import html_safe
from r1policy.rules.metadata import RuleMeta

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://r1policy.dev/"
SRCROOT = "%SRCROOT%"
# Where results without a file are anchored (see the module docstring).
ANCHOR = "r1policy.yaml"
FINGERPRINT_KEY = "r1policy/v1"
# GitHub maps security-severity to its levels: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, <= 3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


_WORD = re.compile(r"[A-Za-z0-9]+")


def _rule_name(title: str) -> str:
    """A SARIF rule name is an identifier: 'Bucket is encrypted' -> BucketIsEncrypted."""
    return "".join(w[:1].upper() + w[1:] for w in _WORD.findall(title)) or "Rule"


def _descriptor_from_meta(rule: RuleMeta) -> dict[str, Any]:
    from r1policy.ruledocs.markdown import rule_help_text, rule_markdown

    tags = ["security", "r1policy", rule.subject.value, *sorted(s.value for s in rule.sources)]
    return {
        "id": rule.id,
        "name": _rule_name(rule.title),
        "shortDescription": {"text": clean(rule.title)},
        "fullDescription": {"text": clean(rule.rationale)},
        "help": {"text": clean(rule_help_text(rule)), "markdown": clean(rule_markdown(rule, for_html=True))},
        "defaultConfiguration": {"level": level(rule.severity, rule.enforcement)},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "severity": rule.severity.value,
            "enforcement": rule.enforcement.value,
            "tags": list(dict.fromkeys(tags)),
            "precision": "very-high",
        },
    } | ({"helpUri": rule.references[0]} if rule.references else {})


def _descriptor_from_finding(f: Finding) -> dict[str, Any]:
    """A rule known only from its findings (a caller that did not pass the catalogue)."""
    summary = f.remediation.summary if f.remediation else f.title
    return {
        "id": f.rule_id,
        "name": _rule_name(f.title),
        "shortDescription": {"text": clean(f.title)},
        "fullDescription": {"text": clean(f.title)},
        "help": {"text": clean(summary), "markdown": clean(html_safe(f"**{f.title}**\n\n{summary}"))},
        "defaultConfiguration": {"level": level(f.severity, f.enforcement)},
        "properties": {
            "security-severity": SECURITY_SEVERITY[f.severity],
            "severity": f.severity.value,
            "tags": ["security", "r1policy", f.subject.type.value],
        },
    } | ({"helpUri": f.references[0]} if f.references else {})


def _rules(report: Report) -> tuple[list[dict[str, Any]], dict[str, int]]:
    descriptors: dict[str, dict[str, Any]] = {
        rule_id: _descriptor_from_meta(rule) for rule_id, rule in sorted(report.rules.items())
    }
    for f in report.findings:
        if f.rule_id not in descriptors:
            descriptors[f.rule_id] = _descriptor_from_finding(f)
    ordered = [descriptors[k] for k in sorted(descriptors)]
    return ordered, {d["id"]: i for i, d in enumerate(ordered)}


def _message(f: Finding) -> str:
    text = f.message
    if f.status is Status.ERROR and "could not be evaluated" not in text.lower():
        text = f"Could not be evaluated (blocks like a failure): {text}"
    fix = fix_line(f)
    if fix and f.status is not Status.WAIVED:
        text += f"\n\nFix: {fix}"
    if f.expired_waiver is not None:
        w = f.expired_waiver
        text += f"\n\nA waiver by {w.owner} expired on {w.expires.isoformat()} and waives nothing: {w.reason}"
    return clean(text)


def _locations(f: Finding, root: Path) -> list[dict[str, Any]]:
    logical = [{"name": clean(f.subject.id), "fullyQualifiedName": clean(f.subject.id), "kind": "resource"}]
    if f.location is None:
        anchor = {"artifactLocation": {"uri": ANCHOR, "uriBaseId": SRCROOT}}
        return [{"physicalLocation": anchor, "logicalLocations": logical}]
    relative = relative_path(f.location.path, root)
    artifact: dict[str, Any] = (
        {"uri": quote(relative, safe="/"), "uriBaseId": SRCROOT}
        if relative is not None
        else {"uri": Path(f.location.path).resolve().as_uri()}
    )
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if f.location.line is not None and f.location.line >= 1:
        region: dict[str, Any] = {"startLine": f.location.line}
        if f.location.column is not None and f.location.column >= 1:
            region["startColumn"] = f.location.column
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical, "logicalLocations": logical}
    if f.location.cell is not None:  # a notebook: the region is within this cell
        location["properties"] = {"cell": f.location.cell}
    return [location]


def _result(f: Finding, index: int, root: Path) -> dict[str, Any]:
    relative = relative_path(f.location.path, root) if f.location else None
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "kind": "pass" if f.status is Status.PASS else "fail",
        "level": "none" if f.status is Status.PASS else level(f.severity, f.enforcement),
        "message": {"text": _message(f)},
        "locations": _locations(f, root),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f, relative)},
        "properties": {
            "status": f.status.value,
            "severity": f.severity.value,
            "enforcement": f.enforcement.value,
            "subject": {"type": f.subject.type.value, "id": clean(f.subject.id)},
        },
    }
    if f.deployment:
        result["properties"]["deployment"] = clean(f.deployment)
    if f.waiver is not None:
        w = f.waiver
        result["suppressions"] = [
            {
                # No status/state: the OASIS schema drafts disagree on its name; accepted is the default.
                "kind": "external",
                "justification": clean(w.reason),
                "properties": {"owner": clean(w.owner), "expires": w.expires.isoformat()}
                | ({"ticket": clean(w.ticket)} if w.ticket else {}),
            }
        ]
    return result


def _notifications(report: Report, indexes: dict[str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in report.findings:
        if f.status is Status.SKIPPED:
            out.append(
                {
                    "level": "note",
                    "message": {"text": clean(f"{f.rule_id} skipped for {f.subject.id}: {f.message}")},
                    "associatedRule": {"id": f.rule_id, "index": indexes[f.rule_id]},
                    "properties": {"status": "skipped", "subject": clean(f.subject.id)},
                }
            )
    for n in report.notices:
        where = f"{n.location}: " if n.location else ""
        out.append(
            {
                "level": "warning" if "waiver" in n.kind else "note",
                "message": {"text": clean(f"{where}{n.message}")},
                "descriptor": {"id": n.kind},
            }
        )
    return out


def report_to_sarif(report: Report, options: RenderOptions) -> dict[str, Any]:
    root = root_of(options)
    rules, indexes = _rules(report)
    chosen = sorted(
        (
            f
            for f in report.findings
            if f.status in (Status.FAIL, Status.ERROR, Status.WAIVED)
            or (f.status is Status.PASS and options.show_passed)
        ),
        key=lambda f: (*f.sort_key(), str(f.location or ""), f.message),
    )
    results = [_result(f, indexes[f.rule_id], root) for f in chosen]
    # One rule can report a subject twice (two reasons); the n-th duplicate gets "#n" so that every
    # result keeps its own identity.
    seen: dict[str, int] = {}
    for result in results:
        key = result["partialFingerprints"][FINGERPRINT_KEY]
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            result["partialFingerprints"][FINGERPRINT_KEY] = f"{key}#{seen[key] - 1}"
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": report.tool_name,
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": _notifications(report, indexes),
                "properties": {"command": report.command, "decision": report.decision},
            }
        ],
        "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(report_to_sarif(report, options), indent=2, ensure_ascii=False) + "\n"
