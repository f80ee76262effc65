"""A run's result: findings, notices, summary and decision, independent of any output format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from r1policy import __version__
from r1policy.core.findings import Enforcement, Finding, Status
from r1policy.engine.evaluate import Notice
from r1policy.rules.metadata import RuleMeta
from r1policy.sources.walk import Skipped

if TYPE_CHECKING:
    from r1policy.engine.bom import BomModel


@dataclass(frozen=True)
class Summary:
    blocking: int
    warnings: int
    errors: int
    skipped: int
    waived: int
    passed: int
    subjects: int


@dataclass
class Report:
    findings: list[Finding]
    notices: list[Notice] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    command: str = "check"
    tool_name: str = "r1policy"
    tool_version: str = __version__
    # The rule catalogue of the run (registry.rules), for formats that describe every rule (SARIF).
    # Optional: a rule missing here is described from its findings alone.
    rules: dict[str, RuleMeta] = field(default_factory=dict)
    # What `check` did not read, and why (sources/walk.py): dependency folders, binary files, ...
    skipped: list[Skipped] = field(default_factory=list)
    # The judged models for `--format cyclonedx` (filled only when that format is asked for).
    models: list[BomModel] = field(default_factory=list)
    # Where an audit placed its subjects: "deployment:<name>" / "bucket:<name>" -> (account, region).
    # The formats that name an AWS account (asff, ocsf) use it first.
    places: dict[str, tuple[str, str]] = field(default_factory=dict)
    # --compliance: one entry per framework (compliance/section.py); None when none was asked for
    compliance: list[dict[str, Any]] | None = None

    @property
    def blocked(self) -> bool:
        return any(f.blocks for f in self.findings)

    @property
    def decision(self) -> str:
        return "block" if self.blocked else "allow"

    @property
    def summary(self) -> Summary:
        fs = self.findings
        return Summary(
            blocking=sum(1 for f in fs if f.blocks),
            warnings=sum(1 for f in fs if f.warns),
            errors=sum(1 for f in fs if f.status is Status.ERROR and f.enforcement is not Enforcement.OFF),
            skipped=sum(1 for f in fs if f.status is Status.SKIPPED),
            waived=sum(1 for f in fs if f.status is Status.WAIVED),
            passed=sum(1 for f in fs if f.status is Status.PASS),
            subjects=len({(f.subject.type, f.subject.id) for f in fs}),
        )
