"""Inference components (CreateInferenceComponent) and async inference output configs in a live audit:
enumerated (ListInferenceComponents + DescribeInferenceComponent, once each) and judged like variants,
on the moto server with its inference-component patch (tests/support/moto_components.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from tests.support.awsworld import IMAGE, ROLE, Bucket, World
from tests.support.motoserver import MotoServer

from conftest import ROOT, finding_set, run_cli
from r1policy.audit.history import run_folders

REGION, ACCOUNT = "us-east-1", "123456789012"
CONFIG = ROOT / "examples" / "aws-demo" / "r1policy.yaml"
ENDPOINT_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/r1-ic"
BUCKET = "acme-llm-weights"


def _seed() -> dict[str, Any]:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket(BUCKET))
    key = world.shared_key()
    async_key = world.customer_key()
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(
        ModelName="r1-llama-8b",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataSource": {
                "S3DataSource": {
                    "S3Uri": f"s3://{BUCKET}/deepseek-r1-distill-llama-8b/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            },
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName="r1-ic-config",
        ExecutionRoleArn=ROLE,
        EnableNetworkIsolation=True,
        VpcConfig={"SecurityGroupIds": ["sg-0c2d"], "Subnets": ["subnet-0a1b"]},
        KmsKeyId=key,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.12xlarge", "InitialInstanceCount": 1}
        ],
        AsyncInferenceConfig={
            "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/async/", "KmsKeyId": async_key}
        },
    )
    sm.create_endpoint(EndpointName="r1-ic", EndpointConfigName="r1-ic-config")
    compute = {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024}
    sm.create_inference_component(
        InferenceComponentName="llama-8b",
        EndpointName="r1-ic",
        VariantName="AllTraffic",
        Specification={"ModelName": "r1-llama-8b", "ComputeResourceRequirements": compute},
        RuntimeConfig={"CopyCount": 1},
    )
    sm.create_inference_component(
        InferenceComponentName="scratch",
        EndpointName="r1-ic",
        VariantName="AllTraffic",
        Specification={
            "Container": {"Image": "docker.io/acme/tgi:latest", "ArtifactUrl": "s3://acme-scratch/m.tar.gz"},
            "ComputeResourceRequirements": compute,
        },
        RuntimeConfig={"CopyCount": 1},
    )
    return {"key": key, "async_key": async_key}


def _audit(tmp_path: Path) -> dict[str, Any]:
    reports = tmp_path / "reports"
    result = run_cli(
        "audit", "--regions", REGION, "--report-dir", reports, "--config", CONFIG, "--show-passed"
    )
    assert result.code == 1, result.stderr
    doc: dict[str, Any] = json.loads((run_folders(reports)[-1] / "audit.json").read_text())
    return doc


def _judged(doc: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(rule, status, subject, deployment) of every finding that needs attention."""
    return {
        (f["rule_id"], f["status"], f["subject"]["id"], f.get("deployment") or "")
        for f in doc["findings"]
        if f["status"] in ("fail", "error")
    }


SCRATCH_BUCKET_RULES = (
    "R1-S3-001",
    "R1-S3-002",
    "R1-S3-003",
    "R1-S3-004",
    "R1-S3-005",
    "R1-S3-007",
    "R1-S3-009",
    "R1-S3-010",
    "R1-S3-011",
)


def test_inference_components_are_enumerated_and_judged(moto_env: MotoServer, tmp_path: Path) -> None:
    _seed()
    doc = _audit(tmp_path)
    assert set(doc["audit"]["placement"]["deployments"]) == {"r1-ic/llama-8b", "r1-ic/scratch"}
    assert doc["audit"]["problems"] == []
    llama, scratch = "r1-ic/llama-8b", "r1-ic/scratch"
    want = {
        # the approved TGI DLC of the Llama component is past its PyTorch end of patch (a warning)
        ("R1-EP-009", "fail", ENDPOINT_ARN, llama),
        # its model runs as a role this world never created: who can write the weights is unknown
        ("R1-IAM-001", "error", ENDPOINT_ARN, llama),
        ("R1-IAM-002", "error", ENDPOINT_ARN, llama),
        # the scratch component: a model archive of unknown size, an image with no version, from a
        # bucket that is not approved and does not exist
        ("R1-EP-002", "error", ENDPOINT_ARN, scratch),
        ("R1-EP-007", "fail", ENDPOINT_ARN, scratch),
        ("R1-EP-008", "error", ENDPOINT_ARN, scratch),
        ("R1-EP-009", "error", ENDPOINT_ARN, scratch),
        ("R1-S3-006", "error", scratch, scratch),
        ("R1-S3-008", "fail", scratch, scratch),
    }
    want |= {(rule, "error", "s3://acme-scratch", "") for rule in SCRATCH_BUCKET_RULES}
    assert _judged(doc) == want
    # judged like a variant: instance type, isolation, VPC, volume key and async-output key all pass
    passed = finding_set(doc, "pass")
    for rule in ("R1-EP-001", "R1-EP-003", "R1-EP-004", "R1-EP-005", "R1-EP-006"):
        assert (rule, "pass", ENDPOINT_ARN) in passed, rule


def test_snapshot_keeps_the_components_and_the_async_output_key(moto_env: MotoServer, tmp_path: Path) -> None:
    keys = _seed()
    snap = tmp_path / "state.json"
    assert run_cli("snapshot", "--regions", REGION, "--output", snap).code == 0
    region = json.loads(snap.read_text())["sagemaker"][ACCOUNT][REGION]
    names = [c["InferenceComponentName"] for c in region["inference_components"]]
    assert sorted(names) == ["llama-8b", "scratch"]
    assert "errors" not in region
    assert keys["async_key"] in json.loads(snap.read_text())["kms_keys"]
