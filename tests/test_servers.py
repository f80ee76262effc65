"""Each serving container reads its own variables (issue 20, "Servers read their own variables"): one
model of TGI, LMI, vLLM, SGLang shared by every reader. The table states, per image family and
variable combination, the value the server uses; the CLI cases are the issue's example and variants
that passed (exit 0) before the shared model existed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, finding_set, reading_findings, run_cli
from r1policy.sources.sagemaker.api import deployments_from_api
from r1policy.sources.servers import Family, family_of, hub_endpoint_override, read_env

STATIC = ("--config", EXAMPLES / "r1policy.yaml", "--static", "--format", "json")
SHA = "56d4cbbb4d29f4355bab4b9a39ccb717a14ad5ad"
TGI = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
LMI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124"
TRTLLM = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-tensorrtllm0.11.0-cu124"
VLLM = "763104351884.dkr.ecr.us-east-1.amazonaws.com/vllm:0.10.1-gpu-py312-cu128-ubuntu22.04-sagemaker"
SGLANG = "763104351884.dkr.ecr.us-east-1.amazonaws.com/sglang:0.4.9-gpu-py312-cu124-ubuntu22.04-sagemaker"
CUSTOM = "763104351884.dkr.ecr.us-east-1.amazonaws.com/acme-inference:1.2.3"
GOOD = "deepseek-ai/DeepSeek-R1"
EVIL = "evil-labs/DeepSeek-R1"
CONFLICT = "conflict"


@pytest.mark.parametrize(
    ("image", "family"),
    [
        (TGI, Family.TGI),
        ("ghcr.io/huggingface/text-generation-inference:3.0.1", Family.TGI),
        (LMI, Family.LMI),
        (TRTLLM, Family.LMI),
        ("deepjavalibrary/djl-serving:0.30.0-lmi", Family.LMI),
        (VLLM, Family.VLLM),
        ("vllm/vllm-openai:v0.6.4", Family.VLLM),
        ("lmsysorg/sglang:v0.4.9", Family.SGLANG),
        ("kserve/huggingfaceserver:v0.14.0", Family.KSERVE_HF),
        (CUSTOM, Family.UNKNOWN),
        ("localhost:5000/vllm:1", Family.VLLM),
    ],
)
def test_family_is_told_from_the_image_repository(image: str, family: Family) -> None:
    assert family_of(image) is family


# (family, SageMaker entrypoint, env, serving.properties, expected (model, revision, trust) or CONFLICT)
TABLE: list[tuple[Family, bool, dict[str, str], dict[str, str], tuple[Any, Any, Any]]] = [
    # TGI on SageMaker: HF_* override the launcher's variables only when non-empty; OPTION_* ignored.
    (Family.TGI, True, {"HF_MODEL_ID": EVIL, "OPTION_MODEL_ID": GOOD}, {}, (EVIL, None, None)),
    (Family.TGI, True, {"HF_MODEL_ID": "", "MODEL_ID": EVIL}, {}, (EVIL, None, None)),
    (Family.TGI, True, {"HF_MODEL_ID": GOOD, "MODEL_ID": EVIL}, {}, (GOOD, None, None)),
    (Family.TGI, True, {"HF_MODEL_REVISION": SHA, "REVISION": "main"}, {}, (None, SHA, None)),
    (Family.TGI, True, {"HF_MODEL_REVISION": "", "REVISION": "main"}, {}, (None, "main", None)),
    (Family.TGI, True, {"OPTION_REVISION": SHA}, {}, (None, None, None)),
    (Family.TGI, True, {"TRUST_REMOTE_CODE": "true"}, {}, (None, None, "true")),
    (Family.TGI, True, {"HF_MODEL_TRUST_REMOTE_CODE": "", "TRUST_REMOTE_CODE": "1"}, {}, (None, None, "1")),
    (
        Family.TGI,
        True,
        {"HF_MODEL_TRUST_REMOTE_CODE": "false", "TRUST_REMOTE_CODE": "true"},
        {},
        (None, None, "false"),
    ),
    (Family.TGI, True, {"OPTION_TRUST_REMOTE_CODE": "true"}, {}, (None, None, None)),
    (Family.TGI, True, {"option.model_id": EVIL}, {"option.model_id": EVIL}, (None, None, None)),
    # TGI's launcher alone (ghcr image, explicit command): HF_* are not read.
    (Family.TGI, False, {"HF_MODEL_ID": GOOD, "MODEL_ID": EVIL}, {}, (EVIL, None, None)),
    (Family.TGI, False, {"HF_MODEL_TRUST_REMOTE_CODE": "true"}, {}, (None, None, None)),
    # LMI: serving.properties > OPTION_* (non-empty); HF_MODEL_ID is an alias that must agree.
    (Family.LMI, True, {"OPTION_MODEL_ID": GOOD}, {"option.model_id": EVIL}, (EVIL, None, None)),
    (Family.LMI, True, {"OPTION_MODEL_ID": "", "HF_MODEL_ID": GOOD}, {}, (GOOD, None, None)),
    (Family.LMI, True, {"OPTION_MODEL_ID": GOOD, "HF_MODEL_ID": EVIL}, {}, (CONFLICT, None, None)),
    (Family.LMI, True, {"OPTION_MODEL_ID": GOOD, "HF_MODEL_ID": GOOD}, {}, (GOOD, None, None)),
    (Family.LMI, True, {"MODEL_ID": EVIL, "HF_MODEL_ID": GOOD}, {}, (GOOD, None, None)),
    (Family.LMI, True, {"OPTION_REVISION": SHA, "HF_REVISION": "main"}, {}, (None, CONFLICT, None)),
    (Family.LMI, True, {"HF_MODEL_REVISION": SHA}, {}, (None, CONFLICT, None)),
    (Family.LMI, True, {"HF_MODEL_REVISION": SHA}, {"option.revision": SHA}, (None, SHA, None)),
    (
        Family.LMI,
        True,
        {"OPTION_TRUST_REMOTE_CODE": "true"},
        {"option.trust_remote_code": "false"},
        (None, None, "false"),
    ),
    (Family.LMI, True, {"TRUST_REMOTE_CODE": "true"}, {}, (None, None, None)),
    (Family.LMI, True, {"HF_MODEL_TRUST_REMOTE_CODE": "TRUE"}, {}, (None, None, "TRUE")),
    # vLLM and SGLang read no model variable (their SageMaker entrypoints: see the CLI cases).
    (Family.VLLM, False, {"HF_MODEL_ID": GOOD, "TRUST_REMOTE_CODE": "true"}, {}, (None, None, None)),
    (Family.SGLANG, False, {"OPTION_MODEL_ID": GOOD}, {}, (None, None, None)),
    # An image whose server cannot be told: every variable of every server must agree.
    (Family.UNKNOWN, True, {"OPTION_MODEL_ID": GOOD, "HF_MODEL_ID": EVIL}, {}, (CONFLICT, None, None)),
    (Family.UNKNOWN, True, {"MODEL_ID": EVIL, "HF_MODEL_ID": GOOD}, {}, (CONFLICT, None, None)),
    (Family.UNKNOWN, True, {"HF_MODEL_ID": GOOD, "OPTION_MODEL_ID": GOOD}, {}, (GOOD, None, None)),
    (Family.UNKNOWN, True, {"REVISION": "main", "HF_MODEL_REVISION": SHA}, {}, (None, CONFLICT, None)),
    (
        Family.UNKNOWN,
        True,
        {"TRUST_REMOTE_CODE": "true", "HF_MODEL_TRUST_REMOTE_CODE": "false"},
        {},
        (None, None, CONFLICT),
    ),
]


@pytest.mark.parametrize(("family", "entrypoint", "env", "props", "expected"), TABLE)
def test_the_value_each_server_uses(
    family: Family, entrypoint: bool, env: dict[str, str], props: dict[str, str], expected: tuple[Any, ...]
) -> None:
    view = read_env(family, env, props, sagemaker_entrypoint=entrypoint)
    got = tuple(CONFLICT if c.conflict else c.value for c in (view.model, view.revision, view.trust))
    assert got == expected


def test_hub_endpoint_overrides() -> None:
    assert hub_endpoint_override({"HF_ENDPOINT": "https://huggingface.co/"}) is None
    assert hub_endpoint_override({"HF_ENDPOINT": "https://hf-mirror.com"}) == (
        "HF_ENDPOINT",
        "https://hf-mirror.com",
    )
    assert hub_endpoint_override({"HF_HUB_ENDPOINT": "http://10.0.0.1"}) == (
        "HF_HUB_ENDPOINT",
        "http://10.0.0.1",
    )
    assert hub_endpoint_override({"VLLM_USE_MODELSCOPE": "True"}) == ("VLLM_USE_MODELSCOPE", "True")
    assert hub_endpoint_override({"VLLM_USE_MODELSCOPE": "0", "HF_HUB_OFFLINE": "1"}) is None


def model_request(image: str, env: dict[str, str], **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"Image": image, "Environment": env, **extra}
    return {
        "ModelName": "m",
        "ExecutionRoleArn": "arn:aws:iam::111122223333:role/sm",
        "EnableNetworkIsolation": True,
        "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        "PrimaryContainer": container,
    }


def check_request(tmp_path: Path, request: dict[str, Any]) -> tuple[int, set[tuple[str, str, str]]]:
    path = tmp_path / "create-model.json"
    path.write_text(json.dumps(request, indent=2))
    result = run_cli("check", path, *STATIC)
    assert result.code in (0, 1), result.stderr
    return result.code, reading_findings(result.json, "fail", "error")


def hub(repo: str, revision: str | None = None) -> str:
    return f"hf://{repo}" + (f"@{revision}" if revision else "")


def untrusted(subject: str, *, pinned: bool = False) -> set[tuple[str, str, str]]:
    rules = {"R1-HUB-002", "R1-HUB-006"} | (set() if pinned else {"R1-HUB-001"})
    return {(r, "fail", subject) for r in rules}


# The model cannot be told: every rule that reads it is `error`.
UNKNOWN_MODEL = {
    (r, "error", "(unknown model of m)")
    for r in ("R1-HUB-001", "R1-HUB-002", "R1-HUB-003", "R1-HUB-004", "R1-HUB-005", "R1-HUB-006", "R1-JS-001")
} | {("R1-S3-008", "error", "m")}


def test_a_model_id_that_is_not_owner_name_is_refused(tmp_path: Path) -> None:
    """TGI asks the Hub for any id that is not a path or s3:// URI; one that is not `owner/name` (a
    legacy single-name id, `..`, `%2F`) is refused as bad input naming the variable (exit 2)."""
    request = model_request(TGI, {"HF_MODEL_ID": "gpt2", "HF_MODEL_REVISION": SHA})
    path = tmp_path / "create-model.json"
    path.write_text(json.dumps(request, indent=2))
    result = run_cli("check", path, *STATIC)
    assert result.code == 2
    assert "Hub repository 'gpt2'" in result.stderr and "create-model.json" in result.stderr


@pytest.mark.parametrize(
    ("image", "env", "expected"),
    [
        # The example: LMI's variables on a TGI image, which serves HF_MODEL_ID at its own revision.
        (
            TGI,
            {"HF_MODEL_ID": EVIL, "OPTION_MODEL_ID": GOOD, "OPTION_REVISION": SHA},
            untrusted(hub(EVIL)),
        ),
        # TGI reads TRUST_REMOTE_CODE itself when HF_MODEL_TRUST_REMOTE_CODE is not set.
        (
            TGI,
            {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA, "TRUST_REMOTE_CODE": "true"},
            {("R1-HUB-005", "fail", hub(GOOD, SHA)), ("R1-HUB-006", "fail", hub(GOOD, SHA))},
        ),
        # An empty HF_MODEL_TRUST_REMOTE_CODE is not exported by the entrypoint: TRUST_REMOTE_CODE decides.
        (
            TGI,
            {
                "HF_MODEL_ID": GOOD,
                "HF_MODEL_REVISION": SHA,
                "HF_MODEL_TRUST_REMOTE_CODE": "",
                "TRUST_REMOTE_CODE": "1",
            },
            {("R1-HUB-005", "fail", hub(GOOD, SHA)), ("R1-HUB-006", "fail", hub(GOOD, SHA))},
        ),
        # A pin in OPTION_REVISION does not pin a TGI container.
        (
            TGI,
            {"HF_MODEL_ID": GOOD, "OPTION_REVISION": SHA},
            {("R1-HUB-001", "fail", hub(GOOD)), ("R1-HUB-006", "fail", hub(GOOD))},
        ),
        # An empty HF_MODEL_ID leaves the launcher's MODEL_ID in force.
        (TGI, {"HF_MODEL_ID": "", "MODEL_ID": EVIL}, untrusted(hub(EVIL))),
        # A switch spelled as clap / pydantic accept it ("y") is on.
        (
            TGI,
            {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA, "HF_MODEL_TRUST_REMOTE_CODE": "y"},
            {("R1-HUB-005", "fail", hub(GOOD, SHA)), ("R1-HUB-006", "fail", hub(GOOD, SHA))},
        ),
        # LMI: OPTION_MODEL_ID and HF_MODEL_ID disagree, their precedence is not established.
        (LMI, {"OPTION_MODEL_ID": GOOD, "OPTION_REVISION": SHA, "HF_MODEL_ID": EVIL}, UNKNOWN_MODEL),
        (TRTLLM, {"OPTION_MODEL_ID": EVIL, "HF_MODEL_ID": GOOD, "HF_REVISION": SHA}, UNKNOWN_MODEL),
        # An image whose server cannot be told, variables of different servers disagreeing.
        (CUSTOM, {"OPTION_MODEL_ID": GOOD, "OPTION_REVISION": SHA, "MODEL_ID": EVIL}, UNKNOWN_MODEL),
        # vLLM's SageMaker entrypoint serves SM_VLLM_MODEL; HF_MODEL_ID is not read.
        (VLLM, {"SM_VLLM_MODEL": EVIL, "HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA}, untrusted(hub(EVIL))),
        (
            VLLM,
            {"SM_VLLM_MODEL": GOOD, "SM_VLLM_REVISION": SHA, "SM_VLLM_TRUST_REMOTE_CODE": ""},
            {("R1-HUB-005", "fail", hub(GOOD, SHA)), ("R1-HUB-006", "fail", hub(GOOD, SHA))},
        ),
    ],
    ids=[
        "issue_tgi_serves_hf_model_id",
        "tgi_trust_remote_code",
        "tgi_empty_hf_trust",
        "tgi_option_revision_ignored",
        "tgi_empty_hf_model_id",
        "tgi_trust_spelled_y",
        "lmi_aliases_disagree",
        "trtllm_aliases_disagree",
        "unknown_image_disagree",
        "vllm_sm_model",
        "vllm_sm_trust_switch",
    ],
)
def test_sagemaker_request_is_read_as_the_container_reads_it(
    tmp_path: Path, image: str, env: dict[str, str], expected: set[tuple[str, str, str]]
) -> None:
    code, found = check_request(tmp_path, model_request(image, env))
    assert found == expected
    assert code == 1


def test_sglang_on_sagemaker_is_unknown_not_the_env_model(tmp_path: Path) -> None:
    request = model_request(SGLANG, {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA})
    code, found = check_request(tmp_path, request)
    assert code == 1
    assert found == UNKNOWN_MODEL


def test_native_manifest_reads_tgi_trust_remote_code(tmp_path: Path) -> None:
    manifest = {
        "apiVersion": "r1policy/v1",
        "kind": "ModelDeployment",
        "metadata": {"name": "r1", "owner": "ml", "stage": "dev"},
        "spec": {
            "model": {"hub": {"repo": GOOD, "revision": SHA}, "parameters": 8.03e9, "dtype": "bfloat16"},
            "container": {"image": TGI, "env": {"TRUST_REMOTE_CODE": "true"}},
            "endpoint": {"name": "r1", "region": "us-east-1", "instance_type": "ml.g5.2xlarge"},
        },
    }
    path = tmp_path / "r1.yaml"
    path.write_text(json.dumps(manifest))
    result = run_cli("check", path, *STATIC)
    assert result.code == 1
    assert ("R1-HUB-005", "fail", hub(GOOD, SHA)) in finding_set(result.json, "fail")


def test_shadow_variants_are_judged_by_every_variant_rule() -> None:
    model = model_request(TGI, {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA})
    shadow_model = {**model_request(TGI, {"HF_MODEL_ID": EVIL}), "ModelName": "shadow"}
    config = {
        "EndpointConfigName": "c",
        "ProductionVariants": [{"VariantName": "main", "ModelName": "m", "InstanceType": "ml.g5.2xlarge"}],
        "ShadowProductionVariants": [
            {"VariantName": "shadow", "ModelName": "shadow", "InstanceType": "ml.t3.medium"}
        ],
    }
    result = deployments_from_api(
        [model, shadow_model], [config], [{"EndpointName": "e", "EndpointConfigName": "c"}]
    )
    assert not result.problems
    by_name = {d.name: d for d in result.deployments}
    assert set(by_name) == {"e/main", "e/shadow"}
    assert by_name["e/shadow"].model.repo == EVIL
    assert by_name["e/shadow"].endpoint is not None
    assert by_name["e/shadow"].endpoint.instance_type == "ml.t3.medium"


def test_shadow_variant_fails_its_rules_in_a_request_file(tmp_path: Path) -> None:
    model = model_request(TGI, {"HF_MODEL_ID": GOOD, "HF_MODEL_REVISION": SHA})
    shadow = {**model_request(TGI, {"HF_MODEL_ID": EVIL}), "ModelName": "shadow"}
    config = {
        "EndpointConfigName": "c",
        "KmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "ProductionVariants": [{"VariantName": "main", "ModelName": "m", "InstanceType": "ml.g5.2xlarge"}],
        "ShadowProductionVariants": [
            {"VariantName": "shadow", "ModelName": "shadow", "InstanceType": "ml.t3.medium"}
        ],
    }
    for name, body in (("model", model), ("shadow", shadow), ("config", config)):
        (tmp_path / f"{name}.json").write_text(json.dumps(body))
    result = run_cli("check", tmp_path, *STATIC)
    assert result.code == 1
    found = finding_set(result.json, "fail")
    assert ("R1-EP-001", "fail", "arn:aws:sagemaker:unknown-region:endpoint-config/c") not in found  # sanity
    rules = {(r, s) for r, s, _ in found}
    assert ("R1-EP-001", "fail") in rules  # ml.t3.medium, the shadow's instance type
    assert ("R1-HUB-002", "fail") in rules  # evil-labs, the shadow's model


def test_cloudformation_shadow_variant_is_judged(tmp_path: Path) -> None:
    template = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Main:
    Type: AWS::SageMaker::Model
    Properties:
      ModelName: main
      ExecutionRoleArn: arn:aws:iam::111122223333:role/sm
      EnableNetworkIsolation: true
      VpcConfig: {{Subnets: [subnet-1], SecurityGroupIds: [sg-1]}}
      PrimaryContainer:
        Image: {TGI}
        Environment: {{HF_MODEL_ID: {GOOD}, HF_MODEL_REVISION: {SHA}}}
  Shadow:
    Type: AWS::SageMaker::Model
    Properties:
      ModelName: shadow
      ExecutionRoleArn: arn:aws:iam::111122223333:role/sm
      EnableNetworkIsolation: true
      VpcConfig: {{Subnets: [subnet-1], SecurityGroupIds: [sg-1]}}
      PrimaryContainer:
        Image: {TGI}
        Environment: {{HF_MODEL_ID: {GOOD}, HF_MODEL_REVISION: {SHA}, TRUST_REMOTE_CODE: "true"}}
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      EndpointConfigName: cfg
      KmsKeyId: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
      ProductionVariants:
        - {{VariantName: main, ModelName: !GetAtt Main.ModelName, InstanceType: ml.g5.2xlarge}}
      ShadowProductionVariants:
        - {{VariantName: shadow, ModelName: !GetAtt Shadow.ModelName, InstanceType: ml.t3.medium}}
"""
    path = tmp_path / "stack.yaml"
    path.write_text(template)
    result = run_cli("check", path, *STATIC)
    assert result.code == 1, result.stderr
    failed = {(f["rule_id"], f["subject"]["id"]) for f in result.json["findings"] if f["status"] == "fail"}
    assert ("R1-HUB-005", hub(GOOD, SHA)) in failed  # the shadow's TGI TRUST_REMOTE_CODE
    assert any(rule == "R1-EP-001" and "cfg" in subject for rule, subject in failed)  # the shadow's instance


def _add_shadow(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("name") == "r1-distill-llama-8b-hub" and "shadow_production_variants" in node:
            node["shadow_production_variants"] = [
                {
                    "variant_name": "shadow",
                    "model_name": "r1-distill-llama-8b-hub",
                    "instance_type": "ml.t3.medium",
                    "initial_instance_count": 1,
                    "serverless_config": [],
                }
            ]
        for value in node.values():
            _add_shadow(value)
    elif isinstance(node, list):
        for item in node:
            _add_shadow(item)


def test_terraform_shadow_variant_is_judged(tmp_path: Path) -> None:
    plan = json.loads((EXAMPLES / "terraform" / "r1-endpoints.plan.json").read_text())
    before = run_cli("check", EXAMPLES / "terraform" / "r1-endpoints.plan.json", *STATIC).json
    _add_shadow(plan)
    path = tmp_path / "shadow.plan.json"
    path.write_text(json.dumps(plan))
    result = run_cli("check", path, *STATIC)
    assert result.code == 1, result.stderr
    new = finding_set(result.json, "fail") - finding_set(before, "fail")
    # The shadow's instance type (ml.t3.medium) is not approved, and its EBS volume needs the KMS key the
    # config does not set (the primary's ml.g5 has instance storage, where SageMaker refuses one).
    endpoint = "sagemaker:us-east-1:endpoint/r1-distill-llama-8b-hub"
    assert new == {("R1-EP-001", "fail", endpoint), ("R1-EP-005", "fail", endpoint)}
    assert any("ml.t3.medium" in f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-EP-001")


def test_an_undecidable_value_points_at_the_variable(tmp_path: Path) -> None:
    request = model_request(LMI, {"OPTION_MODEL_ID": GOOD, "HF_MODEL_ID": EVIL})
    path = tmp_path / "create-model.json"
    path.write_text(json.dumps(request, indent=2))
    result = run_cli("check", path, *STATIC)
    assert result.code == 1
    (finding,) = [f for f in result.json["findings"] if f["rule_id"] == "R1-HUB-002"]
    assert finding["status"] == "error"
    assert (
        "OPTION_MODEL_ID='deepseek-ai/DeepSeek-R1', HF_MODEL_ID='evil-labs/DeepSeek-R1' disagree"
        in (finding["message"])
    )
    line = path.read_text().splitlines()[finding["location"]["line"] - 1]
    assert '"HF_MODEL_ID"' in line


def test_vllm_config_file_on_sagemaker_is_an_error(tmp_path: Path) -> None:
    env = {"SM_VLLM_MODEL": GOOD, "SM_VLLM_REVISION": SHA, "SM_VLLM_CONFIG": "/opt/ml/model/vllm.yaml"}
    code, found = check_request(tmp_path, model_request(VLLM, env))
    assert code == 1
    assert {("R1-HUB-001", "error", hub(GOOD, SHA)), ("R1-HUB-005", "error", hub(GOOD, SHA))} <= found
