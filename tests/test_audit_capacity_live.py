"""Live capacity facts (issue 17.5): a live audit sizes an S3 model from `config.json` and
`model.safetensors.index.json` at its prefix, so R1-EP-002 is decided for live endpoints; anything
unreadable or malformed in those files is an `error` naming the object, never a guess from the name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.support.awsworld import Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from conftest import ROOT, run_cli
from r1policy.audit.history import run_folders

CONFIG = ROOT / "examples" / "aws-demo" / "r1policy.yaml"
BUCKET = "acme-llm-weights"
ACCOUNT = "123456789012"
PREFIX = "deepseek-r1-distill-llama-8b/"  # a name r1policy's table knows (8B, bfloat16)
GIB = 1 << 30


def _arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name}"


def _seed(files: dict[str, bytes | None], instance_type: str, prefix: str = PREFIX) -> None:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket(BUCKET))
    s3 = boto3.client("s3", region_name="us-east-1")
    for name, body in files.items():
        if body is not None:
            s3.put_object(Bucket=BUCKET, Key=prefix + name, Body=body)
    world.seed_endpoint(Endpoint("r1-live", BUCKET, instance_type=instance_type))
    if prefix != PREFIX:  # the awsworld endpoint loads deepseek-r1-distill-llama-8b/: point it elsewhere
        sm = boto3.client("sagemaker", region_name="us-east-1")
        model = sm.describe_model(ModelName="r1-live")
        sm.delete_model(ModelName="r1-live")
        container = model["PrimaryContainer"]
        container["ModelDataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/{prefix}"
        sm.create_model(
            ModelName="r1-live",
            ExecutionRoleArn=model["ExecutionRoleArn"],
            PrimaryContainer=container,
            EnableNetworkIsolation=True,
            VpcConfig={"SecurityGroupIds": ["sg-0c2d"], "Subnets": ["subnet-0a1b"]},
        )


def _ep002(tmp_path: Path) -> list[tuple[str, str]]:
    reports = tmp_path / "reports"
    result = run_cli(
        "audit", "--regions", "us-east-1", "--report-dir", reports, "--config", CONFIG, "--show-passed"
    )
    assert result.code in (0, 1), result.stderr
    doc: dict[str, Any] = json.loads((run_folders(reports)[-1] / "audit.json").read_text())
    return sorted(
        (f["status"], f["message"])
        for f in doc["findings"]
        if f["rule_id"] == "R1-EP-002" and f["subject"]["id"] == _arn("r1-live")
    )


def _index(total: int) -> bytes:
    return json.dumps(
        {"metadata": {"total_size": total}, "weight_map": {"a": "model-1.safetensors"}}
    ).encode()


def _config(**fields: Any) -> bytes:
    return json.dumps({"architectures": ["LlamaForCausalLM"], **fields}).encode()


def test_a_model_the_table_does_not_know_is_sized_from_its_files(
    moto_env: MotoServer, tmp_path: Path
) -> None:
    # 140 GB of bfloat16 (a 70B model) under a name no table knows, on a 24 GiB GPU
    files = {
        "config.json": _config(torch_dtype="bfloat16"),
        "model.safetensors.index.json": _index(140 * 10**9),
    }
    _seed(files, "ml.g5.2xlarge", prefix="acme-finetune-v3/")
    (status, message), *rest = _ep002(tmp_path)
    assert (status, rest) == ("fail", [])
    assert "70.00B parameters in bfloat16" in message and "ml.g5.2xlarge" in message


def test_fp8_quantisation_is_the_serving_dtype(moto_env: MotoServer, tmp_path: Path) -> None:
    # DeepSeek-R1's layout: torch_dtype bfloat16, quantization_config fp8; an A100 runs no FP8
    config = _config(torch_dtype="bfloat16", quantization_config={"quant_method": "fp8", "fmt": "e4m3"})
    files = {"config.json": config, "model.safetensors.index.json": _index(688_586_727_753)}
    _seed(files, "ml.p4d.24xlarge", prefix="r1-671b/")
    got = _ep002(tmp_path)
    assert [s for s, _ in got] == ["fail", "fail"]
    assert any("do not support fp8" in m for _, m in got)


def test_the_files_win_over_the_name(moto_env: MotoServer, tmp_path: Path) -> None:
    # under the 8B distill's name (which fits ml.g5.2xlarge), but the index says 140 GB of bfloat16
    files = {
        "config.json": _config(torch_dtype="bfloat16"),
        "model.safetensors.index.json": _index(140 * 10**9),
    }
    _seed(files, "ml.g5.2xlarge")
    (status, message), *rest = _ep002(tmp_path)
    assert (status, rest) == ("fail", [])
    assert "70.00B parameters in bfloat16" in message


MALFORMED = {
    "index without total_size": (
        {"config.json": _config(torch_dtype="bfloat16"), "model.safetensors.index.json": b'{"metadata": {}}'},
        "model.safetensors.index.json could not be read: it has no metadata.total_size",
    ),
    "index total_size negative": (
        {"config.json": _config(torch_dtype="bfloat16"), "model.safetensors.index.json": _index(-5)},
        "model.safetensors.index.json could not be read: it has no metadata.total_size",
    ),
    "index not JSON": (
        {"config.json": _config(torch_dtype="bfloat16"), "model.safetensors.index.json": b"{not json"},
        "model.safetensors.index.json could not be read: it is not valid JSON",
    ),
    "config not JSON": (
        {"config.json": b"\xff\xfe", "model.safetensors.index.json": _index(16 * 10**9)},
        "config.json could not be read: it is not UTF-8 text",
    ),
    "config an array": (
        {"config.json": b"[]", "model.safetensors.index.json": _index(16 * 10**9)},
        "config.json could not be read: it is not a JSON object",
    ),
    "config without dtype": (
        {"config.json": _config(), "model.safetensors.index.json": _index(16 * 10**9)},
        "config.json has no torch_dtype",
    ),
    "unknown quantisation": (
        {
            "config.json": _config(
                torch_dtype="float16", quantization_config={"quant_method": "awq", "bits": 4}
            ),
            "model.safetensors.index.json": _index(16 * 10**9),
        },
        "config.json: quantization method 'awq' is not one r1policy can size",
    ),
    "unknown dtype": (
        {
            "config.json": _config(torch_dtype="float8_e5m2"),
            "model.safetensors.index.json": _index(16 * 10**9),
        },
        "config.json: dtype 'float8_e5m2' is not one r1policy can size",
    ),
    "index without config": (
        {"config.json": None, "model.safetensors.index.json": _index(16 * 10**9)},
        "model.safetensors.index.json exists but",
    ),
    "empty config": (
        {"config.json": b"", "model.safetensors.index.json": _index(16 * 10**9)},
        "config.json could not be read: it is empty",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_an_error_naming_the_object(
    moto_env: MotoServer, tmp_path: Path, case: str
) -> None:
    """Under a name the table knows (8B bfloat16, which would pass): the files decide, and they cannot."""
    files, why = MALFORMED[case]
    _seed(files, "ml.g5.2xlarge")
    ((status, message),) = _ep002(tmp_path)
    assert status == "error"
    assert f"s3://{BUCKET}/{PREFIX}" in message and why in message, message


def test_without_an_index_the_known_name_still_decides(moto_env: MotoServer, tmp_path: Path) -> None:
    # the demo world's layout: a config.json, no safetensors index (a single-file or archived model)
    _seed({"config.json": _config(torch_dtype="bfloat16")}, "ml.g5.2xlarge")
    assert [s for s, _ in _ep002(tmp_path)] == ["pass"]


def test_without_files_or_a_known_name_it_stays_an_error(moto_env: MotoServer, tmp_path: Path) -> None:
    _seed({}, "ml.g5.2xlarge", prefix="acme-finetune-v3/")
    ((status, message),) = _ep002(tmp_path)
    assert status == "error" and "parameter count is unknown" in message
