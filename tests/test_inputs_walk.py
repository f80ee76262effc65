"""Nothing skipped in silence (issue 20): folder walks decide by content, skip only dependency and
version-control folders, name what they skip, and report deployment files no reader understands.

Every case here passed with exit 0 (or aborted with exit 2) before the walk was rewritten.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES, Result, finding_set, run_cli

VIOLATING = EXAMPLES / "block" / "many-problems.yaml"  # blocks under --static (R1-EP-001, R1-HUB-003, ...)
CFN = EXAMPLES / "cloudformation" / "r1-distill-stack.yaml"
K8S = EXAMPLES / "kubernetes" / "tgi-r1-distill-llama-8b.yaml"


def check(tmp_path: Path, *args: str) -> Result:
    return run_cli("check", "--static", *args, "--format", "json", cwd=tmp_path)


def _place(tmp_path: Path, rel: str, source: Path | str) -> Path:
    target = tmp_path / "repo" / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):
        shutil.copyfile(source, target)
    else:
        target.write_text(source, encoding="utf-8")
    return target


def _judged(result: Result) -> set[str]:
    """The files whose deployments were judged (finding locations)."""
    return {f["location"]["path"] for f in result.json["findings"] if f.get("location")}


@pytest.mark.parametrize(
    "rel",
    [
        ".sagemaker/deploy.yaml",  # the example: a dot-folder
        "reports/deploy.yaml",
        "venv/deploy.yaml",  # a folder named venv that is not a virtual environment
        "deploy/Deployment",  # no extension at all
        "deploy/model.yaml.txt",  # a manifest whose name says text: its content decides
        ".github/deploy/r1.yml",
    ],
)
def test_a_violating_manifest_is_judged_wherever_it_sits(tmp_path: Path, rel: str) -> None:
    path = _place(tmp_path, rel, VIOLATING)
    result = check(tmp_path, "repo")
    assert result.code == 1, result.stdout
    assert f"repo/{rel}" in _judged(result) or str(path.relative_to(tmp_path)) in _judged(result)
    assert (
        "R1-EP-001",
        "fail",
        "arn:aws:sagemaker:us-east-1:111122223333:endpoint/r1-quick-test",
    ) in finding_set(result.json)


@pytest.mark.parametrize("name", ["stack.template", "stack.cfn", "template"])
def test_a_cloudformation_template_is_read_whatever_its_name(tmp_path: Path, name: str) -> None:
    _place(tmp_path, f"infra/{name}", CFN)
    result = check(tmp_path, "repo")
    assert result.code == 1, result.stdout
    assert {f"repo/infra/{name}"} <= _judged(result)


@pytest.mark.parametrize(
    ("rel", "text", "what"),
    [
        ("infra/endpoint.hcl", 'resource "aws_sagemaker_endpoint" "r1" {\n}\n', "Terraform"),
        ("model/serving.properties", "engine=Python\noption.model_id=deepseek-ai/DeepSeek-R1\n", "serving"),
        (
            "infra/other.template",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  X: {Type: 'AWS::SageMaker::Model', "
            "Properties: !!python/object:os.system {a: 1}}\n",
            "CloudFormation",
        ),
    ],
)
def test_a_deployment_file_no_reader_understands_is_an_error_naming_it(
    tmp_path: Path, rel: str, text: str, what: str
) -> None:
    _place(tmp_path, rel, text)
    result = check(tmp_path, "repo")
    assert result.code == 1, (result.stdout, result.stderr)
    errors = [f for f in result.json["findings"] if f["rule_id"] == "R1-INPUT-001"]
    assert [(f["status"], f["subject"]["id"]) for f in errors] == [("error", f"repo/{rel}")]
    assert what in errors[0]["message"]
    assert not any(n["kind"] == "nothing-to-check" for n in result.json["notices"])


def test_a_named_deployment_file_no_reader_understands_is_an_error_too(tmp_path: Path) -> None:
    path = _place(tmp_path, "terragrunt.hcl", 'resource "aws_sagemaker_endpoint" "r1" {\n}\n')
    result = check(tmp_path, str(path.relative_to(tmp_path)))
    assert result.code == 1, (result.stdout, result.stderr)
    assert finding_set(result.json) == {("R1-INPUT-001", "error", "repo/terragrunt.hcl")}


@pytest.mark.parametrize(
    ("rel", "text", "what"),
    [
        ("infra/main.tf", 'resource "aws_sagemaker_model" "r1" {\n  name = "r1"\n}\n', "Terraform"),
        (
            "deploy.py",
            "from sagemaker.huggingface import HuggingFaceModel\nHuggingFaceModel(env={}).deploy()\n",
            "SageMaker Python SDK",
        ),
        (
            "scripts/create.py",
            "import boto3\nboto3.client('sagemaker').create_model(ModelName='m')\n",
            "boto3",
        ),
        (
            "notebooks/deploy.ipynb",
            json.dumps(
                {
                    "nbformat": 4,
                    "nbformat_minor": 5,
                    "metadata": {},
                    "cells": [{"cell_type": "code", "source": ["import sagemaker\n"], "metadata": {}}],
                }
            ),
            "Jupyter",
        ),
    ],
)
def test_formats_with_a_reader_are_read_by_it_never_reported_unreadable(
    tmp_path: Path, rel: str, text: str, what: str
) -> None:
    """Terraform source, SDK code and notebooks have readers (sources/terraform/source, sources/sdk): these
    incomplete files are judged or refused as bad input naming the file, never R1-INPUT-001."""
    _place(tmp_path, rel, text)
    result = check(tmp_path, "repo")
    assert result.code in (1, 2), (what, result.stdout, result.stderr)
    if result.code == 2:
        assert f"repo/{rel}" in result.stderr, result.stderr
    else:
        assert not [f for f in result.json["findings"] if f["rule_id"] == "R1-INPUT-001"]
        assert not any(n["kind"] == "nothing-to-check" for n in result.json["notices"])


@pytest.mark.parametrize(
    ("folder", "reason"),
    [
        (".git", "version-control folder"),
        ("node_modules", "dependency or cache folder"),
        ("__pycache__", "dependency or cache folder"),
        (".venv", "Python virtual environment (pyvenv.cfg)"),
        ("env-3.11", "Python virtual environment (pyvenv.cfg)"),
    ],
)
def test_dependency_and_vcs_folders_are_skipped_and_named(tmp_path: Path, folder: str, reason: str) -> None:
    _place(tmp_path, f"{folder}/deploy.yaml", VIOLATING)
    if "venv" in folder or folder.startswith("env"):
        _place(tmp_path, f"{folder}/pyvenv.cfg", "home = /usr/bin\n")
    _place(tmp_path, "ok/deploy.yaml", K8S)
    result = check(tmp_path, "repo")
    assert {"path": f"repo/{folder}/", "reason": reason} in result.json["skipped"]
    assert not any(p.startswith(f"repo/{folder}") for p in _judged(result))


def test_include_reads_a_skipped_folder_and_exclude_skips_a_read_one(tmp_path: Path) -> None:
    _place(tmp_path, "node_modules/pkg/deploy.yaml", VIOLATING)
    _place(tmp_path, "drafts/deploy.yaml", VIOLATING.read_text().replace("r1-quick-test", "draft"))
    included = check(tmp_path, "repo", "--include", "node_modules/pkg/*.yaml", "--exclude", "drafts")
    assert included.code == 1
    assert _judged(included) == {"repo/node_modules/pkg/deploy.yaml"}
    assert {"path": "repo/drafts/", "reason": "excluded by --exclude drafts"} in included.json["skipped"]
    excluded = check(tmp_path, "repo", "--exclude", "*.yaml")
    assert excluded.code == 0
    assert {"path": "repo/drafts/deploy.yaml", "reason": "excluded by --exclude *.yaml"} in excluded.json[
        "skipped"
    ]


def test_binary_and_non_deployment_files_are_listed_as_skipped(tmp_path: Path) -> None:
    _place(tmp_path, "weights/model.bin", "")
    (tmp_path / "repo" / "weights" / "model.bin").write_bytes(b"\x00\x01\x02PK")
    _place(tmp_path, "README.md", "# Deploying DeepSeek-R1 on SageMaker\n\nRun `make deploy`.\n")
    _place(tmp_path, "package.json", '{"name": "x", "version": "1.0.0"}')
    result = check(tmp_path, "repo")
    assert result.code == 0, result.stdout
    reasons = {s["path"]: s["reason"] for s in result.json["skipped"]}
    assert reasons["repo/weights/model.bin"].startswith("binary file")
    assert reasons["repo/README.md"].startswith("not a deployment")
    assert reasons["repo/package.json"].startswith("not a deployment")


def test_the_table_output_names_what_was_not_read(tmp_path: Path) -> None:
    _place(tmp_path, "node_modules/x.yaml", VIOLATING)
    _place(tmp_path, "k8s/app.yaml", K8S)
    result = run_cli("check", "--static", "repo", cwd=tmp_path)
    assert "not read: repo/node_modules/ (dependency or cache folder)" in " ".join(result.stdout.split())


def test_the_same_kubernetes_name_in_two_overlays_is_two_subjects(tmp_path: Path) -> None:
    """Alternative layouts (kustomize overlays, per-size variants): qualified by path, not exit 2."""
    _place(tmp_path, "overlays/prod/app.yaml", K8S)
    _place(tmp_path, "overlays/dev/app.yaml", K8S)
    result = check(tmp_path, "repo")
    assert result.code in (0, 1), result.stderr
    subjects = {f["subject"]["id"] for f in result.json["findings"] if f["subject"]["type"] == "deployment"}
    subjects |= {f.get("deployment", "") for f in result.json["findings"]}
    assert any(s.startswith("repo/overlays/prod/app.yaml#") for s in subjects), subjects
    assert any(s.startswith("repo/overlays/dev/app.yaml#") for s in subjects), subjects


@pytest.mark.parametrize(
    "variant",
    ["overlays/a/app.yaml|overlays/b/app.yaml", "small/app.yaml|large/app.yml", "app.yaml|copy/app.yaml"],
)
def test_the_same_name_across_files_never_aborts_the_folder(tmp_path: Path, variant: str) -> None:
    for rel in variant.split("|"):
        _place(tmp_path, rel, K8S)
    result = check(tmp_path, "repo")
    assert result.code in (0, 1), result.stderr
    assert len({f.get("deployment") for f in result.json["findings"] if f.get("deployment")}) >= 2


def test_the_same_name_twice_in_one_file_stays_bad_input(tmp_path: Path) -> None:
    text = K8S.read_text()
    _place(tmp_path, "app.yaml", text + "\n---\n" + text)
    result = run_cli("check", "--static", "repo", cwd=tmp_path)
    assert result.code == 2, result.stdout
    assert "repo/app.yaml" in result.stderr and "Traceback" not in result.stderr


def test_a_folder_and_a_file_in_it_are_read_once(tmp_path: Path) -> None:
    path = _place(tmp_path, "k8s/app.yaml", K8S)
    result = check(tmp_path, "repo", str(path.relative_to(tmp_path)))
    assert result.code in (0, 1), result.stderr
    assert result.json["inputs"] == ["repo/k8s/app.yaml"]


def test_documents_that_only_quote_deployment_formats_are_not_errors(tmp_path: Path) -> None:
    """Structure decides for YAML/JSON: a report or rule file quoting `AWS::SageMaker::Model` or
    `import sagemaker` in its strings is no template (listed as skipped, not an error)."""
    report = {"findings": [{"remediation": {"cloudformation": "Type: AWS::SageMaker::Model\n"}}]}
    _place(tmp_path, "reports/2026/audit.json", json.dumps(report))
    _place(
        tmp_path,
        "policies/R1-X/rule.yaml",
        'cli: |\n  import sagemaker\n  resource "aws_sagemaker_model" "x" {\n',
    )
    _place(tmp_path, "docs/deploy.md", "```yaml\napiVersion: v1\nkind: Pod\n```\n")
    result = check(tmp_path, "repo")
    assert result.code == 0, result.stdout
    assert not result.json["findings"]
    assert {s["path"] for s in result.json["skipped"]} >= {
        "repo/reports/2026/audit.json",
        "repo/policies/R1-X/rule.yaml",
        "repo/docs/deploy.md",
    }
