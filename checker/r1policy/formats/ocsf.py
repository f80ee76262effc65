"""OCSF events for `--format ocsf`: a JSON array of Detection Finding (class 2004) events, and of
Compliance Finding (class 2003) events for findings whose rule names framework controls, in the OCSF
version `py-ocsf-models` implements (built with that library: the `ocsf` extra, imported lazily).

Decisions (docs/security-hub-and-ocsf.md): the event `finding_info.uid` is the ASFF finding id (stable
across runs); severity critical/high/medium/low/info -> severity_id 5/4/3/2/1; status fail/error -> New
(status_id 1), waived -> Suppressed (3), pass -> Resolved (4); Compliance status fail/error/waived ->
Fail, pass -> Pass; skipped findings are not exported, passes only with --show-passed. The cloud
account and region are placed as in ASFF (`formats.asff`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from r1policy.core.errors import OutputError
from r1policy.core.findings import Finding
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.asff import Place, configured_place, exported, finding_id, place_in_report
from r1policy.formats.common import clean
from r1policy.formats.json_v1 import finding_to_json

SEVERITY_ID = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}
STATUS_ID = {"fail": 1, "error": 1, "waived": 3, "pass": 4}


def _common(f: Finding, place: Place, now: dt.datetime, version: str, m: Any) -> dict[str, Any]:
    """The attributes every r1policy event carries, as py-ocsf-models objects."""
    record = finding_to_json(f)
    uid = finding_id(record, place)
    meta = m.Metadata(
        product=m.Product(name="r1policy", vendor_name="r1policy", version=version, uid="r1policy"),
        event_code=f.rule_id,
        uid=uid,
    )
    info = m.FindingInformation(
        uid=uid,
        title=clean(f"{f.rule_id}: {f.title}"),
        desc=clean(f.message),
        types=[f.subject.type.value],
        src_url=f.references[0] if f.references else None,
    )
    resource = m.ResourceDetails(
        uid=clean(f.subject.id),
        type=f.subject.type.value,
        region=place.region,
        cloud_partition=place.partition,
    )
    common: dict[str, Any] = {
        "metadata": meta,
        "finding_info": info,
        "activity_id": m.ActivityID.Create,
        "activity_name": "Create",
        "severity_id": m.SeverityID(SEVERITY_ID[f.severity.value]),
        "severity": f.severity.value.capitalize() if f.severity.value != "info" else "Informational",
        "status_id": m.StatusID(STATUS_ID[f.status.value]),
        "status": m.StatusID(STATUS_ID[f.status.value]).name,
        "status_code": f.status.value,
        "message": clean(f.message),
        "resources": [resource],
        "time": int(now.timestamp()),
        "time_dt": now,
        "unmapped": {"r1policy": {"status": f.status.value, "enforcement": f.enforcement.value}},
    }
    if f.remediation is not None:
        common["remediation"] = m.Remediation(
            desc=clean(f.remediation.summary), references=list(f.references) or None
        )
    return common


def _models() -> Any:
    try:
        import py_ocsf_models.events.findings.compliance_finding as compliance_finding
        import py_ocsf_models.events.findings.detection_finding as detection_finding
    except ImportError as exc:
        raise OutputError(
            "--format ocsf needs the `ocsf` extra (pip install 'r1policy[ocsf]': py-ocsf-models)"
        ) from exc
    import types

    from py_ocsf_models.events.findings import (
        activity_id,
        compliance_finding_type_id,
        detection_finding_type_id,
        severity_id,
        status_id,
    )
    from py_ocsf_models.objects import (
        account,
        cloud,
        compliance,
        compliance_status,
        finding_info,
        metadata,
        product,
        remediation,
        resource_details,
    )

    return types.SimpleNamespace(
        DetectionFinding=detection_finding.DetectionFinding,
        ComplianceFinding=compliance_finding.ComplianceFinding,
        DetectionType=detection_finding_type_id.DetectionFindingTypeID,
        ComplianceType=compliance_finding_type_id.ComplianceFindingTypeID,
        ActivityID=activity_id.ActivityID,
        SeverityID=severity_id.SeverityID,
        StatusID=status_id.StatusID,
        Compliance=compliance.Compliance,
        Cloud=cloud.Cloud,
        Account=account.Account,
        AccountType=account.TypeID,
        ComplianceStatusID=compliance_status.StatusID,
        FindingInformation=finding_info.FindingInformation,
        Metadata=metadata.Metadata,
        Product=product.Product,
        Remediation=remediation.Remediation,
        ResourceDetails=resource_details.ResourceDetails,
    )


def events(report: Report, options: RenderOptions) -> list[dict[str, Any]]:
    m = _models()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    chosen = sorted(
        (f for f in report.findings if exported(f.status.value, options.show_passed)),
        key=Finding.sort_key,
    )
    default: list[Place] = []
    out: list[dict[str, Any]] = []
    for f in chosen:
        place = place_in_report(f, report)
        if place is None:
            default = default or [configured_place()]
            place = default[0]
        common = _common(f, place, now, report.tool_version, m)
        meta = report.rules.get(f.rule_id)
        controls = meta.compliance if meta is not None else {}
        detection = m.DetectionFinding(
            type_uid=m.DetectionType.Create, type_name="Detection Finding: Create", **common
        )
        out.append(detection.model_dump(mode="json", exclude_none=True))
        for framework, ids in sorted(controls.items()):
            for control in ids:
                uid = f"{common['metadata'].uid}/{framework}/{control}"
                status = m.ComplianceStatusID.Pass if f.status.value == "pass" else m.ComplianceStatusID.Fail
                event = m.ComplianceFinding(
                    type_uid=m.ComplianceType.Create,
                    type_name="Compliance Finding: Create",
                    compliance=m.Compliance(
                        control=control, standards=[framework], requirements=[control], status_id=status
                    ),
                    **(common | {"metadata": common["metadata"].model_copy(update={"uid": uid})}),
                )
                out.append(event.model_dump(mode="json", exclude_none=True))
    return out


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(events(report, options), indent=2, ensure_ascii=False) + "\n"
