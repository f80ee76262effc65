"""`r1policy publish securityhub REPORT.json` against the moto server: import, re-import unchanged (no
duplicates), resolve (ARCHIVED after a second publish), per-account credentials (--role-name), partial
failure of a batch, throttling counted, Security Hub not enabled, bad input (exit 2). moto checks
neither that Security Hub is enabled, nor the size limits, nor GetFindings filters: those are tested
in r1policy's own code (the fault proxy, `batches` directly)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.support.awsworld import Bucket, Endpoint, World
from tests.support.motoserver import MotoServer
from tests.support.throttle_proxy import Fault, fault_proxy

from aws_cases import write_config
from conftest import run_cli
from r1policy.audit.history import REPORT_JSON, run_folders
from r1policy.formats.asff import Place, to_asff
from r1policy.securityhub.batches import MAX_REQUEST_BYTES, batches
from r1policy.securityhub.importer import import_findings

ACCOUNT = "123456789012"
OTHER = "210987654321"
BUCKET = "acme-weights"
NOW = "2026-01-01T00:00:00Z"


def _world(tmp_path: Path) -> tuple[World, Path]:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket(BUCKET, versioning=False))  # R1-S3-005 fails until repaired
    world.seed_endpoint(Endpoint("r1-prod", BUCKET))
    return world, write_config(tmp_path, [BUCKET])


def _audit(tmp_path: Path, config: Path) -> Path:
    reports = tmp_path / "reports"
    result = run_cli("audit", "--regions", "us-east-1", "--report-dir", reports, "--config", config, "-q")
    assert result.code in (0, 1), result.stderr
    return run_folders(reports)[-1] / REPORT_JSON


def _open(report: Path) -> set[tuple[str, str]]:
    doc = json.loads(report.read_text())
    return {
        (f["rule_id"], f["subject"]["id"])
        for f in doc["findings"]
        if f["status"] in ("fail", "error", "waived")
    }


def _hub(session: boto3.Session | None = None, region: str = "us-east-1") -> list[dict[str, Any]]:
    client = (session or boto3.Session()).client("securityhub", region_name=region)
    return [f for page in client.get_paginator("get_findings").paginate() for f in page["Findings"]]


def _states(findings: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    out = {}
    for f in findings:
        key = (f["ProductFields"]["r1policy/rule_id"], f["ProductFields"]["r1policy/subject"])
        assert key not in out, f"duplicate finding for {key}"
        out[key] = f["RecordState"]
    return out


def test_import_reimport_and_resolve(moto_env: MotoServer, tmp_path: Path) -> None:
    world, config = _world(tmp_path)
    first = _audit(tmp_path, config)
    opened = _open(first)
    assert ("R1-S3-005", f"s3://{BUCKET}") in opened
    before = first.read_bytes()
    result = run_cli("publish", "securityhub", first)
    assert result.code == 0, result.stderr
    assert f"{len(opened)} imported, 0 archived, 0 not imported" in result.stdout
    assert _states(_hub()) == {key: "ACTIVE" for key in opened}
    assert first.read_bytes() == before  # the report is only read
    # Re-import of the same report: updated in place, no duplicates.
    again = run_cli("publish", "securityhub", first)
    assert again.code == 0, again.stderr
    assert _states(_hub()) == {key: "ACTIVE" for key in opened}
    # Repair, audit again, publish: the resolved finding is archived, the rest stay active.
    world.client("s3").put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    second = _audit(tmp_path, config)
    assert opened - _open(second) == {("R1-S3-005", f"s3://{BUCKET}")}
    result = run_cli("publish", "securityhub", second)
    assert result.code == 0, result.stderr
    assert f"{len(opened) - 1} imported, 1 archived" in result.stdout
    expected = {key: "ACTIVE" for key in opened} | {("R1-S3-005", f"s3://{BUCKET}"): "ARCHIVED"}
    assert _states(_hub()) == expected
    # A third publish archives nothing more (the archived one is no longer ACTIVE).
    third = run_cli("publish", "securityhub", second)
    assert "0 archived" in third.stdout and _states(_hub()) == expected


def _moved(report: Path, tmp_path: Path, account: str) -> Path:
    """The report with its deployment and bucket placed in another account (a second account's audit)."""
    doc = json.loads(report.read_text())
    placement = doc["audit"]["placement"]
    for kind in ("deployments", "buckets"):
        for spot in placement[kind].values():
            spot["account"] = account
    doc["audit"]["scope"]["accounts"] = [account]
    for f in doc["findings"]:
        f["subject"]["id"] = f["subject"]["id"].replace(f":{ACCOUNT}:", f":{account}:")
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(doc))
    return moved


def test_other_accounts_need_their_own_credentials(moto_env: MotoServer, tmp_path: Path) -> None:
    _, config = _world(tmp_path)
    moved = _moved(_audit(tmp_path, config), tmp_path, OTHER)
    opened = _open(moved)
    result = run_cli("publish", "securityhub", moved)
    assert result.code == 1
    assert f"{len(opened)} finding(s) not imported" in result.stderr
    assert f"account {OTHER} is not the current account" in result.stderr
    assert "R1-S3-005 s3://acme-weights" in result.stderr
    assert _hub() == []
    # With a publisher role per account, the findings land in that account's Security Hub.
    result = run_cli("publish", "securityhub", moved, "--role-name", "r1policy-publisher")
    assert result.code == 0, result.stderr
    creds = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{OTHER}:role/r1policy-publisher", RoleSessionName="check"
    )["Credentials"]
    other = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    found = _hub(other)
    assert {f["AwsAccountId"] for f in found} == {OTHER}
    assert set(_states(found)) == {(rule, s.replace(f":{ACCOUNT}:", f":{OTHER}:")) for rule, s in opened}
    assert _hub() == []


def _record(i: int, message: str = "m") -> dict[str, Any]:
    return {
        "rule_id": "R1-S3-005",
        "title": "Model bucket has versioning",
        "severity": "medium",
        "status": "fail",
        "enforcement": "block",
        "subject": {"type": "bucket", "id": f"s3://bucket-{i}"},
        "message": message,
        "references": [],
    }


def _asff(n: int, message: str = "m") -> list[dict[str, Any]]:
    return [to_asff(_record(i, message), Place(ACCOUNT, "us-east-1"), now=NOW) for i in range(n)]


def test_partial_failure_of_a_batch_is_reported_not_lost(moto_env: MotoServer) -> None:
    findings = _asff(3)
    findings[1]["Resources"] = []  # Security Hub (and moto) refuse a finding without a resource
    client = boto3.client("securityhub", region_name="us-east-1")
    product = findings[0]["ProductArn"]
    outcome = import_findings(
        client, findings, account=ACCOUNT, region="us-east-1", product=product, scope_regions=(), now=NOW
    )
    assert outcome.imported == 2 and outcome.calls == 2  # GetFindings + one BatchImportFindings
    assert [fid for fid, _ in outcome.failed] == [findings[1]["Id"]]
    assert "InvalidInput" in outcome.failed[0][1]
    assert {f["Id"] for f in _hub()} == {findings[0]["Id"], findings[2]["Id"]}


def test_batches_make_the_fewest_calls_both_limits_allow() -> None:
    small = _asff(10_000)
    counts = [len(b) for b in batches(small)]
    assert counts == [100] * 100
    big = _asff(300, message="x" * 1000)
    for f in big:
        f["Note"] = {"Text": "n" * 150_000, "UpdatedBy": "r1policy", "UpdatedAt": NOW}
    sizes = [len(json.dumps(b, ensure_ascii=False, separators=(",", ":")).encode()) for b in batches(big)]
    per_finding = len(json.dumps(big[0], ensure_ascii=False, separators=(",", ":")).encode())
    per_call = (MAX_REQUEST_BYTES - len('{"Findings":[]}') + 1) // (per_finding + 1)
    assert len(sizes) == math.ceil(300 / per_call)
    assert all(s + len('{"Findings":}') <= MAX_REQUEST_BYTES for s in sizes)
    too_big = _asff(1)[0] | {"Note": {"Text": "n" * 300_000, "UpdatedBy": "r", "UpdatedAt": NOW}}
    with pytest.raises(ValueError, match="over the 240 KB"):
        list(batches([too_big]))


def test_10000_findings_against_moto_make_the_minimum_calls(moto_env: MotoServer) -> None:
    client = boto3.client("securityhub", region_name="us-east-1")
    findings = _asff(10_000)
    product = findings[0]["ProductArn"]
    outcome = import_findings(
        client, findings, account=ACCOUNT, region="us-east-1", product=product, scope_regions=(), now=NOW
    )
    # One GetFindings (nothing imported before) and 10,000 / 100 BatchImportFindings.
    assert (outcome.imported, outcome.failed, outcome.calls, outcome.retries) == (10_000, [], 1 + 100, 0)


def test_throttling_is_retried_and_counted(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = _world(tmp_path)
    report = _audit(tmp_path, config)
    faults = [
        Fault(
            code="ThrottlingException",
            status=429,
            service="securityhub",
            path_contains="/findings/import",
            times=2,
        )
    ]
    with fault_proxy(moto_env.endpoint_url, faults) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        result = run_cli("publish", "securityhub", report)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_env.endpoint_url)
    assert result.code == 0, result.stderr
    assert "2 throttled retries" in result.stdout
    assert set(_states(_hub())) == _open(report)


def test_security_hub_not_enabled_exits_1_naming_every_finding(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = _world(tmp_path)
    report = _audit(tmp_path, config)
    before = report.read_bytes()
    faults = [
        Fault(
            code="InvalidAccessException",
            status=401,
            message="Account 123456789012 is not subscribed to AWS Security Hub",
            service="securityhub",
        )
    ]
    with fault_proxy(moto_env.endpoint_url, faults) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        result = run_cli("publish", "securityhub", report)
    assert result.code == 1
    assert "Security Hub is not enabled in account 123456789012, us-east-1" in result.stderr
    assert f"{len(_open(report))} finding(s) not imported" in result.stderr
    for rule, subject in _open(report):
        assert f"({rule} {subject})" in result.stderr
    assert report.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("missing.json",), "does not exist"),
        (("REPORT", "--role-name", "bad name"), "is not an IAM role name"),
        (("REPORT", "--region", "mars"), "is not an AWS region name"),
    ],
)
def test_bad_input_exits_2(
    moto_env: MotoServer, tmp_path: Path, args: tuple[str, ...], complaint: str
) -> None:
    report = tmp_path / "r.json"
    report.write_text("{}")
    result = run_cli("publish", "securityhub", *(str(report) if a == "REPORT" else a for a in args))
    assert result.code == 2 and complaint in result.stderr


def test_a_check_report_is_not_an_audit_report(moto_env: MotoServer, tmp_path: Path) -> None:
    from conftest import ROOT

    out = tmp_path / "check.json"
    run_cli("check", ROOT / "examples" / "block", "--static", "--format", "json", "--output", out)
    result = run_cli("publish", "securityhub", out)
    assert result.code == 2 and "not an audit report" in result.stderr


def test_two_regions_land_in_each_regions_hub(moto_env: MotoServer, tmp_path: Path) -> None:
    """`audit --format asff` and the publisher place each finding where the audit found its subject."""
    world, _ = _world(tmp_path)
    world.seed_bucket(Bucket("acme-weights-eu", region="eu-west-1", versioning=False))
    world.seed_endpoint(Endpoint("r1-eu", "acme-weights-eu", region="eu-west-1"))
    config = write_config(tmp_path, [BUCKET, "acme-weights-eu"])
    reports, asff = tmp_path / "reports", tmp_path / "audit.asff.json"
    regions = ("--regions", "us-east-1,eu-west-1", "--report-dir", reports, "--config", config, "-q")
    result = run_cli("audit", *regions, "--format", "asff", "--output", asff)
    assert result.code in (0, 1), result.stderr
    written = {
        (f["ProductFields"]["r1policy/rule_id"], f["ProductFields"]["r1policy/subject"]): f["Region"]
        for f in json.loads(asff.read_text())["Findings"]
    }
    assert written[("R1-S3-005", "s3://acme-weights-eu")] == "eu-west-1"
    assert written[("R1-S3-005", f"s3://{BUCKET}")] == "us-east-1"
    report = run_folders(reports)[-1] / REPORT_JSON
    assert run_cli("publish", "securityhub", report).code == 0
    hubs = {region: set(_states(_hub(region=region))) for region in ("us-east-1", "eu-west-1")}
    assert hubs["eu-west-1"] == {key for key, region in written.items() if region == "eu-west-1"}
    assert hubs["us-east-1"] == {key for key, region in written.items() if region == "us-east-1"}
    assert hubs["eu-west-1"] and hubs["us-east-1"] and set(written) == _open(report)
