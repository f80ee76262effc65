"""`r1policy bom` and `check --format cyclonedx`: CycloneDX 1.6 JSON of a locked model, validated with
cyclonedx-python-lib's validator against the official schema, against the Hub emulator."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from tests.support.hubserver import HubServer, Lfs, RepoFixture, hub_server

from conftest import run_cli, write_case

LLAMA8 = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
SHA = "6a6f4aa4197940add57724a7707d069478df56b1"
FILES: dict[str, bytes] = {
    "config.json": b'{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}',
    "model-00001-of-000002.safetensors": b"weights-a",
    "model-00002-of-000002.safetensors": b"weights-b",
}
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference@{DIGEST}"


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    files: dict[str, bytes | Lfs] = {
        k: (Lfs(content=v) if k.endswith(".safetensors") else v) for k, v in FILES.items()
    }
    fixture = RepoFixture(
        LLAMA8, files=files, sha=SHA, card={"license": "mit"}, safetensors={"BF16": 8030261248}
    )
    with hub_server([fixture]) as server:
        yield server


@pytest.fixture
def online(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    hub.reset_counts()
    return hub


def _case(tmp_path: Path, files: dict[str, bytes] = FILES) -> dict[str, Path]:
    manifest = {
        "spec": {"model": {"hub": {"repo": LLAMA8, "revision": SHA}}, "container": {"image": IMAGE}},
    }
    paths = write_case(tmp_path, manifest=manifest, hub=True, config={"licences": {"allowed": ["MIT"]}})
    lock = {
        "schema_version": 1,
        "kind": "r1policy-lock",
        "sources": {
            f"hf://{LLAMA8}": {
                "revision": SHA,
                "repo_id": "678e2a5b01ac2c3c1bd3a4b8",
                "files": {
                    k: {"size": len(v), "sha256": hashlib.sha256(v).hexdigest(), "version_id": None}
                    for k, v in files.items()
                },
            }
        },
    }
    paths["lock"] = tmp_path / "r1policy.lock"
    paths["lock"].write_text(json.dumps(lock))
    return paths


def _model(bom: dict[str, Any]) -> dict[str, Any]:
    models = [c for c in bom["components"] if c["type"] == "machine-learning-model"]
    assert len(models) == 1
    return models[0]


def _props(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def test_bom_of_a_locked_llama_distill(tmp_path: Path, online: HubServer) -> None:
    paths = _case(tmp_path)
    out = tmp_path / "bom.cdx.json"
    result = run_cli(
        "bom", paths["manifest"], "--config", paths["config"], "--lock", paths["lock"], "--output", out
    )
    assert result.code == 0, result.stderr
    text = out.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    model = _model(bom)
    assert model["purl"] == f"pkg:huggingface/deepseek-ai/DeepSeek-R1-Distill-Llama-8B@{SHA}"
    assert model["version"] == SHA
    ancestors = model["pedigree"]["ancestors"]
    assert [(a["name"], a["licenses"]) for a in ancestors] == [
        ("meta-llama/Llama-3.1-8B", [{"license": {"name": "llama3.1"}}])
    ]
    assert {"license": {"id": "MIT"}} in model["licenses"]
    files = {c["name"]: c["hashes"] for c in model["components"]}
    assert files == {
        k: [{"alg": "SHA-256", "content": hashlib.sha256(v).hexdigest()}] for k, v in FILES.items()
    }
    assert all(c["type"] == "file" for c in model["components"])
    props = _props(model)
    # llama3.1 is not allowed: R1-LIC-001 blocks, and the BOM says so
    assert props["r1policy:gate-decision"] == "block"
    assert "R1-LIC-001 fail" in props["r1policy:findings"]
    assert props["r1policy:architecture"] == "LlamaForCausalLM"
    assert props["r1policy:parameters"] == "8030000000"
    containers = [c for c in bom["components"] if c["type"] == "container"]
    assert [c["hashes"] for c in containers] == [[{"alg": "SHA-256", "content": "ab" * 32}]]
    assert {"name": "r1policy:decision", "value": "block"} in bom["metadata"]["properties"]
    assert model["externalReferences"][0]["url"] == f"https://huggingface.co/{LLAMA8}/tree/{SHA}"


def test_check_format_cyclonedx_beside_json(tmp_path: Path, online: HubServer) -> None:
    paths = _case(tmp_path)
    out = tmp_path / "bom.json"
    result = run_cli(
        "check", paths["manifest"], "--config", paths["config"], "--lock", paths["lock"],
        "--format", "json", "--format", "cyclonedx", "--output", tmp_path / "report.json", "--output", out,
    )  # fmt: skip
    assert result.code == 1  # R1-LIC-001 blocks
    bom = json.loads(out.read_text())
    assert _props(_model(bom))["r1policy:gate-decision"] == "block"
    assert json.loads((tmp_path / "report.json").read_text())["decision"] == "block"


def test_bom_of_163_locked_files_lists_every_file(tmp_path: Path, online: HubServer) -> None:
    many = {f"model-{i:05d}-of-00163.safetensors": f"w{i}".encode() for i in range(163)}
    paths = _case(tmp_path, many)
    from r1policy.core.model import Deployment, ModelSource, SourceKind
    from r1policy.engine.bom import BomModel
    from r1policy.formats.bom import render_bom
    from r1policy.project.lockfile import load_lock

    lock = load_lock(paths["lock"])
    dep = Deployment("d", ModelSource(SourceKind.HUB, LLAMA8, SHA), IMAGE, None)
    entry = BomModel(dep, f"hf://{LLAMA8}", lock.get(f"hf://{LLAMA8}"), None, None, SHA, LLAMA8)
    # (its speed is a benchmark, docs/licences-and-bom.md; tests never time anything)
    text = render_bom([entry], "allow", "test")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert len(_model(json.loads(text))["components"]) == 163


def test_cyclonedx_is_refused_for_scan(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    result = run_cli("scan", tmp_path / "config.json", "--format", "cyclonedx")
    assert result.code == 2
    assert "--format cyclonedx is written by `check` and `bom`" in result.stderr


def test_bom_of_an_s3_copy_names_its_hub_origin(tmp_path: Path, online: HubServer) -> None:
    key = "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"
    paths = write_case(tmp_path, config={"licences": {"allowed": ["MIT", "llama3.1"]}})
    lock = {
        "schema_version": 1,
        "kind": "r1policy-lock",
        "sources": {
            key: {
                "revision": None,
                "repo_id": None,
                "files": {"config.json": {"size": 2, "sha256": "c" * 64, "version_id": "v1"}},
                "origin": {"repo": LLAMA8, "commit": SHA},
            }
        },
    }
    (tmp_path / "r1policy.lock").write_text(json.dumps(lock))
    result = run_cli("bom", paths["manifest"], "--config", paths["config"], "--state", paths["state"])
    assert result.code == 0, result.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout) is None
    model = _model(json.loads(result.stdout))
    assert model["purl"] == f"pkg:huggingface/deepseek-ai/DeepSeek-R1-Distill-Llama-8B@{SHA}"
    assert _props(model)["r1policy:source"] == key
    assert _props(model)["r1policy:gate-decision"] == "allow"
    assert [c["hashes"][0]["content"] for c in model["components"]] == ["c" * 64]
    assert model["pedigree"]["ancestors"][0]["name"] == "meta-llama/Llama-3.1-8B"


def test_bom_of_a_model_whose_lineage_is_unknown_says_so(tmp_path: Path) -> None:
    paths = write_case(tmp_path)
    result = run_cli("bom", paths["manifest"], "--config", paths["config"], "--static")
    assert result.code == 0, result.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout) is None
    model = _model(json.loads(result.stdout))
    assert "licenses" not in model and "pedigree" not in model
    assert _props(model)["r1policy:licence-problem"].startswith("the lineage of s3://")
