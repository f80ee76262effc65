"""What `check` could not read, as findings and report lines: nothing is skipped in silence.

- A file of a deployment format that no reader understands (a Terraform `.tf` file, SageMaker SDK code,
  a notebook, a cloud assembly, a `serving.properties`, a template whose kind is unknown, a text file
  over the input size limit) is an `error` finding of the input rule `R1-INPUT-001` on the file
  (SPEC §8.1: "an error naming them, never nothing to judge"); it blocks like any error.
- Everything a folder walk skipped (dependency and version-control folders, `--exclude`, binary files,
  files that are not deployments) is listed in the report (`skipped` in JSON, one summary line in the
  table) with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from r1policy.core.findings import (
    Enforcement,
    Finding,
    Location,
    Remediation,
    Severity,
    Status,
    Subject,
    SubjectType,
)
from r1policy.sources.discover import Unreadable

INPUT_RULE = "R1-INPUT-001"
INPUT_TITLE = "Every deployment file given to check is read by a reader that understands it"
_REMEDIATION = Remediation(
    summary="Give check a format it reads, or exclude the file if it deploys nothing.",
    steps=(
        "Convert the deployment to a format r1policy reads (r1policy/v1 manifest, CloudFormation template, "
        "Terraform plan JSON, Kubernetes workloads, SageMaker API request JSON), for example "
        "`terraform show -json plan.out > plan.json` or `cdk synth`.",
        "If the file deploys no model, exclude it: `r1policy check --exclude 'PATTERN'`.",
    ),
)


def unreadable_findings(unreadable: Iterable[Unreadable]) -> list[Finding]:
    findings = []
    for item in unreadable:
        detail = f" ({item.detail})" if item.detail else ""
        findings.append(
            Finding.create(
                rule_id=INPUT_RULE,
                title=INPUT_TITLE,
                severity=Severity.HIGH,
                status=Status.ERROR,
                enforcement=Enforcement.BLOCK,
                subject=Subject(SubjectType.ARTIFACT, item.path),
                message=f"{item.path} looks like a {item.what} that r1policy cannot read{detail}: "
                "what it deploys was not judged",
                location=Location(item.path),
                remediation=_REMEDIATION,
            )
        )
    return findings
