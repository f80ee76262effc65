"""Terraform plan JSON: the example with exact findings, plan-defined buckets judged statically, values known
only after apply (error, never guessed), references between resources, and bad plans (exit 2)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from conftest import EXAMPLES, Result, finding_set, run_cli

CONFIG = EXAMPLES / "r1policy.yaml"
PLAN = EXAMPLES / "terraform" / "r1-endpoints.plan.json"
QWEN = "sagemaker:us-east-1:endpoint/r1-distill-qwen-32b"
HUB_EP = "sagemaker:us-east-1:endpoint/r1-distill-llama-8b-hub"
HUB = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@main"
BUCKET = "s3://acme-llm-weights-use1"


def check(path: Path, *extra: str) -> Result:
    return run_cli("check", path, "--config", CONFIG, "--format", "json", *(extra or ("--static",)))


def blocking(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    return finding_set(data, "fail", "error")


def example() -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(PLAN.read_text())
    return plan


def change(plan: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in plan["resource_changes"] if r["address"] == address)
    return found


def config(plan: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == address
    )
    return found


def write(tmp_path: Path, plan: dict[str, Any]) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, indent=2))
    return path


def line_of(path: Path, needle: str, after: str) -> int:
    """The line of `needle` in the resource_changes entry that `after` starts."""
    lines = path.read_text().splitlines()
    changes = next(i for i, text in enumerate(lines) if '"resource_changes"' in text)
    start = next(i for i, text in enumerate(lines) if i > changes and after in text)
    return next(i for i, text in enumerate(lines) if i >= start and needle in text) + 1


# -- the example ----------------------------------------------------------------------------------
def test_example_plan_exact_findings() -> None:
    result = check(PLAN)
    assert result.code == 1
    data = result.json
    assert blocking(data) == {
        ("R1-S3-007", "fail", BUCKET),  # no aws_s3_bucket_logging
        ("R1-S3-008", "fail", "aws_sagemaker_endpoint.r1_qwen32b"),  # acme-llm-weights-use1 not approved
        ("R1-EP-006", "fail", QWEN),  # data capture without kms_key_id
        ("R1-EP-003", "fail", HUB_EP),  # enable_network_isolation = false
        ("R1-EP-004", "fail", HUB_EP),  # no vpc_config
        ("R1-HUB-001", "fail", HUB),  # HF_MODEL_REVISION = main
        ("R1-HUB-006", "fail", HUB),  # pulled from the Hub at runtime (warn)
        ("R1-EP-009", "fail", QWEN),  # both TGI DLCs are built on PyTorch 2.4, past end of patch (warn)
        ("R1-EP-009", "fail", HUB_EP),
    }
    # Deployments are named by the endpoint's resource address.
    names = {f["deployment"] for f in data["findings"] if f.get("deployment")}
    assert names == {"aws_sagemaker_endpoint.r1_qwen32b", "aws_sagemaker_endpoint.hub_llama8b"}
    # Findings point at the JSON line of the attribute in resource_changes.
    ep6 = {f["location"]["line"] for f in data["findings"] if f["rule_id"] == "R1-EP-006"}
    after = '"address": "aws_sagemaker_endpoint_configuration.r1_qwen32b"'
    assert ep6 == {line_of(PLAN, '"data_capture_config": [', after)}


def test_example_plan_bucket_is_judged_from_the_split_out_resources() -> None:
    data = check(PLAN, "--static", "--show-passed").json
    passed = finding_set(data, "pass")
    for rule in ("R1-S3-001", "R1-S3-002", "R1-S3-003", "R1-S3-004", "R1-S3-005"):
        assert (rule, "pass", BUCKET) in passed  # SSE-KMS under the plan's own aws_kms_key, PAB, TLS policy
    # The provider's region is a constant: the bucket-region rule is decided, even with --static.
    assert ("R1-S3-006", "pass", "aws_sagemaker_endpoint.r1_qwen32b") in passed


def test_bucket_fail_sse_s3_and_suspended_versioning(tmp_path: Path) -> None:
    plan = example()
    sse = change(plan, "aws_s3_bucket_server_side_encryption_configuration.weights")["change"]
    sse["after"]["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] = "AES256"
    sse["after_unknown"] = {"id": True}
    versioning = change(plan, "aws_s3_bucket_versioning.weights")["change"]["after"]
    versioning["versioning_configuration"][0]["status"] = "Suspended"
    data = check(write(tmp_path, plan)).json
    failed = {r for r, s, subject in blocking(data) if subject == BUCKET}
    assert failed == {"R1-S3-001", "R1-S3-005", "R1-S3-007"}


def test_public_policy_and_no_public_access_block(tmp_path: Path) -> None:
    plan = example()
    policy = change(plan, "aws_s3_bucket_policy.weights")["change"]["after"]
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    policy["policy"] = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    for address in ("aws_s3_bucket_public_access_block.weights", "aws_s3_account_public_access_block.this"):
        change(plan, address)["change"]["after"].update(
            block_public_acls=False, ignore_public_acls=False, block_public_policy=False
        )
    data = check(write(tmp_path, plan)).json
    failed = {r for r, s, subject in blocking(data) if subject == BUCKET}
    assert failed == {"R1-S3-002", "R1-S3-003", "R1-S3-004", "R1-S3-007"}


# -- values known only after apply, references -----------------------------------------------------
def test_instance_type_known_only_after_apply_is_error(tmp_path: Path) -> None:
    plan = example()
    rc = change(plan, "aws_sagemaker_endpoint_configuration.r1_qwen32b")["change"]
    del rc["after"]["production_variants"][0]["instance_type"]
    rc["after_unknown"]["production_variants"][0]["instance_type"] = True
    data = check(write(tmp_path, plan)).json
    errors = {(r, subject) for r, s, subject in blocking(data) if s == "error"}
    assert errors == {("R1-EP-001", QWEN), ("R1-EP-002", QWEN), ("R1-EP-005", QWEN)}
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-EP-001")
    assert "known only after apply" in message


def test_bucket_name_known_only_after_apply_links_through_references(tmp_path: Path) -> None:
    plan = example()
    bucket = change(plan, "aws_s3_bucket.weights")["change"]
    del bucket["after"]["bucket"]
    bucket["after"]["bucket_prefix"] = "acme-llm-weights-"
    bucket["after_unknown"]["bucket"] = True
    for address in [r["address"] for r in plan["resource_changes"] if r["type"].startswith("aws_s3_bucket_")]:
        rc = change(plan, address)["change"]
        del rc["after"]["bucket"]
        rc["after_unknown"]["bucket"] = True
    model = change(plan, "aws_sagemaker_model.r1_qwen32b")["change"]
    source = model["after"]["primary_container"][0]["model_data_source"][0]["s3_data_source"][0]
    del source["s3_uri"]
    model["after_unknown"]["primary_container"][0]["model_data_source"][0]["s3_data_source"][0]["s3_uri"] = (
        True
    )
    data = check(write(tmp_path, plan), "--static", "--show-passed").json
    placeholder = "s3://${aws_s3_bucket.weights.bucket}"
    # The bucket is still judged from the plan (found through the configuration references) ...
    assert ("R1-S3-001", "pass", placeholder) in finding_set(data, "pass")
    assert ("R1-S3-007", "fail", placeholder) in blocking(data)
    # ... but whether its name is approved is unknown until apply.
    assert ("R1-S3-008", "error", "aws_sagemaker_endpoint.r1_qwen32b") in blocking(data)


def test_existing_bucket_without_split_resources_is_unknown_not_assumed(tmp_path: Path) -> None:
    plan = example()
    plan["resource_changes"] = [
        r for r in plan["resource_changes"] if not r["type"].startswith(("aws_s3_bucket_", "aws_s3_account"))
    ]
    bucket = change(plan, "aws_s3_bucket.weights")["change"]
    bucket["actions"] = ["no-op"]
    bucket["after_unknown"] = {}
    data = check(write(tmp_path, plan), "--state", str(EXAMPLES / "state.json")).json
    errors = {r for r, s, subject in blocking(data) if subject == BUCKET and s == "error"}
    assert {"R1-S3-002", "R1-S3-003", "R1-S3-004", "R1-S3-007"} <= errors
    assert any("not in this plan" in f["message"] for f in data["findings"] if f["status"] == "error")


def test_deleted_resources_are_ignored(tmp_path: Path) -> None:
    plan = example()
    for address in (
        "aws_sagemaker_endpoint.hub_llama8b",
        "aws_sagemaker_endpoint_configuration.hub_llama8b",
        "aws_sagemaker_model.hub_llama8b",
    ):
        change(plan, address)["change"]["actions"] = ["delete"]
    data = check(write(tmp_path, plan)).json
    assert {subject for _, _, subject in blocking(data)} == {
        BUCKET,
        "aws_sagemaker_endpoint.r1_qwen32b",
        QWEN,
    }


def test_module_resources_link_through_module_references(tmp_path: Path) -> None:
    plan = example()
    moved = copy.deepcopy(plan)
    for rc in moved["resource_changes"]:
        rc["address"] = "module.llm." + rc["address"]
        rc["module_address"] = "module.llm"
    moved["configuration"]["root_module"] = {
        "module_calls": {"llm": {"source": "./llm", "module": plan["configuration"]["root_module"]}}
    }
    # The config's model_name is known only after apply: the link comes from the module's references.
    data = check(write(tmp_path, moved)).json
    assert ("R1-EP-006", "fail", QWEN) in blocking(data)
    assert ("R1-S3-008", "fail", "module.llm.aws_sagemaker_endpoint.r1_qwen32b") in blocking(data)


# -- bad plans -------------------------------------------------------------------------------------
def test_plan_from_a_newer_major_format_exits_2_with_line(tmp_path: Path) -> None:
    plan = example()
    plan["format_version"] = "2.0"
    path = write(tmp_path, plan)
    result = check(path)
    assert result.code == 2
    assert result.stdout == ""
    assert f"{path}:2:" in result.stderr
    assert "format_version '2.0' is not supported" in result.stderr


def test_plan_without_sagemaker_resources_exits_0_with_a_note(tmp_path: Path) -> None:
    plan = example()
    plan["resource_changes"] = [r for r in plan["resource_changes"] if "sagemaker" not in r["type"]]
    path = write(tmp_path, plan)
    result = check(path)
    assert result.code == 0
    assert result.json["findings"] == []
    table = run_cli("check", path, "--config", CONFIG, "--static")
    assert "Terraform plan without SageMaker resources: nothing to judge" in " ".join(table.stdout.split())


def test_endpoint_config_naming_a_model_outside_the_plan_exits_2(tmp_path: Path) -> None:
    plan = example()
    rc = change(plan, "aws_sagemaker_endpoint_configuration.hub_llama8b")["change"]
    rc["after"]["production_variants"][0]["model_name"] = "model-from-another-stack"
    config(plan, "aws_sagemaker_endpoint_configuration.hub_llama8b")["expressions"][
        "production_variants"
    ] = []
    path = write(tmp_path, plan)
    result = check(path)
    assert result.code == 2
    assert "model-from-another-stack" in result.stderr and str(path) in result.stderr


def test_template_and_plan_in_one_run_each_judge_their_own_bucket() -> None:
    template = EXAMPLES / "cloudformation" / "r1-distill-stack.yaml"
    data = run_cli("check", template, PLAN, "--config", CONFIG, "--format", "json", "--static").json
    buckets = {f["subject"]["id"] for f in data["findings"] if f["subject"]["type"] == "bucket"}
    assert buckets == {"s3://acme-llm-weights", BUCKET}
    assert ("R1-S3-007", "fail", "s3://acme-llm-weights") in blocking(data)
    assert ("R1-S3-007", "fail", BUCKET) in blocking(data)


def test_terraform_state_json_is_refused_with_what_to_run(tmp_path: Path) -> None:
    state = {"format_version": "1.0", "terraform_version": "1.9.8", "values": {"root_module": {}}}
    path = write(tmp_path, state)
    result = check(path)
    assert result.code == 2
    assert f"{path}:" in result.stderr and "Terraform state JSON, not a plan" in result.stderr


def test_subnets_known_only_after_apply_still_count_as_a_vpc(tmp_path: Path) -> None:
    plan = example()
    model = change(plan, "aws_sagemaker_model.r1_qwen32b")["change"]
    model["after"]["vpc_config"][0]["subnets"] = [None, None]
    model["after_unknown"]["vpc_config"][0]["subnets"] = [True, True]
    data = check(write(tmp_path, plan)).json
    assert ("R1-EP-004", "fail", QWEN) not in blocking(data)
    assert ("R1-EP-004", "error", QWEN) not in blocking(data)
    assert ("R1-EP-006", "fail", QWEN) in blocking(data)


def test_bucket_policy_known_only_after_apply_is_error_without_static(tmp_path: Path) -> None:
    plan = example()
    policy = change(plan, "aws_s3_bucket_policy.weights")["change"]
    del policy["after"]["policy"]
    policy["after_unknown"]["policy"] = True
    path = write(tmp_path, plan)
    static = check(path).json
    assert ("R1-S3-003", "skipped", BUCKET) in finding_set(static, "skipped")
    data = check(path, "--state", str(EXAMPLES / "state.json")).json
    assert {(r, s) for r, s, subject in blocking(data) if subject == BUCKET} >= {
        ("R1-S3-003", "error"),
        ("R1-S3-004", "error"),
    }
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-S3-003")
    assert "aws_s3_bucket_policy.weights.policy is known only after apply" in message
