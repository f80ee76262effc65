"""ECR image scan findings for R1-EP-008 (state-v1 `ecr_image_scans`, read by aws/ecr.py).

The findings add to the advisory store's verdict, never replace it:
- findings at or above `vulnerability_threshold` (ECR's UNDEFINED / UNTRIAGED severities count as at the
  threshold: unknown is never below it) fail the rule, each named with its package; an unexpired waiver
  with `advisory: <CVE id>` accepts one, as for advisories;
- the scan decides an image whose framework version r1policy cannot tell only when it is an enhanced
  (Amazon Inspector) scan, which covers the Python packages the server is made of; a basic scan covers
  operating-system packages only, so a clean basic scan leaves such an image `error`;
- a scan that could not be read (none, not complete, repository or image gone, AccessDenied) changes
  nothing where the advisory store can judge the tag, and is named in the `error` where it cannot.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from r1policy.facts.advisories import severity_at_least
from r1policy.project.config import Config, Waiver

# ECR severities -> the advisory store's words (UNDEFINED / UNTRIAGED: at the threshold, see above)
_SEVERITY = {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low"}


@dataclass
class ScanVerdict:
    """What an image's ECR scan adds: open and waived findings, and whether it was read at all."""

    read: bool = False
    enhanced: bool = False
    problem: str = ""
    open: list[dict[str, str]] = field(default_factory=list)
    waived: list[tuple[dict[str, str], Waiver]] = field(default_factory=list)

    def names(self) -> dict[str, Any]:
        return {
            "scan_findings": "; ".join(_describe(f) for f in self.open),
            "scan_finding_count": len(self.open),
            "scan_kind": "enhanced" if self.enhanced else "basic",
            "scan_waived": "; ".join(
                f"{f['id']} (owner {w.owner}, until {w.expires})" for f, w in self.waived
            ),
        }


def judge_scan(
    scan: dict[str, Any] | None, config: Config, today: _dt.date, subject_names: tuple[str, ...]
) -> ScanVerdict:
    if scan is None:
        return ScanVerdict()
    where = f"{scan.get('repository')}@" + "".join(str(v) for v in (scan.get("image_id") or {}).values())
    if scan.get("error"):
        return ScanVerdict(problem=f"its ECR scan findings ({where}) could not be read: {scan['error']}")
    verdict = ScanVerdict(read=True, enhanced=scan.get("scan_type") == "ENHANCED")
    for finding in scan.get("findings") or []:
        if str(finding.get("severity")).upper() == "INFORMATIONAL":  # below every threshold
            continue
        severity = _SEVERITY.get(str(finding.get("severity")).upper(), "unknown")
        if not severity_at_least(severity, config.vulnerability_threshold):
            continue
        waiver = _waiver(str(finding.get("id")), config, today, subject_names)
        if waiver is None:
            verdict.open.append(finding)
        else:
            verdict.waived.append((finding, waiver))
    return verdict


def _describe(finding: dict[str, str]) -> str:
    package = f" in {finding['package']}" if finding.get("package") else ""
    return f"{finding['id']}{package}, {finding['severity']}"


def _waiver(ident: str, config: Config, today: _dt.date, subject_names: tuple[str, ...]) -> Waiver | None:
    return next(
        (
            w
            for w in config.waivers
            if w.advisory == ident
            and w.expires >= today
            and fnmatch.fnmatchcase("R1-EP-008", w.rule)
            and any(fnmatch.fnmatchcase(n, w.subject) for n in subject_names)
        ),
        None,
    )


def default_names() -> dict[str, Any]:
    return {"scan_findings": "", "scan_finding_count": 0, "scan_kind": "", "scan_waived": ""}
