"""The auditor's IAM policy: read-only, sufficient (moto with IAM enforcement on), and a missing
permission turns into `error` findings for exactly the rules that need it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.support.awsworld import Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from aws_cases import write_config, write_manifest
from conftest import ROOT, finding_set, run_cli

POLICY = ROOT / "policies" / "iam" / "r1policy-auditor.json"
READ_ONLY = re.compile(r"^(s3|kms|sagemaker|cloudtrail|iam|ecr):(List|Get|Describe)[A-Za-z]+$")
BUCKET = "acme-weights"
ENDPOINT = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/r1-prod"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"  # the world's execution role (awsworld.py)
# The world's TGI DLC is built on PyTorch 2.4, past its AWS end of patch: R1-EP-009 warns whatever the
# permissions (it reads no AWS API).
SUPPORT_ENDED = ("R1-EP-009", "fail", ENDPOINT)
IC_ENDPOINT = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/r1-ic"


def _policy(without: str = "") -> dict[str, Any]:
    doc = json.loads(POLICY.read_text())
    for statement in doc["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != without]
    doc["Statement"] = [s for s in doc["Statement"] if s["Action"]]
    return doc


def test_auditor_policy_is_read_only() -> None:
    doc = json.loads(POLICY.read_text())
    actions = [a for s in doc["Statement"] for a in s["Action"]]
    assert all(s["Effect"] == "Allow" for s in doc["Statement"])
    assert all("NotAction" not in s and "NotResource" not in s for s in doc["Statement"])
    assert [a for a in actions if not READ_ONLY.match(a)] == []
    assert len(actions) == len(set(actions))


def _user(name: str, policy: dict[str, Any]) -> dict[str, str]:
    iam = boto3.client("iam")
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _world(tmp_path: Path) -> tuple[Path, Path]:
    world = World()
    world.account_block_public_access()
    # Bucket-level Block Public Access off: R1-S3-002 needs the account-level setting.
    spec = world.seed_bucket(Bucket(BUCKET, block_public_access=False, object_lock=True))
    world.seed_endpoint(Endpoint("r1-prod", BUCKET))
    _inference_component(world, spec.kms_key)
    manifest = write_manifest(
        tmp_path / "deploy", "r1-prod", BUCKET, kms_key=spec.kms_key, execution_role=ROLE
    )
    return manifest, write_config(tmp_path, [BUCKET])


def _inference_component(world: World, key: str | None) -> None:
    """An inference-component endpoint running the r1-prod model (compliant, like r1-prod)."""
    sm = world.client("sagemaker")
    sm.create_endpoint_config(
        EndpointConfigName="r1-ic",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-execution",
        EnableNetworkIsolation=True,
        VpcConfig={"SecurityGroupIds": ["sg-0c2d"], "Subnets": ["subnet-0a1b"]},
        KmsKeyId=key,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1}
        ],
    )
    sm.create_endpoint(EndpointName="r1-ic", EndpointConfigName="r1-ic")
    sm.create_inference_component(
        InferenceComponentName="r1-ic-prod",
        EndpointName="r1-ic",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "r1-prod",
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )


def _as(monkeypatch: pytest.MonkeyPatch, creds: dict[str, str]) -> None:
    for key, value in creds.items():
        monkeypatch.setenv(key, value)


def _run(manifest: Path, config: Path, snap: Path) -> tuple[set[tuple[str, str, str]], dict[str, Any]]:
    live = run_cli("check", manifest, "--live", "--config", config, "--format", "json", "--show-passed")
    assert live.code in (0, 1), live.stderr
    written = run_cli("snapshot", "--output", snap)
    assert written.code == 0, written.stderr
    doc = json.loads(snap.read_text())
    for volatile in ("captured_at", "source"):
        doc.pop(volatile)
    return finding_set(live.json), doc


def test_auditor_policy_is_sufficient(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, config = _world(tmp_path)
    admin = _user(
        "admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    auditor = _user("auditor", _policy())
    moto_env.set_auth(0)  # IAM enforcement on from here
    _as(monkeypatch, admin)
    admin_findings, admin_doc = _run(manifest, config, tmp_path / "admin.json")
    _as(monkeypatch, auditor)
    auditor_findings, auditor_doc = _run(manifest, config, tmp_path / "auditor.json")
    assert auditor_findings == admin_findings
    assert {f for f in admin_findings if f[1] not in ("pass", "skipped")} == {SUPPORT_ENDED}
    assert auditor_doc == admin_doc
    assert "errors" not in json.dumps(auditor_doc)


# Every action of the auditor policy: the fact its denial leaves unread in the snapshot (where, which)
# (space-separated when it leaves several unread) and the rules `check --live` then reports as `error`.
# The SageMaker reads feed `audit`, not `check`.
SM_REGION = "sagemaker/123456789012/us-east-1"
ROLE_RECORD = f"iam_roles/{ROLE}"
IAM_RULES = {"R1-IAM-001", "R1-IAM-002"}
DENIED: dict[str, tuple[str, str, set[str]]] = {
    # the bucket's owner is unknown: so are its account's trails (R1-S3-010)
    "s3:ListAllMyBuckets": ("buckets/acme-weights", "account_id", {"R1-S3-002", "R1-S3-010"}),
    "s3:GetBucketLocation": ("buckets/acme-weights", "region", {"R1-S3-006"}),
    # the bucket's KMS key is unknown: so is its key policy (R1-S3-011)
    "s3:GetEncryptionConfiguration": ("buckets/acme-weights", "encryption", {"R1-S3-001", "R1-S3-011"}),
    "s3:GetBucketPublicAccessBlock": ("buckets/acme-weights", "public_access_block", {"R1-S3-002"}),
    "s3:GetBucketPolicy": ("buckets/acme-weights", "policy", {"R1-S3-003", "R1-S3-004", "R1-S3-009"}),
    "s3:GetBucketPolicyStatus": ("buckets/acme-weights", "policy_is_public", set()),
    "s3:GetBucketAcl": ("buckets/acme-weights", "acl_grants", {"R1-S3-003", "R1-S3-009"}),
    "s3:GetBucketOwnershipControls": ("buckets/acme-weights", "ownership", set()),
    "s3:GetBucketVersioning": ("buckets/acme-weights", "versioning", {"R1-S3-005"}),
    "s3:GetBucketObjectLockConfiguration": ("buckets/acme-weights", "object_lock", set()),
    "s3:GetBucketLogging": ("buckets/acme-weights", "logging", {"R1-S3-007"}),
    "s3:GetAccountPublicAccessBlock": ("accounts/123456789012", "public_access_block", {"R1-S3-002"}),
    "s3:GetObject": (
        "model_files/s3://acme-weights/deepseek-r1-distill-llama-8b",
        "config.json model.safetensors.index.json",
        set(),
    ),
    "kms:DescribeKey": ("kms_keys/*", "customer_managed", {"R1-S3-001"}),
    "kms:GetKeyRotationStatus": ("kms_keys/*", "rotation_enabled", set()),
    "kms:GetKeyPolicy": ("kms_keys/*", "key_policy", {"R1-S3-011"}),
    "cloudtrail:DescribeTrails": ("buckets/acme-weights", "trails", {"R1-S3-010"}),
    "cloudtrail:GetTrailStatus": ("buckets/acme-weights/trails/0", "logging", {"R1-S3-010"}),
    "cloudtrail:GetEventSelectors": ("buckets/acme-weights/trails/0", "event_selectors", {"R1-S3-010"}),
    "sagemaker:ListModels": (SM_REGION, "models", set()),
    "sagemaker:DescribeModel": (SM_REGION, "model/r1-prod", set()),
    "sagemaker:ListEndpointConfigs": (SM_REGION, "endpoint_configs", set()),
    "sagemaker:DescribeEndpointConfig": (SM_REGION, "endpoint-config/r1-prod endpoint-config/r1-ic", set()),
    "sagemaker:ListEndpoints": (SM_REGION, "endpoints", set()),
    "sagemaker:DescribeEndpoint": (SM_REGION, "endpoint/r1-prod endpoint/r1-ic", set()),
    "sagemaker:ListInferenceComponents": (SM_REGION, "inference_components", set()),
    "sagemaker:DescribeInferenceComponent": (SM_REGION, "inference-component/r1-ic-prod", set()),
    "iam:GetRole": (ROLE_RECORD, "role", IAM_RULES),
    "iam:ListRolePolicies": (ROLE_RECORD, "role", IAM_RULES),
    "iam:GetRolePolicy": (ROLE_RECORD, "role", IAM_RULES),
    "iam:ListAttachedRolePolicies": (ROLE_RECORD, "role", IAM_RULES),
    "iam:GetPolicy": (ROLE_RECORD, "attached_policies", IAM_RULES),
    "iam:GetPolicyVersion": (ROLE_RECORD, "attached_policies", IAM_RULES),
    # this world runs an AWS DLC image, whose scans r1policy never asks for: nothing changes here
    # (tests/test_aws_ecr_scans.py denies it on own-registry images: exactly their R1-EP-008 errs)
    "ecr:DescribeImageScanFindings": ("", "", set()),
}


def _snapshot_errors(doc: Any, path: str = "") -> set[tuple[str, str]]:
    """(where, fact) of every unread fact recorded in a snapshot; KMS key ids become ``*``."""
    found: set[tuple[str, str]] = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "errors" and isinstance(value, dict):
                where = re.sub(r"^kms_keys/.*$", "kms_keys/*", path.strip("/"))
                found |= {(where, fact) for fact in value}
            else:
                found |= _snapshot_errors(value, f"{path}/{key}")
    elif isinstance(doc, list):  # the trails of a bucket
        for index, value in enumerate(doc):
            found |= _snapshot_errors(value, f"{path}/{index}")
    return found


def test_the_denial_table_names_every_action_of_the_policy() -> None:
    actions = {a for s in json.loads(POLICY.read_text())["Statement"] for a in s["Action"]}
    assert set(DENIED) == actions


@pytest.mark.parametrize("permission", sorted(DENIED))
def test_missing_permission_errors_exactly_its_rules(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, permission: str
) -> None:
    """On the installed moto, each action is enforced under its IAM name: deny it, and exactly its fact
    is unread and exactly its rules become `error`."""
    where, fact, rules = DENIED[permission]
    manifest, config = _world(tmp_path)
    _as(monkeypatch, _user("auditor", _policy(without=permission)))
    moto_env.set_auth(0)
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json")
    warn_only = {"R1-S3-006", "R1-S3-007", "R1-S3-004", "R1-S3-010"}
    assert result.code == (1 if rules - warn_only else 0), result.stderr
    bad = finding_set(result.json, "fail", "error")
    support = {
        b for b in bad if b[0] == "R1-EP-009"
    }  # the endpoint's ARN is unknown without DescribeEndpoint
    assert {(rule, status) for rule, status, _ in support} == {("R1-EP-009", "fail")}
    bad -= support
    assert {rule for rule, _, _ in bad} == rules
    assert {status for _, status, _ in bad} <= {"error"}
    assert all("AccessDenied" in f["message"] for f in result.json["findings"] if f["status"] == "error")
    snap = tmp_path / "state.json"
    assert run_cli("snapshot", "--output", snap).code == 0
    assert _snapshot_errors(json.loads(snap.read_text())) == {(where, f) for f in fact.split()}


def test_missing_sagemaker_permission_is_recorded(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _world(tmp_path)
    _as(monkeypatch, _user("auditor", _policy(without="sagemaker:DescribeEndpointConfig")))
    moto_env.set_auth(0)
    snap = tmp_path / "state.json"
    assert run_cli("snapshot", "--output", snap).code == 0
    region = json.loads(snap.read_text())["sagemaker"]["123456789012"]["us-east-1"]
    assert region["endpoint_configs"] == []
    assert list(region["errors"]) == ["endpoint-config/r1-ic", "endpoint-config/r1-prod"]
    assert "AccessDenied" in region["errors"]["endpoint-config/r1-prod"]


def _audit(tmp_path: Path, name: str, config: Path) -> set[tuple[str, str, str]]:
    report_dir = tmp_path / name
    args = ("--regions", "us-east-1", "--report-dir", report_dir, "--config", config)
    result = run_cli("audit", *args, "--format", "json", "--show-passed")
    assert result.code in (0, 1), result.stderr
    return finding_set(json.loads(result.stdout))


def test_audit_with_only_the_auditor_policy_equals_admin(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = _world(tmp_path)
    admin = _user(
        "admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    auditor = _user("auditor", _policy())
    partial = _user("partial", _policy(without="s3:GetBucketLogging"))
    moto_env.set_auth(0)
    _as(monkeypatch, admin)
    as_admin = _audit(tmp_path, "admin", config)
    _as(monkeypatch, auditor)
    assert _audit(tmp_path, "auditor", config) == as_admin
    assert {f for f in as_admin if f[1] not in ("pass", "skipped")} == {
        SUPPORT_ENDED,
        ("R1-EP-009", "fail", IC_ENDPOINT),
    }
    _as(monkeypatch, partial)
    as_partial = _audit(tmp_path, "partial", config)
    assert as_partial - as_admin == {("R1-S3-007", "error", f"s3://{BUCKET}")}
    assert as_admin - as_partial == {("R1-S3-007", "pass", f"s3://{BUCKET}")}
