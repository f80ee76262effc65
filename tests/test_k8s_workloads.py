"""Kubernetes read as the cluster runs it (issue 20 "Kubernetes", issue 13 root cause 2): every workload
kind that runs containers is judged, other kinds with containers are `error`, init containers and
Hub endpoint overrides count, serving images are judged by R1-EP-007, vLLM `--config` is read from
its ConfigMap."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import EXAMPLES, reading_findings, run_cli

STATIC = ("--config", EXAMPLES / "r1policy.yaml", "--static", "--format", "json")
SHA = "916b56a44061fd5cd7d6a8fb632557ed4f724f60"
GOOD = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
EVIL = "evil-labs/DeepSeek-R1-Distill-Qwen-7B"
PINNED_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/vllm:0.10.1-gpu-py312-cu128-ubuntu22.04-ec2"
SERVE_EVIL = f'{{name: server, image: "{PINNED_IMAGE}", command: [vllm, serve, {EVIL}]}}'


def hub(repo: str, revision: str | None = None) -> str:
    return f"hf://{repo}" + (f"@{revision}" if revision else "")


def evil_fails(*, pinned: bool = False) -> set[tuple[str, str, str]]:
    rules = {"R1-HUB-002", "R1-HUB-006"} | (set() if pinned else {"R1-HUB-001"})
    return {(r, "fail", hub(EVIL)) for r in rules}


def check(tmp_path: Path, text: str, name: str = "manifest.yaml") -> tuple[int, set[tuple[str, str, str]]]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    result = run_cli("check", tmp_path, *STATIC)
    assert result.code in (0, 1), result.stderr
    return result.code, reading_findings(result.json, "fail", "error")


KINDS = {
    "knative_service": f"""\
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {{name: llm}}
        spec: {{template: {{spec: {{containers: [{SERVE_EVIL}]}}}}}}
        """,
    "serving_runtime": f"""\
        apiVersion: serving.kserve.io/v1alpha1
        kind: ServingRuntime
        metadata: {{name: llm}}
        spec: {{supportedModelFormats: [{{name: huggingface}}], containers: [{SERVE_EVIL}]}}
        """,
    "cluster_serving_runtime": f"""\
        apiVersion: serving.kserve.io/v1alpha1
        kind: ClusterServingRuntime
        metadata: {{name: llm}}
        spec: {{containers: [{SERVE_EVIL}]}}
        """,
    "ray_cluster": f"""\
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata: {{name: llm}}
        spec:
          headGroupSpec: {{template: {{spec: {{containers: [{SERVE_EVIL}]}}}}}}
        """,
    "leader_worker_set": f"""\
        apiVersion: leaderworkerset.x-k8s.io/v1
        kind: LeaderWorkerSet
        metadata: {{name: llm}}
        spec:
          leaderWorkerTemplate:
            leaderTemplate: {{spec: {{containers: [{SERVE_EVIL}]}}}}
        """,
    "replication_controller": f"""\
        apiVersion: v1
        kind: ReplicationController
        metadata: {{name: llm}}
        spec: {{template: {{spec: {{containers: [{SERVE_EVIL}]}}}}}}
        """,
}


@pytest.mark.parametrize("text", KINDS.values(), ids=KINDS.keys())
def test_every_workload_kind_is_judged(tmp_path: Path, text: str) -> None:
    code, found = check(tmp_path, text)
    assert found == evil_fails()
    assert code == 1


RAY_APPS = {
    "ray_service": f"""\
        apiVersion: ray.io/v1
        kind: RayService
        metadata: {{name: llm}}
        spec:
          serveConfigV2: |
            applications:
              - import_path: ray.serve.llm:build_openai_app
                args: {{llm_configs: [{{model_loading_config: {{model_id: {EVIL}}}}}]}}
          rayClusterConfig:
            headGroupSpec: {{template: {{spec: {{containers: [{{name: head, image: "{PINNED_IMAGE}"}}]}}}}}}
        """,
    "ray_job": f"""\
        apiVersion: ray.io/v1
        kind: RayJob
        metadata: {{name: llm}}
        spec:
          entrypoint: python serve_app.py --model {EVIL}
          rayClusterSpec:
            headGroupSpec: {{template: {{spec: {{containers: [{{name: head, image: "{PINNED_IMAGE}"}}]}}}}}}
        """,
    "unknown_crd_with_pod_template": f"""\
        apiVersion: inference.example.com/v1
        kind: LLMServer
        metadata: {{name: llm}}
        spec: {{template: {{spec: {{containers: [{SERVE_EVIL}]}}}}}}
        """,
}


@pytest.mark.parametrize("text", RAY_APPS.values(), ids=RAY_APPS.keys())
def test_kinds_whose_model_cannot_be_read_are_errors(tmp_path: Path, text: str) -> None:
    code, found = check(tmp_path, text)
    assert code == 1
    subject = "(unknown model of llm)"
    errors = {(r, s) for r, s, subj in found if subj == subject and s == "error"}
    assert {("R1-HUB-001", "error"), ("R1-HUB-002", "error"), ("R1-HUB-005", "error")} <= errors


def deployment(container: str, extra_pod: str = "") -> str:
    return f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: llm}}
        spec:
          template:
            spec:
              {extra_pod}
              containers: [{container}]
        """


def test_issue_example_unpinned_public_image_fails_r1_ep_007(tmp_path: Path) -> None:
    code, found = check(
        tmp_path,
        deployment(
            f"{{name: s, image: vllm/vllm-openai:latest, args: [--model, {GOOD}, --revision, {SHA}]}}"
        ),
    )
    assert found == {("R1-EP-007", "fail", "llm"), ("R1-HUB-006", "fail", hub(GOOD, SHA))}
    assert code == 1


INIT = {
    # The issue's example: an init container downloads a look-alike, unpinned model into the volume.
    "init_downloads_lookalike": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, /models/r1]}}",
        f"initContainers: [{{name: fetch, image: {PINNED_IMAGE}, "
        f"command: [huggingface-cli, download, {EVIL}, --local-dir, /models/r1]}}]",
        evil_fails(),
    ),
    "init_downloads_in_a_shell_string": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, /models/r1/]}}",
        f"initContainers: [{{name: fetch, image: {PINNED_IMAGE}, command: [sh, -c], "
        f"args: ['pip install hf && hf download {EVIL} --revision main --local-dir=/models']}}]",
        {(r, "fail", hub(EVIL, "main")) for r in ("R1-HUB-001", "R1-HUB-002", "R1-HUB-006")},
    ),
    # An option r1policy does not know may take the next word: the repository cannot be told.
    "init_unknown_download_option": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, /models/r1]}}",
        f"initContainers: [{{name: fetch, image: {PINNED_IMAGE}, "
        f"command: [hf, download, --new-option, {GOOD}, {EVIL}, --local-dir, /models/r1]}}]",
        None,
    ),
    "init_downloads_a_dataset": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, /models/r1]}}",
        f"initContainers: [{{name: fetch, image: {PINNED_IMAGE}, "
        f"command: [hf, download, {GOOD}, --repo-type, dataset, --local-dir, /models/r1]}}]",
        None,
    ),
    "init_python_download_unknown": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, /models/r1]}}",
        f"initContainers: [{{name: fetch, image: {PINNED_IMAGE}, "
        "command: [python, -c, 'from huggingface_hub import snapshot_download as s; s(\"x/y\")']}]",
        None,
    ),
    "local_path_without_origin": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, /mnt/weights/r1]}}",
        "",
        None,
    ),
    "hf_endpoint_mirror": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, {GOOD}, --revision, {SHA}], "
        "env: [{name: HF_ENDPOINT, value: 'https://hf-mirror.example.com'}]}",
        "",
        {("R1-HUB-002", "fail", hub(GOOD, SHA)), ("R1-HUB-006", "fail", hub(GOOD, SHA))},
    ),
    "modelscope_switch": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, {GOOD}, --revision, {SHA}], "
        "env: [{name: VLLM_USE_MODELSCOPE, value: 'True'}]}",
        "",
        {("R1-HUB-002", "fail", hub(GOOD, SHA)), ("R1-HUB-006", "fail", hub(GOOD, SHA))},
    ),
    "hf_endpoint_from_a_config_map": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, {GOOD}, --revision, {SHA}], "
        "env: [{name: HF_ENDPOINT, valueFrom: {configMapKeyRef: {name: hub, key: url}}}]}",
        "",
        {("R1-HUB-002", "error", hub(GOOD, SHA)), ("R1-HUB-006", "fail", hub(GOOD, SHA))},
    ),
    "env_from_may_set_the_endpoint": (
        f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, {GOOD}, --revision, {SHA}], "
        "envFrom: [{configMapRef: {name: hub}}]}",
        "",
        {("R1-HUB-002", "error", hub(GOOD, SHA)), ("R1-HUB-006", "fail", hub(GOOD, SHA))},
    ),
    "tgi_launcher_ignores_hf_model_id": (
        "{name: s, image: 'ghcr.io/huggingface/text-generation-inference:3.0.1', "
        f"env: [{{name: HF_MODEL_ID, value: {GOOD}}}, {{name: HF_MODEL_REVISION, value: {SHA}}}, "
        f"{{name: MODEL_ID, value: {EVIL}}}]}}",
        "",
        evil_fails() | {("R1-EP-007", "fail", "llm")},
    ),
    "tgi_trust_from_a_secret": (
        "{name: s, image: 'ghcr.io/huggingface/text-generation-inference@sha256:0123', "
        f"args: [--model-id, {GOOD}, --revision, {SHA}], "
        "env: [{name: TRUST_REMOTE_CODE, valueFrom: {secretKeyRef: {name: s, key: t}}}]}",
        "",
        {
            ("R1-HUB-005", "error", hub(GOOD, SHA)),
            ("R1-HUB-006", "fail", hub(GOOD, SHA)),
            ("R1-EP-007", "fail", "llm"),
        },
    ),
}


@pytest.mark.parametrize(("container", "pod", "expected"), INIT.values(), ids=INIT.keys())
def test_what_the_pod_decides_is_read(
    tmp_path: Path, container: str, pod: str, expected: set[tuple[str, str, str]] | None
) -> None:
    code, found = check(tmp_path, deployment(container, pod))
    assert code == 1
    if expected is None:  # the model cannot be told: every source rule is `error`
        assert {(r, s) for r, s, _ in found} >= {
            ("R1-HUB-001", "error"),
            ("R1-HUB-002", "error"),
            ("R1-HUB-003", "error"),
        }
    else:
        assert found == expected


CONFIG_MAP = """\
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: vllm-config}}
    data:
      config.yaml: |
        {body}
    ---
    """
MOUNTED = (
    f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, {GOOD}, --revision, {SHA}, "
    "--config, /etc/vllm/config.yaml], volumeMounts: [{name: cfg, mountPath: /etc/vllm}]}"
)
VOLUME = "volumes: [{name: cfg, configMap: {name: vllm-config}}]"


@pytest.mark.parametrize(
    ("body", "container", "expected"),
    [
        (
            "trust-remote-code: true",
            MOUNTED,
            {(r, "fail", hub(GOOD, SHA)) for r in ("R1-HUB-005", "R1-HUB-006")},
        ),
        (
            "trust_remote_code: true",
            MOUNTED,
            {(r, "fail", hub(GOOD, SHA)) for r in ("R1-HUB-005", "R1-HUB-006")},
        ),
        (
            "tokenizer-revision: main",
            MOUNTED,
            {(r, "fail", hub(GOOD, "main")) for r in ("R1-HUB-001", "R1-HUB-006")},
        ),
        (
            f"model: {EVIL}",
            f"{{name: s, image: {PINNED_IMAGE}, command: [vllm, serve, --config, /etc/vllm/config.yaml], "
            "volumeMounts: [{name: cfg, mountPath: /etc/vllm}]}",
            evil_fails(),
        ),
    ],
    ids=["trust", "trust_underscore", "tokenizer_revision", "model_from_config"],
)
def test_vllm_config_file_is_read_from_its_config_map(
    tmp_path: Path, body: str, container: str, expected: set[tuple[str, str, str]]
) -> None:
    text = textwrap.dedent(CONFIG_MAP.format(body=body)) + textwrap.dedent(deployment(container, VOLUME))
    code, found = check(tmp_path, text)
    assert found == expected
    assert code == 1


def test_vllm_config_in_a_sibling_file_and_missing(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(textwrap.dedent(CONFIG_MAP.format(body="trust-remote-code: true")))
    code, found = check(tmp_path, deployment(MOUNTED, VOLUME), name="deploy.yaml")
    assert ("R1-HUB-005", "fail", hub(GOOD, SHA)) in found
    assert code == 1
    (tmp_path / "config.yaml").unlink()
    code, found = check(tmp_path, deployment(MOUNTED, VOLUME), name="deploy.yaml")
    assert {("R1-HUB-005", "error", hub(GOOD, SHA)), ("R1-HUB-001", "error", hub(GOOD, SHA))} <= found
    assert code == 1


def test_sglang_config_file_names_the_model(tmp_path: Path) -> None:
    container = (
        f"{{name: s, image: {PINNED_IMAGE}, command: [python3, -m, sglang.launch_server, --config, "
        "/etc/vllm/config.yaml], volumeMounts: [{name: cfg, mountPath: /etc/vllm}]}"
    )
    text = textwrap.dedent(CONFIG_MAP.format(body=f"model_path: {EVIL}")) + textwrap.dedent(
        deployment(container, VOLUME)
    )
    code, found = check(tmp_path, text)
    assert found == evil_fails()
    assert code == 1


DLC_TGI = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
LMI_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124"


@pytest.mark.parametrize(
    "container",
    [
        # The SageMaker TGI image's entrypoint reads HF_MODEL_ID (OPTION_* are not TGI's).
        f"{{name: s, image: '{DLC_TGI}', env: [{{name: HF_MODEL_ID, value: {EVIL}}}, "
        f"{{name: OPTION_MODEL_ID, value: {GOOD}}}, {{name: OPTION_REVISION, value: {SHA}}}]}}",
        # LMI reads OPTION_MODEL_ID; TGI's MODEL_ID is not LMI's.
        f"{{name: s, image: '{LMI_IMAGE}', env: [{{name: OPTION_MODEL_ID, value: {EVIL}}}, "
        f"{{name: MODEL_ID, value: {GOOD}}}, {{name: REVISION, value: {SHA}}}]}}",
        # A server r1policy cannot tell, whose variables name a model.
        f"{{name: s, image: '{PINNED_IMAGE.replace('vllm', 'acme-server')}', "
        f"env: [{{name: HF_MODEL_ID, value: {EVIL}}}]}}",
    ],
    ids=["sagemaker_tgi_image", "lmi_image", "unknown_image_with_model_variable"],
)
def test_containers_started_by_their_image_are_judged(tmp_path: Path, container: str) -> None:
    code, found = check(tmp_path, deployment(container))
    assert found == evil_fails()
    assert code == 1
