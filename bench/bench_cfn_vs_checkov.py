#!/usr/bin/env python3
"""Benchmark: cold `r1policy check --static` vs `checkov -f` on the same CloudFormation template.

Usage (from the repository root; Checkov lives in its own virtualenv, never in the project's):

    python3 -m venv /work/benchenv/checkov && /work/benchenv/checkov/bin/pip install checkov
    .venv/bin/python bench/bench_cfn_vs_checkov.py            # print the Markdown section
    .venv/bin/python bench/bench_cfn_vs_checkov.py --write    # also update docs/benchmarks.md

The template (an S3 bucket, two SageMaker models, two endpoint configs, two endpoints, with the
usual mistakes) is written to a temporary folder. The tools run as fresh processes, alternating,
after one unmeasured warm-up run each (page cache, `__pycache__`): r1policy, `checkov -f` as the issue
states it, and Checkov restricted to its CloudFormation runner (its best case). `--skip-download` keeps
Checkov from waiting on Prisma Cloud downloads (no network here). The median wall time of `--runs`
runs is compared with the target (r1policy at least 8x faster than `checkov -f`). Then every
S3 / SageMaker check that Checkov fails is looked up in CHECKOV_TO_R1 and must be reported by
r1policy (`fail` or `error`) for the same resource. This is a benchmark, not a test: it prints
figures and never fails a build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-cfn:begin -->", "<!-- bench-cfn:end -->"
TARGET_SPEEDUP = 8.0
DEFAULT_CHECKOV = Path("/work/benchenv/checkov/bin/checkov")

# Checkov check -> the r1policy rule that reports the same problem.
CHECKOV_TO_R1 = {
    "CKV_AWS_18": "R1-S3-007",  # S3 access logging
    "CKV_AWS_19": "R1-S3-001",  # S3 server-side encryption
    "CKV_AWS_145": "R1-S3-001",  # S3 encrypted with KMS by default
    "CKV_AWS_20": "R1-S3-003",  # S3 ACL: READ for everyone
    "CKV_AWS_57": "R1-S3-003",  # S3 ACL: WRITE for everyone
    "CKV_AWS_21": "R1-S3-005",  # S3 versioning
    "CKV_AWS_53": "R1-S3-002",  # Block Public Access: BlockPublicAcls
    "CKV_AWS_54": "R1-S3-002",  # BlockPublicPolicy
    "CKV_AWS_55": "R1-S3-002",  # IgnorePublicAcls
    "CKV_AWS_56": "R1-S3-002",  # RestrictPublicBuckets
    "CKV_AWS_98": "R1-EP-005",  # SageMaker endpoint config: KmsKeyId
    "CKV_AWS_370": "R1-EP-003",  # SageMaker model: network isolation
}
JUDGED_TYPES = ("AWS::S3::", "AWS::SageMaker::")
BUCKET = "s3://acme-llm-weights"
LLAMA = "sagemaker:unknown-region:endpoint/r1-distill-llama-8b"
QWEN = "sagemaker:unknown-region:endpoint/r1-distill-qwen-7b"
# Template resource -> the r1policy subject its problems are reported on.
SUBJECTS = {
    "WeightsBucket": BUCKET,
    "LlamaModel": LLAMA,
    "LlamaConfig": LLAMA,
    "LlamaEndpoint": LLAMA,
    "QwenModel": QWEN,
    "QwenConfig": QWEN,
    "QwenEndpoint": QWEN,
}

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: Two DeepSeek-R1 distill endpoints and their weights bucket
Parameters:
  WeightsBucketName: {Type: String, Default: acme-llm-weights}
  Image:
    Type: String
    Default: {image}
Resources:
  WeightsBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref WeightsBucketName
      AccessControl: PublicRead
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        IgnorePublicAcls: false
        BlockPublicPolicy: false
        RestrictPublicBuckets: false
  LlamaModel:
    Type: AWS::SageMaker::Model
    Properties:
      ModelName: r1-distill-llama-8b
      ExecutionRoleArn: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sagemaker-inference"
      EnableNetworkIsolation: false
      PrimaryContainer:
        Image: !Ref Image
        ModelDataSource:
          S3DataSource:
            S3Uri: !Sub "s3://${WeightsBucket}/deepseek-r1-distill-llama-8b/"
            S3DataType: S3Prefix
            CompressionType: None
        Environment: {HF_MODEL_ID: /opt/ml/model, SM_NUM_GPUS: "1"}
  QwenModel:
    Type: AWS::SageMaker::Model
    Properties:
      ModelName: r1-distill-qwen-7b
      ExecutionRoleArn: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sagemaker-inference"
      EnableNetworkIsolation: true
      VpcConfig: {Subnets: [subnet-0a1b2c3d], SecurityGroupIds: [sg-0c2d3e4f]}
      PrimaryContainer:
        Image: !Ref Image
        ModelDataSource:
          S3DataSource:
            S3Uri: !Sub "s3://${WeightsBucket}/deepseek-r1-distill-qwen-7b/"
            S3DataType: S3Prefix
            CompressionType: None
        Environment: {HF_MODEL_ID: /opt/ml/model, SM_NUM_GPUS: "1"}
  LlamaConfig:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      EndpointConfigName: r1-distill-llama-8b
      KmsKeyId: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
      ProductionVariants:
        - VariantName: primary
          ModelName: !GetAtt LlamaModel.ModelName
          InstanceType: ml.g5.2xlarge
          InitialInstanceCount: 1
  QwenConfig:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      EndpointConfigName: r1-distill-qwen-7b
      ProductionVariants:
        - VariantName: primary
          ModelName: !GetAtt QwenModel.ModelName
          InstanceType: ml.inf2.xlarge
          InitialInstanceCount: 1
      DataCaptureConfig:
        EnableCapture: true
        InitialSamplingPercentage: 10
        DestinationS3Uri: !Sub "s3://${WeightsBucket}/capture/"
        CaptureOptions: [{CaptureMode: Input}, {CaptureMode: Output}]
  LlamaEndpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: r1-distill-llama-8b
      EndpointConfigName: !GetAtt LlamaConfig.EndpointConfigName
  QwenEndpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: r1-distill-qwen-7b
      EndpointConfigName: !GetAtt QwenConfig.EndpointConfigName
"""
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)


def timed(cmd: list[str], out: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    with out.open("w") as sink:
        code = subprocess.run(cmd, stdout=sink, stderr=subprocess.DEVNULL, env=env, check=False).returncode
    return time.perf_counter() - start, code


def checkov_failures(report: Path) -> list[tuple[str, str, str]]:
    """(check id, resource type, logical id) of every failed check on an S3 or SageMaker resource."""
    data: Any = json.loads(report.read_text())
    runs = data if isinstance(data, list) else [data]
    found: list[tuple[str, str, str]] = []
    for run in runs:
        for check in run.get("results", {}).get("failed_checks", []):
            kind, _, logical = str(check["resource"]).rpartition(".")
            if kind.startswith(JUDGED_TYPES):
                found.append((check["check_id"], kind, logical))
    return sorted(set(found))


def r1_reported(report: Path) -> set[tuple[str, str]]:
    data = json.loads(report.read_text())
    return {(f["rule_id"], f["subject"]["id"]) for f in data["findings"] if f["status"] in ("fail", "error")}


def run(args: argparse.Namespace) -> str:
    r1 = ROOT / ".venv" / "bin" / "r1policy"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "0"}
    with tempfile.TemporaryDirectory(prefix="r1-bench-cfn-") as tmp:
        folder = Path(tmp)
        template = folder / "r1-endpoints.yaml"
        template.write_text(TEMPLATE.replace("{image}", IMAGE))
        r1_out, ck_out = folder / "r1.json", folder / "checkov.json"
        r1_cmd = [
            str(r1),
            "check",
            "--static",
            str(template),
            "--config",
            str(ROOT / "examples" / "r1policy.yaml"),
            "--format",
            "json",
            "--output",
            str(r1_out),
        ]
        checkov = [
            str(args.checkov),
            "-f",
            str(template),
            "--compact",
            "--quiet",
            "--skip-download",
            "-o",
            "json",
        ]
        commands = {
            "r1policy": (r1_cmd, folder / "r1.stdout"),
            "checkov": (checkov, ck_out),
            "checkov-cfn": ([*checkov, "--framework", "cloudformation"], folder / "checkov-cfn.json"),
        }
        timed(r1_cmd, r1_out, env)  # warm-up: page cache and bytecode
        for cmd, out in commands.values():
            timed(cmd, out, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        codes: dict[str, int] = {}
        for _ in range(args.runs):  # alternate, so that load on the machine hits all alike
            for name, (cmd, out) in commands.items():
                elapsed, codes[name] = timed(cmd, out, env)
                times[name].append(elapsed)
        failures = checkov_failures(ck_out)
        reported = r1_reported(r1_out)
    medians = {name: statistics.median(t) for name, t in times.items()}
    speedup = medians["checkov"] / medians["r1policy"]
    best_case = medians["checkov-cfn"] / medians["r1policy"]
    rows = []
    covered_all = True
    for check_id, kind, logical in failures:
        rule = CHECKOV_TO_R1.get(check_id)
        subject = SUBJECTS.get(logical, "?")
        covered = rule is not None and (rule, subject) in reported
        covered_all = covered_all and covered
        rows.append(
            f"| {check_id} | {kind} {logical} | {rule or '(no mapping)'} | {subject} | "
            f"{'yes' if covered else 'NO'} |"
        )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = platform.processor() or platform.machine()
    checkov_version = subprocess.run(
        [str(args.checkov), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    lines = [
        f"Measured {now} on {cpu}, {os.cpu_count()} CPUs, CPython {platform.python_version()}, "
        f"Checkov {checkov_version}; a shared machine (2 cores, several other engineers' jobs running, "
        f"load average {os.getloadavg()[0]:.1f} at the end of the run), so absolute times vary between "
        "runs — the ratio is what the target is about.",
        "",
        "| tool | command | runs | median wall (s) | min (s) | max (s) | exit |",
        "|---|---|---:|---:|---:|---:|---:|",
        *(
            f"| {tool} | `{shown}` | {args.runs} | {medians[name]:.3f} | {min(times[name]):.3f} | "
            f"{max(times[name]):.3f} | {codes[name]} |"
            for name, tool, shown in (
                ("r1policy", "r1policy", "r1policy check --static TEMPLATE --format json --output r1.json"),
                ("checkov", "Checkov", "checkov -f TEMPLATE --compact --quiet --skip-download -o json"),
                ("checkov-cfn", "Checkov, CloudFormation runner only", "… --framework cloudformation"),
            )
        ),
        "",
        f"r1policy is **{speedup:.1f}x** faster than `checkov -f` (target ≥ {TARGET_SPEEDUP:.0f}x: "
        f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}), and {best_case:.1f}x faster than Checkov "
        "restricted to its CloudFormation runner.",
        "",
        "Every S3 / SageMaker check that Checkov fails on the template, and the r1policy finding for it:",
        "",
        "| Checkov check | resource | r1policy rule | r1policy subject | reported by r1policy |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "All of Checkov's S3/SageMaker violations are reported by r1policy: "
        f"{'yes' if covered_all else 'NO'}.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--checkov", type=Path, default=DEFAULT_CHECKOV)
    parser.add_argument("--write", action="store_true", help="replace the section in docs/benchmarks.md")
    args = parser.parse_args()
    if not args.checkov.exists():
        print(f"checkov not found at {args.checkov} (install it into its own virtualenv)", file=sys.stderr)
        return 2
    section = run(args)
    print(section)
    if args.write:
        text = DOC.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            text = head + BEGIN + "\n" + section + "\n" + END + rest.split(END, 1)[1]
            DOC.write_text(text)
        else:
            print(f"markers {BEGIN} / {END} not found in {DOC}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
