#!/usr/bin/env python3
"""Benchmark the facts-and-findings phase of `r1policy check`: `Evaluator.evaluate` on 2,000 manifests,
Cedar's batch excluded (issue 23 item 2: ≤ 0.4 s).

Usage (from the repository root):

    .venv/bin/python bench/bench_evaluate.py                 # --static, 5 fresh processes
    .venv/bin/python bench/bench_evaluate.py --state         # with bench_check's state snapshot
    PYTHONPATH=/path/to/other/tree/checker .venv/bin/python bench/bench_evaluate.py   # another tree

Each run is a fresh process (no cache survives from one run to the next): it reads the manifests
(untimed), then times `evaluate` in CPU seconds (`time.process_time`), and Cedar's batch inside it
separately. The figure compared with the target is evaluate minus Cedar. The manifests, config and
state are bench/bench_check.py's. This is a benchmark, not a test: it never fails a build.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_check

TARGET_S = 0.4


def child(folder: Path, state_path: Path | None) -> dict[str, float]:
    """One timed evaluation, in this process (cwd holds r1policy.yaml)."""
    from r1policy.engine.evaluate import Evaluator
    from r1policy.engine.hubfacts import hub_context
    from r1policy.project.config import load_config
    from r1policy.project.state import load_state, with_existing_endpoints
    from r1policy.rules.registry import load_registry
    from r1policy.sources.discover import discover
    from r1policy.sources.walk import WalkOptions

    static = state_path is None
    config = load_config(None, Path.cwd())
    registry = load_registry(None)
    state = load_state(state_path) if state_path else None
    inputs = discover([folder], WalkOptions())
    hub = hub_context(static=static, lock_file=None, config_source=config.source, cwd=Path.cwd())
    deployments = with_existing_endpoints(inputs.deployments, state)
    evaluator = Evaluator(registry, config, state=state, static=static, file_buckets=inputs.buckets, hub=hub)
    cedar_s = [0.0]
    inner = evaluator._cedar

    def timed_cedar(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            cedar_s[0] += time.process_time() - start

    evaluator._cedar = timed_cedar  # type: ignore[method-assign]
    start = time.process_time()
    outcome = evaluator.evaluate(deployments)
    total = time.process_time() - start
    found = len(outcome.findings)
    return {"evaluate": total, "cedar": cedar_s[0], "rest": total - cedar_s[0], "findings": found}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--manifests", type=int, default=2000)
    parser.add_argument("--state", action="store_true", help="evaluate with bench_check's state snapshot")
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "STATE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        folder, state = args.child
        print(json.dumps(child(Path(folder), Path(state) if state != "-" else None)))
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    base = bench_check.load_base()
    with tempfile.TemporaryDirectory(prefix="r1policy-bench-eval-") as tmp:
        work = Path(tmp)
        (work / "r1policy.yaml").write_text(yaml.safe_dump(base["config"], sort_keys=False))
        state = work / "state.yaml"
        state.write_text(yaml.safe_dump(base["state"], sort_keys=False))
        folder = bench_check.write_inputs(work, base, args.manifests)
        cmd = [sys.executable, __file__, "--child", str(folder), str(state) if args.state else "-"]
        runs = []
        for _ in range(args.runs):
            out = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
    mode = "--state" if args.state else "--static"
    rest = statistics.median(r["rest"] for r in runs)
    cedar = statistics.median(r["cedar"] for r in runs)
    load = os.getloadavg()[0]
    found = runs[0]["findings"]
    print(f"evaluate {mode}, {args.manifests:,} manifests, {found:,} findings, {args.runs} runs")
    each = ", ".join(f"{r['rest']:.3f}" for r in runs) + f"; best {min(r['rest'] for r in runs):.3f}"
    print(f"  facts and findings (evaluate without Cedar), CPU median: {rest:.3f} s (runs {each})")
    print(f"  Cedar batch, CPU median: {cedar:.3f} s; load average {load:.2f}")
    if args.manifests == 2000:
        print(f"  target ≤ {TARGET_S} s: {'met' if rest <= TARGET_S else 'missed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
