"""SageMaker API shapes → deployments (the converter), and SageMaker API request files in `check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import EXAMPLES, finding_set, run_cli
from r1policy.core.findings import Location
from r1policy.core.model import (
    FIELD_INSTANCE_TYPE,
    FIELD_REVISION,
    FIELD_S3_URI,
    Encryption,
    SourceKind,
)
from r1policy.sources.sagemaker.api import ApiProblem, deployments_from_api

SHA = "6a6f4aa4197940add57724a7707d069478df56b1"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def s3_model(name: str = "llama-8b", **extra: Any) -> dict[str, Any]:
    return {
        "ModelName": name,
        "ExecutionRoleArn": "arn:aws:iam::111122223333:role/sm",
        "PrimaryContainer": {
            "Image": IMAGE,
            "ModelDataSource": {
                "S3DataSource": {
                    "S3Uri": "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            },
            "Environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
        },
        "EnableNetworkIsolation": True,
        "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        **extra,
    }


def hub_model(name: str = "hub", env: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "ModelName": name,
        "PrimaryContainer": {
            "Image": IMAGE,
            "Environment": env or {"HF_MODEL_ID": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"},
        },
    }


def config(name: str = "cfg", *variants: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "EndpointConfigName": name,
        "ProductionVariants": list(variants)
        or [
            {
                "VariantName": "AllTraffic",
                "ModelName": "llama-8b",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 2,
            }
        ],
        "KmsKeyId": KEY,
        **extra,
    }


def test_endpoint_config_model_chain_becomes_one_deployment() -> None:
    result = deployments_from_api(
        [s3_model()],
        [config(DataCaptureConfig={"DestinationS3Uri": "s3://x/c/", "KmsKeyId": KEY})],
        [{"EndpointName": "r1", "EndpointConfigName": "cfg"}],
        account="111122223333",
        region="us-east-1",
    )
    assert result.problems == []
    [dep] = result.deployments
    assert dep.name == "r1"
    assert dep.model.kind is SourceKind.S3
    assert dep.model.s3_uri == "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"
    assert dep.image == IMAGE
    ep = dep.endpoint
    assert ep is not None
    assert ep.arn == "arn:aws:sagemaker:us-east-1:111122223333:endpoint/r1"
    assert (ep.instance_type, ep.instance_count, ep.kms_key) == ("ml.g5.2xlarge", 2, KEY)
    assert ep.network_isolation is True
    assert (ep.vpc_subnets, ep.vpc_security_groups) == (("subnet-1",), ("sg-1",))
    assert ep.data_capture == Encryption(KEY)
    assert ep.async_output is None


def test_env_names_the_hub_model_and_its_revision() -> None:
    env = {
        "HF_MODEL_ID": "deepseek-ai/DeepSeek-R1",
        "HF_MODEL_REVISION": SHA,
        "HF_MODEL_TRUST_REMOTE_CODE": "true",
    }
    [dep] = deployments_from_api([hub_model(env=env)], [], []).deployments
    assert (dep.model.kind, dep.model.repo, dep.model.revision) == (
        SourceKind.HUB,
        "deepseek-ai/DeepSeek-R1",
        SHA,
    )
    assert dep.model.trust_remote_code is True
    assert dep.endpoint is None  # a model that no config uses: endpoint rules are skipped


def test_unused_config_is_judged_as_an_endpoint_config() -> None:
    result = deployments_from_api(
        [s3_model()],
        [config(AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://x/o/"}})],
        [],
        account="111122223333",
        region="eu-west-1",
    )
    [dep] = result.deployments
    assert dep.name == "cfg"
    assert dep.endpoint is not None
    assert dep.endpoint.arn == "arn:aws:sagemaker:eu-west-1:111122223333:endpoint-config/cfg"
    assert dep.endpoint.async_output == Encryption(None)


def test_variants_and_containers_get_their_own_deployments() -> None:
    multi = {
        "ModelName": "pipe",
        "Containers": [
            {"ContainerHostname": "pre", "Image": IMAGE},
            {"ContainerHostname": "llm", "Image": IMAGE, "ModelDataUrl": "s3://b/model.tar.gz"},
        ],
    }
    variants = (
        {"VariantName": "a", "ModelName": "llama-8b", "InstanceType": "ml.g5.2xlarge"},
        {"VariantName": "b", "ModelName": "pipe", "InstanceType": "ml.g5.12xlarge"},
    )
    result = deployments_from_api(
        [s3_model(), multi], [config("cfg", *variants)], [{"EndpointName": "ep", "EndpointConfigName": "cfg"}]
    )
    assert result.problems == []
    assert sorted(d.name for d in result.deployments) == ["ep/a", "ep/b/llm", "ep/b/pre"]
    llm = next(d for d in result.deployments if d.name == "ep/b/llm")
    assert llm.model.s3_uri == "s3://b/model.tar.gz"
    assert llm.endpoint is not None and llm.endpoint.instance_type == "ml.g5.12xlarge"


def test_dangling_references_are_problems() -> None:
    result = deployments_from_api(
        [],
        [config("cfg")],
        [{"EndpointName": "ep", "EndpointConfigName": "missing"}],
    )
    assert result.deployments == []
    assert result.problems == [
        ApiProblem("Endpoint ep", "endpoint ep references endpoint config missing, which does not exist"),
        ApiProblem(
            "EndpointConfig cfg", "endpoint config cfg references model llama-8b, which does not exist"
        ),
    ]


def test_malformed_shapes_are_problems_not_crashes() -> None:
    bad = s3_model("bad")
    bad["EnableNetworkIsolation"] = "yes"
    result = deployments_from_api([bad, {"PrimaryContainer": {}}, "nope"], [], [])  # type: ignore[list-item]
    assert result.deployments == []
    assert [p.message for p in result.problems] == [
        "EnableNetworkIsolation must be a boolean, not str",
        "ModelName is missing",
        "a Model must be an object",
    ]


def test_locations_point_at_the_offending_field() -> None:
    def locate(kind: str, name: str, path: tuple[str | int, ...]) -> Location:
        return Location(f"{kind}:{name}", len(path), None if not path else 1)

    env = {"HF_MODEL_ID": "deepseek-ai/DeepSeek-R1", "HF_MODEL_REVISION": "main"}
    result = deployments_from_api(
        [hub_model("m", env), s3_model()],
        [config("c", {"ModelName": "m", "InstanceType": "ml.g5.2xlarge"})],
        [{"EndpointName": "e", "EndpointConfigName": "c"}],
        locate=locate,
    )
    dep = next(d for d in result.deployments if d.name == "e")
    assert dep.locations[FIELD_REVISION] == Location("Model:m", 3, 1)
    assert dep.locations[FIELD_INSTANCE_TYPE] == Location("EndpointConfig:c", 3, 1)
    assert dep.origin == Location("Endpoint:e", 0, None)
    unused = next(d for d in result.deployments if d.name == "llama-8b")
    assert unused.locations[FIELD_S3_URI] == Location("Model:llama-8b", 4, 1)


def test_describe_shapes_carry_account_and_region_in_arns() -> None:
    described = {
        "EndpointName": "ep",
        "EndpointArn": "arn:aws:sagemaker:ap-south-1:444455556666:endpoint/ep",
        "EndpointConfigName": "cfg",
        "EndpointStatus": "InService",
    }
    [dep] = deployments_from_api([s3_model()], [config()], [described]).deployments
    assert dep.endpoint is not None
    assert dep.endpoint.arn == "arn:aws:sagemaker:ap-south-1:444455556666:endpoint/ep"


def test_inference_component_endpoint_uses_the_config_isolation() -> None:
    cfg = {
        "EndpointConfigName": "ic-cfg",
        "ExecutionRoleArn": "arn:aws:iam::111122223333:role/sm",
        "EnableNetworkIsolation": True,
        "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        "ProductionVariants": [{"VariantName": "v", "InstanceType": "ml.g5.12xlarge"}],
    }
    comp = {
        "InferenceComponentName": "r1-ic",
        "EndpointName": "ic-ep",
        "VariantName": "v",
        "Specification": {"Container": {"Image": IMAGE, "ArtifactUrl": "s3://acme-llm-weights/x.tar.gz"}},
    }
    result = deployments_from_api(
        [], [cfg], [{"EndpointName": "ic-ep", "EndpointConfigName": "ic-cfg"}], inference_components=[comp]
    )
    assert result.problems == []
    [dep] = result.deployments
    assert dep.name == "ic-ep/r1-ic"
    assert dep.model.s3_uri == "s3://acme-llm-weights/x.tar.gz"
    assert dep.endpoint is not None and dep.endpoint.network_isolation is True


# -- request files in `r1policy check` ---------------------------------------------------------------
EXAMPLE = EXAMPLES / "sagemaker-api"
CONFIG = ("--config", EXAMPLES / "r1policy.yaml")
QWEN = "hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-32B@main"
QWEN_EP = "sagemaker:unknown-region:endpoint/r1-distill-qwen-32b"


def located(data: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (f["rule_id"], f["status"], Path(f["location"]["path"]).name, str(f["location"]["line"]))
        for f in data["findings"]
        if f["status"] in ("fail", "error")
    }


def test_example_request_files_are_linked_and_judged() -> None:
    result = run_cli("check", EXAMPLE, *CONFIG, "--state", EXAMPLES / "state.json", "--format", "json")
    assert result.code == 1
    data = result.json
    assert finding_set(data, "fail", "error", "waived") == {
        ("R1-HUB-001", "fail", QWEN),  # HF_MODEL_REVISION: main
        # tests run with HF_HUB_OFFLINE=1: a branch cannot be answered from the Hub cache, so unknown
        ("R1-HUB-004", "error", QWEN),
        ("R1-HUB-006", "fail", QWEN),  # pulled from the Hub at start-up
        ("R1-EP-003", "fail", QWEN_EP),  # EnableNetworkIsolation: false
        ("R1-EP-006", "fail", QWEN_EP),  # data capture without KmsKeyId
        ("R1-EP-009", "fail", QWEN_EP),  # a TGI DLC on PyTorch 2.4, past its end of patch (warn)
    }
    assert finding_set(data, "skipped") == {
        ("R1-ART-004", "skipped", QWEN),  # no r1policy.lock
        ("R1-JS-001", "skipped", QWEN),  # not a JumpStart model
        ("R1-HUB-007", "skipped", QWEN),  # no max_revision_age_days in the configuration
        ("R1-LIC-001", "skipped", QWEN),  # no `licences` in the config
        ("R1-LIC-002", "skipped", QWEN),
        ("R1-S3-006", "skipped", "r1-distill-qwen-32b"),
        ("R1-S3-008", "skipped", "r1-distill-qwen-32b"),
        ("R1-IAM-001", "skipped", QWEN_EP),  # a Hub model: no model data in S3 for the role to change
    }
    # Each finding points at the JSON line of the offending field.
    assert located(data) == {
        ("R1-HUB-001", "fail", "create-model.json", "8"),
        ("R1-HUB-004", "error", "create-model.json", "8"),
        ("R1-HUB-006", "fail", "create-model.json", "7"),
        ("R1-EP-003", "fail", "create-model.json", "18"),
        ("R1-EP-006", "fail", "create-endpoint-config.json", "13"),
        ("R1-EP-009", "fail", "create-model.json", "5"),
    }


def write_requests(folder: Path, *requests: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, request in enumerate(requests):
        (folder / f"request-{i}.json").write_text(json.dumps(request, indent=2))


def test_compliant_chain_in_separate_files_is_allowed(tmp_path: Path) -> None:
    cfg = config("cfg", DataCaptureConfig={"DestinationS3Uri": "s3://acme-llm-weights/c/", "KmsKeyId": KEY})
    write_requests(tmp_path, s3_model(), cfg, {"EndpointName": "llama", "EndpointConfigName": "cfg"})
    result = run_cli("check", tmp_path, *CONFIG, "--static", "--format", "json")
    assert result.code == 0, result.stdout
    # only R1-EP-009's warning: the TGI DLC is built on PyTorch 2.4, past its end of patch
    assert finding_set(result.json, "fail", "error") == {
        ("R1-EP-009", "fail", "sagemaker:unknown-region:endpoint/llama")
    }


def test_a_model_request_alone_is_judged_without_endpoint_rules(tmp_path: Path) -> None:
    env = {"HF_MODEL_ID": "deepseek-al/DeepSeek-R1", "HF_MODEL_TRUST_REMOTE_CODE": "true"}
    write_requests(tmp_path, hub_model("lookalike", env))
    result = run_cli("check", tmp_path / "request-0.json", *CONFIG, "--static", "--format", "json")
    assert result.code == 1
    data = result.json
    hub = "hf://deepseek-al/DeepSeek-R1"
    assert finding_set(data, "fail") == {
        ("R1-HUB-001", "fail", hub),
        ("R1-HUB-002", "fail", hub),
        ("R1-HUB-003", "fail", hub),
        ("R1-HUB-005", "fail", hub),
        ("R1-HUB-006", "fail", hub),
        ("R1-EP-009", "fail", "lookalike"),  # like R1-EP-007, judged on the model's image
    }
    skipped = {f["rule_id"]: f["message"] for f in data["findings"] if f["status"] == "skipped"}
    assert skipped["R1-EP-003"] == "does not apply: no SageMaker endpoint in this deployment"


def test_endpoint_whose_config_is_not_among_the_files_is_an_input_error(tmp_path: Path) -> None:
    write_requests(tmp_path, s3_model(), {"EndpointName": "ep", "EndpointConfigName": "elsewhere"})
    result = run_cli("check", tmp_path, *CONFIG, "--static")
    assert result.code == 2
    assert f"{tmp_path / 'request-1.json'}:3:" in result.stderr
    assert "references endpoint config elsewhere, which does not exist" in result.stderr
    assert "not among the checked files" in result.stderr


def test_duplicate_requests_and_bad_shapes_name_file_and_line(tmp_path: Path) -> None:
    write_requests(tmp_path / "dup", s3_model(), s3_model())
    result = run_cli("check", tmp_path / "dup", *CONFIG, "--static")
    assert result.code == 2
    assert "request-1.json:2:" in result.stderr and "duplicate Model request 'llama-8b'" in result.stderr
    bad = s3_model()
    bad["VpcConfig"] = {"Subnets": "subnet-1"}
    write_requests(tmp_path / "bad", bad)
    result = run_cli("check", tmp_path / "bad", *CONFIG, "--static")
    assert result.code == 2
    assert "request-0.json:" in result.stderr and "Subnets must be a list" in result.stderr


def test_yaml_request_bodies_are_recognised_too(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "model.yaml").write_text(yaml.safe_dump(hub_model("m")))
    result = run_cli("check", tmp_path / "model.yaml", *CONFIG, "--static", "--format", "json")
    assert ("R1-HUB-001", "fail", "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B") in finding_set(result.json)
