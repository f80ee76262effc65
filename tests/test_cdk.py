"""`cdk synth` output (issue 14, item 2): a `cdk.out` folder is read through its `manifest.json` — stack
templates judged with the environment the manifest names, nested stacks followed, CDK's own files not
deployments — and pseudo-parameters in an image registry are judged for every value they can take.

The fixture `tests/fixtures/cdk/two_stacks_one_nested/cdk.out` has the shape `cdk synth` writes (written
for these tests): a weights stack (KMS key, bucket without access logging, TLS-only policy) in
aws://111122223333/us-east-1, and an endpoint stack whose SageMaker model, config and endpoint sit in a
nested stack (`*.nested.template.json`, found through `aws:asset:path`), with the DJL image built by
`Fn::Join` from `AWS::Region` and `AWS::URLSuffix` and data capture without a KMS key.

Every test here fails on the code before this change: the folder was read file by file, so the nested
template was judged alone (its image gave a false R1-EP-007, its parameter an error), the manifest
was not recognised, and CDK's asset folders were walked like sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.support.unjudged import assert_unjudged, unjudged

from conftest import EXAMPLES, ROOT, Result, finding_set, reading_findings, run_cli

CONFIG = EXAMPLES / "r1policy.yaml"
APP = ROOT / "tests" / "fixtures" / "cdk" / "two_stacks_one_nested"
NESTED = "R1EndpointStackServing5A3D9C21.nested.template.json"
ENDPOINT = "sagemaker:us-east-1:endpoint/r1-distill-qwen-14b"
AGNOSTIC = "sagemaker:unknown-region:endpoint/r1-distill-qwen-14b"
BUCKET = "s3://acme-llm-weights"
DEPLOYMENT = "R1EndpointStack/Serving/R1Endpoint (R1Endpoint)"


def check(path: Path, *extra: str, config: Path = CONFIG) -> Result:
    return run_cli("check", path, "--config", config, "--format", "json", "--static", *extra)


def blocking(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    return reading_findings(data, "fail", "error")


def copy_app(tmp_path: Path) -> Path:
    target = tmp_path / "app"
    shutil.copytree(APP, target)
    return target / "cdk.out"


def edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1) + "\n")


def set_env(out: Path, stack: str, env: str) -> None:
    edit(out / "manifest.json", lambda m: m["artifacts"][stack].__setitem__("environment", env))


def line_of(path: Path, needle: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines()) if needle in text) + 1


def config_with(tmp_path: Path, registries: list[str]) -> Path:
    text = CONFIG.read_text().replace(
        'approved_image_registries: ["763104351884.dkr.ecr.*.amazonaws.com"]',
        f"approved_image_registries: {json.dumps(registries)}",
    )
    path = tmp_path / "r1policy.yaml"
    path.write_text(text)
    return path


def ep007(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["rule_id"] == "R1-EP-007"]


# -- the fixture --------------------------------------------------------------------------------------
def test_cdk_out_two_stacks_one_nested_exact_findings() -> None:
    result = check(APP)
    assert result.code == 1
    data = result.json
    assert blocking(data) == {
        ("R1-S3-007", "fail", BUCKET),  # the weights stack's bucket has no access logging
        ("R1-EP-006", "fail", ENDPOINT),  # data capture without KmsKeyId, in the nested stack
    }
    out = APP / "cdk.out"
    assert data["inputs"] == [str(out / "manifest.json")]  # CDK's own files are not read as deployments
    capture = next(f for f in data["findings"] if f["rule_id"] == "R1-EP-006")
    assert capture["location"]["path"] == str(out / NESTED)
    assert capture["location"]["line"] == line_of(out / NESTED, '"DataCaptureConfig"')
    # Findings name the construct: aws:cdk:path and the logical id.
    assert capture["deployment"] == DEPLOYMENT
    bucket = next(f for f in data["findings"] if f["rule_id"] == "R1-S3-007")
    assert bucket["location"]["path"] == str(out / "R1WeightsStack.template.json")


def test_image_joined_from_pseudo_parameters_is_no_false_r1_ep_007() -> None:
    """The issue's example: 763104351884.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/djl-inference:… ."""
    data = check(APP, "--show-passed").json
    assert [(f["status"], f["subject"]["id"]) for f in ep007(data)] == [("pass", ENDPOINT)]
    # The manifest's environment also decides the endpoint's and the bucket's region.
    assert ("R1-S3-006", "pass", DEPLOYMENT) in finding_set(data, "pass")


def test_environment_agnostic_stack_with_the_dlc_account_passes_the_issue_pattern(tmp_path: Path) -> None:
    """The issue's example in a region-agnostic stack: 763104351884 is a DLC account of the aws partition
    only (AWS's published table), so `*.amazonaws.com` holds in every region the image can exist in;
    China's `amazonaws.com.cn` is not a value that registry can take."""
    out = copy_app(tmp_path)
    set_env(out, "R1EndpointStack", "aws://unknown-account/unknown-region")
    data = check(out, "--show-passed").json
    assert [(f["status"], f["subject"]["id"]) for f in ep007(data)] == [("pass", AGNOSTIC)]
    assert blocking(data) == {("R1-S3-007", "fail", BUCKET), ("R1-EP-006", "fail", AGNOSTIC)}


def set_image(out: Path, image: Any) -> None:
    def change(template: dict[str, Any]) -> None:
        template["Resources"]["R1Model"]["Properties"]["PrimaryContainer"]["Image"] = image

    edit(out / NESTED, change)


def joined(account: str) -> dict[str, Any]:
    return {
        "Fn::Sub": account + ".dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/djl-inference:0.31.0-lmi13.0.0-cu124"
    }


def test_only_a_published_dlc_account_narrows_the_partitions(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    set_env(out, "R1EndpointStack", "aws://unknown-account/unknown-region")
    # China's DLC account (cn-north-1, cn-northwest-1) exists only in aws-cn: its `.com.cn` pattern covers it.
    set_image(out, joined("727897471807"))
    china = config_with(tmp_path, ["727897471807.dkr.ecr.*.amazonaws.com.cn"])
    assert [f["status"] for f in ep007(check(out, "--show-passed", config=china).json)] == ["pass"]
    # ...and the commercial pattern approves none of its values.
    failed = ep007(check(out).json)
    assert [f["status"] for f in failed] == ["fail"]
    # An opt-in region's own DLC account (af-south-1) is in the aws partition too.
    set_image(out, joined("626614931356"))
    cape_town = config_with(tmp_path, ["626614931356.dkr.ecr.*.amazonaws.com"])
    assert [f["status"] for f in ep007(check(out, "--show-passed", config=cape_town).json)] == ["pass"]
    # Any other written-out account may be in any partition: still `error`, naming the China value.
    set_image(out, joined("111122223333"))
    own = config_with(tmp_path, ["111122223333.dkr.ecr.*.amazonaws.com"])
    errors = ep007(check(out, config=own).json)
    assert [(f["status"], f["subject"]["id"]) for f in errors] == [("error", AGNOSTIC)]
    assert "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn" in errors[0]["message"]
    assert "state the stack's region" in errors[0]["message"]


def test_dlc_registry_table_is_sourced_and_its_regions_are_known_to_the_partitions() -> None:
    from r1policy.core.resources import load_data
    from r1policy.facts.pseudo import PARTITIONS, dlc_partitions, partition_of

    table = load_data("dlc-registries.json")
    assert table["source"]["repository"] == "aws/deep-learning-containers"
    assert table["source"]["commit"] in table["source"]["url"]
    known = {region for _suffix, regions in PARTITIONS.values() for region in regions}
    assert set(table["regions"]) <= known
    assert dlc_partitions()["763104351884"] == {"aws"}
    assert dlc_partitions()["727897471807"] == {"aws-cn"}
    assert {partition_of(r) for r in table["regions"]} == {"aws", "aws-cn"}


def test_environment_agnostic_stack_passes_a_pattern_that_covers_every_value(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    set_env(out, "R1EndpointStack", "aws://unknown-account/unknown-region")
    config = config_with(tmp_path, ["763104351884.dkr.ecr.*"])
    data = check(out, "--show-passed", config=config).json
    assert [(f["status"], f["subject"]["id"], f["deployment"]) for f in ep007(data)] == [
        ("pass", AGNOSTIC, DEPLOYMENT)
    ]


def test_region_specific_pattern_is_error_without_a_region_and_decided_with_one(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    config = config_with(tmp_path, ["763104351884.dkr.ecr.us-east-1.amazonaws.com"])
    set_env(out, "R1EndpointStack", "aws://111122223333/unknown-region")
    assert [f["status"] for f in ep007(check(out, "--show-passed", config=config).json)] == ["error"]
    set_env(out, "R1EndpointStack", "aws://111122223333/eu-west-1")
    failed = ep007(check(out, config=config).json)
    assert [(f["status"], f["subject"]["id"]) for f in failed] == [
        ("fail", "sagemaker:eu-west-1:endpoint/r1-distill-qwen-14b")
    ]
    assert "763104351884.dkr.ecr.eu-west-1.amazonaws.com" in failed[0]["message"]


def test_china_region_from_the_manifest_uses_its_url_suffix(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    set_env(out, "R1EndpointStack", "aws://111122223333/cn-north-1")
    failed = ep007(check(out).json)
    assert [(f["status"], f["subject"]["id"]) for f in failed] == [
        ("fail", "sagemaker:cn-north-1:endpoint/r1-distill-qwen-14b")
    ]
    assert "763104351884.dkr.ecr.cn-north-1.amazonaws.com.cn" in failed[0]["message"]


def test_registry_in_the_stacks_own_account_needs_the_account(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    nested = out / NESTED

    def own_ecr(template: dict[str, Any]) -> None:
        container = template["Resources"]["R1Model"]["Properties"]["PrimaryContainer"]
        container["Image"] = {
            "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/r1:1.2.0"
        }

    edit(nested, own_ecr)
    config = config_with(tmp_path, ["111122223333.dkr.ecr.*.amazonaws.com"])
    set_env(out, "R1EndpointStack", "aws://unknown-account/us-east-1")
    assert [f["status"] for f in ep007(check(out, "--show-passed", config=config).json)] == ["error"]
    set_env(out, "R1EndpointStack", "aws://111122223333/us-east-1")
    assert [f["status"] for f in ep007(check(out, "--show-passed", config=config).json)] == ["pass"]
    set_env(out, "R1EndpointStack", "aws://444455556666/us-east-1")
    assert [f["status"] for f in ep007(check(out, config=config).json)] == ["fail"]


# -- CDK's own files, stages, custom resources ------------------------------------------------------------
def test_cdk_files_and_asset_folders_are_not_deployments(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    asset = next(out.glob("asset.*"))
    # An asset folder may hold anything (a Lambda's code, a bundled template): CDK uploads it, it is
    # not what the app deploys, so it is not read — even when it looks like a deployment.
    (asset / "r1.yaml").write_text(
        "apiVersion: r1policy/v1\nkind: Deployment\nmetadata: {name: stray}\n"
        "spec: {model: {source: hub, repo: deepseek-ai/DeepSeek-R1}}\n"
    )
    (out / "R1EndpointStack.metadata.json").write_text('{"/R1EndpointStack": []}\n')
    result = check(out.parent)
    assert result.code == 1
    data = result.json
    assert data["inputs"] == [str(out / "manifest.json")]
    assert blocking(data) == {("R1-S3-007", "fail", BUCKET), ("R1-EP-006", "fail", ENDPOINT)}


def test_manifest_named_explicitly_is_the_same_as_the_folder() -> None:
    data = check(APP / "cdk.out" / "manifest.json").json
    assert blocking(data) == {("R1-S3-007", "fail", BUCKET), ("R1-EP-006", "fail", ENDPOINT)}


def test_stage_assembly_is_followed(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    stage = out / "assembly-Prod"
    stage.mkdir()
    for name in ("manifest.json", "R1WeightsStack.template.json", "R1EndpointStack.template.json", NESTED):
        shutil.move(out / name, stage / name)
    top = {
        "version": "39.0.0",
        "artifacts": {
            "assembly-Prod": {
                "type": "cdk:cloud-assembly",
                "properties": {"directoryName": "assembly-Prod", "displayName": "Prod"},
            },
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        },
    }
    (out / "manifest.json").write_text(json.dumps(top, indent=1))
    data = check(out).json
    assert blocking(data) == {("R1-S3-007", "fail", BUCKET), ("R1-EP-006", "fail", ENDPOINT)}


def test_cdk_custom_resource_is_error_naming_the_construct(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    logical = "WeightsBucketAutoDeleteObjectsCustomResource4F2A1B3C"
    path = "R1WeightsStack/WeightsBucket/AutoDeleteObjectsCustomResource/Default"

    def auto_delete(template: dict[str, Any]) -> None:
        template["Resources"][logical] = {
            "Type": "Custom::S3AutoDeleteObjects",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["CustomS3AutoDeleteObjectsHandler9E1A2B3C", "Arn"]},
                "BucketName": {"Ref": "WeightsBucket9A8F2E41"},
            },
            "UpdateReplacePolicy": "Delete",
            "DeletionPolicy": "Delete",
            "Metadata": {"aws:cdk:path": path},
        }

    edit(out / "R1WeightsStack.template.json", auto_delete)
    data = check(out).json
    name = f"{path} ({logical})"
    assert set(unjudged(data)) == {name}
    template = out / "R1WeightsStack.template.json"
    assert_unjudged(data, name, line_of(template, f'"{logical}"'), "Custom::S3AutoDeleteObjects", path)


def test_nested_stack_without_its_asset_is_bad_input(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    (out / NESTED).unlink()
    result = check(out)
    assert result.code == 2
    parent = out / "R1EndpointStack.template.json"
    line = line_of(parent, '"aws:asset:path"')
    assert f"{parent}:{line}" in result.stderr
    assert "is not there" in result.stderr and "Traceback" not in result.stderr


def test_stack_template_missing_from_the_assembly_is_bad_input(tmp_path: Path) -> None:
    out = copy_app(tmp_path)
    (out / "R1WeightsStack.template.json").unlink()
    result = check(out)
    assert result.code == 2
    manifest = out / "manifest.json"
    line = line_of(manifest, '"R1WeightsStack": {')
    assert f"{manifest}:{line}" in result.stderr
    assert "run `cdk synth` again" in result.stderr


def test_stack_parameters_from_the_manifest_are_used(tmp_path: Path) -> None:
    out = copy_app(tmp_path)

    def parent(template: dict[str, Any]) -> None:
        template["Parameters"]["Instance"] = {
            "Type": "String",
            "Default": "ml.g5.12xlarge",
            "AllowedValues": ["ml.g5.12xlarge", "ml.g4dn.xlarge"],
        }
        nested = template["Resources"]["ServingNestedStackServingNestedStackResource7E4C2B19"]
        nested["Properties"]["Parameters"]["Instance"] = {"Ref": "Instance"}

    def child(template: dict[str, Any]) -> None:
        template["Parameters"]["Instance"] = {"Type": "String"}
        variant = template["Resources"]["R1EndpointConfig"]["Properties"]["ProductionVariants"][0]
        variant["InstanceType"] = {"Ref": "Instance"}

    edit(out / "R1EndpointStack.template.json", parent)
    edit(out / NESTED, child)
    # Nobody passes Instance: every allowed value is judged, through the nested stack; ml.g4dn.xlarge fails.
    data = check(out).json
    assert ("R1-EP-001", "fail", ENDPOINT) in blocking(data)
    failing = {
        f["deployment"] for f in data["findings"] if f["rule_id"] == "R1-EP-001" and f["status"] == "fail"
    }
    assert failing == {f"{DEPLOYMENT} [Instance=ml.g4dn.xlarge]"}
    # The assembly passes Instance=ml.g5.12xlarge to the stack (`properties.parameters`): that value only.
    edit(
        out / "manifest.json",
        lambda m: m["artifacts"]["R1EndpointStack"]["properties"].__setitem__(
            "parameters", {"Instance": "ml.g5.12xlarge"}
        ),
    )
    assert blocking(check(out).json) == {("R1-S3-007", "fail", BUCKET), ("R1-EP-006", "fail", ENDPOINT)}


def test_only_an_exact_written_out_dlc_account_narrows_the_partitions() -> None:
    from r1policy.facts.pseudo import PARTITIONS, registry_partitions

    region = ".dkr.ecr.${AWS::Region}.${AWS::URLSuffix}"
    assert registry_partitions("763104351884" + region) == ("aws",)
    assert registry_partitions("727897471807" + region) == ("aws-cn",)
    every = tuple(PARTITIONS)
    for lookalike in (
        "9763104351884" + region,  # 13 digits
        "76310435188" + region,  # 11 digits
        "763104351884.dkr.ecr-fips.${AWS::Region}.${AWS::URLSuffix}",  # not the plain ECR host
        "${AWS::AccountId}" + region,
        "evil.example/763104351884" + region,
    ):
        assert registry_partitions(lookalike) == every, lookalike
