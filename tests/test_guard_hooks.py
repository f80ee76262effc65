"""The deploy guard at the botocore level (issue 13 root cause 3, issue 20 "SageMaker API JSON and the
guard"): clients created before `install()` are guarded too, the container's own variables decide
(TGI's TRUST_REMOTE_CODE), shadow variants and UpdateInferenceComponent are judged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from r1policy import guard
from r1policy.guard import GuardBlocked
from test_guard import CONFIG, IMAGE, KEY, ROLE, compliant_model, endpoint_config

SHA = "6a6f4aa4197940add57724a7707d069478df56b1"
GOOD = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"


def hub_model(name: str, env: dict[str, str]) -> dict[str, Any]:
    return {
        "ModelName": name,
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": IMAGE, "Environment": env},
        "EnableNetworkIsolation": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-0c2d3e4f"], "Subnets": ["subnet-0a1b2c3d"]},
    }


BAD_MODELS = {
    # The example: a client made before install() sent CreateModel unguarded.
    "hub_branch": {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": "main"},
    # TGI reads TRUST_REMOTE_CODE itself (HF_MODEL_TRUST_REMOTE_CODE unset).
    "tgi_trust_remote_code": {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA, "TRUST_REMOTE_CODE": "true"},
    # LMI's variables on a TGI image: TGI serves HF_MODEL_ID at its own (missing) revision.
    "option_vars_on_tgi": {"HF_MODEL_ID": "evil-labs/R1", "OPTION_MODEL_ID": GOOD, "OPTION_REVISION": SHA},
    # The download goes to another server than the Hub.
    "hf_endpoint": {
        "HF_MODEL_ID": GOOD,
        "HF_MODEL_REVISION": SHA,
        "HF_ENDPOINT": "https://hf-mirror.example",
    },
}
EXPECTED = {
    "hub_branch": {"R1-HUB-001"},
    "tgi_trust_remote_code": {"R1-HUB-005"},
    "option_vars_on_tgi": {"R1-HUB-001", "R1-HUB-002"},
    "hf_endpoint": {"R1-HUB-002"},
}


@pytest.fixture
def clean(moto_env: Any) -> Iterator[None]:
    try:
        yield
    finally:
        guard.uninstall()


@pytest.mark.parametrize("order", ["client_before_install", "client_after_install"])
@pytest.mark.parametrize("case", BAD_MODELS.keys())
def test_create_model_is_blocked_whenever_the_client_was_made(clean: None, order: str, case: str) -> None:
    early = boto3.client("sagemaker")
    session_client = boto3.session.Session().client("sagemaker")
    guard.install(config=CONFIG)
    client = early if order == "client_before_install" else boto3.client("sagemaker")
    for each in (client, session_client):
        with pytest.raises(GuardBlocked) as caught:
            each.create_model(**hub_model("bad", BAD_MODELS[case]))
        assert {f.rule_id for f in caught.value.findings} == EXPECTED[case]
    assert client.list_models()["Models"] == []


def test_uninstall_restores_botocore(clean: None) -> None:
    client = boto3.client("sagemaker")
    guard.install(config=CONFIG)
    guard.uninstall()
    client.create_model(**hub_model("bad", BAD_MODELS["hub_branch"]))
    assert len(client.list_models()["Models"]) == 1


def test_shadow_variant_is_judged(clean: None) -> None:
    early = boto3.client("sagemaker")
    early.create_model(**compliant_model())
    early.create_model(**{**compliant_model("shadow"), "EnableNetworkIsolation": False})
    guard.install(config=CONFIG)
    config = endpoint_config("cfg", KmsKeyId=KEY)
    config["ShadowProductionVariants"] = [
        {
            "VariantName": "shadow",
            "ModelName": "shadow",
            "InstanceType": "ml.g5.2xlarge",
            "InitialInstanceCount": 1,
        }
    ]
    with pytest.raises(GuardBlocked) as caught:
        early.create_endpoint_config(**config)
    assert {f.rule_id for f in caught.value.findings} == {"R1-EP-003"}
    assert "shadow" in str(caught.value)


def test_update_inference_component_is_judged(clean: None) -> None:
    installed = guard.install(config=CONFIG)
    installed.seen[("Endpoint", "r1")] = {"EndpointName": "r1", "EndpointConfigName": "ic-cfg"}
    installed.seen[("EndpointConfig", "ic-cfg")] = {
        "EndpointConfigName": "ic-cfg",
        "KmsKeyId": KEY,
        "EnableNetworkIsolation": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-0c2d3e4f"], "Subnets": ["subnet-0a1b2c3d"]},
        "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge"}],
    }
    installed.seen[("InferenceComponent", "ic")] = {
        "InferenceComponentName": "ic",
        "EndpointName": "r1",
        "VariantName": "AllTraffic",
        "Specification": {
            "Container": {"Image": IMAGE, "Environment": {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA}}
        },
    }
    client = boto3.client("sagemaker")
    bad = {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA, "TRUST_REMOTE_CODE": "true"}
    with pytest.raises(GuardBlocked) as caught:
        client.update_inference_component(
            InferenceComponentName="ic",
            Specification={
                "Container": {"Image": IMAGE, "Environment": bad},
                "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
            },
        )
    assert caught.value.operation == "UpdateInferenceComponent"
    assert {f.rule_id for f in caught.value.findings} == {"R1-HUB-005"}
    once = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(GuardBlocked, match=r"InferenceComponent nowhere: (does not exist|cannot be read)"):
        once.update_inference_component(InferenceComponentName="nowhere", RuntimeConfig={"CopyCount": 2})
