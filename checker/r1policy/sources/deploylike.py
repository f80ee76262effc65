"""Is a text file that no reader claims written in a deployment format? (SPEC §8.1, last bullet)

A file that no reader understands but that is a deployment format (CloudFormation, Terraform, Kubernetes,
SageMaker API JSON, SageMaker Python SDK code or notebooks, CDK cloud assemblies, LMI serving.properties)
is an `error` naming it, never "nothing to judge". The markers are structural (a key, a resource type,
an import), not words in prose: a README that mentions SageMaker is not a deployment.
Readers run first; this only decides what is left over.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from r1policy.core.lazyre import compile_on_use

# (what, pattern) on the raw text, for files that are not YAML/JSON documents.
_TEXT_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "Terraform configuration",
        compile_on_use(r'^\s*(?:resource|data|module|provider)\s+"[^"]+"(?:\s+"[^"]+")?\s*\{', re.M),
    ),
    (
        "SageMaker Python SDK code",
        compile_on_use(r"^\s*(?:import\s+sagemaker\b|from\s+sagemaker[\w.]*\s+import\b)", re.M),
    ),
    (
        "boto3 SageMaker deployment code",
        compile_on_use(r"\.create_(?:model|endpoint_config|endpoint|inference_component)\s*\("),
    ),
    (
        "LMI serving.properties",
        compile_on_use(r"^\s*(?:option\.model_id|option\.revision|option\.trust_remote_code)\s*[=:]", re.M),
    ),
    ("CloudFormation template", compile_on_use(r"\bAWSTemplateFormatVersion\b|\bAWS::SageMaker::\w+")),
    (
        "Kubernetes manifest",
        compile_on_use(r"^apiVersion:\s*\S+.*^kind:\s*\S+|^kind:\s*\S+.*^apiVersion:\s*\S+", re.M | re.S),
    ),
)
_API_KEYS = frozenset(
    {"PrimaryContainer", "Containers", "ProductionVariants", "EndpointConfigName", "ModelDataUrl"}
)
_NOTEBOOK_CODE = compile_on_use(
    r"(?:^|\n)\s*(?:import\s+sagemaker\b|from\s+sagemaker[\w.]*\s+import\b)|\.create_(?:model|endpoint)"
)


def deployment_like_text(path: Path, text: str) -> str | None:
    """What deployment format the raw text looks like, or None."""
    if path.suffix.lower() in (".tf", ".hcl") or path.name.endswith(".tf.json"):
        return "Terraform configuration"
    for what, pattern in _TEXT_MARKERS:
        if pattern.search(text):
            return what
    return None


def deployment_like_value(value: Any) -> str | None:
    """What deployment format a parsed YAML/JSON document looks like, or None."""
    if not isinstance(value, dict):
        return None
    if "AWSTemplateFormatVersion" in value or _has_aws_resources(value.get("Resources")):
        return "CloudFormation template"
    if "apiVersion" in value and "kind" in value:
        return f"Kubernetes-style manifest (kind {str(value.get('kind'))[:60]!r})"
    if "terraform_version" in value or "resource_changes" in value or "planned_values" in value:
        return "Terraform plan"
    if isinstance(value.get("resource"), dict) or isinstance(value.get("module"), dict):
        return "Terraform configuration (JSON)"
    if _API_KEYS & set(value):
        return "SageMaker API request"
    if isinstance(value.get("artifacts"), dict) and any(
        isinstance(a, dict) and str(a.get("type", "")).startswith("aws:cloudformation")
        for a in value["artifacts"].values()
    ):
        return "CDK cloud assembly manifest"
    if "cells" in value and "nbformat" in value and _notebook_deploys(value["cells"]):
        return "Jupyter notebook using SageMaker"
    return None


def _has_aws_resources(resources: Any) -> bool:
    if not isinstance(resources, dict):
        return False
    return any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith(("AWS::", "Custom::"))
        for r in resources.values()
    )


def _notebook_deploys(cells: Any) -> bool:
    if not isinstance(cells, list):
        return False
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        text = "".join(source) if isinstance(source, list) else str(source or "")
        if _NOTEBOOK_CODE.search(text):
            return True
    return False
