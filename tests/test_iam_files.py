"""R1-IAM-001 / R1-IAM-002 from the files: a CloudFormation template that defines the execution role with
its inline, attached (AWS managed by name, or defined in the template) and separately attached policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLES, run_cli

BUCKET = "acme-llm-weights"
READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}],
}
S3_STAR = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*"}],
}


def _template(role: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "ExecutionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                **role,
            },
        },
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ModelName": "r1-distill",
                "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                "EnableNetworkIsolation": True,
                "VpcConfig": {"Subnets": ["subnet-0a1b"], "SecurityGroupIds": ["sg-0c2d"]},
                "PrimaryContainer": {
                    "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
                    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04",
                    "ModelDataSource": {
                        "S3DataSource": {
                            "S3Uri": f"s3://{BUCKET}/deepseek-r1-distill-llama-8b/",
                            "S3DataType": "S3Prefix",
                            "CompressionType": "None",
                        }
                    },
                    "Environment": {"HF_MODEL_ID": "/opt/ml/model"},
                },
            },
        },
        **(extra or {}),
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def _iam(tmp_path: Path, template: dict[str, Any]) -> dict[str, tuple[str, str]]:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    result = run_cli("check", path, "--static", "--format", "json", "--show-passed")
    assert result.code in (0, 1), result.stderr
    return {
        f["rule_id"]: (f["status"], f["message"])
        for f in result.json["findings"]
        if f["rule_id"].startswith("R1-IAM")
    }


def _statuses(found: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {rule: status for rule, (status, _) in found.items()}


def test_scoped_inline_policy_passes(tmp_path: Path) -> None:
    role = {"Policies": [{"PolicyName": "read", "PolicyDocument": READ}]}
    found = _iam(tmp_path, _template(role))
    assert _statuses(found) == {"R1-IAM-001": "pass", "R1-IAM-002": "pass"}


def test_s3_star_inline_policy_fails_both(tmp_path: Path) -> None:
    role = {"Policies": [{"PolicyName": "all", "PolicyDocument": S3_STAR}]}
    found = _iam(tmp_path, _template(role))
    assert _statuses(found) == {"R1-IAM-001": "fail", "R1-IAM-002": "fail"}
    assert "s3:PutObject" in found["R1-IAM-001"][1]
    assert "all (inline in ExecutionRole)" in found["R1-IAM-002"][1]


def test_separate_policy_resource_attached_to_the_role(tmp_path: Path) -> None:
    role = {"Policies": [{"PolicyName": "read", "PolicyDocument": READ}]}
    extra = {
        "Writer": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "writer",
                "Roles": [{"Ref": "ExecutionRole"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "s3:DeleteObject",
                            "Resource": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{BUCKET}/*"},
                        }
                    ],
                },
            },
        }
    }
    found = _iam(tmp_path, _template(role, extra))
    assert _statuses(found) == {"R1-IAM-001": "fail", "R1-IAM-002": "pass"}
    assert "s3:DeleteObject" in found["R1-IAM-001"][1]


def test_managed_policy_of_the_template(tmp_path: Path) -> None:
    role = {"ManagedPolicyArns": [{"Ref": "Publisher"}]}
    extra = {"Publisher": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": S3_STAR}}}
    found = _iam(tmp_path, _template(role, extra))
    assert _statuses(found) == {"R1-IAM-001": "fail", "R1-IAM-002": "fail"}


@pytest.mark.parametrize(
    ("managed", "expected"),
    [
        ("AmazonS3ReadOnlyAccess", {"R1-IAM-001": "pass", "R1-IAM-002": "pass"}),
        ("AmazonS3FullAccess", {"R1-IAM-001": "fail", "R1-IAM-002": "fail"}),
        # it may write objects whose key contains "sagemaker" in any bucket: under the model prefix too
        ("AmazonSageMakerFullAccess", {"R1-IAM-001": "fail", "R1-IAM-002": "fail"}),
        ("NoSuchPolicyAnywhere", {"R1-IAM-001": "error", "R1-IAM-002": "error"}),
    ],
)
def test_aws_managed_policy_by_name(tmp_path: Path, managed: str, expected: dict[str, str]) -> None:
    role = {"ManagedPolicyArns": [f"arn:aws:iam::aws:policy/{managed}"]}
    found = _iam(tmp_path, _template(role))
    assert _statuses(found) == expected
    if expected["R1-IAM-001"] == "error":
        assert "not in r1policy's table" in found["R1-IAM-001"][1]


def test_undecided_action_is_an_error(tmp_path: Path) -> None:
    template = _template(
        {
            "Policies": [
                {
                    "PolicyName": "param",
                    "PolicyDocument": {
                        "Statement": [{"Effect": "Allow", "Action": {"Ref": "Actions"}, "Resource": "*"}]
                    },
                }
            ]
        }
    )
    template["Parameters"] = {"Actions": {"Type": "String"}}
    found = _iam(tmp_path, template)
    assert _statuses(found) == {"R1-IAM-001": "error", "R1-IAM-002": "error"}
    assert "Action is not decided by the template" in found["R1-IAM-001"][1]


def test_role_outside_the_template_is_skipped_under_static(tmp_path: Path) -> None:
    template = _template({"Policies": [{"PolicyName": "read", "PolicyDocument": READ}]})
    template["Resources"]["Model"]["Properties"]["ExecutionRoleArn"] = {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sagemaker-inference"
    }
    found = _iam(tmp_path, template)
    assert _statuses(found) == {"R1-IAM-001": "skipped", "R1-IAM-002": "skipped"}


# -- Terraform plans: a role the plan creates -----------------------------------------------------
PLAN = EXAMPLES / "terraform" / "r1-endpoints.plan.json"
ROLE_ADDRESS = "aws_iam_role.exec"
# the example plan's Qwen model loads from acme-llm-weights-use1 (S3_STAR's bucket is another one)
PLAN_S3_STAR = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-llm-weights-use1/*"}],
}


def _plan_with_role(inline: dict[str, Any] | None, extra: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(PLAN.read_text())
    after: dict[str, Any] = {"name": "r1-exec", "inline_policy": [], "managed_policy_arns": []}
    if inline is not None:
        after["inline_policy"] = [{"name": "model-data", "policy": json.dumps(inline)}]
    plan["resource_changes"].append(
        {
            "address": ROLE_ADDRESS,
            "mode": "managed",
            "type": "aws_iam_role",
            "name": "exec",
            "change": {"actions": ["create"], "after": after, "after_unknown": {"arn": True}},
        }
    )
    plan["resource_changes"].extend(extra)
    model = next(r for r in plan["resource_changes"] if r["address"] == "aws_sagemaker_model.r1_qwen32b")
    del model["change"]["after"]["execution_role_arn"]
    model["change"]["after_unknown"]["execution_role_arn"] = True
    config = next(
        r
        for r in plan["configuration"]["root_module"]["resources"]
        if r["address"] == "aws_sagemaker_model.r1_qwen32b"
    )
    config["expressions"]["execution_role_arn"] = {"references": [f"{ROLE_ADDRESS}.arn", ROLE_ADDRESS]}
    return plan


def _plan_iam(tmp_path: Path, plan: dict[str, Any]) -> dict[str, tuple[str, str]]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, indent=2))
    result = run_cli("check", path, "--static", "--format", "json", "--show-passed")
    assert result.code in (0, 1), result.stderr
    return {
        f["rule_id"]: (f["status"], f["message"])
        for f in result.json["findings"]
        if f["rule_id"].startswith("R1-IAM") and f["subject"]["id"].endswith("/r1-distill-qwen-32b")
    }


def test_plan_role_with_scoped_inline_policy_passes(tmp_path: Path) -> None:
    found = _plan_iam(tmp_path, _plan_with_role(READ))
    assert _statuses(found) == {"R1-IAM-001": "pass", "R1-IAM-002": "pass"}


def test_plan_role_policy_attachment_of_a_plan_policy_fails(tmp_path: Path) -> None:
    attachment = {
        "address": "aws_iam_role_policy_attachment.publish",
        "mode": "managed",
        "type": "aws_iam_role_policy_attachment",
        "name": "publish",
        "change": {
            "actions": ["create"],
            "after": {"role": "r1-exec"},
            "after_unknown": {"policy_arn": True},
        },
    }
    policy = {
        "address": "aws_iam_policy.publish",
        "mode": "managed",
        "type": "aws_iam_policy",
        "name": "publish",
        "change": {
            "actions": ["create"],
            "after": {"policy": json.dumps(PLAN_S3_STAR)},
            "after_unknown": {"arn": True},
        },
    }
    plan = _plan_with_role(READ, (attachment, policy))
    plan["configuration"]["root_module"]["resources"].append(
        {
            "address": "aws_iam_role_policy_attachment.publish",
            "mode": "managed",
            "type": "aws_iam_role_policy_attachment",
            "name": "publish",
            "expressions": {
                "policy_arn": {"references": ["aws_iam_policy.publish.arn", "aws_iam_policy.publish"]}
            },
        }
    )
    found = _plan_iam(tmp_path, plan)
    assert _statuses(found) == {"R1-IAM-001": "fail", "R1-IAM-002": "fail"}
    assert "${aws_iam_policy.publish.arn}" in found["R1-IAM-002"][1]


def test_plan_policy_known_only_after_apply_is_an_error(tmp_path: Path) -> None:
    plan = _plan_with_role(None)
    role = next(r for r in plan["resource_changes"] if r["address"] == ROLE_ADDRESS)
    role["change"]["after"]["inline_policy"] = [{"name": "model-data"}]
    role["change"]["after_unknown"]["inline_policy"] = [{"policy": True}]
    found = _plan_iam(tmp_path, plan)
    assert _statuses(found) == {"R1-IAM-001": "error", "R1-IAM-002": "error"}
    assert "known only after apply" in found["R1-IAM-001"][1]
