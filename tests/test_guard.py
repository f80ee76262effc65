"""The deploy-time guard against a real moto server over HTTP: blocked requests never reach it."""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import r1policy.guard as guard
from conftest import EXAMPLES, IMAGE_VULNERABILITY_RULES, ROOT
from r1policy.core.errors import R1PolicyError
from r1policy.guard import GuardBlocked

CONFIG = EXAMPLES / "r1policy.yaml"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-inference"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
LMI_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WEIGHTS = "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"


def compliant_model(name: str = "r1-distill-llama-8b") -> dict[str, Any]:
    return {
        "ModelName": name,
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "ModelDataSource": {
                "S3DataSource": {"S3Uri": WEIGHTS, "S3DataType": "S3Prefix", "CompressionType": "None"}
            },
            "Environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
        },
        "EnableNetworkIsolation": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-0c2d3e4f"], "Subnets": ["subnet-0a1b2c3d"]},
    }


def hub_model_on_a_branch(name: str = "r1-from-hub") -> dict[str, Any]:
    return {
        "ModelName": name,
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "Environment": {
                "HF_MODEL_ID": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
                "HF_MODEL_REVISION": "main",
            },
        },
    }


def endpoint_config(name: str = "cfg", **extra: Any) -> dict[str, Any]:
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "r1-distill-llama-8b",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        **extra,
    }


@pytest.fixture
def guarded(moto_env: Any) -> Iterator[guard.Guard]:
    installed = guard.install(config=CONFIG)
    try:
        yield installed
    finally:
        guard.uninstall()


def test_non_compliant_create_model_is_blocked_and_nothing_is_created(guarded: guard.Guard) -> None:
    client = boto3.client("sagemaker")
    with pytest.raises(GuardBlocked) as caught:
        client.create_model(**hub_model_on_a_branch())
    blocked = caught.value
    assert isinstance(blocked, R1PolicyError)
    assert (blocked.operation, blocked.name) == ("CreateModel", "r1-from-hub")
    assert {(f.rule_id, f.status.value) for f in blocked.findings} == {("R1-HUB-001", "fail")}
    text = str(blocked)
    assert "R1-HUB-001" in text and "fix:" in text and "40-character commit SHA" in text
    assert client.list_models()["Models"] == []


def test_compliant_create_model_goes_through(guarded: guard.Guard) -> None:
    client = boto3.client("sagemaker")
    client.create_model(**compliant_model())
    assert [m["ModelName"] for m in client.list_models()["Models"]] == ["r1-distill-llama-8b"]


def test_endpoint_config_and_endpoint_are_judged_with_what_they_reference(guarded: guard.Guard) -> None:
    client = boto3.client("sagemaker")
    client.create_model(**compliant_model())
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 10,
        "DestinationS3Uri": "s3://acme-llm-weights/capture/",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    with pytest.raises(GuardBlocked) as caught:
        client.create_endpoint_config(**endpoint_config("no-kms", DataCaptureConfig=capture))
    assert {f.rule_id for f in caught.value.findings} == {"R1-EP-006"}
    client.create_endpoint_config(**endpoint_config("cfg", KmsKeyId=KEY))
    assert [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]] == ["cfg"]
    client.create_endpoint(EndpointName="r1", EndpointConfigName="cfg")
    assert [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]] == ["r1"]


def test_references_are_read_with_describe_calls(moto_env: Any) -> None:
    client = boto3.client("sagemaker")  # made before install(): these setup calls run unguarded
    client.create_model(**{**compliant_model(), "EnableNetworkIsolation": False})
    client.create_endpoint_config(**endpoint_config("cfg", KmsKeyId=KEY))
    guard.install(config=CONFIG)
    try:
        fresh = boto3.client("sagemaker")
        with pytest.raises(GuardBlocked) as caught:
            fresh.create_endpoint(EndpointName="r1", EndpointConfigName="cfg")
        assert {f.rule_id for f in caught.value.findings} == {"R1-EP-003"}  # read back by DescribeModel
        with pytest.raises(GuardBlocked) as missing:
            fresh.create_endpoint(EndpointName="r2", EndpointConfigName="nowhere")
        assert "references endpoint config nowhere, which does not exist" in str(missing.value)
        assert fresh.list_endpoints()["Endpoints"] == []
    finally:
        guard.uninstall()


def test_serving_properties_in_an_s3_model_archive_are_read(guarded: guard.Guard) -> None:
    props = b"option.model_id=deepseek-al/DeepSeek-R1\noption.revision=main\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("serving.properties")
        info.size = len(props)
        tar.addfile(info, io.BytesIO(props))
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acme-llm-weights")
    s3.put_object(Bucket="acme-llm-weights", Key="lmi/model.tar.gz", Body=buffer.getvalue())
    model = compliant_model("lmi")
    model["PrimaryContainer"] = {
        "Image": LMI_IMAGE,  # LMI reads serving.properties; a TGI image would not
        "ModelDataUrl": "s3://acme-llm-weights/lmi/model.tar.gz",
        "Environment": {"HF_MODEL_ID": "/opt/ml/model"},
    }
    client = boto3.client("sagemaker")
    with pytest.raises(GuardBlocked) as caught:
        client.create_model(**model)
    blocking = {f.rule_id for f in caught.value.findings} - IMAGE_VULNERABILITY_RULES
    assert blocking == {"R1-HUB-001", "R1-HUB-002", "R1-HUB-003"}
    assert client.list_models()["Models"] == []


def test_uninstall_and_autoinstall(moto_env: Any) -> None:
    assert guard.autoinstall({}) is None
    installed = guard.autoinstall({"R1POLICY_GUARD": "1", "R1POLICY_CONFIG": str(CONFIG)})
    assert installed is not None and guard.current() is installed
    guard.uninstall()
    client = boto3.client("sagemaker")
    client.create_model(**hub_model_on_a_branch())  # not guarded any more
    assert len(client.list_models()["Models"]) == 1


def test_sitecustomize_snippet_guards_a_plain_boto3_script(moto_env: Any, tmp_path: Path) -> None:
    snippet = (
        (ROOT / "docs" / "sagemaker-kubernetes-guard.md")
        .read_text()
        .split("```python\n# sitecustomize.py")[1]
    )
    (tmp_path / "sitecustomize.py").write_text("# sitecustomize.py" + snippet.split("```", 1)[0])
    script = (
        "import boto3, r1policy.guard as g\n"
        "c = boto3.client('sagemaker')\n"
        "try:\n"
        f"    c.create_model(**{hub_model_on_a_branch()!r})\n"
        "except g.GuardBlocked as e:\n"
        "    print('BLOCKED', [f.rule_id for f in e.findings], len(c.list_models()['Models']))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "checker")]),
        "R1POLICY_GUARD": "1",
        "R1POLICY_CONFIG": str(CONFIG),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "BLOCKED ['R1-HUB-001'] 0"


def test_update_endpoint_and_inference_components_are_guarded(moto_env: Any) -> None:
    setup = boto3.client("sagemaker")  # unguarded: builds the world the guarded calls refer to
    setup.create_model(**compliant_model())
    setup.create_model(**{**compliant_model("open"), "EnableNetworkIsolation": False})
    setup.create_endpoint_config(**endpoint_config("cfg", KmsKeyId=KEY))
    bad = endpoint_config("bad", KmsKeyId=KEY)
    bad["ProductionVariants"][0]["ModelName"] = "open"
    setup.create_endpoint_config(**bad)
    setup.create_endpoint(EndpointName="r1", EndpointConfigName="cfg")
    guard.install(config=CONFIG)
    try:
        client = boto3.client("sagemaker")
        with pytest.raises(GuardBlocked) as caught:
            client.update_endpoint(EndpointName="r1", EndpointConfigName="bad")
        assert caught.value.operation == "UpdateEndpoint"
        assert {f.rule_id for f in caught.value.findings} == {"R1-EP-003"}
        assert client.describe_endpoint(EndpointName="r1")["EndpointConfigName"] == "cfg"
        component = {
            "InferenceComponentName": "r1-ic",
            "VariantName": "AllTraffic",
            "Specification": {
                "Container": {"Image": IMAGE, "Environment": {"HF_MODEL_ID": "deepseek-ai/DeepSeek-R1"}},
                "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
            },
            "RuntimeConfig": {"CopyCount": 1},
        }
        with pytest.raises(GuardBlocked, match="references endpoint nowhere, which does not exist"):
            client.create_inference_component(EndpointName="nowhere", **component)
        with pytest.raises(GuardBlocked, match="no inference-component variant AllTraffic on endpoint r1"):
            client.create_inference_component(EndpointName="r1", **component)
    finally:
        guard.uninstall()


@pytest.mark.sagemaker_sdk
@pytest.mark.skipif(
    importlib.util.find_spec("sagemaker") is None and not os.environ.get("R1POLICY_REQUIRE_SAGEMAKER_SDK"),
    reason="needs the SageMaker SDK v3: pip install 'r1policy[sagemaker]' (CI installs it)",
)
def test_sagemaker_sdk_v3_is_stopped_before_anything_is_created(guarded: guard.Guard) -> None:
    resources = importlib.import_module("sagemaker.core.resources")
    shapes = importlib.import_module("sagemaker.core.shapes")
    session = boto3.Session()
    branch = hub_model_on_a_branch()
    with pytest.raises(GuardBlocked) as caught:
        resources.Model.create(
            model_name=branch["ModelName"],
            primary_container=shapes.ContainerDefinition(
                image=IMAGE, environment=branch["PrimaryContainer"]["Environment"]
            ),
            execution_role_arn=ROLE,
            session=session,
            region="us-east-1",
        )
    assert {f.rule_id for f in caught.value.findings} == {"R1-HUB-001"}
    client = session.client("sagemaker")
    assert client.list_models()["Models"] == []
    created = resources.Model.create(
        model_name="r1-distill-llama-8b",
        primary_container=shapes.ContainerDefinition(
            image=IMAGE,
            environment={"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
            model_data_source=shapes.ModelDataSource(
                s3_data_source=shapes.S3ModelDataSource(
                    s3_uri=WEIGHTS, s3_data_type="S3Prefix", compression_type="None"
                )
            ),
        ),
        execution_role_arn=ROLE,
        enable_network_isolation=True,
        vpc_config=shapes.VpcConfig(security_group_ids=["sg-0c2d3e4f"], subnets=["subnet-0a1b2c3d"]),
        session=session,
        region="us-east-1",
    )
    assert created is not None
    assert [m["ModelName"] for m in client.list_models()["Models"]] == ["r1-distill-llama-8b"]


def test_live_guard_reads_the_bucket_state(moto_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # an S3 model: the Hub has nothing to say
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acme-llm-weights")  # moto's default: no KMS, no versioning, no logging
    guard.install(config=CONFIG, live=True)
    try:
        client = boto3.client("sagemaker")
        with pytest.raises(GuardBlocked) as caught:
            client.create_model(**compliant_model())
        assert {f.rule_id for f in caught.value.findings} == {"R1-S3-001", "R1-S3-002", "R1-S3-005"}
        assert client.list_models()["Models"] == []
    finally:
        guard.uninstall()
