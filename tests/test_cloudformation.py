"""CloudFormation templates: the example with exact findings, template-defined buckets judged statically,
values the template does not decide (error, never guessed), and bad templates (exit 2, file and line)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from conftest import EXAMPLES, Result, finding_set, run_cli

CONFIG = EXAMPLES / "r1policy.yaml"
TEMPLATE = EXAMPLES / "cloudformation" / "r1-distill-stack.yaml"
CANARY = "sagemaker:unknown-region:endpoint/r1-distill-llama-8b-canary"
STAGING = "sagemaker:unknown-region:endpoint/r1-distill-llama-8b-staging"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)


def check(*paths: Path, extra: tuple[str, ...] = ("--static",)) -> Result:
    return run_cli("check", *paths, "--config", CONFIG, "--format", "json", *extra)


def line_of(path: Path, needle: str, after: str = "") -> int:
    lines = path.read_text().splitlines()
    start = next(i for i, text in enumerate(lines) if after in text) if after else 0
    return next(i for i, text in enumerate(lines) if i >= start and needle in text) + 1


def located(data: dict[str, Any], rule: str) -> set[int]:
    return {f["location"]["line"] for f in data["findings"] if f["rule_id"] == rule and "location" in f}


def write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# A small stack: one bucket (BUCKET is pasted in), one model from it, one config, one endpoint.
STACK = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
{parameters}
Resources:
  Key:
    Type: AWS::KMS::Key
  Weights:
    Type: AWS::S3::Bucket
    Properties:
{bucket}
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      ModelName: small-model
      EnableNetworkIsolation: {isolation}
      VpcConfig: {{Subnets: [subnet-1], SecurityGroupIds: [sg-1]}}
      PrimaryContainer:
        Image: {image}
        ModelDataSource:
          S3DataSource:
            S3Uri: !Sub "s3://${{Weights}}/deepseek-r1-distill-llama-8b/"
            S3DataType: S3Prefix
        Environment:
{env}
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - {{VariantName: main, ModelName: !GetAtt Model.ModelName, InstanceType: {instance}}}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: small
      EndpointConfigName: !GetAtt Config.EndpointConfigName
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Weights
      PolicyDocument:
        Statement:
{statements}
"""
GOOD_BUCKET = """\
      BucketName: acme-llm-weights
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms, KMSMasterKeyID: !GetAtt Key.Arn}
      VersioningConfiguration: {Status: Enabled}
      LoggingConfiguration: {DestinationBucketName: acme-access-logs}"""
TLS_ONLY = """\
          - Effect: Deny
            Principal: "*"
            Action: s3:*
            Resource: !Sub "${Weights.Arn}/*"
            Condition: {Bool: {aws:SecureTransport: "false"}}"""


def stack(
    *,
    parameters: str = "  Unused: {Type: String, Default: x}",
    bucket: str = GOOD_BUCKET,
    isolation: str = "true",
    env: str = "          HF_MODEL_ID: /opt/ml/model",
    instance: str = "ml.g5.2xlarge",
    statements: str = TLS_ONLY,
) -> str:
    return STACK.format(
        parameters=parameters,
        bucket=bucket,
        isolation=isolation,
        env=env,
        instance=instance,
        image=IMAGE,
        statements=statements,
    )


def blocking(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    return finding_set(data, "fail", "error")


SMALL = "sagemaker:unknown-region:endpoint/small"
# The TGI DLC of these templates is built on PyTorch 2.4, past its AWS end of patch: R1-EP-009 warns.
SMALL_SUPPORT_ENDED = ("R1-EP-009", "fail", SMALL)


# -- the example ----------------------------------------------------------------------------------
def test_example_template_exact_findings() -> None:
    result = check(TEMPLATE)
    assert result.code == 1
    data = result.json
    assert blocking(data) == {
        ("R1-EP-001", "fail", CANARY),  # ml.g4dn.2xlarge is not approved ...
        ("R1-EP-002", "fail", CANARY),  # ... and a T4 holds neither 17.9 GiB nor bf16
        ("R1-EP-003", "fail", CANARY),  # the canary model has no EnableNetworkIsolation
        ("R1-S3-007", "fail", "s3://acme-llm-weights"),  # no LoggingConfiguration on the bucket
        ("R1-EP-009", "fail", CANARY),  # both variants' TGI DLC: PyTorch 2.4, past end of patch (warn)
        ("R1-EP-009", "fail", "sagemaker:unknown-region:endpoint/r1-distill-llama-8b-prod"),
        # Stage has AllowedValues [prod, staging]: Stage=staging deploys the staging endpoint on
        # ml.g4dn.2xlarge without network isolation (judged for every allowed value, not the Default).
        ("R1-EP-001", "fail", STAGING),
        ("R1-EP-002", "fail", STAGING),
        ("R1-EP-003", "fail", STAGING),
        ("R1-EP-009", "fail", STAGING),  # the same TGI DLC as prod: past its end of patch (warn)
    }
    staged = {f["deployment"] for f in data["findings"] if f["subject"]["id"] == STAGING}
    assert staged == {"r1-distill-llama-8b-staging [Stage=staging]"}
    # The prod variant resolved Stage=prod through Mappings and Conditions: approved and isolated.
    prod = "sagemaker:unknown-region:endpoint/r1-distill-llama-8b-prod"
    assert ("R1-EP-001", "pass", prod) in finding_set(
        check(TEMPLATE, extra=("--static", "--show-passed")).json
    )
    # Findings point at the template line of the offending property.
    assert located(data, "R1-EP-001") == {
        line_of(TEMPLATE, "InstanceType: ml.g4dn", "CanaryConfig:"),
        line_of(TEMPLATE, "InstanceType: !FindInMap", "DistillConfig:"),  # Stage=staging
    }
    assert located(data, "R1-EP-003") == {
        line_of(TEMPLATE, "StagingModel:"),
        line_of(TEMPLATE, "EnableNetworkIsolation: !If", "DistillModel:"),  # Stage=staging
    }
    assert located(data, "R1-S3-007") == {line_of(TEMPLATE, "WeightsBucket:")}  # no LoggingConfiguration


def test_example_template_passes_bucket_rules_from_the_template_itself() -> None:
    data = check(TEMPLATE, extra=("--static", "--show-passed")).json
    passed = finding_set(data, "pass")
    for rule in ("R1-S3-001", "R1-S3-002", "R1-S3-003", "R1-S3-004", "R1-S3-005"):
        assert (rule, "pass", "s3://acme-llm-weights") in passed
    assert ("R1-S3-008", "pass", "r1-distill-llama-8b-prod [Stage=prod]") in passed


def test_template_bucket_wins_over_the_snapshot(tmp_path: Path) -> None:
    # examples/state.json has acme-llm-weights with logging; the template's bucket has none.
    data = check(TEMPLATE, extra=("--state", str(EXAMPLES / "state.json"))).json
    assert ("R1-S3-007", "fail", "s3://acme-llm-weights") in blocking(data)


def test_json_template_is_read_like_yaml(tmp_path: Path) -> None:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Instance": {"Type": "String", "Default": "ml.m5.xlarge"}},
        "Resources": {
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {
                    "ModelName": "json-model",
                    "EnableNetworkIsolation": True,
                    "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
                    "PrimaryContainer": {
                        "Image": {"Fn::Join": [":", [IMAGE.split(":")[0], "latest"]]},
                        "Environment": {"HF_MODEL_ID": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"},
                    },
                },
            },
            "Config": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {
                    "ProductionVariants": [
                        {
                            "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                            "InstanceType": {"Ref": "Instance"},
                        }
                    ]
                },
            },
            "Endpoint": {
                "Type": "AWS::SageMaker::Endpoint",
                "Properties": {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
            },
        },
    }
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(template, indent=2))
    data = check(path).json
    endpoint = "sagemaker:unknown-region:endpoint/Endpoint"  # no EndpointName: named by its logical id
    hub = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
    assert blocking(data) == {
        ("R1-EP-001", "fail", endpoint),
        ("R1-EP-002", "error", endpoint),  # ml.m5 has no accelerator in the capacity table
        ("R1-EP-005", "fail", endpoint),  # ml.m5 has EBS storage and no KmsKeyId
        ("R1-EP-007", "fail", endpoint),  # :latest
        ("R1-EP-008", "error", endpoint),  # :latest names no version to check advisories against
        ("R1-EP-009", "error", endpoint),  # ... nor a DLC support period
        ("R1-HUB-001", "fail", hub),  # no revision
        ("R1-HUB-006", "fail", hub),  # pulled from the Hub at runtime (warn)
    }


# -- buckets in the template --------------------------------------------------------------------
def test_bucket_fail_public_unencrypted_unversioned(tmp_path: Path) -> None:
    bucket = """\
      BucketName: acme-llm-weights
      AccessControl: PublicRead
      PublicAccessBlockConfiguration: {BlockPublicAcls: false, IgnorePublicAcls: false}"""
    path = write(
        tmp_path,
        stack(
            bucket=bucket, statements="          - {Effect: Deny, Principal: '*', Action: s3:DeleteBucket}"
        ),
    )
    data = check(path).json
    subject = "s3://acme-llm-weights"
    assert blocking(data) == {
        ("R1-S3-001", "fail", subject),  # no BucketEncryption: S3's default SSE-S3, not KMS
        # The template turns bucket-level Block Public Access off; whether the account level covers
        # it is not in the files: error (blocking), even with --static.
        ("R1-S3-002", "error", subject),
        ("R1-S3-003", "fail", subject),  # AccessControl: PublicRead
        ("R1-S3-004", "fail", subject),  # the bucket policy does not deny plain HTTP
        ("R1-S3-005", "fail", subject),  # no versioning
        ("R1-S3-007", "fail", subject),  # no logging
        SMALL_SUPPORT_ENDED,
    }
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-S3-002")
    assert "the files turn Block Public Access off" in message
    assert located(data, "R1-S3-003") == {line_of(path, "AccessControl: PublicRead")}


def test_bucket_without_public_access_block_gets_s3_default(tmp_path: Path) -> None:
    # Since April 2023 S3 turns all four Block Public Access settings on for every new bucket.
    data = check(write(tmp_path, stack()), extra=("--static", "--show-passed")).json
    assert ("R1-S3-002", "pass", "s3://acme-llm-weights") in finding_set(data, "pass")


def test_bucket_fail_public_policy_from_bucket_policy_resource(tmp_path: Path) -> None:
    public = (
        '          - {Effect: Allow, Principal: "*", Action: s3:GetObject, Resource: !Sub "${Weights.Arn}/*"}'
    )
    path = write(tmp_path, stack(statements=TLS_ONLY + "\n" + public))
    data = check(path).json
    assert ("R1-S3-003", "fail", "s3://acme-llm-weights") in blocking(data)
    assert located(data, "R1-S3-003") == {line_of(path, "PolicyDocument:")}


def test_bucket_with_generated_name_is_judged_but_its_approval_is_unknown(tmp_path: Path) -> None:
    bucket = GOOD_BUCKET.replace("      BucketName: acme-llm-weights\n", "")
    data = check(write(tmp_path, stack(bucket=bucket))).json
    # R1-S3-008 and R1-S3-006 read the bucket's name, which CloudFormation generates.
    assert blocking(data) == {
        ("R1-S3-008", "error", "small"),
        ("R1-S3-006", "error", "small"),
        SMALL_SUPPORT_ENDED,
    }
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-S3-008")
    assert "Weights has no BucketName" in message
    assert ("R1-S3-001", "pass", "s3://${Weights}") in finding_set(
        check(write(tmp_path, stack(bucket=bucket)), extra=("--static", "--show-passed")).json
    )


def test_unknown_kms_key_of_bucket_is_error_without_static(tmp_path: Path) -> None:
    bucket = GOOD_BUCKET.replace("!GetAtt Key.Arn", "!Ref KeyArn")
    path = write(tmp_path, stack(parameters="  KeyArn: {Type: String}", bucket=bucket))
    assert ("R1-S3-001", "skipped", "s3://acme-llm-weights") in finding_set(check(path).json)
    data = check(path, extra=()).json
    assert ("R1-S3-001", "error", "s3://acme-llm-weights") in blocking(data)


# -- values the template does not decide ---------------------------------------------------------
def test_instance_type_from_parameter_without_default_is_error(tmp_path: Path) -> None:
    path = write(tmp_path, stack(parameters="  Instance: {Type: String}", instance="!Ref Instance"))
    data = check(path).json
    endpoint = "sagemaker:unknown-region:endpoint/small"
    # R1-EP-005 too: whether the volume needs a KMS key depends on the instance type.
    assert blocking(data) == {
        ("R1-EP-001", "error", endpoint),
        ("R1-EP-002", "error", endpoint),
        ("R1-EP-005", "error", endpoint),
        SMALL_SUPPORT_ENDED,
    }
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-EP-001")
    assert "parameter Instance has no Default" in message


def test_vpc_ids_from_list_parameter_count_as_a_vpc(tmp_path: Path) -> None:
    text = stack(parameters="  Subnets: {Type: 'List<AWS::EC2::Subnet::Id>'}").replace(
        "VpcConfig: {Subnets: [subnet-1], SecurityGroupIds: [sg-1]}",
        "VpcConfig: {Subnets: !Ref Subnets, SecurityGroupIds: [sg-1]}",
    )
    assert blocking(check(write(tmp_path, text)).json) == {SMALL_SUPPORT_ENDED}


def test_vpc_config_behind_undecidable_condition_is_error(tmp_path: Path) -> None:
    parameters = "  Stage: {Type: String}\nConditions:\n  Prod: !Equals [!Ref Stage, prod]"
    text = stack(parameters=parameters).replace(
        "VpcConfig: {Subnets: [subnet-1], SecurityGroupIds: [sg-1]}",
        "VpcConfig: !If [Prod, {Subnets: [subnet-1], SecurityGroupIds: [sg-1]}, !Ref AWS::NoValue]",
    )
    data = check(write(tmp_path, text)).json
    assert blocking(data) == {("R1-EP-004", "error", SMALL), SMALL_SUPPORT_ENDED}


def test_undecidable_condition_is_error_not_a_guess(tmp_path: Path) -> None:
    parameters = "  Stage: {Type: String}\nConditions:\n  Prod: !Equals [!Ref Stage, prod]"
    path = write(tmp_path, stack(parameters=parameters, isolation="!If [Prod, true, false]"))
    data = check(path).json
    assert blocking(data) == {("R1-EP-003", "error", SMALL), SMALL_SUPPORT_ENDED}


def test_model_id_from_parameter_makes_hub_rules_error_not_skipped(tmp_path: Path) -> None:
    env = "          HF_MODEL_ID: !Ref ModelId"
    path = write(tmp_path, stack(parameters="  ModelId: {Type: String}", env=env))
    data = check(path).json
    errors = {rule for rule, status, _ in blocking(data) if status == "error"}
    assert {"R1-HUB-001", "R1-HUB-002", "R1-HUB-003", "R1-HUB-005"} <= errors


def test_resource_with_false_condition_is_not_judged(tmp_path: Path) -> None:
    parameters = "  Stage: {Type: String, Default: prod}\nConditions:\n  Dev: !Equals [!Ref Stage, dev]"
    text = stack(parameters=parameters) + textwrap.indent(
        textwrap.dedent("""\
        DevModel:
          Type: AWS::SageMaker::Model
          Condition: Dev
          Properties:
            ModelName: dev-model
            PrimaryContainer: {Image: "public.ecr.aws/x/y:latest"}
        """),
        "  ",
    )
    data = check(write(tmp_path, text)).json
    assert blocking(data) == {SMALL_SUPPORT_ENDED}
    assert "dev-model" not in json.dumps(data)


def test_anchors_and_merge_keys_are_expanded(tmp_path: Path) -> None:
    text = stack(instance="ml.m5.xlarge").replace(
        "Resources:\n",
        "Metadata:\n  Common: &vpc {Subnets: [subnet-1], SecurityGroupIds: [sg-1]}\nResources:\n",
    )
    text = text.replace(
        "VpcConfig: {Subnets: [subnet-1], SecurityGroupIds: [sg-1]}", "VpcConfig:\n        <<: *vpc"
    )
    data = check(write(tmp_path, text)).json
    endpoint = "sagemaker:unknown-region:endpoint/small"
    assert blocking(data) == {
        ("R1-EP-001", "fail", endpoint),
        ("R1-EP-002", "error", endpoint),
        ("R1-EP-005", "fail", endpoint),
        SMALL_SUPPORT_ENDED,
    }  # the VPC came through the merge key: no R1-EP-004


# -- bad templates -------------------------------------------------------------------------------
def assert_input_error(result: Result, path: Path, line: int, words: str) -> None:
    assert result.code == 2, result.stderr
    assert result.stdout == ""
    assert f"{path}:{line}:" in result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_intrinsic_exits_2_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, stack(instance="!Lookup InstanceType"))
    assert_input_error(
        check(path), path, line_of(path, "!Lookup"), "unknown CloudFormation intrinsic function"
    )


def test_unknown_long_form_intrinsic_exits_2_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, stack(instance='{"Fn::Lookup": InstanceType}'))
    assert_input_error(check(path), path, line_of(path, "Fn::Lookup"), "'Fn::Lookup'")


def test_circular_ref_exits_2_naming_the_cycle(tmp_path: Path) -> None:
    text = stack().replace(
        "      EndpointName: small\n", "      EndpointName: !GetAtt Endpoint.EndpointName\n"
    )
    path = write(tmp_path, text)
    assert_input_error(check(path), path, line_of(path, "EndpointName: !GetAtt"), "Endpoint -> Endpoint")


def test_circular_ref_between_resources_exits_2(tmp_path: Path) -> None:
    bucket = GOOD_BUCKET + "\n      Tags: [{Key: model, Value: !Ref Model}]"
    path = write(tmp_path, stack(bucket=bucket))
    result = check(path)
    assert result.code == 2
    assert "circular reference between resources" in result.stderr
    assert str(path) in result.stderr


def test_ref_to_nothing_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, stack(instance="!Ref NoSuchParameter"))
    assert_input_error(
        check(path), path, line_of(path, "NoSuchParameter"), "neither a parameter nor a resource"
    )


def test_variant_naming_a_model_outside_the_template_exits_2(tmp_path: Path) -> None:
    text = stack().replace("ModelName: !GetAtt Model.ModelName", "ModelName: someone-elses-model")
    path = write(tmp_path, text)
    result = check(path)
    assert result.code == 2
    assert "someone-elses-model" in result.stderr and str(path) in result.stderr


def test_ten_megabyte_template_exits_2_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    padding = "".join(f"  Pad{i}:\n    Type: AWS::SNS::Topic\n" for i in range(280_000))
    path.write_text(stack().replace("Resources:\n", "Resources:\n" + padding, 1))
    assert path.stat().st_size > 10 * 1024 * 1024
    result = check(path)
    assert result.code == 2
    assert str(path) in result.stderr and "limit" in result.stderr


def test_tags_in_a_non_cloudformation_manifest_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: r1policy/v1\nkind: ModelDeployment\nmetadata: {name: !Ref X}\n")
    assert_input_error(check(path), path, 3, "unsupported YAML tag '!Ref'")


def test_template_without_sagemaker_resources_exits_0_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    result = check(path)
    assert result.code == 0
    data = result.json
    assert data["findings"] == []
    table = run_cli("check", path, "--config", CONFIG, "--static")
    assert "CloudFormation template without SageMaker resources: nothing to judge" in " ".join(
        table.stdout.split()
    )


# An endpoint with an inference component: the image names the registry region with ${AWS::Region}
# (approved by the glob), the repo comes from !Select / !Split, the revision from another stack.
INFERENCE_COMPONENT = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Shared: {Type: String, Default: "a,b,deepseek-ai/DeepSeek-R1-Distill-Llama-8B"}
Resources:
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      PrimaryContainer:
        Image: !Sub "763104351884.dkr.ecr.${AWS::Region}.amazonaws.com/{repository}"
        Environment:
          HF_MODEL_ID: !Select [2, !Split [",", !Ref Shared]]
          HF_MODEL_REVISION: !ImportValue pinned-revision
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ExecutionRoleArn: arn:aws:iam::111122223333:role/sm
      EnableNetworkIsolation: true
      VpcConfig: {Subnets: [subnet-1], SecurityGroupIds: [sg-1]}
      ProductionVariants:
        - {VariantName: main, InstanceType: ml.g5.12xlarge, InitialInstanceCount: 1}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: ic-endpoint
      EndpointConfigName: !GetAtt Config.EndpointConfigName
  Component:
    Type: AWS::SageMaker::InferenceComponent
    Properties:
      InferenceComponentName: llama-ic
      EndpointName: !GetAtt Endpoint.EndpointName
      VariantName: main
      Specification:
        ModelName: !GetAtt Model.ModelName
        ComputeResourceRequirements: {NumberOfAcceleratorDevicesRequired: 1, MinMemoryRequiredInMb: 1024}
      RuntimeConfig: {CopyCount: 1}
"""


def test_inference_component_links_model_to_endpoint_and_intrinsics_resolve(tmp_path: Path) -> None:
    # IC-based endpoint: isolation and VPC on the config, the model through the component.
    template = write(tmp_path, INFERENCE_COMPONENT.replace("{repository}", IMAGE.split("/", 1)[1]))
    data = check(template).json
    hub = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@{ImportValue pinned-revision}"
    assert blocking(data) == {
        # !Select [2, !Split [...]] resolved the repo; the revision is another stack's export: unknown.
        ("R1-HUB-001", "error", hub),
        ("R1-HUB-004", "error", hub),
        ("R1-HUB-006", "fail", hub),
        # the TGI DLC (its region left to the stack) is built on PyTorch 2.4, past end of patch (warn)
        ("R1-EP-009", "fail", "sagemaker:unknown-region:endpoint/ic-endpoint"),
    }
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-HUB-001")
    assert "imported from another stack's export pinned-revision" in message
    assert {f["deployment"] for f in data["findings"] if f.get("deployment")} == {"ic-endpoint/llama-ic"}


def test_circular_conditions_exit_2(tmp_path: Path) -> None:
    parameters = "  X: {Type: String, Default: a}\nConditions:\n  A: !Condition B\n  B: !Not [!Condition A]"
    path = write(tmp_path, stack(parameters=parameters, isolation="!If [A, true, false]"))
    result = check(path)
    assert result.code == 2
    assert "circular reference: condition" in result.stderr and str(path) in result.stderr


# -- R1-S3-009: writers through the bucket policy in the template -------------------------------------
def test_bucket_policy_in_template_open_to_everyone_for_writes_fails(tmp_path: Path) -> None:
    writers = (
        TLS_ONLY
        + """
          - Effect: Allow
            Principal: {AWS: "*"}
            Action: [s3:GetObject, s3:Put*]
            Resource: !Sub "${Weights.Arn}/*\""""
    )
    path = write(tmp_path, stack(statements=writers))
    data = check(path).json
    assert ("R1-S3-009", "fail", "s3://acme-llm-weights") in blocking(data)
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-S3-009"]
    assert "through its bucket policy or ACL: *" in finding["message"]


def test_bucket_policy_naming_an_account_whose_owner_is_unknown_is_not_guessed(tmp_path: Path) -> None:
    writers = (
        TLS_ONLY
        + """
          - Effect: Allow
            Principal: {AWS: "arn:aws:iam::444455556666:root"}
            Action: s3:DeleteObject
            Resource: !Sub "${Weights.Arn}/*\""""
    )
    path = write(tmp_path, stack(statements=writers))
    # --static: the template does not say which account owns the bucket, which is live state
    assert ("R1-S3-009", "skipped", "s3://acme-llm-weights") in finding_set(check(path).json, "skipped")
    data = check(path, extra=()).json
    assert ("R1-S3-009", "error", "s3://acme-llm-weights") in blocking(data)
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-S3-009"]
    assert "own account is unknown" in finding["message"]
