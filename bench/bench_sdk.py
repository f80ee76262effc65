#!/usr/bin/env python3
"""Benchmark reading SageMaker Python SDK notebooks and scripts (sources/sdk).

Usage (from the repository root):

    .venv/bin/python bench/bench_sdk.py              # a 100-cell notebook, 200 scripts, a 5 MB script
    .venv/bin/python bench/bench_sdk.py --cells 500  # a larger notebook

Generated in a temporary folder: one notebook of N code cells (constants, dicts built from them,
f-strings, markdown cells in between, one HuggingFaceModel deployment at the end), 200 deployment
scripts, and one 5 MB generated script of constants. Each is judged in this process through
`load_file` and the evaluator (`--static`), best of three runs; then `r1policy check` of the notebook
as a fresh process (wall time including interpreter start). Target (issue 14): a 100-cell notebook in
≤ 0.5 s.

This is a benchmark, not a test: it prints figures and compares them with the targets.
"""

from __future__ import annotations

import argparse
import json
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
DEPLOY = """\
model = HuggingFaceModel(
    role="arn:aws:iam::111122223333:role/r1",
    image_uri=get_huggingface_llm_image_uri("huggingface", version="3.0.1", region=REGION),
    env=hub_{last},
    enable_network_isolation=False,
)
predictor = model.deploy(instance_type="ml.g5.2xlarge", initial_instance_count=1, endpoint_name=NAME)
"""


def cell(kind: str, source: str, i: int) -> dict[str, object]:
    out: dict[str, object] = {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": source}
    if kind == "code":
        out.update(execution_count=None, outputs=[])
    return out


def make_notebook(path: Path, cells: int) -> None:
    items = [
        cell(
            "code",
            "%pip install sagemaker\nimport json\nimport sagemaker\n"
            "from sagemaker.huggingface import HuggingFaceModel, get_huggingface_llm_image_uri\n"
            "REGION = 'us-east-1'\nNAME = 'bench-notebook'\n"
            "REVISION = '6a6f4aa4197940add57724a7707d069478df56b1'\n",
            0,
        )
    ]
    for i in range(1, cells - 1):
        if i % 5 == 0:
            items.append(cell("markdown", f"## Step {i}\n\nSome explanation of step {i}.", i))
            continue
        items.append(
            cell(
                "code",
                (
                    f"MODEL_{i} = 'deepseek-ai/DeepSeek-R1-Distill-Llama-8B'\n"
                    f"hub_{i} = {{'HF_MODEL_ID': MODEL_{i}, 'HF_MODEL_REVISION': REVISION,"
                    f" 'SM_NUM_GPUS': json.dumps(1), 'NOTE': f'step {{MODEL_{i}}} {i}'}}\n"
                    f"print(hub_{i})\n"
                ),
                i,
            )
        )
    last = next(i for i in range(cells - 2, 0, -1) if i % 5)
    items.append(cell("code", DEPLOY.format(last=last), cells - 1))
    value = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": items}
    path.write_text(json.dumps(value, indent=1))


def make_scripts(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        (folder / f"deploy_{i}.py").write_text(
            "from sagemaker.huggingface import HuggingFaceModel, get_huggingface_llm_image_uri\n"
            "REGION = 'us-east-1'\nNAME = 'bench-{i}'\n".replace("{i}", str(i))
            + "hub_0 = {'HF_MODEL_ID': 'deepseek-ai/DeepSeek-R1-Distill-Llama-8B'}\n"
            + DEPLOY.format(last=0)
        )


def make_big(path: Path, megabytes: int) -> None:
    lines = ["import sagemaker"]
    size, i = 0, 0
    while size < megabytes * 1_000_000:
        line = f"CONST_{i} = {{'key': 'value-{i}', 'items': [{i}, {i + 1}, 'x-{i}']}}"
        lines.append(line)
        size += len(line) + 1
        i += 1
    path.write_text("\n".join(lines) + "\n")


def judge(paths: list[Path]) -> tuple[float, int]:
    best, count = float("inf"), 0
    config = load_config(CONFIG, ROOT)
    registry = load_registry([])
    for _ in range(3):
        start = time.perf_counter()
        inputs = discover(paths)
        hub = hub_context(static=True, lock_file=None, config_source=config.source, cwd=ROOT)
        outcome = Evaluator(
            registry, config, state=None, static=True, file_buckets=inputs.buckets, hub=hub
        ).evaluate(inputs.deployments)
        best = min(best, time.perf_counter() - start)
        count = len(outcome.findings)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--scripts", type=int, default=200)
    parser.add_argument("--megabytes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        nb = base / "bench.ipynb"
        make_notebook(nb, args.cells)
        seconds, findings = judge([nb])
        verdict = "ok" if seconds <= 0.5 or args.cells != 100 else "OVER TARGET"
        print(
            f"notebook, {args.cells} cells: {seconds:.3f} s in process ({findings} findings) "
            f"[target 0.5 s: {verdict}]"
        )
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "r1policy", "check", str(nb), "--static", "--config", str(CONFIG)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(ROOT / "checker"), "PATH": "/usr/bin:/bin"},
        )
        print(
            f"notebook, fresh `r1policy check` process: {time.perf_counter() - start:.3f} s "
            f"(exit {done.returncode})"
        )
        make_scripts(base / "scripts", args.scripts)
        seconds, findings = judge([base / "scripts"])
        print(f"{args.scripts} deployment scripts: {seconds:.3f} s ({findings} findings)")
        big = base / "big.py"
        make_big(big, args.megabytes)
        seconds, findings = judge([big])
        print(f"{big.stat().st_size / 1e6:.1f} MB generated script: {seconds:.3f} s ({findings} findings)")


if __name__ == "__main__":
    main()
