"""Messages say what is true for the input at hand (issue 20).

Every finding on a deployment, model or endpoint is evaluated (with a Hub that serves remote code, and
under --static) for a Hub model without a revision, with trust_remote_code on, read from each input kind:
native manifest, SageMaker API JSON, API JSON whose model.tar.gz holds serving.properties,
CloudFormation, Terraform plan, Kubernetes. Its message, remediation summary and steps may hold no trace
of an empty placeholder (` at is`, "``", `@ `, "()") and no field name of another input format.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import EXAMPLES
from r1policy.core.findings import Finding
from r1policy.core.model import Deployment, ModelSource, SourceKind
from r1policy.engine.deployfacts import deployment_facts
from r1policy.engine.evaluate import Evaluator
from r1policy.engine.hubfacts import HubContext
from r1policy.hub.static import StaticHub
from r1policy.project.config import Config
from r1policy.rules.registry import load_registry
from r1policy.sources.discover import discover


def _serving_properties_request(tmp_path: Path) -> Path:
    folder = tmp_path / "lmi"
    shutil.copytree(EXAMPLES / "sagemaker-api", folder)
    model = json.loads((folder / "create-model.json").read_text())
    model["PrimaryContainer"]["Environment"] = {}
    model["PrimaryContainer"]["ModelDataUrl"] = "model.tar.gz"
    (folder / "create-model.json").write_text(json.dumps(model))
    data = b"engine=Python\noption.model_id=deepseek-ai/DeepSeek-R1\noption.trust_remote_code=true\n"
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("serving.properties")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return folder


def _inputs(tmp_path: Path) -> dict[str, Path]:
    return {
        "native": EXAMPLES / "hub" / "distill-llama-8b-hub.yaml",
        "sagemaker-api": EXAMPLES / "sagemaker-api",
        "serving.properties": _serving_properties_request(tmp_path),
        "cloudformation": EXAMPLES / "cloudformation" / "r1-distill-stack.yaml",
        "terraform-plan": EXAMPLES / "terraform" / "r1-endpoints.plan.json",
        "kubernetes": EXAMPLES / "kubernetes" / "tgi-r1-distill-llama-8b.yaml",
    }


KINDS = ["native", "sagemaker-api", "serving.properties", "cloudformation", "terraform-plan", "kubernetes"]
# Field names that belong to one input format only.
NATIVE_FIELDS = re.compile(r"\bspec\.(?:model|endpoint|container)\b")
SAGEMAKER_ONLY = re.compile(r"\bEndpoint\b|EnableNetworkIsolation|network isolation|SageMaker model")
# What an empty name leaves behind in a rendered sentence.
EMPTY = re.compile(
    r"\bat (?:is|ships|was|but)\b|``|@(?=[\s.,;:)`\"']|$)|\(\s*\)|\"\""
    r"|\bcommit [.,;:]|\bbucket (?:is|,)|--revision\s+\\"
)
SHA = "3" * 40
HUB = {
    "repos": {
        "deepseek-ai/DeepSeek-R1": {
            "sha": SHA,
            "_id": "678e2a5b01ac2c3c1bd3a4b9",
            "author": "deepseek-ai",
            "gated": "false",
            "disabled": False,
            "scans_done": True,
            "flagged": [],
            "files": [
                {"path": "config.json", "size": 100},
                {"path": "modeling_deepseek.py", "size": 100},
            ],
            "contents": {
                "config.json": json.dumps(
                    {"auto_map": {"AutoModelForCausalLM": "modeling_deepseek.DeepseekV3ForCausalLM"}}
                )
            },
        }
    },
    "orgs": {"deepseek-ai": True},
}


def _deployments(kind: str, tmp_path: Path) -> list[Deployment]:
    found = discover([_inputs(tmp_path)[kind]]).deployments
    assert found, kind
    model = ModelSource(SourceKind.HUB, repo="deepseek-ai/DeepSeek-R1", revision=None, trust_remote_code=True)
    return [replace(dep, model=model, unknown={}) for dep in found]


def _texts(finding: Finding) -> dict[str, str]:
    texts = {"message": finding.message}
    if finding.remediation is not None:
        texts["summary"] = finding.remediation.summary
        texts |= {f"step {i}": step for i, step in enumerate(finding.remediation.steps)}
    return texts


@pytest.mark.parametrize("static", [False, True], ids=["hub", "static"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_finding_is_worded_for_its_input_kind(kind: str, static: bool, tmp_path: Path) -> None:
    deployments = _deployments(kind, tmp_path)
    expected_kind = {"native": "r1policy/v1", "serving.properties": "sagemaker-api"}.get(kind, kind)
    assert {d.input_kind for d in deployments} == {expected_kind}
    hub = HubContext(source=None if static else StaticHub(HUB))
    evaluator = Evaluator(load_registry(), Config(), state=None, static=static, hub=hub)
    findings = evaluator.evaluate(deployments).findings
    assert any(f.rule_id == "R1-HUB-005" and f.status.value != "skipped" for f in findings) or static
    problems = []
    for finding in findings:
        if finding.subject.type.value not in ("deployment", "model", "endpoint"):
            continue
        for what, text in _texts(finding).items():
            where = f"{finding.rule_id} {finding.status.value} {what}"
            if EMPTY.search(text):
                problems.append(f"{where}: empty placeholder: {text}")
            if kind != "native" and NATIVE_FIELDS.search(text):
                problems.append(f"{where}: native-manifest field in a {kind} input: {text}")
            if kind == "kubernetes" and what == "message" and SAGEMAKER_ONLY.search(text):
                problems.append(f"{where}: SageMaker wording for a Kubernetes workload: {text}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", ["sagemaker-api", "cloudformation", "terraform-plan"])
def test_capacity_error_never_asks_for_a_native_field(kind: str, tmp_path: Path) -> None:
    dep = _deployments(kind, tmp_path)[0]
    model = ModelSource(SourceKind.HUB, repo="acme/unknown-model", revision="a" * 40)
    facts = deployment_facts(replace(dep, model=model), Config(), None)
    why = facts.unavailable.get("model.parameters", "")
    assert why and "spec.model" not in why, why
