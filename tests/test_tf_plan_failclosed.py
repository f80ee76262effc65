"""Terraform plans read fail-closed (issue 13, root cause 2, "Terraform"): Cloud Control (`awscc`) SageMaker
resources are judged like the `aws_` ones, shadow variants are judged, and what the plan does not show —
resources only in `deferred_changes`, a plan with `complete: false`, resource types of the aws / awscc
providers that touch SageMaker, S3 or KMS and that r1policy does not read — is an `error` naming it.

Every test here fails on the code before this change: awscc resources and shadow variants were ignored
("nothing to judge", exit 0), deferred resources, incomplete plans and unread types were skipped."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.support.unjudged import assert_unjudged, unjudged

from conftest import EXAMPLES, Result, finding_set, reading_findings, run_cli

CONFIG = EXAMPLES / "r1policy.yaml"
PLAN = EXAMPLES / "terraform" / "r1-endpoints.plan.json"
SHA = "6a6f4aa4197940add57724a7707d069478df56b1"
REPO = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
HUB = f"hf://{REPO}@{SHA}"
EP = "sagemaker:us-east-1:endpoint/r1-llama8b"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)


def check(path: Path, *extra: str) -> Result:
    return run_cli("check", path, "--config", CONFIG, "--format", "json", "--static", *extra)


def blocking(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    return reading_findings(data, "fail", "error")


def change(address: str, after: dict[str, Any], unknown: dict[str, Any] | None = None) -> dict[str, Any]:
    kind, name = address.rsplit(".", 1)
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/" + kind.split("_", 1)[0],
        "change": {
            "actions": ["create"],
            "before": None,
            "after": after,
            "after_unknown": unknown or {"id": True},
        },
    }


def awscc_model(**overrides: Any) -> dict[str, Any]:
    env = {"HF_MODEL_ID": REPO, "HF_MODEL_REVISION": SHA}
    after: dict[str, Any] = {
        "model_name": "r1-llama8b",
        "execution_role_arn": "arn:aws:iam::111122223333:role/sagemaker-inference",
        "enable_network_isolation": True,
        "containers": None,
        "primary_container": {"image": IMAGE, "model_data_url": None, "environment": json.dumps(env)},
        "vpc_config": {"subnets": ["subnet-0a1b2c3d"], "security_group_ids": ["sg-0c2d3e4f"]},
    }
    after.update(overrides)
    return change("awscc_sagemaker_model.r1", after)


def awscc_config(**overrides: Any) -> dict[str, Any]:
    after: dict[str, Any] = {
        "endpoint_config_name": "r1-llama8b",
        "kms_key_id": "arn:aws:kms:us-east-1:111122223333:key/0b2c4d6e",
        "production_variants": [
            {
                "variant_name": "main",
                "model_name": "r1-llama8b",
                "instance_type": "ml.g5.2xlarge",
                "initial_instance_count": 1,
                "serverless_config": None,
            }
        ],
        "shadow_production_variants": None,
        "data_capture_config": None,
        "async_inference_config": None,
    }
    after.update(overrides)
    return change("awscc_sagemaker_endpoint_config.r1", after)


def awscc_endpoint() -> dict[str, Any]:
    return change(
        "awscc_sagemaker_endpoint.r1", {"endpoint_name": "r1-llama8b", "endpoint_config_name": "r1-llama8b"}
    )


def plan_of(*changes: dict[str, Any], **top: Any) -> dict[str, Any]:
    region = {"region": {"constant_value": "us-east-1"}}
    return {
        "format_version": "1.2",
        "terraform_version": "1.10.5",
        "resource_changes": list(changes),
        "configuration": {
            "provider_config": {"awscc": {"name": "awscc", "expressions": region}},
            "root_module": {"resources": []},
        },
        "complete": True,
        **top,
    }


def write(tmp_path: Path, plan: dict[str, Any]) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, indent=2))
    return path


def line_of(path: Path, needle: str, after: str = "") -> int:
    lines = path.read_text().splitlines()
    start = next(i for i, text in enumerate(lines) if after in text) if after else 0
    return next(i for i, text in enumerate(lines) if i >= start and needle in text) + 1


def where(data: dict[str, Any], rule: str, subject: str) -> set[tuple[str, int]]:
    return {
        (Path(f["location"]["path"]).name, f["location"]["line"])
        for f in data["findings"]
        if f["rule_id"] == rule and f["subject"]["id"] == subject and f["status"] in ("fail", "error")
    }


# -- awscc: the example and variants ---------------------------------------------------------
def test_awscc_model_without_network_isolation_fails(tmp_path: Path) -> None:
    """The issue's example: an awscc_sagemaker_model / _endpoint_config / _endpoint trio was ignored."""
    path = write(
        tmp_path, plan_of(awscc_model(enable_network_isolation=False), awscc_config(), awscc_endpoint())
    )
    result = check(path)
    assert result.code == 1
    data = result.json
    assert blocking(data) == {("R1-EP-003", "fail", EP), ("R1-HUB-006", "fail", HUB)}
    assert where(data, "R1-EP-003", EP) == {("plan.json", line_of(path, '"enable_network_isolation": false'))}
    # The environment is a JSON string in awscc: read as the container reads it (Hub id, pinned SHA).
    assert where(data, "R1-HUB-006", HUB) == {("plan.json", line_of(path, '"environment": "{'))}
    assert {f["deployment"] for f in data["findings"] if f.get("deployment")} == {
        "awscc_sagemaker_endpoint.r1"
    }


def test_awscc_unapproved_instance_type_fails(tmp_path: Path) -> None:
    config = awscc_config()
    config["change"]["after"]["production_variants"][0]["instance_type"] = "ml.g4dn.xlarge"
    path = write(tmp_path, plan_of(awscc_model(), config, awscc_endpoint()))
    data = check(path).json
    assert blocking(data) == {
        ("R1-EP-001", "fail", EP),
        ("R1-EP-002", "fail", EP),
        ("R1-HUB-006", "fail", HUB),
    }
    assert where(data, "R1-EP-001", EP) == {("plan.json", line_of(path, '"instance_type": "ml.g4dn'))}


def test_awscc_hub_revision_main_and_no_vpc_fail(tmp_path: Path) -> None:
    env = json.dumps({"HF_MODEL_ID": REPO, "HF_MODEL_REVISION": "main"})
    model = awscc_model(vpc_config=None)
    model["change"]["after"]["primary_container"]["environment"] = env
    path = write(tmp_path, plan_of(model, awscc_config(), awscc_endpoint()))
    data = check(path).json
    hub = f"hf://{REPO}@main"
    assert blocking(data) == {
        ("R1-EP-004", "fail", EP),
        ("R1-HUB-001", "fail", hub),
        ("R1-HUB-006", "fail", hub),
    }


def test_awscc_model_name_known_after_apply_links_through_references(tmp_path: Path) -> None:
    model = awscc_model(enable_network_isolation=False)
    del model["change"]["after"]["model_name"]
    model["change"]["after_unknown"] = {"id": True, "model_name": True}
    config = awscc_config()
    del config["change"]["after"]["production_variants"][0]["model_name"]
    config["change"]["after_unknown"] = {"production_variants": [{"model_name": True}]}
    plan = plan_of(model, config, awscc_endpoint())
    plan["configuration"]["root_module"]["resources"] = [
        {
            "address": "awscc_sagemaker_endpoint_config.r1",
            "type": "awscc_sagemaker_endpoint_config",
            "name": "r1",
            "provider_config_key": "awscc",
            "expressions": {
                "production_variants": [
                    {
                        "model_name": {
                            "references": ["awscc_sagemaker_model.r1.model_name", "awscc_sagemaker_model.r1"]
                        }
                    }
                ]
            },
        }
    ]
    data = check(write(tmp_path, plan)).json
    assert blocking(data) == {("R1-EP-003", "fail", EP), ("R1-HUB-006", "fail", HUB)}


def test_awscc_shadow_variant_on_unapproved_instance_fails(tmp_path: Path) -> None:
    shadow = [{"variant_name": "shadow", "model_name": "r1-llama8b", "instance_type": "ml.g4dn.xlarge"}]
    path = write(
        tmp_path, plan_of(awscc_model(), awscc_config(shadow_production_variants=shadow), awscc_endpoint())
    )
    data = check(path).json
    assert blocking(data) == {
        ("R1-EP-001", "fail", EP),
        ("R1-EP-002", "fail", EP),
        ("R1-HUB-006", "fail", HUB),
    }
    failing = {
        f["deployment"] for f in data["findings"] if f["rule_id"] == "R1-EP-001" and f["status"] == "fail"
    }
    assert failing == {"awscc_sagemaker_endpoint.r1/shadow"}
    assert where(data, "R1-EP-001", EP) == {("plan.json", line_of(path, '"instance_type": "ml.g4dn'))}


def test_aws_provider_shadow_variant_is_judged(tmp_path: Path) -> None:
    plan: dict[str, Any] = json.loads(PLAN.read_text())
    config = next(
        r
        for r in plan["resource_changes"]
        if r["address"] == "aws_sagemaker_endpoint_configuration.r1_qwen32b"
    )
    shadow = copy.deepcopy(config["change"]["after"]["production_variants"][0])
    shadow.update(variant_name="shadow", instance_type="ml.g4dn.xlarge")
    config["change"]["after"]["shadow_production_variants"] = [shadow]
    # Its model_name is known only after apply, like the production variant's: linked by reference.
    config["change"]["after_unknown"]["shadow_production_variants"] = [{"model_name": True}]
    expressions = next(
        r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == config["address"]
    )["expressions"]
    expressions["shadow_production_variants"] = copy.deepcopy(expressions["production_variants"])
    path = write(tmp_path, plan)
    data = check(path).json
    qwen = "sagemaker:us-east-1:endpoint/r1-distill-qwen-32b"
    assert ("R1-EP-001", "fail", qwen) in blocking(data)
    failing = {
        f["deployment"] for f in data["findings"] if f["rule_id"] == "R1-EP-001" and f["status"] == "fail"
    }
    assert failing == {"aws_sagemaker_endpoint.r1_qwen32b/shadow"}


def test_awscc_environment_that_is_not_json_is_bad_input(tmp_path: Path) -> None:
    model = awscc_model()
    model["change"]["after"]["primary_container"]["environment"] = "HF_MODEL_ID=deepseek-ai/x"
    path = write(tmp_path, plan_of(model, awscc_config(), awscc_endpoint()))
    result = check(path)
    assert result.code == 2
    line = line_of(path, '"environment": "HF_MODEL_ID')
    assert f"{path}:{line}" in result.stderr
    assert "environment is not JSON" in result.stderr
    assert "Traceback" not in result.stderr


# -- what the plan does not show: error, naming it ---------------------------------------------------
def test_resource_only_in_deferred_changes_is_error(tmp_path: Path) -> None:
    deferred = {"reason": "resource_config_unknown", "resource_change": awscc_endpoint()}
    plan = plan_of(awscc_model(), awscc_config(), deferred_changes=[deferred], complete=False)
    path = write(tmp_path, plan)
    result = check(path)
    assert result.code == 1
    data = result.json
    assert set(unjudged(data)) == {"awscc_sagemaker_endpoint.r1", f"{path}#incomplete"}
    deferred_line = line_of(path, '"address": "awscc_sagemaker_endpoint.r1"', '"deferred_changes"')
    assert_unjudged(
        data, "awscc_sagemaker_endpoint.r1", deferred_line, "is deferred (resource_config_unknown)"
    )
    assert_unjudged(data, f"{path}#incomplete", line_of(path, '"complete": false'), "the plan is incomplete")


def test_incomplete_plan_is_error_even_when_everything_in_it_passes(tmp_path: Path) -> None:
    path = write(tmp_path, plan_of(awscc_model(), awscc_config(), awscc_endpoint(), complete=False))
    data = check(path).json
    assert set(unjudged(data)) == {f"{path}#incomplete"}
    assert ("R1-EP-003", "pass", EP) in finding_set(check(path, "--show-passed").json)


def test_deferred_resource_also_planned_is_judged_once(tmp_path: Path) -> None:
    deferred = {"reason": "provider_config_unknown", "resource_change": awscc_endpoint()}
    path = write(
        tmp_path, plan_of(awscc_model(), awscc_config(), awscc_endpoint(), deferred_changes=[deferred])
    )
    data = check(path).json
    assert unjudged(data) == {}
    assert blocking(data) == {("R1-HUB-006", "fail", HUB)}


def test_unread_sagemaker_s3_kms_types_are_errors_naming_them(tmp_path: Path) -> None:
    component = change(
        "awscc_sagemaker_inference_component.r1",
        {"endpoint_name": "r1-llama8b", "specification": {"model_name": "r1-llama8b"}},
    )
    access_point = change("aws_s3_access_point.weights", {"bucket": "acme-llm-weights", "name": "open"})
    key_policy = change("aws_kms_key_policy.weights", {"key_id": "k", "policy": "{}"})
    alias = change("aws_kms_alias.weights", {"name": "alias/weights", "target_key_id": "k"})  # no verdict
    logs = change("aws_cloudwatch_log_group.r1", {"name": "/r1"})  # not SageMaker, S3 or KMS
    plan = plan_of(
        awscc_model(), awscc_config(), awscc_endpoint(), component, access_point, key_policy, alias, logs
    )
    path = write(tmp_path, plan)
    data = check(path).json
    names = {
        "awscc_sagemaker_inference_component.r1",
        "aws_s3_access_point.weights",
        "aws_kms_key_policy.weights",
    }
    assert set(unjudged(data)) == names
    for name in names:
        kind = name.split(".")[0]
        assert_unjudged(
            data, name, line_of(path, f'"address": "{name}"'), f"does not read resource type {kind}"
        )
    # The SageMaker trio itself is still judged.
    assert ("R1-HUB-006", "fail", HUB) in blocking(data)
    assert ("R1-EP-003", "pass", EP) in finding_set(check(path, "--show-passed").json)


def test_plan_without_sagemaker_but_with_an_unread_type_is_not_nothing_to_judge(tmp_path: Path) -> None:
    path = write(tmp_path, plan_of(change("aws_sagemaker_pipeline.deploy", {"pipeline_name": "deploy-r1"})))
    result = check(path)
    assert result.code == 1
    data = result.json
    assert set(unjudged(data)) == {"aws_sagemaker_pipeline.deploy"}
    assert not any("nothing to judge" in n["message"] for n in data.get("notices", []))


def test_resources_that_deploy_another_document_and_errored_plans_are_errors(tmp_path: Path) -> None:
    stack = change("aws_cloudformation_stack.r1", {"name": "r1", "template_url": "https://x/t.yaml"})
    control = change(
        "aws_cloudcontrolapi_resource.endpoint",
        {"type_name": "AWS::SageMaker::Endpoint", "desired_state": '{"EndpointConfigName": "r1"}'},
    )
    plan = plan_of(awscc_model(), awscc_config(), awscc_endpoint(), stack, control, errored=True)
    path = write(tmp_path, plan)
    data = check(path).json
    assert set(unjudged(data)) == {
        "aws_cloudformation_stack.r1",
        "aws_cloudcontrolapi_resource.endpoint",
        f"{path}#errored",
    }
    for name in ("aws_cloudformation_stack.r1", "aws_cloudcontrolapi_resource.endpoint"):
        assert_unjudged(data, name, line_of(path, f'"address": "{name}"'), "does not read resource type")
    assert_unjudged(data, f"{path}#errored", line_of(path, '"errored": true'), "the plan errored")
