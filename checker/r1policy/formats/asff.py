"""AWS Security Finding Format (ASFF, schema 2018-10-08) for `--format asff` and `publish securityhub`.

One builder, `to_asff`, works on the JSON v1 form of a finding (`json_v1.finding_to_json`), so the
writer (a run's `Report`) and the publisher (an audit report read back from disk) produce the same
findings. Decisions (docs/security-hub-and-ocsf.md):
- `Id` is stable: a hash of rule id, subject (type and id), account and region, so a re-import updates
  the finding instead of adding one; a second finding of the same rule for the same subject gets `#n`.
- `GeneratorId` is `r1policy/<rule id>`; the publisher finds its earlier imports by that prefix.
- Severity goes through `FindingProviderFields.Severity` (Label and Original); critical/high/medium/low
  map to the same ASFF labels, info to INFORMATIONAL.
- Exported: fail, error (Compliance FAILED: an unevaluated rule blocks like a failure) and waived
  (Workflow SUPPRESSED); pass only with --show-passed (PASSED, Workflow RESOLVED); skipped never.
- Account and region: where the audit placed the subject (`Report.places`), else the account and
  region of an ARN subject, else the configured account (`AWS_ACCOUNT_ID`, else the account of the
  current credentials through STS) and region (`AWS_REGION` / `AWS_DEFAULT_REGION`, else us-east-1).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from r1policy.core.errors import OutputError
from r1policy.core.findings import Finding, SubjectType
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.common import clean, shorten

SCHEMA_VERSION = "2018-10-08"
GENERATOR_PREFIX = "r1policy/"
MAX_FINDING_BYTES = 240 * 1024
DEFAULT_REGION = "us-east-1"
LABEL = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "info": "INFORMATIONAL"}
_COMPLIANCE = {"fail": "FAILED", "error": "FAILED", "waived": "FAILED", "pass": "PASSED"}
_WORKFLOW = {"fail": "NEW", "error": "NEW", "waived": "SUPPRESSED", "pass": "RESOLVED"}
# The standard ids of the shipped frameworks; AWS FSBP's is Security Hub's own.
STANDARDS = {"aws-fsbp": "standards/aws-foundational-security-best-practices/v/1.0.0"}
_ARN = re.compile(r"^arn:(aws[a-z-]*):[a-z0-9-]+:([a-z0-9-]*):(\d{12}):")
_ACCOUNT = re.compile(r"^\d{12}$")
# ASFF field limits (AWS Security Hub API reference, AwsSecurityFinding).
TITLE_MAX, DESCRIPTION_MAX, RECOMMENDATION_MAX, PRODUCT_FIELD_MAX = 256, 1024, 512, 2048


@dataclass(frozen=True, order=True)
class Place:
    account: str
    region: str
    partition: str = "aws"


def place_of_subject(subject_id: str) -> Place | None:
    """The account and region named by an ARN subject (an endpoint, a model), if it is one."""
    match = _ARN.match(subject_id)
    if match is None or not match.group(2):
        return None
    return Place(match.group(3), match.group(2), match.group(1))


def place_in_report(f: Finding, report: Report) -> Place | None:
    """Where the audit placed the finding's deployment or bucket, else the account of an ARN subject."""
    keys = [f"deployment:{f.deployment}"] if f.deployment else []
    if f.subject.type is SubjectType.BUCKET:
        keys.append(f"bucket:{f.subject.id.removeprefix('s3://')}")
    for key in keys:
        if key in report.places:
            return Place(*report.places[key])
    return place_of_subject(f.subject.id)


def configured_place() -> Place:
    """For findings nothing places (files judged by `check`): the configured account and region."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    account = os.environ.get("AWS_ACCOUNT_ID", "")
    if not account:
        from r1policy.aws.errors import CollectorError, CredentialsError
        from r1policy.aws.session import default_account

        try:
            account = default_account(region).account_id
        except (CredentialsError, CollectorError) as exc:
            raise OutputError(
                "asff: findings from files name no AWS account; set AWS_ACCOUNT_ID or provide AWS "
                f"credentials ({exc})"
            ) from exc
    if not _ACCOUNT.match(account):
        raise OutputError(f"asff: AWS_ACCOUNT_ID {account!r} is not a 12-digit account id")
    return Place(account, region)


def product_arn(place: Place) -> str:
    """The default product of a custom integration in the account (Security Hub's own convention)."""
    return f"arn:{place.partition}:securityhub:{place.region}:{place.account}:product/{place.account}/default"


def finding_id(record: Mapping[str, Any], place: Place) -> str:
    subject = record["subject"]
    key = "\x1f".join((record["rule_id"], subject["type"], subject["id"], place.account, place.region))
    return f"{GENERATOR_PREFIX}{record['rule_id']}/{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def exported(status: str, show_passed: bool) -> bool:
    return status in ("fail", "error", "waived") or (status == "pass" and show_passed)


def _resource(record: Mapping[str, Any], place: Place) -> dict[str, Any]:
    subject = record["subject"]
    ident = clean(subject["id"])
    if subject["type"] == "bucket" and ident.startswith("s3://"):
        kind, ident = "AwsS3Bucket", f"arn:{place.partition}:s3:::{ident.removeprefix('s3://')}"
    else:
        kind = "Other"
    return {
        "Type": kind,
        "Id": shorten(ident, 512),
        "Partition": place.partition,
        "Region": place.region,
        "Details": {"Other": {"r1policy/subject_type": subject["type"]}},
    }


def _description(record: Mapping[str, Any]) -> str:
    text = record["message"]
    waiver = record.get("waiver")
    if waiver:
        text += f" Waived by {waiver['owner']} until {waiver['expires']}: {waiver['reason']}"
    return shorten(clean(text), DESCRIPTION_MAX)


def _compliance(status: str, controls: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"Status": _COMPLIANCE[status]}
    related = [f"{framework} {control}" for framework, ids in sorted(controls.items()) for control in ids]
    if related:
        out["RelatedRequirements"] = related[:32]
        out["AssociatedStandards"] = [
            {"StandardsId": STANDARDS.get(framework, f"{GENERATOR_PREFIX}{framework}")}
            for framework in sorted(controls)
            if controls[framework]
        ][:10]
    return out


def to_asff(
    record: Mapping[str, Any],
    place: Place,
    *,
    now: str,
    controls: Mapping[str, Sequence[str]] | None = None,
    report_ref: str = "",
) -> dict[str, Any]:
    """One ASFF finding from one JSON v1 finding (record) placed in an account and region."""
    severity, status = record["severity"], record["status"]
    fields = {
        "r1policy/rule_id": record["rule_id"],
        "r1policy/status": status,
        "r1policy/enforcement": record["enforcement"],
        "r1policy/subject": record["subject"]["id"],
    } | ({"r1policy/report": report_ref} if report_ref else {})
    finding: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(record, place),
        "ProductArn": product_arn(place),
        "ProductName": "r1policy",
        "CompanyName": "r1policy",
        "GeneratorId": f"{GENERATOR_PREFIX}{record['rule_id']}",
        "AwsAccountId": place.account,
        "Region": place.region,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
        "CreatedAt": now,
        "UpdatedAt": now,
        "FindingProviderFields": {
            "Severity": {"Label": LABEL[severity], "Original": severity},
            "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
        },
        "Title": shorten(clean(f"{record['rule_id']}: {record['title']}"), TITLE_MAX),
        "Description": _description(record),
        "Resources": [_resource(record, place)],
        "Compliance": _compliance(status, controls or {}),
        "Workflow": {"Status": _WORKFLOW[status]},
        "RecordState": "ACTIVE",
        "ProductFields": {k: shorten(clean(v), PRODUCT_FIELD_MAX) for k, v in fields.items()},
    }
    remediation = record.get("remediation")
    if remediation:
        text = remediation["summary"] + (f" {remediation['steps'][0]}" if remediation.get("steps") else "")
        recommendation: dict[str, Any] = {"Text": shorten(clean(text), RECOMMENDATION_MAX)}
        if record.get("references"):
            recommendation["Url"] = record["references"][0]
        finding["Remediation"] = {"Recommendation": recommendation}
    elif record.get("references"):
        finding["SourceUrl"] = record["references"][0]
    return fit(finding, report_ref)


def size(finding: Mapping[str, Any]) -> int:
    return len(json.dumps(finding, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def fit(finding: dict[str, Any], report_ref: str = "") -> dict[str, Any]:
    """Under Security Hub's 240 KB per finding: the longest text is halved, with a pointer to the
    report, until the finding fits. Nothing is dropped."""
    pointer = f" [shortened; full text in {report_ref or 'the r1policy report'}]"
    while size(finding) > MAX_FINDING_BYTES:
        longest = _longest(finding)
        if longest is None:
            raise OutputError(f"{finding['Id']}: cannot shorten the finding under 240 KB")
        holder, key, text = longest
        keep = max(len(text) // 2 - len(pointer), 0)
        holder[key] = text[:keep] + pointer
    return finding


def _longest(value: Any) -> tuple[Any, Any, str] | None:
    best: tuple[Any, Any, str] | None = None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found = (value, key, item) if isinstance(item, str) and len(item) > 256 else _longest(item)
        if found is not None and (best is None or len(found[2]) > len(best[2])):
            best = found
    return best


def dedupe_ids(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The n-th finding with an Id already used gets `#n`, so every finding keeps its own identity."""
    seen: dict[str, int] = {}
    for finding in findings:
        base = finding["Id"]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            finding["Id"] = f"{base}#{seen[base] - 1}"
    return findings


def report_findings(report: Report, options: RenderOptions) -> list[dict[str, Any]]:
    import datetime as dt

    from r1policy.formats.json_v1 import finding_to_json

    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    chosen = sorted(
        (f for f in report.findings if exported(f.status.value, options.show_passed)),
        key=Finding.sort_key,
    )
    default: list[Place] = []
    out = []
    for f in chosen:
        place = place_in_report(f, report)
        if place is None:
            if not default:
                default.append(configured_place())
            place = default[0]
        meta = report.rules.get(f.rule_id)
        controls = meta.compliance if meta is not None else {}
        out.append(to_asff(finding_to_json(f), place, now=now, controls=controls))
    return dedupe_ids(out)


def render(report: Report, options: RenderOptions) -> str:
    """The BatchImportFindings request body ({"Findings": [...]}): `aws securityhub
    batch-import-findings --cli-input-json file://…` takes it as it is (100 findings a call)."""
    document = {"Findings": report_findings(report, options)}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
