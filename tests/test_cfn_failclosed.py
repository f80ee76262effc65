"""CloudFormation read fail-closed (issue 13, root cause 2, "CloudFormation"): nested stacks, custom
resources and macros are an `error` naming the resource unless the nested template is a local file
(then it is followed); a parameter with `AllowedValues` is judged for every allowed value;
`ShadowProductionVariants` are judged by every variant rule; `Fn::ForEach` is expanded.

Every test here fails on the code before this change: nested stacks, custom resources and macros gave
"nothing to judge" (exit 0) or were judged as written, only a parameter's Default was judged, shadow
variants were not read, and Fn::ForEach was refused (exit 2)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from tests.support.unjudged import assert_unjudged, unjudged

from conftest import EXAMPLES, IMAGE_VULNERABILITY_RULES, Result, reading_findings, run_cli

CONFIG = EXAMPLES / "r1policy.yaml"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
SHA = "6a6f4aa4197940add57724a7707d069478df56b1"
HUB = f"hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@{SHA}"
EP = "sagemaker:unknown-region:endpoint/r1"

# A compliant Hub-pinned endpoint (only R1-HUB-006, a warning, fails); {extra} adds resources,
# {variants} replaces the config's variants and {head} adds sections before Resources.
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
{head}
Resources:
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      ModelName: r1-model
      EnableNetworkIsolation: {isolation}
      VpcConfig: {{Subnets: [subnet-1], SecurityGroupIds: [sg-1]}}
      PrimaryContainer:
        Image: {image}
        Environment:
          HF_MODEL_ID: deepseek-ai/DeepSeek-R1-Distill-Llama-8B
          HF_MODEL_REVISION: {sha}
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      KmsKeyId: arn:aws:kms:us-east-1:111122223333:key/k
      ProductionVariants:
{variants}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: r1
      EndpointConfigName: !GetAtt Config.EndpointConfigName
{extra}"""
VARIANT = "        - {VariantName: main, ModelName: !GetAtt Model.ModelName, InstanceType: ml.g5.2xlarge}"


def template(*, head: str = "", extra: str = "", variants: str = VARIANT, isolation: str = "true") -> str:
    return TEMPLATE.format(
        head=head, extra=extra, variants=variants, image=IMAGE, sha=SHA, isolation=isolation
    )


def write(tmp_path: Path, text: str, name: str = "stack.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def check(*paths: Path, extra: tuple[str, ...] = ()) -> Result:
    return run_cli("check", *paths, "--config", CONFIG, "--format", "json", "--static", *extra)


def blocking(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    return reading_findings(data, "fail", "error")


def judged(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    """The blocking findings of deployments that were judged (not the unjudged ones)."""
    names = set(unjudged(data))
    return {
        (f["rule_id"], f["status"], f["subject"]["id"])
        for f in data["findings"]
        if f["status"] in ("fail", "error")
        and f.get("deployment") not in names
        and f["rule_id"] not in IMAGE_VULNERABILITY_RULES
    }


def line_of(path: Path, needle: str, after: str = "") -> int:
    lines = path.read_text().splitlines()
    start = next(i for i, text in enumerate(lines) if after in text) if after else 0
    return next(i for i, text in enumerate(lines) if i >= start and needle in text) + 1


def lines(data: dict[str, Any], rule: str) -> set[tuple[str, int]]:
    return {
        (Path(f["location"]["path"]).name, f["location"]["line"])
        for f in data["findings"]
        if f["rule_id"] == rule and f["status"] in ("fail", "error")
    }


def test_nested_stack_from_s3_is_error_naming_it(tmp_path: Path) -> None:
    """The issue's example: a nested stack whose template is in S3 gave "nothing to judge"."""
    path = write(
        tmp_path,
        """\
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Serving:
            Type: AWS::CloudFormation::Stack
            Properties:
              TemplateURL: https://acme-templates.s3.amazonaws.com/r1-serving.yaml
              Parameters: {InstanceType: ml.g4dn.xlarge}
        """,
    )
    result = check(path)
    assert result.code == 1
    data = result.json
    assert set(unjudged(data)) == {f"{path}#Serving"}
    assert_unjudged(
        data,
        f"{path}#Serving",
        line_of(path, "Serving:"),
        "https://acme-templates.s3.amazonaws.com/r1-serving.yaml",
    )


def test_nested_stack_with_a_computed_url_is_error(tmp_path: Path) -> None:
    extra = """\
  Serving:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Sub "https://s3.${AWS::Region}.amazonaws.com/templates/serving.yaml"
"""
    path = write(tmp_path, template(extra=extra))
    data = check(path).json
    assert set(unjudged(data)) == {f"{path}#Serving"}
    assert_unjudged(data, f"{path}#Serving", line_of(path, "Serving:"), "a value computed at deploy time")
    assert judged(data) == {("R1-HUB-006", "fail", HUB)}  # the rest of the template is still judged


def test_local_nested_stack_is_followed_with_the_parameters_passed(tmp_path: Path) -> None:
    child = write(
        tmp_path,
        template(
            head="Parameters:\n  Instance: {Type: String, Default: ml.g5.2xlarge}",
            variants=VARIANT.replace("ml.g5.2xlarge", "!Ref Instance"),
        ),
        "nested/serving.yaml",
    )
    parent = write(
        tmp_path,
        """\
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Serving:
            Type: AWS::CloudFormation::Stack
            Properties:
              TemplateURL: nested/serving.yaml
              Parameters:
                Instance: ml.g4dn.xlarge
        """,
        "parent.yaml",
    )
    result = check(parent)
    assert result.code == 1
    data = result.json
    assert unjudged(data) == {}
    assert blocking(data) == {
        ("R1-EP-001", "fail", EP),  # the parent passes ml.g4dn.xlarge, not the child's Default
        ("R1-EP-002", "fail", EP),
        ("R1-HUB-006", "fail", HUB),
    }
    assert lines(data, "R1-EP-001") == {("serving.yaml", line_of(child, "InstanceType: !Ref Instance"))}
    assert {f["deployment"] for f in data["findings"] if f["rule_id"] == "R1-EP-001"} == {"Serving/r1"}


def test_nested_stack_that_includes_itself_is_bad_input(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        Resources:
          Back:
            Type: AWS::CloudFormation::Stack
            Properties: {TemplateURL: ../a.yaml}
        """,
        "sub/b.yaml",
    )
    a = write(
        tmp_path,
        """\
        Resources:
          Down:
            Type: AWS::CloudFormation::Stack
            Properties: {TemplateURL: sub/b.yaml}
        """,
        "a.yaml",
    )
    result = check(a)
    assert result.code == 2
    assert "includes ../a.yaml, which includes itself" in result.stderr
    assert f"b.yaml:{4}" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_local_nested_template_is_bad_input(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Resources:
          Serving:
            Type: AWS::CloudFormation::Stack
            Properties: {TemplateURL: serving.yaml}
        """,
    )
    result = check(path)
    assert result.code == 2
    assert f"{path}:4" in result.stderr and "template serving.yaml is not there" in result.stderr


# -- custom resources, macros --------------------------------------------------------------------------
def test_custom_resource_is_error_naming_it(tmp_path: Path) -> None:
    """The issue's example: a Custom:: resource whose Lambda deploys the model gave "nothing to judge"."""
    path = write(
        tmp_path,
        """\
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Deployer:
            Type: Custom::ModelDeployer
            Properties:
              ServiceToken: arn:aws:lambda:us-east-1:111122223333:function:deploy-r1
              ModelId: deepseek-ai/DeepSeek-R1
        """,
    )
    result = check(path)
    assert result.code == 1
    data = result.json
    assert set(unjudged(data)) == {f"{path}#Deployer"}
    assert_unjudged(
        data, f"{path}#Deployer", line_of(path, "Deployer:"), "Custom::ModelDeployer Deployer", "custom"
    )


def test_cloudformation_custom_resource_type_is_error(tmp_path: Path) -> None:
    extra = """\
  Copier:
    Type: AWS::CloudFormation::CustomResource
    Properties: {ServiceToken: arn:aws:lambda:us-east-1:111122223333:function:copy-weights}
"""
    never = """\
  Deployer:
    Type: Custom::ModelDeployer
    Condition: Never
    Properties: {ServiceToken: arn:aws:lambda:us-east-1:111122223333:function:deploy}
"""
    path = write(tmp_path, template(head="Conditions:\n  Never: !Equals [a, b]", extra=extra + never))
    data = check(path).json
    assert set(unjudged(data)) == {f"{path}#Copier"}  # Deployer's condition is false: not deployed
    assert_unjudged(data, f"{path}#Copier", line_of(path, "Copier:"), "AWS::CloudFormation::CustomResource")
    assert judged(data) == {("R1-HUB-006", "fail", HUB)}


def test_macro_transform_is_error_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, template(head="Transform: [AWS::Serverless-2016-10-31, AcmeModelMacro]"))
    data = check(path).json
    name = f"{path}#Transform:AcmeModelMacro"
    assert set(unjudged(data)) == {name}
    assert_unjudged(data, name, line_of(path, "Transform:"), "Transform AcmeModelMacro is a macro")
    assert judged(data) == {
        ("R1-HUB-006", "fail", HUB)
    }  # AWS::Serverless leaves SageMaker resources as they are


def test_fn_transform_in_a_resource_is_error(tmp_path: Path) -> None:
    extra = """\
  Weights:
    Type: AWS::S3::Bucket
    Properties:
      Fn::Transform:
        Name: AWS::Include
        Parameters: {Location: s3://acme-templates/bucket-props.yaml}
"""
    path = write(tmp_path, template(extra=extra))
    data = check(path).json
    assert set(unjudged(data)) == {f"{path}#Weights"}
    assert_unjudged(data, f"{path}#Weights", line_of(path, "Weights:"), "uses Fn::Transform")


def test_fn_transform_in_the_resources_section_is_error(tmp_path: Path) -> None:
    extra = """\
  Fn::Transform:
    Name: AWS::Include
    Parameters: {Location: s3://acme-templates/more-endpoints.yaml}
"""
    path = write(tmp_path, template(extra=extra))
    data = check(path).json
    name = f"{path}#Fn::Transform"
    assert set(unjudged(data)) == {name}
    assert_unjudged(data, name, line_of(path, "Fn::Transform:"), "macro snippet")


def test_serverless_application_is_error(tmp_path: Path) -> None:
    extra = """\
  Serving:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: arn:aws:serverlessrepo:us-east-1:111122223333:applications/r1
        SemanticVersion: 1.0.0
"""
    path = write(tmp_path, template(head="Transform: AWS::Serverless-2016-10-31", extra=extra))
    data = check(path).json
    assert set(unjudged(data)) == {f"{path}#Serving"}
    assert_unjudged(data, f"{path}#Serving", line_of(path, "Serving:"), "Serverless Application Repository")


# -- parameters with AllowedValues ----------------------------------------------------------------------
def test_allowed_value_other_than_the_default_is_judged(tmp_path: Path) -> None:
    """The issue's example: Default ml.g5.2xlarge passes, the allowed ml.g4dn.xlarge was never judged."""
    head = (
        "Parameters:\n  Instance:\n    {Type: String, Default: ml.g5.2xlarge,"
        " AllowedValues: [ml.g5.2xlarge, ml.g4dn.xlarge]}"
    )
    variants = (
        "        - {VariantName: main, ModelName: !GetAtt Model.ModelName, InstanceType: !Ref Instance}"
    )
    path = write(tmp_path, template(head=head, variants=variants))
    result = check(path)
    assert result.code == 1
    data = result.json
    assert blocking(data) == {
        ("R1-EP-001", "fail", EP),
        ("R1-EP-002", "fail", EP),
        ("R1-HUB-006", "fail", HUB),
    }
    failing = {
        f["deployment"] for f in data["findings"] if f["rule_id"] == "R1-EP-001" and f["status"] == "fail"
    }
    assert failing == {"r1 [Instance=ml.g4dn.xlarge]"}
    assert lines(data, "R1-EP-001") == {("stack.yaml", line_of(path, "InstanceType: !Ref Instance"))}


def test_allowed_values_without_default_are_each_judged(tmp_path: Path) -> None:
    head = "Parameters:\n  Isolate: {Type: String, AllowedValues: ['true', 'false']}"
    path = write(tmp_path, template(head=head, isolation="!Ref Isolate"))
    data = check(path).json
    assert blocking(data) == {("R1-EP-003", "fail", EP), ("R1-HUB-006", "fail", HUB)}
    failing = {
        f["deployment"] for f in data["findings"] if f["rule_id"] == "R1-EP-003" and f["status"] == "fail"
    }
    assert failing == {"r1 [Isolate=false]"}


def test_allowed_value_through_a_condition_is_judged(tmp_path: Path) -> None:
    head = """\
Parameters:
  Stage: {Type: String, Default: prod, AllowedValues: [prod, dev]}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]"""
    path = write(tmp_path, template(head=head, isolation="!If [IsProd, true, false]"))
    data = check(path).json
    assert blocking(data) == {("R1-EP-003", "fail", EP), ("R1-HUB-006", "fail", HUB)}
    failing = {
        f["deployment"] for f in data["findings"] if f["rule_id"] == "R1-EP-003" and f["status"] == "fail"
    }
    assert failing == {"r1 [Stage=dev]"}


def test_allowed_value_that_changes_the_bucket_makes_its_rules_error(tmp_path: Path) -> None:
    head = "Parameters:\n  Versioning: {Type: String, Default: Enabled, AllowedValues: [Enabled, Suspended]}"
    extra = """\
  Weights:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: acme-llm-weights
      VersioningConfiguration: {Status: !Ref Versioning}
"""
    text = (
        template(head=head, extra=extra)
        .replace(
            "          HF_MODEL_ID: deepseek-ai/DeepSeek-R1-Distill-Llama-8B\n          HF_MODEL_REVISION: "
            + SHA,
            "          HF_MODEL_ID: /opt/ml/model",
        )
        .replace(
            "        Environment:",
            "        ModelDataUrl: s3://acme-llm-weights/r1/model.tar.gz\n        Environment:",
        )
    )
    path = write(tmp_path, text)
    data = check(path).json
    versioning = {
        (r, s) for r, s, subject in blocking(data) if subject == "s3://acme-llm-weights" and r == "R1-S3-005"
    }
    assert versioning == {("R1-S3-005", "error")}
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-S3-005")
    assert "differs between the allowed values of parameter(s) Versioning" in message


def test_too_many_allowed_value_combinations_are_error(tmp_path: Path) -> None:
    values = ", ".join(f"ml.g5.{n}xlarge" for n in (2, 4, 8, 12, 16, 24, 48, 96))
    head = (
        f"Parameters:\n  A: {{Type: String, Default: ml.g5.2xlarge, AllowedValues: [{values}]}}\n"
        f"  B: {{Type: String, Default: ml.g5.2xlarge, AllowedValues: [{values}]}}\n"
        "  C: {Type: String, Default: x, AllowedValues: [x, y]}"
    )
    variants = (
        "        - {VariantName: a, ModelName: !GetAtt Model.ModelName, InstanceType: !Ref A}\n"
        "        - {VariantName: b, ModelName: !GetAtt Model.ModelName, InstanceType: !Sub '${B}'}\n"
        "        - {VariantName: !Ref C, ModelName: !GetAtt Model.ModelName, InstanceType: ml.g5.2xlarge}"
    )
    data = check(write(tmp_path, template(head=head, variants=variants))).json
    assert ("R1-EP-001", "error", EP) in blocking(data)
    message = next(
        f["message"] for f in data["findings"] if f["rule_id"] == "R1-EP-001" and f["status"] == "error"
    )
    assert "make 128 combinations, over the 64 judged one by one" in message


# -- shadow variants ------------------------------------------------------------------------------------
def test_shadow_variant_on_unapproved_instance_fails(tmp_path: Path) -> None:
    """The issue's example: R1-EP-001 missed ShadowProductionVariants."""
    text = template().replace(
        "      ProductionVariants:",
        "      ShadowProductionVariants:\n"
        "        - {VariantName: shadow, ModelName: !GetAtt Model.ModelName, InstanceType: ml.g4dn.xlarge}\n"
        "      ProductionVariants:",
    )
    path = write(tmp_path, text)
    result = check(path)
    assert result.code == 1
    data = result.json
    assert blocking(data) == {
        ("R1-EP-001", "fail", EP),
        ("R1-EP-002", "fail", EP),
        ("R1-HUB-006", "fail", HUB),
    }
    assert lines(data, "R1-EP-001") == {("stack.yaml", line_of(path, "InstanceType: ml.g4dn.xlarge"))}
    failing = {
        f["deployment"] for f in data["findings"] if f["rule_id"] == "R1-EP-001" and f["status"] == "fail"
    }
    assert failing == {"r1/shadow"}


def test_shadow_variant_model_without_isolation_fails(tmp_path: Path) -> None:
    shadow_model = """\
  ShadowModel:
    Type: AWS::SageMaker::Model
    Properties:
      EnableNetworkIsolation: false
      VpcConfig: {Subnets: [subnet-1], SecurityGroupIds: [sg-1]}
      PrimaryContainer:
        Image: IMAGE
        Environment: {HF_MODEL_ID: deepseek-ai/DeepSeek-R1-Distill-Llama-8B, HF_MODEL_REVISION: main}
""".replace("IMAGE", IMAGE)
    text = template(extra=shadow_model).replace(
        "      ProductionVariants:",
        "      ShadowProductionVariants:\n"
        "        - {VariantName: shadow, ModelName: !GetAtt ShadowModel.ModelName,"
        " InstanceType: ml.g5.2xlarge}\n"
        "      ProductionVariants:",
    )
    path = write(tmp_path, text)
    data = check(path).json
    main_hub = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@main"
    assert blocking(data) == {
        ("R1-EP-003", "fail", EP),
        ("R1-HUB-001", "fail", main_hub),
        ("R1-HUB-006", "fail", main_hub),
        ("R1-HUB-006", "fail", HUB),
    }
    assert lines(data, "R1-EP-003") == {("stack.yaml", line_of(path, "EnableNetworkIsolation: false"))}


# -- Fn::ForEach --------------------------------------------------------------------------------------
def test_fn_foreach_copies_are_each_judged(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        AWSTemplateFormatVersion: "2010-09-09"
        Transform: AWS::LanguageExtensions
        Resources:
          Model:
            Type: AWS::SageMaker::Model
            Properties:
              ModelName: r1-model
              EnableNetworkIsolation: true
              VpcConfig: {{Subnets: [subnet-1], SecurityGroupIds: [sg-1]}}
              PrimaryContainer:
                Image: {IMAGE}
                Environment:
                  HF_MODEL_ID: deepseek-ai/DeepSeek-R1-Distill-Llama-8B
                  HF_MODEL_REVISION: {SHA}
          Fn::ForEach::Sizes:
            - Size
            - [g5.2xlarge, g4dn.xlarge]
            - Config&{{Size}}:
                Type: AWS::SageMaker::EndpointConfig
                Properties:
                  KmsKeyId: arn:aws:kms:us-east-1:111122223333:key/k
                  ProductionVariants:
                    - {{VariantName: main, ModelName: !GetAtt Model.ModelName, InstanceType: "ml.${{Size}}"}}
              Endpoint&{{Size}}:
                Type: AWS::SageMaker::Endpoint
                Properties:
                  EndpointName: r1-${{Size}}
                  EndpointConfigName: !GetAtt "Config&{{Size}}.EndpointConfigName"
        """,
    )
    result = check(path)
    assert result.code == 1, result.stderr
    data = result.json
    small = "sagemaker:unknown-region:endpoint/r1-g4dn.xlarge"
    assert blocking(data) == {
        ("R1-EP-001", "fail", small),
        ("R1-EP-002", "fail", small),
        ("R1-HUB-006", "fail", HUB),
    }
    assert lines(data, "R1-EP-001") == {("stack.yaml", line_of(path, 'InstanceType: "ml.${Size}"'))}


def test_fn_foreach_over_an_undecided_collection_is_error(tmp_path: Path) -> None:
    extra = """\
  Fn::ForEach::Extra:
    - Name
    - !Ref Names
    - Extra${Name}:
        Type: AWS::SageMaker::Endpoint
        Properties: {EndpointName: !Ref Name, EndpointConfigName: !GetAtt Config.EndpointConfigName}
"""
    path = write(tmp_path, template(head="Parameters:\n  Names: {Type: CommaDelimitedList}", extra=extra))
    data = check(path).json
    assert set(unjudged(data)) == {f"{path}#Fn::ForEach::Extra"}
    assert_unjudged(
        data, f"{path}#Fn::ForEach::Extra", line_of(path, "Fn::ForEach::Extra:"), "is not decided"
    )


def test_other_resources_that_deploy_what_the_files_do_not_show_are_errors(tmp_path: Path) -> None:
    extra = """\
  Extension:
    Type: Acme::Model::Deployer
    Properties: {ModelId: deepseek-ai/DeepSeek-R1}
  Module:
    Type: Acme::SageMaker::Endpoint::MODULE
    Properties: {InstanceType: ml.g4dn.xlarge}
  StackSet:
    Type: AWS::CloudFormation::StackSet
    Properties: {StackSetName: r1, PermissionModel: SELF_MANAGED, TemplateURL: https://x.s3.amazonaws.com/t.yaml}
  Experiment:
    Type: AWS::SageMaker::InferenceExperiment
    Properties: {Name: shadow, EndpointName: r1, Type: ShadowMode, RoleArn: arn:aws:iam::111122223333:role/r}
  AccessPoint:
    Type: AWS::S3::AccessPoint
    Properties:
      Bucket: acme-llm-weights
      Policy: {Statement: [{Effect: Allow, Principal: "*", Action: "s3:*"}]}
  Alias:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/weights, TargetKeyId: k}
"""
    path = write(tmp_path, template(extra=extra))
    data = check(path).json
    words = {
        "Extension": "registry extension",
        "Module": "registry extension",
        "StackSet": "deploys a template or product",
        "Experiment": "does not read AWS::SageMaker::InferenceExperiment",
        "AccessPoint": "does not read AWS::S3::AccessPoint",
    }
    assert set(unjudged(data)) == {f"{path}#{logical}" for logical in words}  # not the KMS alias
    for logical, said in words.items():
        assert_unjudged(data, f"{path}#{logical}", line_of(path, f"  {logical}:"), said)
    assert judged(data) == {("R1-HUB-006", "fail", HUB)}


def test_list_parameter_with_allowed_values_is_error_not_its_default(tmp_path: Path) -> None:
    head = (
        "Parameters:\n  Sizes:\n    {Type: CommaDelimitedList, Default: ml.g5.2xlarge,"
        " AllowedValues: [ml.g5.2xlarge, ml.g4dn.xlarge]}"
    )
    path = write(
        tmp_path, template(head=head, variants=VARIANT.replace("ml.g5.2xlarge", "!Select [0, !Ref Sizes]"))
    )
    data = check(path).json
    assert ("R1-EP-001", "error", EP) in blocking(data)
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-EP-001")
    assert "list parameter Sizes may hold any of its AllowedValues" in message
