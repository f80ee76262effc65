"""R1-S3-010 (CloudTrail write data events) and R1-S3-011 (KMS key policy) from files and live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from tests.support.awsworld import Bucket, World
from tests.support.motoserver import MotoServer

from conftest import finding_set, run_cli
from test_cloudformation import check, stack, write

SUBJECT = "s3://acme-llm-weights"
OPEN_KEY = """\
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: kms:*
            Resource: "*"
"""
TRAIL = """\
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      TrailName: weights-writes
      S3BucketName: acme-trail-logs
      IsLogging: {logging}
      IsMultiRegionTrail: true
      AdvancedEventSelectors:
        - Name: weights writes
          FieldSelectors:
            - {{Field: eventCategory, Equals: [Data]}}
            - {{Field: resources.type, Equals: ["AWS::S3::Object"]}}
            - {{Field: readOnly, Equals: ["false"]}}
            - {{Field: resources.ARN, StartsWith: [!Sub "arn:aws:s3:::${{Weights}}/"]}}
"""


def _template(tmp_path: Path, *, key: str = "", trail: str = "") -> Path:
    text = stack()
    if key:
        text = text.replace("  Key:\n    Type: AWS::KMS::Key\n", key)
    return write(tmp_path, text + trail)


def _rule(data: dict[str, Any], rule: str) -> set[tuple[str, str, str]]:
    return {f for f in finding_set(data) if f[0] == rule}


def _message(data: dict[str, Any], rule: str) -> dict[str, Any]:
    (finding,) = [f for f in data["findings"] if f["rule_id"] == rule]
    return finding  # type: ignore[no-any-return]


# -- R1-S3-011 from CloudFormation ------------------------------------------------------------------
def test_cfn_key_without_key_policy_gets_kms_default_and_passes(tmp_path: Path) -> None:
    data = check(_template(tmp_path), extra=("--static", "--show-passed")).json
    assert _rule(data, "R1-S3-011") == {("R1-S3-011", "pass", SUBJECT)}


def test_cfn_key_policy_naming_the_stack_account_passes(tmp_path: Path) -> None:
    data = check(_template(tmp_path, key=OPEN_KEY), extra=("--static", "--show-passed")).json
    assert _rule(data, "R1-S3-011") == {("R1-S3-011", "pass", SUBJECT)}


def test_cfn_key_policy_open_to_everyone_fails(tmp_path: Path) -> None:
    key = OPEN_KEY + (
        '          - {Effect: Allow, Principal: "*", Action: [kms:Decrypt, kms:DescribeKey], Resource: "*"}\n'
    )
    data = check(_template(tmp_path, key=key)).json
    assert _rule(data, "R1-S3-011") == {("R1-S3-011", "fail", SUBJECT)}
    finding = _message(data, "R1-S3-011")
    assert "decrypt, encrypt or administer the key: *" in finding["message"]
    assert "--key-id ${Key.Arn}" in finding["remediation"]["cli"]


def test_cfn_key_policy_naming_a_parameter_account_is_error_not_a_guess(tmp_path: Path) -> None:
    key = OPEN_KEY + (
        '          - {Effect: Allow, Principal: {AWS: !Ref Partner}, Action: kms:Decrypt, Resource: "*"}\n'
    )
    text = stack(parameters="  Partner: {Type: String}").replace("  Key:\n    Type: AWS::KMS::Key\n", key)
    data = check(write(tmp_path, text), extra=()).json
    assert _rule(data, "R1-S3-011") == {("R1-S3-011", "error", SUBJECT)}
    assert "does not decide" in _message(data, "R1-S3-011")["message"]


# -- R1-S3-010 from CloudFormation ------------------------------------------------------------------
def test_cfn_trail_recording_the_bucket_passes(tmp_path: Path) -> None:
    data = check(_template(tmp_path, trail=TRAIL.format(logging="true")), extra=("--show-passed",)).json
    assert _rule(data, "R1-S3-010") == {("R1-S3-010", "pass", SUBJECT)}


def test_cfn_without_a_recording_trail_is_error_or_skipped_never_a_pass(tmp_path: Path) -> None:
    for trail in ("", TRAIL.format(logging="false")):
        path = _template(tmp_path, trail=trail)
        assert _rule(check(path).json, "R1-S3-010") == {("R1-S3-010", "skipped", SUBJECT)}
        data = check(path, extra=()).json
        assert _rule(data, "R1-S3-010") == {("R1-S3-010", "error", SUBJECT)}
        assert "check with --state or --live" in _message(data, "R1-S3-010")["message"]


# -- live (moto) ----------------------------------------------------------------------------------
def _live(tmp_path: Path, bucket: Bucket, world: World) -> dict[str, Any]:
    from aws_cases import write_config, write_manifest

    spec = world.seed_bucket(bucket)
    manifest = write_manifest(tmp_path / "deploy", "ep", spec.name, kms_key=spec.kms_key)
    config = write_config(tmp_path, [spec.name])
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json")
    assert result.code in (0, 1), result.stderr
    return result.json  # type: ignore[no-any-return]


def test_live_bucket_without_data_events_fails(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket("acme-recorded"))  # the trail exists and records another bucket
    data = _live(tmp_path, Bucket("acme-unrecorded", data_events=False), world)
    assert {f for f in finding_set(data, "fail", "error") if f[0].startswith("R1-S3")} == {
        ("R1-S3-010", "fail", "s3://acme-unrecorded")
    }
    finding = _message(data, "R1-S3-010")
    assert "arn:aws:s3:::acme-unrecorded/" in finding["remediation"]["cli"]


def test_live_stopped_trail_records_nothing(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket("acme-first"))
    boto3.client("cloudtrail", region_name="us-east-1").stop_logging(Name=World.TRAIL)
    data = _live(tmp_path, Bucket("acme-stopped"), world)
    assert ("R1-S3-010", "fail", "s3://acme-stopped") in finding_set(data, "fail")


def test_live_key_policy_open_to_everyone_fails(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    key = world.customer_key()
    policy = json.loads(boto3.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    policy["Statement"].append(
        {
            "Sid": "Everyone",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    boto3.client("kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    data = _live(tmp_path, Bucket("acme-open-key", kms_key=key), world)
    assert {f for f in finding_set(data, "fail", "error") if f[0].startswith("R1-S3")} == {
        ("R1-S3-011", "fail", "s3://acme-open-key")
    }
    finding = _message(data, "R1-S3-011")
    assert f"--key-id {key}" in finding["remediation"]["cli"]
    assert "key: *" in finding["message"]


# -- Terraform plan -------------------------------------------------------------------------------
def _plan() -> dict[str, Any]:
    from test_terraform import example

    return example()


def _tf(tmp_path: Path, plan: dict[str, Any], *extra: str) -> dict[str, Any]:
    from test_terraform import check as tf_check
    from test_terraform import write as tf_write

    return tf_check(tf_write(tmp_path, plan), *extra).json  # type: ignore[no-any-return]


TF_BUCKET = "s3://acme-llm-weights-use1"


def test_tf_key_without_policy_argument_gets_kms_default(tmp_path: Path) -> None:
    data = _tf(tmp_path, _plan(), "--show-passed", "--static")
    assert _rule(data, "R1-S3-011") == {("R1-S3-011", "pass", TF_BUCKET)}


def test_tf_key_policy_open_to_everyone_fails(tmp_path: Path) -> None:
    from test_terraform import change, config

    plan = _plan()
    key = change(plan, "aws_kms_key.weights")["change"]
    open_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}],
    }
    key["after"]["policy"] = json.dumps(open_policy)
    del key["after_unknown"]["policy"]
    config(plan, "aws_kms_key.weights")["expressions"]["policy"] = {"constant_value": key["after"]["policy"]}
    data = _tf(tmp_path, plan)
    assert _rule(data, "R1-S3-011") == {("R1-S3-011", "fail", TF_BUCKET)}


def test_tf_key_policy_known_only_after_apply_is_error(tmp_path: Path) -> None:
    from test_terraform import config

    plan = _plan()
    config(plan, "aws_kms_key.weights")["expressions"]["policy"] = {"references": ["data.x.json"]}
    data = _tf(tmp_path, plan, "--show-passed")
    assert _rule(data, "R1-S3-011") == {("R1-S3-011", "error", TF_BUCKET)}
    assert "known only after apply" in _message(data, "R1-S3-011")["message"]


def _tf_trail(selector: dict[str, Any], *, logging: bool = True) -> dict[str, Any]:
    return {
        "address": "aws_cloudtrail.writes",
        "mode": "managed",
        "type": "aws_cloudtrail",
        "name": "writes",
        "change": {
            "actions": ["create"],
            "before": None,
            "after": {
                "name": "weights-writes",
                "enable_logging": logging,
                "is_multi_region_trail": True,
                "s3_bucket_name": "acme-trail-logs",
                "event_selector": [],
                "advanced_event_selector": [selector],
            },
            "after_unknown": {"arn": True, "id": True},
        },
    }


WRITES = {
    "name": "weights writes",
    "field_selector": [
        {"field": "eventCategory", "equals": ["Data"]},
        {"field": "resources.type", "equals": ["AWS::S3::Object"]},
        {"field": "readOnly", "equals": ["false"]},
        {"field": "resources.ARN", "starts_with": ["arn:aws:s3:::acme-llm-weights-use1/"]},
    ],
}


def test_tf_trail_recording_the_bucket_passes(tmp_path: Path) -> None:
    plan = _plan()
    plan["resource_changes"].append(_tf_trail(WRITES))
    data = _tf(tmp_path, plan, "--show-passed")
    assert _rule(data, "R1-S3-010") == {("R1-S3-010", "pass", TF_BUCKET)}


def test_tf_without_a_recording_trail_is_error_never_a_pass(tmp_path: Path) -> None:
    assert _rule(_tf(tmp_path, _plan(), "--show-passed"), "R1-S3-010") == {("R1-S3-010", "error", TF_BUCKET)}
    plan = _plan()
    plan["resource_changes"].append(_tf_trail(WRITES, logging=False))
    data = _tf(tmp_path, plan, "--show-passed")
    assert _rule(data, "R1-S3-010") == {("R1-S3-010", "error", TF_BUCKET)}
    assert "weights-writes" in _message(data, "R1-S3-010")["message"]
