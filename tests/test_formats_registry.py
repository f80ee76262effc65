"""The format registry is exhaustive, and every format survives hostile text: non-ASCII, very long
messages, markup characters and secrets (never printed whole).

`sample_report` (used by the other test_formats_* modules) holds one finding of every status, from a
file and from a live resource, with a waiver and an expired waiver.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

import pytest

from conftest import SHARED, run_cli
from r1policy.cli import build_parser
from r1policy.core.findings import (
    Enforcement,
    Finding,
    Location,
    Remediation,
    Severity,
    Status,
    Subject,
    SubjectType,
    WaiverRef,
)
from r1policy.engine.evaluate import Notice
from r1policy.engine.report import Report
from r1policy.formats import Format, RenderOptions, appendices, parse_format, writers
from r1policy.rules.metadata import RuleMeta
from r1policy.rules.registry import load_registry

ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/r1-prod"
SECRET = "AKIAIOSFODNN7EXAMPLE"
HF_SECRET = "hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7"


@cache
def catalogue() -> dict[str, RuleMeta]:
    return dict(load_registry().rules)


def _rem(step: str = "Do the thing.") -> Remediation:
    return Remediation(summary="Fix it.", steps=(step, "Then check again."), cli="aws s3api ...")


def sample_findings(manifest: Path) -> list[Finding]:
    """One finding per status; the manifest path decides the file locations."""
    path = str(manifest)
    waiver = WaiverRef("dev sandbox, no VPC", "ml-platform", dt.date(2099, 12, 31), "SEC-123")
    expired = WaiverRef("old exception", "ml-platform", dt.date(2020, 1, 1))
    return [
        Finding.create(
            rule_id="R1-EP-001",
            title="Endpoint instance type is on the approved list",
            severity=Severity.HIGH,
            status=Status.FAIL,
            enforcement=Enforcement.BLOCK,
            subject=Subject(SubjectType.DEPLOYMENT, "r1-prod"),
            message="Endpoint r1-prod uses ml.p5.48xlarge, which is not approved.",
            location=Location(path, 16, 20),
            remediation=_rem("Set `instance_type` to ml.p5e.48xlarge."),
            deployment="r1-prod",
        ),
        Finding.create(
            rule_id="R1-S3-001",
            title="Model bucket encrypts by default with SSE-KMS",
            severity=Severity.HIGH,
            status=Status.ERROR,
            enforcement=Enforcement.BLOCK,
            subject=Subject(SubjectType.BUCKET, "s3://acme-llm-weights"),
            message="AccessDenied on GetBucketEncryption for acme-llm-weights.",
            location=Location(path, 8, 11),
            remediation=_rem("Grant s3:GetEncryptionConfiguration to the audit role."),
        ),
        Finding.create(
            rule_id="R1-EP-004",
            title="Model runs in a VPC",
            severity=Severity.MEDIUM,
            status=Status.FAIL,
            enforcement=Enforcement.WARN,
            subject=Subject(SubjectType.ENDPOINT, ARN),
            message="Endpoint r1-prod runs outside a VPC.",
            remediation=_rem(),
        ),
        Finding.create(
            rule_id="R1-EP-003",
            title="Network isolation is enabled on the model",
            severity=Severity.HIGH,
            status=Status.WAIVED,
            enforcement=Enforcement.BLOCK,
            subject=Subject(SubjectType.ENDPOINT, ARN),
            message="Network isolation is off.",
            remediation=_rem(),
            waiver=waiver,
        ),
        Finding.create(
            rule_id="R1-S3-006",
            title="Model bucket is in the endpoint's region",
            severity=Severity.LOW,
            status=Status.SKIPPED,
            enforcement=Enforcement.WARN,
            subject=Subject(SubjectType.BUCKET, "s3://acme-llm-weights"),
            message="--static: the bucket's region is live state",
        ),
        Finding.create(
            rule_id="R1-EP-007",
            title="Container image is approved and pinned",
            severity=Severity.HIGH,
            status=Status.PASS,
            enforcement=Enforcement.BLOCK,
            subject=Subject(SubjectType.DEPLOYMENT, "r1-prod"),
            message="Image is pinned.",
            location=Location(path, 12, 12),
        ),
        Finding.create(
            rule_id="R1-HUB-001",
            title="Hub revision is pinned to a commit",
            severity=Severity.CRITICAL,
            status=Status.FAIL,
            enforcement=Enforcement.OFF,
            subject=Subject(SubjectType.MODEL, "hf://deepseek-ai/DeepSeek-R1@main"),
            message="Revision main is a branch (waiver expired on 2020-01-01)",
            remediation=_rem(),
            expired_waiver=expired,
        ),
    ]


def sample_report(manifest: Path, *, with_rules: bool = True) -> Report:
    return Report(
        findings=sample_findings(manifest),
        notices=[Notice("expired-waiver", "waiver for R1-HUB-001 expired", Location(str(manifest), 7, 5))],
        inputs=[str(manifest)],
        rules=catalogue() if with_rules else {},
    )


def hostile_report(tmp_path: Path) -> Report:
    """Non-ASCII everywhere, a 50,000-character message, markup, control characters and secrets."""
    long = "Ünïcödé message 😀 <b>|x|</b> [bold]not markup[/bold] " + "m" * 50_000
    manifest = tmp_path / "dépl" / "manifest 😀.yaml"
    findings = [
        Finding.create(
            rule_id="R1-EP-001",
            title="Ünïcödé title, with: colons",
            severity=Severity.HIGH,
            status=status,
            enforcement=Enforcement.BLOCK,
            subject=Subject(SubjectType.DEPLOYMENT, f"dépl-😀-{status.value}"),
            message=f"{long} key {SECRET}\x1b[31m\x00",
            location=Location(str(manifest), 3, 1),
            remediation=_rem(f"Rotate {SECRET} and {HF_SECRET} now.") if status is not Status.PASS else None,
            waiver=WaiverRef(f"reason with {HF_SECRET}", "öwner", dt.date(2099, 1, 1))
            if status is Status.WAIVED
            else None,
        )
        for status in Status
    ]
    return Report(findings=findings, rules=catalogue())


@pytest.fixture(autouse=True)
def _aws_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """ASFF and OCSF place findings from files in the configured account (never a call to AWS here)."""
    monkeypatch.setenv("AWS_ACCOUNT_ID", "111122223333")


def test_every_format_has_exactly_one_writer() -> None:
    assert set(writers()) == set(Format)
    assert set(appendices()) <= set(Format)
    assert all(callable(w) for w in writers().values())


def test_every_format_is_named_in_the_cli_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    check_format = next(a for a in sub.choices["check"]._actions if a.dest == "format")  # type: ignore[attr-defined]
    for fmt in Format:
        assert fmt.value in (check_format.help or ""), fmt


def test_the_spec_lists_exactly_these_formats() -> None:
    spec = SHARED / "SPEC.md"
    if not spec.is_file():
        pytest.skip("../shared/SPEC.md is absent (the product contract ships beside the checkout)")
    # The common options list the first formats; §8.5 adds `--format asff`, `--format ocsf`.
    named = re.findall(r"--format ([a-z|]+)`", spec.read_text(encoding="utf-8"))
    assert named
    formats = {f.value for f in Format}
    assert set(named[0].split("|")) <= formats
    # Every format is in the contract (the contract may name formats other branches add, e.g. cyclonedx).
    assert formats <= {name for group in named for name in group.split("|")}


def test_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(
        ValueError, match="valid: table, json, sarif, github, junit, markdown, cyclonedx, asff, ocsf"
    ):
        parse_format("xml")


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_hostile_text(fmt: Format, tmp_path: Path) -> None:
    report = hostile_report(tmp_path)
    text = writers()[fmt](report, RenderOptions(show_passed=True, root=tmp_path, width=200))
    assert "Ünïcödé" in text or "&#220;" in text
    assert "😀" in text
    assert SECRET not in text and HF_SECRET not in text
    assert "AKIA" in text  # the first four characters and the length are kept
    assert "\x1b" not in text and "\x00" not in text
    text.encode("utf-8")


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_the_sample_report(fmt: Format, tmp_path: Path) -> None:
    report = sample_report(tmp_path / "deploy.yaml")
    for show_passed in (False, True):
        text = writers()[fmt](report, RenderOptions(show_passed=show_passed, root=tmp_path, width=240))
        assert "R1-EP-001" in text


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_from_the_cli(fmt: Format, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / f"report.{fmt.value}"
    result = run_cli(
        "check",
        root / "examples" / "block",
        "--config",
        root / "examples" / "r1policy.yaml",
        "--static",  # offline: only the files decide
        "--format",
        fmt.value,
        "--output",
        out,
    )
    assert result.code == 1, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert "R1-EP-001" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_an_empty_run(fmt: Format, tmp_path: Path) -> None:
    report = Report(findings=[], notices=[Notice("nothing-to-check", "no deployment manifests found")])
    text = writers()[fmt](report, RenderOptions(root=tmp_path))
    assert text.endswith("\n")
    if fmt is Format.JUNIT:
        import xml.etree.ElementTree as ET

        assert ET.fromstring(text.encode("utf-8")).get("tests") == "0"
    if fmt in (Format.JSON, Format.SARIF):
        import json

        json.loads(text)
