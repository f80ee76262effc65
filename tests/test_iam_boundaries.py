"""R1-IAM-001 with permissions boundaries: a grant of the role's policies counts only if its boundary also
allows it. From CloudFormation (`PermissionsBoundary`), a Terraform plan (`permissions_boundary`) and a live
moto role (GetRole's `PermissionsBoundary`); an unreadable boundary is `error`, never a pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from tests.support.awsworld import Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from aws_cases import write_config
from conftest import finding_set, run_cli
from test_iam_files import (
    PLAN_S3_STAR,
    ROLE_ADDRESS,
    S3_STAR,
    _iam,
    _plan_iam,
    _plan_with_role,
    _statuses,
    _template,
)

READ_BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}],
}
NO_DELETE_BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject*", "Resource": "*"},
    ],
}
CONDITIONAL_BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/team": "ml"}},
        }
    ],
}
STAR_ROLE = {"Policies": [{"PolicyName": "all", "PolicyDocument": S3_STAR}]}


def _with_boundary(document: dict[str, Any]) -> dict[str, Any]:
    role = {**STAR_ROLE, "PermissionsBoundary": {"Ref": "Boundary"}}
    extra = {"Boundary": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}}}
    return _template(role, extra)


def test_read_only_boundary_removes_every_write(tmp_path: Path) -> None:
    found = _iam(tmp_path, _with_boundary(READ_BOUNDARY))
    # R1-IAM-002 judges the role's own statements: the wildcard statement is still there
    assert _statuses(found) == {"R1-IAM-001": "pass", "R1-IAM-002": "fail"}


def test_without_the_boundary_the_same_role_fails(tmp_path: Path) -> None:
    assert _statuses(_iam(tmp_path, _template(STAR_ROLE)))["R1-IAM-001"] == "fail"


def test_boundary_denying_deletes_leaves_the_writes(tmp_path: Path) -> None:
    found = _iam(tmp_path, _with_boundary(NO_DELETE_BOUNDARY))
    assert found["R1-IAM-001"][0] == "fail"
    assert "s3:PutObject" in found["R1-IAM-001"][1]
    assert "s3:DeleteObject" not in found["R1-IAM-001"][1]


def test_conditional_boundary_still_may_allow(tmp_path: Path) -> None:
    found = _iam(tmp_path, _with_boundary(CONDITIONAL_BOUNDARY))
    assert found["R1-IAM-001"][0] == "fail"
    assert "s3:PutObject (conditional)" in found["R1-IAM-001"][1]
    assert "s3:DeleteObject" not in found["R1-IAM-001"][1]


def test_aws_managed_read_only_boundary_by_arn(tmp_path: Path) -> None:
    role = {**STAR_ROLE, "PermissionsBoundary": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}
    assert _statuses(_iam(tmp_path, _template(role)))["R1-IAM-001"] == "pass"


def test_customer_boundary_the_file_does_not_define_is_an_error(tmp_path: Path) -> None:
    role = {**STAR_ROLE, "PermissionsBoundary": "arn:aws:iam::111122223333:policy/ml-boundary"}
    found = _iam(tmp_path, _template(role))
    assert found["R1-IAM-001"][0] == "error"
    assert "arn:aws:iam::111122223333:policy/ml-boundary" in found["R1-IAM-001"][1]


def test_boundary_that_is_not_an_iam_policy_is_an_error(tmp_path: Path) -> None:
    found = _iam(tmp_path, _with_boundary({"Version": "2012-10-17", "Statements": []}))
    assert found["R1-IAM-001"][0] == "error"
    assert "permissions boundary" in found["R1-IAM-001"][1]


def _plan_status(tmp_path: Path, boundary: str | None) -> str:
    plan = _plan_with_role(PLAN_S3_STAR)
    role = next(r for r in plan["resource_changes"] if r["address"] == ROLE_ADDRESS)
    if boundary is not None:
        role["change"]["after"]["permissions_boundary"] = boundary
    return _plan_iam(tmp_path, plan)["R1-IAM-001"][0]


def test_terraform_plan_boundary(tmp_path: Path) -> None:
    assert _plan_status(tmp_path, None) == "fail"
    assert _plan_status(tmp_path, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess") == "pass"
    assert _plan_status(tmp_path, "arn:aws:iam::111122223333:policy/ml-boundary") == "error"


def test_live_role_boundary(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket("acme-weights-bounded"))
    world.seed_endpoint(Endpoint("r1-bounded", "acme-weights-bounded", role="bounded", role_access="s3-star"))
    world.seed_endpoint(Endpoint("r1-gone", "acme-weights-bounded", role="gone", role_access="s3-star"))
    iam = boto3.client("iam")
    arn = iam.create_policy(PolicyName="read-boundary", PolicyDocument=json.dumps(READ_BOUNDARY))["Policy"][
        "Arn"
    ]
    iam.put_role_permissions_boundary(RoleName="bounded", PermissionsBoundary=arn)
    missing = "arn:aws:iam::123456789012:policy/deleted-boundary"
    iam.put_role_permissions_boundary(RoleName="gone", PermissionsBoundary=missing)
    config = write_config(tmp_path, ["acme-weights-bounded"])
    args = ("--regions", "us-east-1", "--report-dir", tmp_path / "r", "--config", config)
    result = run_cli("audit", *args, "--format", "json", "--show-passed")
    assert result.code in (0, 1), result.stderr
    data = json.loads(result.stdout)
    ep = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/"
    assert {f for f in finding_set(data) if f[0] == "R1-IAM-001"} == {
        ("R1-IAM-001", "pass", ep + "r1-bounded"),
        ("R1-IAM-001", "error", ep + "r1-gone"),
    }
    message = next(
        f["message"] for f in data["findings"] if f["rule_id"] == "R1-IAM-001" and f["status"] == "error"
    )
    assert "permissions_boundary" in message and "deleted-boundary" in message
