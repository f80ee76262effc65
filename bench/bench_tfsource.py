#!/usr/bin/env python3
# ruff: noqa: E501  (the generated HCL is kept one statement per line, as written in .tf files)
"""Benchmark Terraform source (sources/terraform/source): 500 .tf files in 50 modules, and cold `check` of one .tf.

Usage (from the repository root):

    .venv/bin/python bench/bench_tfsource.py               # 50 modules x 10 files
    .venv/bin/python bench/bench_tfsource.py --modules 10  # a quick run

Generated in a temporary folder: one root module calling 49 local modules (`./modules/mNN`), each module
10 .tf files (variables with defaults, locals with interpolation and functions, an S3 bucket with its
split encryption / public access block / versioning resources, a KMS key, and in one file a SageMaker
model, endpoint configuration and endpoint referring to each other). Judged in this process through
`discover` + the evaluator (`--static`), best of three runs; then cold `r1policy check` of a folder with
one .tf file as a fresh process. Targets (issue 14): 500 files in 50 modules ≤ 3 s; one .tf ≤ 0.3 s.

This is a benchmark, not a test: it prints figures and compares them with the targets.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "checker"))

from r1policy.engine.evaluate import Evaluator  # noqa: E402
from r1policy.engine.hubfacts import hub_context  # noqa: E402
from r1policy.project.config import load_config  # noqa: E402
from r1policy.rules.registry import load_registry  # noqa: E402
from r1policy.sources.discover import discover  # noqa: E402

CONFIG = ROOT / "examples" / "r1policy.yaml"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"

FILES = {
    "variables.tf": 'variable "name" {{\n  type    = string\n  default = "m{n}"\n}}\n'
    'variable "instance_type" {{\n  type    = string\n  default = "ml.g5.2xlarge"\n}}\n',
    "locals.tf": 'locals {{\n  prefix = "r1-${{var.name}}"\n  tags   = merge({{ Team = "ml" }}, {{ Name = local.prefix }})\n'
    '  bucket = format("acme-%s-weights", var.name)\n}}\n',
    "s3.tf": 'resource "aws_s3_bucket" "w" {{\n  bucket = local.bucket\n  tags   = local.tags\n}}\n',
    "sse.tf": 'resource "aws_s3_bucket_server_side_encryption_configuration" "w" {{\n  bucket = aws_s3_bucket.w.id\n'
    '  rule {{\n    apply_server_side_encryption_by_default {{\n      sse_algorithm     = "aws:kms"\n'
    "      kms_master_key_id = aws_kms_key.k.arn\n    }}\n  }}\n}}\n",
    "pab.tf": 'resource "aws_s3_bucket_public_access_block" "w" {{\n  bucket                  = aws_s3_bucket.w.id\n'
    "  block_public_acls       = true\n  ignore_public_acls      = true\n  block_public_policy     = true\n"
    "  restrict_public_buckets = true\n}}\n",
    "versioning.tf": 'resource "aws_s3_bucket_versioning" "w" {{\n  bucket = aws_s3_bucket.w.id\n'
    '  versioning_configuration {{\n    status = "Enabled"\n  }}\n}}\n',
    "kms.tf": 'resource "aws_kms_key" "k" {{\n  description         = "weights ${{var.name}}"\n'
    "  enable_key_rotation = true\n}}\n",
    "sagemaker.tf": 'resource "aws_sagemaker_model" "m" {{\n  name = "${{local.prefix}}-model"\n'
    '  execution_role_arn = "arn:aws:iam::111122223333:role/r1"\n  enable_network_isolation = true\n'
    '  primary_container {{\n    image = "{image}"\n    model_data_url = "s3://${{aws_s3_bucket.w.bucket}}/'
    'deepseek-r1-distill-llama-8b/model.tar.gz"\n    environment = {{ HF_MODEL_ID = "/opt/ml/model" }}\n  }}\n'
    '  vpc_config {{\n    subnets = ["subnet-1"]\n    security_group_ids = ["sg-1"]\n  }}\n}}\n'
    'resource "aws_sagemaker_endpoint_configuration" "c" {{\n  name = "${{local.prefix}}-config"\n'
    '  kms_key_arn = aws_kms_key.k.arn\n  production_variants {{\n    variant_name = "main"\n'
    "    model_name = aws_sagemaker_model.m.name\n    instance_type = var.instance_type\n"
    "    initial_instance_count = 1\n  }}\n}}\n"
    'resource "aws_sagemaker_endpoint" "e" {{\n  name = local.prefix\n'
    "  endpoint_config_name = aws_sagemaker_endpoint_configuration.c.name\n}}\n",
    "outputs.tf": 'output "endpoint" {{\n  value = aws_sagemaker_endpoint.e.name\n}}\n',
    "extra.tf": "# documentation-only file\n",
}


def make(root: Path, modules: int) -> None:
    root.mkdir()
    calls = [
        f'module "m{n:02d}" {{\n  source = "./modules/m{n:02d}"\n  name = "m{n:02d}"\n}}\n'
        for n in range(1, modules)
    ]
    for name, template in FILES.items():
        text = template.format(n="root", image=IMAGE)
        if name == "extra.tf":
            text += "".join(calls)
        (root / name).write_text(text)
    for n in range(1, modules):
        folder = root / "modules" / f"m{n:02d}"
        folder.mkdir(parents=True)
        for name, template in FILES.items():
            (folder / name).write_text(template.format(n=f"{n:02d}", image=IMAGE))


def judge(paths: list[Path]) -> tuple[float, int]:
    config = load_config(CONFIG, ROOT)
    registry = load_registry([])
    best, count = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        inputs = discover(paths)
        hub = hub_context(static=True, lock_file=None, config_source=config.source, cwd=ROOT)
        evaluator = Evaluator(registry, config, state=None, static=True, file_buckets=inputs.buckets, hub=hub)
        outcome = evaluator.evaluate(inputs.deployments)
        best = min(best, time.perf_counter() - start)
        count = len(outcome.findings)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        make(base / "root", args.modules)
        files = len(list((base / "root").rglob("*.tf")))
        seconds, findings = judge([base / "root"])
        verdict = "ok" if seconds <= 3 else "OVER TARGET"
        print(
            f"{files} .tf files in {args.modules} modules: {seconds:.2f} s ({findings} findings) [target 3 s: {verdict}]"
        )
        one = base / "one"
        one.mkdir()
        (one / "main.tf").write_text(
            FILES["sagemaker.tf"]
            .format(n="one", image=IMAGE)
            .replace("local.prefix", '"one"')
            .replace("${local.prefix}", "one")
            .replace("aws_kms_key.k.arn", '"arn:aws:kms:us-east-1:1:key/k"')
            .replace("${aws_s3_bucket.w.bucket}", "acme-llm-weights")
            .replace("var.instance_type", '"ml.g5.2xlarge"')
        )
        cmd = [
            sys.executable,
            "-m",
            "r1policy",
            "check",
            str(one / "main.tf"),
            "--static",
            "--config",
            str(CONFIG),
        ]
        env = {"PYTHONPATH": str(ROOT / "checker"), "PATH": "/usr/bin:/bin"}
        subprocess.run(
            cmd, cwd=ROOT, capture_output=True, env=env
        )  # warm the OS cache and hcl2's parser cache
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
            best = min(best, time.perf_counter() - start)
        manifest = next((ROOT / "examples" / "allow").glob("*.yaml"))
        native = [
            sys.executable,
            "-m",
            "r1policy",
            "check",
            str(manifest),
            "--static",
            "--config",
            str(CONFIG),
        ]
        base_best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(native, cwd=ROOT, capture_output=True, env=env)
            base_best = min(base_best, time.perf_counter() - start)
        print(
            f"cold `r1policy check` of one .tf: {best:.2f} s (exit {done.returncode}); of one native manifest: "
            f"{base_best:.2f} s [target 0.3 s]"
        )


if __name__ == "__main__":
    main()
