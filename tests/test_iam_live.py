"""R1-IAM-001 / R1-IAM-002 against a live moto world: execution roles read through boto3 over real HTTP
(iam:GetRole, ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies, GetPolicy, GetPolicyVersion)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import yaml
from tests.support.awsworld import Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from aws_cases import write_config, write_manifest
from conftest import finding_set, run_cli

BUCKET = "acme-weights-iam"


def _with_role(manifest: Path, role: str) -> Path:
    doc = yaml.safe_load(manifest.read_text())
    doc["spec"]["model"]["execution_role"] = role
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False))
    return manifest


def _iam_findings(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {f for f in finding_set(data) if f[0].startswith("R1-IAM")}


def _audit(tmp_path: Path, config: Path) -> dict[str, Any]:
    report_dir = tmp_path / "reports"
    args = ("--regions", "us-east-1", "--report-dir", report_dir, "--config", config)
    result = run_cli("audit", *args, "--format", "json", "--show-passed")
    assert result.code in (0, 1), result.stderr
    return dict(json.loads(result.stdout))


def test_audit_judges_each_endpoints_role(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket(BUCKET))
    world.seed_endpoint(Endpoint("r1-scoped", BUCKET))
    world.seed_endpoint(Endpoint("r1-writer", BUCKET, role="sagemaker-s3-star", role_access="s3-star"))
    data = _audit(tmp_path, write_config(tmp_path, [BUCKET]))
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/"
    assert _iam_findings(data) == {
        ("R1-IAM-001", "pass", arn + "r1-scoped"),
        ("R1-IAM-002", "pass", arn + "r1-scoped"),
        ("R1-IAM-001", "fail", arn + "r1-writer"),
        ("R1-IAM-002", "fail", arn + "r1-writer"),
    }
    message = next(
        f["message"] for f in data["findings"] if f["rule_id"] == "R1-IAM-001" and f["status"] == "fail"
    )
    assert "arn:aws:iam::123456789012:role/sagemaker-s3-star" in message
    assert "s3:PutObject" in message and "s3:DeleteObject" in message
    remediation = next(
        f["remediation"] for f in data["findings"] if f["rule_id"] == "R1-IAM-001" and f["status"] == "fail"
    )
    assert "--role-name sagemaker-s3-star" in remediation["cli"]
    assert f"arn:aws:s3:::{BUCKET}/*" in remediation["cli"]
    writer = "arn:aws:iam::123456789012:role/sagemaker-s3-star"
    [run] = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    [row] = json.loads((run / "audit.json").read_text())["audit"]["weights_access"]
    assert row["bucket"] == BUCKET
    assert row["writers"] == [writer] and row["deleters"] == [writer] and row["unknown"] == []
    # neither role is granted kms:Decrypt on the bucket's key
    assert row["decrypters"] == []
    markdown = (run / "audit.md").read_text()
    assert "## Who can change the weights\n\n2 execution role(s) read with 12 IAM call(s)." in markdown
    assert f"| `{BUCKET}` | {writer} | {writer} | none | - |" in markdown
    html = (run / "audit.html").read_text()
    assert '<h2 id="h-weights">Who can change the weights</h2>' in html
    assert f'<td data-kind="writers">{writer}</td>' in html


def test_check_live_reads_the_role_a_manifest_names(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    bucket = world.seed_bucket(Bucket(BUCKET))
    writer = world.execution_role("pipeline-writer", BUCKET, "s3-star")
    manifest = _with_role(
        write_manifest(tmp_path / "deploy", "r1-prod", BUCKET, kms_key=bucket.kms_key), writer
    )
    config = write_config(tmp_path, [BUCKET])
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json", "--show-passed")
    assert result.code == 1, result.stderr
    assert _iam_findings(result.json) == {
        ("R1-IAM-001", "fail", "sagemaker:us-east-1:endpoint/r1-prod"),
        ("R1-IAM-002", "fail", "sagemaker:us-east-1:endpoint/r1-prod"),
    }


def test_check_live_missing_role_is_an_error(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    bucket = world.seed_bucket(Bucket(BUCKET))
    manifest = _with_role(
        write_manifest(tmp_path / "deploy", "r1-prod", BUCKET, kms_key=bucket.kms_key),
        "arn:aws:iam::123456789012:role/deleted-role",
    )
    config = write_config(tmp_path, [BUCKET])
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json")
    assert result.code == 1, result.stderr
    errors = [f for f in result.json["findings"] if f["rule_id"].startswith("R1-IAM")]
    assert {(f["rule_id"], f["status"]) for f in errors} == {("R1-IAM-001", "error"), ("R1-IAM-002", "error")}
    assert all("NoSuchEntity" in f["message"] for f in errors)


def test_roles_and_policies_are_read_once_per_run(moto_env: MotoServer, tmp_path: Path) -> None:
    """Many endpoints sharing a role: one read of the role, one of each attached policy."""
    world = World()
    world.seed_bucket(Bucket(BUCKET))
    for i in range(6):
        world.seed_endpoint(Endpoint(f"r1-{i}", BUCKET, kms_key=None, role=f"shared-{i % 2}"))
    snap = tmp_path / "state.json"
    assert run_cli("snapshot", "--output", snap).code == 0
    doc = json.loads(snap.read_text())
    assert sorted(doc["iam_roles"]) == [
        "arn:aws:iam::123456789012:role/shared-0",
        "arn:aws:iam::123456789012:role/shared-1",
    ]
    # each role: GetRole, ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies + GetPolicy(Version)
    assert doc["statistics"] == {"iam_roles": 2, "iam_calls": 12}
    assert boto3.client("iam").list_roles()["Roles"]  # the roles exist: nothing was skipped
