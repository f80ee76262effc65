"""audit.html: one self-contained page (inline CSS and SVG, no script, no external asset), rendered with
Jinja2 (autoescaped) from the audit.json document. The template ships inside the package."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from r1policy.audit.chart import trend_chart
from r1policy.audit.diff import TRACKED, identity, keys_of
from r1policy.audit.orgview import COUNTS, by_account, by_region, organization_summary, rollups_wanted

TEMPLATES = Path(__file__).resolve().parent / "templates"
SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUS_ORDER = {"fail": 0, "error": 1, "waived": 2, "skipped": 3, "pass": 4}
SNIPPETS = (("cli", "AWS CLI"), ("terraform", "Terraform"), ("cloudformation", "CloudFormation"))


@dataclass
class RuleGroup:
    rule_id: str
    title: str
    findings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SeverityGroup:
    severity: str
    rules: list[RuleGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(r.findings) for r in self.rules)


def place_label(finding: Mapping[str, Any], placement: Mapping[str, Any]) -> str:
    deployments = placement.get("deployments", {})
    buckets = placement.get("buckets", {})
    where = None
    if finding.get("deployment") in deployments:
        where = deployments[finding["deployment"]]
    elif finding["subject"]["type"] == "bucket":
        where = buckets.get(finding["subject"]["id"].removeprefix("s3://"))
    return f"{where['account']} / {where['region']}" if where else ""


def _group(findings: list[dict[str, Any]]) -> list[SeverityGroup]:
    groups: list[SeverityGroup] = []
    for severity in SEVERITIES:
        rules: dict[str, RuleGroup] = {}
        for f in findings:
            if f["severity"] == severity:
                rules.setdefault(f["rule_id"], RuleGroup(f["rule_id"], f["title"])).findings.append(f)
        if rules:
            for group in rules.values():
                group.findings.sort(key=lambda f: (STATUS_ORDER[f["status"]], f["subject"]["id"]))
            groups.append(SeverityGroup(severity, [rules[k] for k in sorted(rules)]))
    return groups


def _safe_link(ref: str) -> bool:
    return ref.startswith(("https://", "http://"))


@cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.tests["safe_link"] = _safe_link
    return env


def _compliance_view(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    from r1policy.compliance.render import STATUS_LABEL, subjects_text, summary_text, waivers_text

    frameworks = document.get("compliance", {}).get("frameworks", [])
    return [
        dict(fw)
        | {
            "summary_text": summary_text(fw),
            "controls": [
                dict(c)
                | {
                    "label": STATUS_LABEL[c["status"]],
                    "subjects_text": subjects_text(c),
                    "waivers_text": waivers_text(c),
                }
                for c in fw["controls"]
            ],
        }
        for fw in frameworks
    ]


def render_html(document: Mapping[str, Any]) -> str:
    audit = document["audit"]
    placement = audit.get("placement", {})
    new_keys = keys_of(audit["diff"]["new"])
    findings = []
    for index, f in enumerate(document["findings"], start=1):
        view = dict(f)
        view["anchor"] = f"f-{index}"
        view["is_new"] = identity(f) in new_keys
        view["place"] = place_label(f, placement)
        remediation = f.get("remediation", {})
        view["snippets"] = [(label, remediation[key]) for key, label in SNIPPETS if key in remediation]
        findings.append(view)
    tracked = [f for f in findings if f["status"] in TRACKED]
    others = [f for f in findings if f["status"] not in TRACKED]
    skipped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in others:
        skipped.setdefault((f["status"], f["rule_id"]), []).append(f)
    template = _environment().get_template("audit.html.j2")
    text: str = template.render(
        doc=document,
        audit=audit,
        summary=document["summary"],
        groups=_group(tracked),
        skipped=sorted(skipped.items(), key=lambda kv: (STATUS_ORDER[kv[0][0]], kv[0][1])),
        chart=trend_chart(audit["trend"]),
        severities=SEVERITIES,
        other_label="Skipped and passed" if any(f["status"] == "pass" for f in others) else "Skipped",
        severity_counts={s: sum(1 for f in tracked if f["severity"] == s) for s in SEVERITIES},
        compliance=_compliance_view(document),
        org=organization_summary(audit),
        account_rows=by_account(audit) if rollups_wanted(audit) else [],
        region_rows=by_region(audit) if rollups_wanted(audit) else [],
        counts=[(k, k.replace("_", " ").capitalize()) for k in COUNTS],
    )
    return text
