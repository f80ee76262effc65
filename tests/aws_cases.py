"""Manifests and configs for the live-AWS tests (moto world seeded with tests/support/awsworld.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from r1policy.commands.policytest import base_manifest, load_base, patch


def write_manifest(
    folder: Path,
    name: str,
    bucket: str,
    *,
    region: str = "us-east-1",
    kms_key: str | None = None,
    **endpoint: Any,
) -> Path:
    base = load_base()
    change: dict[str, Any] = {
        "metadata": {"name": name},
        "spec": {
            "model": {"s3": {"uri": f"s3://{bucket}/deepseek-r1-distill-llama-8b/"}},
            "endpoint": {
                "name": name,
                "region": region,
                "account": None,
                "kms_key": kms_key,
                "data_capture": None,
                **endpoint,
            },
        },
    }
    doc = patch(base_manifest(base, hub=False), change)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def write_config(folder: Path, approved_buckets: list[str], **extra: Any) -> Path:
    config = patch(load_base()["config"], {"approved_buckets": approved_buckets, **extra})
    path = folder / "r1policy.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def support_ended(*endpoints: str) -> set[tuple[str, str, str]]:
    """R1-EP-009's warning for endpoints on the base image: a TGI DLC built on PyTorch 2.4, past its AWS
    end of patch (subjects: endpoint ARNs, or `sagemaker:<region>:endpoint/<name>` when not live)."""
    return {("R1-EP-009", "fail", endpoint) for endpoint in endpoints}
