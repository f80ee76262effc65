"""Terraform source (sources/terraform/source): a folder of .tf files judged without `terraform plan`
— tfvars over defaults, local modules, split S3 resources, count / for_each, values known only at
apply time (error, never guessed), remote modules, examples/ folders and bad input (exit 2 with
file:line)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from conftest import EXAMPLES, Result, finding_set, reading_findings, run_cli

ROOT_MODULE = EXAMPLES / "terraform-source" / "r1-endpoint"
CONFIG = EXAMPLES / "r1policy.yaml"
ENDPOINT = "module.endpoint.aws_sagemaker_endpoint.this"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)


def check(*paths: Path, extra: tuple[str, ...] = ()) -> Result:
    return run_cli("check", *paths, "--config", CONFIG, "--static", "--format", "json", *extra)


def where(data: dict[str, Any], rule: str) -> set[tuple[str, int]]:
    def shown(path: Path) -> str:
        inside = path.resolve().is_relative_to(ROOT_MODULE.parent.resolve())
        return str(path.resolve().relative_to(ROOT_MODULE.parent.resolve())) if inside else path.name

    return {
        (shown(Path(f["location"]["path"])), f["location"]["line"])
        for f in data["findings"]
        if f["rule_id"] == rule and "location" in f
    }


def module(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


MODEL = """\
resource "aws_sagemaker_model" "m" {{
  name                     = "{name}"
  execution_role_arn       = "arn:aws:iam::111122223333:role/r1"
  enable_network_isolation = true
  primary_container {{
    image = {image}
    model_data_url = "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/model.tar.gz"
  }}
  vpc_config {{
    subnets            = ["subnet-1"]
    security_group_ids = ["sg-1"]
  }}
}}
resource "aws_sagemaker_endpoint_configuration" "c" {{
  name        = "{name}-config"
  kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/k"
  production_variants {{
    variant_name           = "main"
    model_name             = aws_sagemaker_model.m.name
    instance_type          = {instance}
    initial_instance_count = 1
  }}
}}
resource "aws_sagemaker_endpoint" "e" {{
  name                 = "{name}"
  endpoint_config_name = aws_sagemaker_endpoint_configuration.c.name
}}
"""


def small(name: str = "small", image: str = f'"{IMAGE}"', instance: str = '"ml.g5.2xlarge"') -> str:
    return MODEL.format(name=name, image=image, instance=instance)


def test_root_module_with_local_module_and_split_bucket_resources() -> None:
    result = check(ROOT_MODULE)
    assert result.code == 1
    data = result.json
    bucket = "s3://acme-llm-weights"
    assert reading_findings(data, "fail", "error") == {
        ("R1-S3-004", "fail", bucket),  # no bucket policy denying plain HTTP
        ("R1-S3-005", "fail", bucket),  # aws_s3_bucket_versioning: Suspended
        ("R1-S3-007", "fail", bucket),  # no aws_s3_bucket_logging
    }
    assert where(data, "R1-S3-005") == {("r1-endpoint/s3.tf", 27)}
    passed = finding_set(check(ROOT_MODULE, extra=("--show-passed",)).json, "pass")
    # terraform.tfvars sets stage = "prod" (default "dev") and instance_type = ml.g5.2xlarge (default
    # ml.g4dn.xlarge, not approved); the provider's region comes from var.region's default.
    endpoint = "sagemaker:us-east-1:endpoint/r1-prod-distill-llama-8b"
    assert ("R1-EP-001", "pass", endpoint) in passed
    assert ("R1-S3-001", "pass", bucket) in passed  # SSE-KMS through the split encryption resource
    assert ("R1-S3-002", "pass", bucket) in passed  # the split public access block
    assert any("judged through" in n["message"] for n in data["notices"])


def test_tf_var_file_overrides_tfvars_and_findings_point_into_the_module(tmp_path: Path) -> None:
    override = tmp_path / "override.tfvars"
    override.write_text('instance_type = "ml.g4dn.xlarge"\nsubnet_ids = []\n')
    data = check(ROOT_MODULE, extra=("--tf-var-file", str(override))).json
    endpoint = "sagemaker:us-east-1:endpoint/r1-prod-distill-llama-8b"
    failed = reading_findings(data, "fail", "error")
    assert {
        ("R1-EP-001", "fail", endpoint),
        ("R1-EP-002", "fail", endpoint),
        ("R1-EP-004", "fail", endpoint),
    } <= failed
    module_main = "r1-endpoint/modules/sagemaker-endpoint/main.tf"
    assert where(data, "R1-EP-001") == {(module_main, 34)}
    assert where(data, "R1-EP-004") == {(module_main, 21)}  # the vpc_config block


def test_count_and_for_each_make_one_subject_per_instance(tmp_path: Path) -> None:
    text = small().replace(
        'resource "aws_sagemaker_endpoint" "e" {\n  name                 = "small"',
        'resource "aws_sagemaker_endpoint" "e" {\n  for_each             = { blue = "b", green = "g" }\n'
        '  name                 = "small-${each.key}"',
    )
    text += textwrap.dedent(
        """\
        resource "aws_sagemaker_endpoint" "canary" {
          count                = 2
          name                 = "canary-${count.index}"
          endpoint_config_name = aws_sagemaker_endpoint_configuration.c.name
        }
        """
    )
    folder = module(tmp_path / "tf", {"main.tf": text})
    data = check(folder, extra=("--show-passed",)).json
    subjects = {s for _, _, s in finding_set(data)}
    assert {
        "sagemaker:unknown-region:endpoint/small-blue",
        "sagemaker:unknown-region:endpoint/small-green",
    } <= subjects
    assert {
        "sagemaker:unknown-region:endpoint/canary-0",
        "sagemaker:unknown-region:endpoint/canary-1",
    } <= subjects
    names = {f["deployment"].rsplit(":", 1)[-1] for f in data["findings"] if f.get("deployment")}
    assert {
        'aws_sagemaker_endpoint.e["blue"]',
        'aws_sagemaker_endpoint.e["green"]',
        "aws_sagemaker_endpoint.canary[0]",
        "aws_sagemaker_endpoint.canary[1]",
    } <= names


def test_variable_without_value_is_an_error_for_exactly_the_rules_that_need_it(tmp_path: Path) -> None:
    folder = module(
        tmp_path / "tf",
        {"main.tf": 'variable "instance_type" { type = string }\n' + small(instance="var.instance_type")},
    )
    data = check(folder).json
    endpoint = "sagemaker:unknown-region:endpoint/small"
    assert reading_findings(data, "fail", "error") == {
        ("R1-EP-001", "error", endpoint),
        ("R1-EP-002", "error", endpoint),
    }
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-EP-001")
    assert "variable 'instance_type'" in message and "main.tf:1" in message


def test_region_from_a_data_source_is_judged_like_a_pseudo_parameter(tmp_path: Path) -> None:
    image = (
        '"763104351884.dkr.ecr.${data.aws_region.current.name}.amazonaws.com/'
        'djl-inference:0.31.0-lmi13.0.0-cu124"'
    )
    folder = module(tmp_path / "tf", {"main.tf": 'data "aws_region" "current" {}\n' + small(image=image)})
    data = check(folder, extra=("--show-passed",)).json
    assert reading_findings(data, "fail", "error") == set()
    assert ("R1-EP-007", "pass", "sagemaker:unknown-region:endpoint/small") in finding_set(data, "pass")


def test_unknown_function_and_apply_time_values_are_errors(tmp_path: Path) -> None:
    image = 'templatefile("image.tpl", {})'
    instance = "random_pet.x.id"
    folder = module(
        tmp_path / "tf",
        {"main.tf": 'resource "random_pet" "x" {}\n' + small(image=image, instance=instance)},
    )
    data = check(folder).json
    endpoint = "sagemaker:unknown-region:endpoint/small"
    assert reading_findings(data, "fail", "error") == {
        ("R1-EP-001", "error", endpoint),
        ("R1-EP-002", "error", endpoint),
        ("R1-EP-007", "error", endpoint),
    }
    messages = " ".join(f["message"] for f in data["findings"] if f["status"] == "error")
    assert "templatefile()" in messages and "random_pet.x.id is known only after apply" in messages


def test_remote_module_is_reported_not_silently_passed(tmp_path: Path) -> None:
    folder = module(
        tmp_path / "tf",
        {"main.tf": 'module "r1" {\n  source  = "acme/sagemaker-llm/aws"\n  version = "1.2.0"\n}\n'},
    )
    data = check(folder).json
    assert any("does not fetch" in n["message"] and "main.tf:1" in n["message"] for n in data["notices"])


def test_examples_folder_judges_the_module_with_the_example_inputs(tmp_path: Path) -> None:
    root = module(
        tmp_path / "tf-aws-r1",
        {
            "variables.tf": 'variable "instance_type" { type = string }\n',
            "main.tf": small(instance="var.instance_type"),
            "examples/complete/main.tf": (
                'module "r1" {\n  source = "../.."\n  instance_type = "ml.g4dn.xlarge"\n}\n'
            ),
        },
    )
    data = check(root).json
    endpoint = "sagemaker:unknown-region:endpoint/small"
    assert reading_findings(data, "fail", "error") == {
        ("R1-EP-001", "fail", endpoint),
        ("R1-EP-002", "fail", endpoint),
    }
    # deployments are named by their root module's folder and their address
    assert {f["deployment"] for f in data["findings"] if f.get("deployment")} == {
        f"{root / 'examples' / 'complete'}:module.r1.aws_sagemaker_endpoint.e"
    }


def test_hcl_syntax_error_exits_2_with_file_and_line(tmp_path: Path) -> None:
    folder = module(tmp_path / "tf", {"main.tf": 'resource "aws_s3_bucket" "b" {\n  bucket = \n}\n'})
    result = check(folder)
    assert result.code == 2
    assert f"{folder / 'main.tf'}:2:" in result.stderr and "HCL syntax error" in result.stderr
    assert "Traceback" not in result.stderr


def test_huge_or_deeply_nested_tf_neither_hangs_nor_crashes(tmp_path: Path) -> None:
    big = module(tmp_path / "big", {"main.tf": "# generated\n" + 'locals { x = "y" }\n' * 70_000})
    result = check(big)
    assert result.code == 2 and "limit" in result.stderr
    nested = "[" * 3000 + "]" * 3000
    deep = module(
        tmp_path / "deep", {"main.tf": f"locals {{\n  x = {nested}\n}}\n" + small(instance="local.x")}
    )
    result = check(deep)  # a list where a string belongs: bad input, named by file and line
    assert result.code == 2 and "main.tf:" in result.stderr and "Traceback" not in result.stderr
    arithmetic = "(" * 300 + "1" + " + 1)" * 300
    sums = module(
        tmp_path / "sums", {"main.tf": f"locals {{\n  n = {arithmetic}\n}}\n" + small(name="s${local.n}")}
    )
    data = check(sums, extra=("--show-passed",)).json  # the name is nested too deeply: not followed
    assert ("R1-EP-001", "pass", "sagemaker:unknown-region:endpoint/aws_sagemaker_endpoint.e") in finding_set(
        data
    )


def test_files_of_one_module_named_separately_judge_the_module_once() -> None:
    # pre-commit passes every changed file: the module is judged once, not once per file
    data = check(ROOT_MODULE / "main.tf", ROOT_MODULE / "s3.tf", ROOT_MODULE).json
    assert ("R1-S3-005", "fail", "s3://acme-llm-weights") in finding_set(data, "fail")
    assert len([f for f in data["findings"] if f["rule_id"] == "R1-S3-005"]) == 1


def test_shared_module_called_from_an_environment_folder_is_judged_through_it(tmp_path: Path) -> None:
    repo = module(
        tmp_path / "repo",
        {
            "modules/r1/variables.tf": 'variable "instance_type" { type = string }\n',
            "modules/r1/main.tf": small(instance="var.instance_type"),
            "environments/prod/main.tf": (
                'module "r1" {\n  source = "../../modules/r1"\n  instance_type = "ml.g5.2xlarge"\n}\n'
            ),
        },
    )
    (repo / ".git").mkdir()
    data = check(repo).json
    assert finding_set(data, "error") == set()  # the module is not judged alone, without its inputs
    # deployments are named by their root module's folder and their address
    assert {f["deployment"] for f in data["findings"] if f.get("deployment")} == {
        f"{repo / 'environments' / 'prod'}:module.r1.aws_sagemaker_endpoint.e"
    }
    assert any("judged through" in n["message"] for n in data["notices"])


TF_JSON = """\
{
  "variable": {"instance_type": {"default": "ml.g4dn.xlarge"}},
  "locals": {"name": "r1-json"},
  "resource": {
    "aws_sagemaker_model": {
      "m": {
        "name": "${local.name}-model",
        "execution_role_arn": "arn:aws:iam::111122223333:role/r1",
        "enable_network_isolation": true,
        "primary_container": {
          "image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124",
          "model_data_url": "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/model.tar.gz",
          "environment": {"OPTION_MODEL_ID": "/opt/ml/model"}
        },
        "vpc_config": {"subnets": ["subnet-1"], "security_group_ids": ["sg-1"]}
      }
    },
    "aws_sagemaker_endpoint_configuration": {
      "c": {
        "name": "${local.name}-config",
        "kms_key_arn": "arn:aws:kms:us-east-1:111122223333:key/k",
        "production_variants": [{
          "variant_name": "main",
          "model_name": "${aws_sagemaker_model.m.name}",
          "instance_type": "${var.instance_type}",
          "initial_instance_count": 1
        }]
      }
    },
    "aws_sagemaker_endpoint": {
      "e": {"name": "${local.name}", "endpoint_config_name": "${aws_sagemaker_endpoint_configuration.c.name}"}
    }
  }
}
"""


def test_terraform_json_syntax_is_read_with_its_json_lines(tmp_path: Path) -> None:
    folder = module(tmp_path / "tfjson", {"main.tf.json": TF_JSON})
    data = check(folder).json
    endpoint = "sagemaker:unknown-region:endpoint/r1-json"
    assert reading_findings(data, "fail", "error") == {
        ("R1-EP-001", "fail", endpoint),
        ("R1-EP-002", "fail", endpoint),
    }
    assert where(data, "R1-EP-001") == {("main.tf.json", 25)}
