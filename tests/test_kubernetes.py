"""Kubernetes serving manifests: vLLM / TGI workloads and KServe InferenceServices."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import EXAMPLES, IMAGE_VULNERABILITY_RULES, reading_findings, run_cli
from r1policy.core.errors import InputError
from r1policy.core.model import FIELD_REVISION, FIELD_TRUST_REMOTE_CODE, Deployment, SourceKind
from r1policy.sources.discover import load_file

EXAMPLE = EXAMPLES / "kubernetes"
STATIC = ("--config", EXAMPLES / "r1policy.yaml", "--static", "--format", "json")
SHA = "916b56a44061fd5cd7d6a8fb632557ed4f724f60"
QWEN7 = "hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-7B@main"
QWEN14 = "hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-14B@1df8507178afcc1bef68cd8c393f61a886323761"
LOOKALIKE = "hf://deepseek-al/DeepSeek-R1-Distill-Llama-8B"


def test_examples_have_exact_findings() -> None:
    result = run_cli("check", EXAMPLE, *STATIC)
    assert result.code == 1
    data = result.json
    assert reading_findings(data, "fail", "error", "waived") == {
        # vLLM: the tokenizer follows a branch, and remote code is on for a stock architecture
        ("R1-HUB-001", "fail", QWEN7),
        ("R1-HUB-005", "fail", QWEN7),
        ("R1-HUB-006", "fail", QWEN7),
        # TGI: a look-alike publisher in MODEL_ID, no revision
        ("R1-HUB-001", "fail", LOOKALIKE),
        ("R1-HUB-002", "fail", LOOKALIKE),
        ("R1-HUB-003", "fail", LOOKALIKE),
        ("R1-HUB-006", "fail", LOOKALIKE),
        # KServe from the Hub, pinned: only the runtime download warns
        ("R1-HUB-006", "fail", QWEN14),
        # Serving images are judged on Kubernetes too: public registries; KServe's come from a runtime
        ("R1-EP-007", "fail", "llm/r1-distill-qwen-7b"),
        ("R1-EP-007", "fail", "llm/r1-distill-llama-8b"),
        ("R1-EP-007", "error", "llm/r1-distill-qwen-14b"),
        ("R1-EP-007", "error", "llm/r1-distill-llama-8b-s3"),
    }
    lines = {
        (f["rule_id"], f["subject"]["id"]): (Path(f["location"]["path"]).name, f["location"]["line"])
        for f in data["findings"]
        if f["status"] == "fail"
    }
    # inside the multi-line shell string: the line of `--tokenizer-revision main`, `--trust-remote-code`
    assert lines[("R1-HUB-001", QWEN7)] == ("vllm-r1-distill-qwen-7b.yaml", 33)
    assert lines[("R1-HUB-005", QWEN7)] == ("vllm-r1-distill-qwen-7b.yaml", 34)
    assert lines[("R1-HUB-002", LOOKALIKE)] == ("tgi-r1-distill-llama-8b.yaml", 23)  # MODEL_ID's value
    assert lines[("R1-HUB-006", QWEN14)] == ("kserve-r1-distill.yaml", 12)  # storageUri
    endpoint_rules = {
        f["message"]
        for f in data["findings"]
        if f["rule_id"].startswith("R1-EP-")
        and f["rule_id"] not in ("R1-EP-007", *IMAGE_VULNERABILITY_RULES)  # judged from the image
        and f["subject"]["id"] == "llm/r1-distill-qwen-7b"
    }
    assert endpoint_rules == {
        "does not apply: a SageMaker endpoint rule, and this deployment runs on kubernetes"
    }
    # The ConfigMap and the Service in the same files are not deployments.
    deployments = {f["subject"]["id"] for f in data["findings"] if f["subject"]["type"] == "deployment"}
    assert deployments == {
        "llm/r1-distill-qwen-7b",
        "llm/r1-distill-llama-8b",
        "llm/r1-distill-qwen-14b",
        "llm/r1-distill-llama-8b-s3",
    }


def load(tmp_path: Path, text: str) -> list[Deployment]:
    path = tmp_path / "manifest.yaml"
    path.write_text(textwrap.dedent(text))
    loaded = load_file(path, explicit=True)
    assert loaded is not None
    return list(loaded)


def workload(container: str, kind: str = "Deployment") -> str:
    body = textwrap.indent(textwrap.dedent(container).strip(), " " * 10)
    return f"""\
apiVersion: apps/v1
kind: {kind}
metadata: {{name: llm}}
spec:
  template:
    spec:
      containers:
        - name: server
{body}
"""


def test_vllm_positional_model_and_flags_in_a_list(tmp_path: Path) -> None:
    [dep] = load(
        tmp_path,
        workload(f"""
            image: vllm/vllm-openai:v0.6.4
            command: [vllm, serve, deepseek-ai/DeepSeek-R1]
            args: ["--revision={SHA}", --trust-remote-code, --tensor-parallel-size, "8"]
        """),
    )
    assert (dep.model.kind, dep.model.repo, dep.model.revision) == (
        SourceKind.HUB,
        "deepseek-ai/DeepSeek-R1",
        SHA,
    )
    assert dep.model.trust_remote_code is True
    assert dep.platform == "kubernetes" and dep.endpoint is None
    assert dep.locations[FIELD_TRUST_REMOTE_CODE].line == 11


def test_vllm_image_entrypoint_with_model_flag_and_env_substitution(tmp_path: Path) -> None:
    [dep] = load(
        tmp_path,
        workload("""
            image: docker.io/vllm/vllm-openai@sha256:0123
            args: ["--model", "$(MODEL)", "--code-revision", "v1.0"]
            env:
              - {name: MODEL, value: deepseek-ai/DeepSeek-R1}
        """),
    )
    # no --revision: the weights are unpinned; the code revision is a tag: reported as the revision
    assert (dep.model.repo, dep.model.revision) == ("deepseek-ai/DeepSeek-R1", "v1.0")
    assert dep.locations[FIELD_REVISION].line == 10


def test_shell_string_with_several_commands(tmp_path: Path) -> None:
    [dep] = load(
        tmp_path,
        workload("""
            image: python:3.11
            command: [bash, -c]
            args:
              - >-
                pip install vllm==0.6.4 && exec python3 -m vllm.entrypoints.openai.api_server
                --model s3://acme-llm-weights/r1/ --load-format runai_streamer; sleep 1
        """),
    )
    assert (dep.model.kind, dep.model.s3_uri) == (SourceKind.S3, "s3://acme-llm-weights/r1/")


def test_tgi_flag_wins_and_revision_from_env(tmp_path: Path) -> None:
    [dep] = load(
        tmp_path,
        workload(
            f"""
            image: ghcr.io/huggingface/text-generation-inference:3.0.1
            args: [--model-id, deepseek-ai/DeepSeek-R1-Distill-Llama-8B]
            env:
              - {{name: MODEL_ID, value: someone/else}}
              - {{name: REVISION, value: "{SHA}"}}
        """,
            kind="StatefulSet",
        ),
    )
    assert (dep.model.repo, dep.model.revision) == ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", SHA)


def test_kserve_huggingfaceserver_args_without_storage_uri(tmp_path: Path) -> None:
    [dep] = load(
        tmp_path,
        """\
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: r1, namespace: ml}
        spec:
          predictor:
            model:
              modelFormat: {name: huggingface}
              args:
                - --model_name=r1
                - --model_id=deepseek-ai/DeepSeek-R1
                - --model_revision=main
                - --trust_remote_code
        """,
    )
    assert dep.name == "ml/r1"
    assert (dep.model.repo, dep.model.revision, dep.model.trust_remote_code) == (
        "deepseek-ai/DeepSeek-R1",
        "main",
        True,
    )


def test_unrelated_kinds_are_ignored_not_errors(tmp_path: Path) -> None:
    assert (
        load(
            tmp_path,
            """\
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cfg}
            data: {a: b}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: nginx}
            spec: {template: {spec: {containers: [{name: web, image: "nginx:1.27"}]}}}
            """,
        )
        == []
    )
    (tmp_path / "only-service.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")
    result = run_cli("check", tmp_path / "only-service.yaml", *STATIC)
    assert result.code == 0
    assert result.json["findings"] == []


@pytest.mark.parametrize(
    ("container", "message", "line"),
    [
        (
            'image: vllm/vllm-openai:v0.6.4\nargs: ["--model", "$(MODEL)"]\n'
            "env: [{name: MODEL, valueFrom: {configMapKeyRef: {name: c, key: m}}}]",
            "refers to MODEL, which has no literal value",
            10,
        ),
        (
            "image: vllm/vllm-openai:v0.6.4\ncommand: [sh, -c]\nargs: ['vllm serve \"unbalanced']",
            "cannot split",
            11,
        ),
        ("image: ghcr.io/huggingface/text-generation-inference:3.0.1", "names no model", 8),
    ],
    ids=["model_from_configmap", "unbalanced_quote", "tgi_without_model"],
)
def test_bad_serving_manifests_exit_2_with_file_and_line(
    tmp_path: Path, container: str, message: str, line: int
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(workload(container))
    with pytest.raises(InputError) as caught:
        load_file(path, explicit=True)
    assert message in caught.value.message
    assert caught.value.position.line == line
    result = run_cli("check", path, *STATIC)
    assert result.code == 2
    assert f"{path}:{line}:" in result.stderr


def test_unknown_switches_do_not_swallow_the_next_flag() -> None:
    from r1policy.sources.servercli import detect, parse, tokenize

    tokens = tokenize([("vllm serve deepseek-ai/DeepSeek-R1 --enable-prefix-caching --revision main", None)])
    found = detect(tokens, None)
    assert found is not None
    args = parse(tokens, *found)
    assert args.model is not None and args.model.value == "deepseek-ai/DeepSeek-R1"
    assert {flag: s.value for flag, s in args.revisions.items()} == {"--revision": "main"}
