#!/usr/bin/env python3
"""Benchmark the Hub path of `r1policy check`: requests per run, cold and warm response cache.

Usage (from the repository root):

    .venv/bin/python bench/bench_hub.py                       # 100 manifests sharing 10 repositories
    .venv/bin/python bench/bench_hub.py --manifests 1000 --repos 50

A Hub-shaped server (tests/support/hubserver.py) runs on loopback and counts every request; one
`r1policy check` process (the real huggingface_hub client, HF_ENDPOINT pointing at the server) checks N
Hub-sourced manifests pinned to full commits that share R repositories, first with an empty response
cache (cold), then again with the cache the first run filled (warm). Printed: wall time per run and the
requests the server saw (metadata = GET /api/models/..., files = HEAD/GET .../resolve/...). This is a
benchmark, not a test (tests/test_hub_many.py asserts the request counts); it never fails a build
except when a count exceeds its bound.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.hubfixtures import ORGS, shared_repos, write_hub_manifests  # noqa: E402
from tests.support.hubserver import hub_server  # noqa: E402


def run_check(folder: Path, config: Path, env: dict[str, str]) -> tuple[float, int]:
    exe = Path(sys.executable).parent / "r1policy"
    # a real file: `--output` writes atomically (temp file + rename), never onto a device
    report = folder.parent / "report.json"
    cmd = [
        str(exe),
        "check",
        str(folder),
        "--config",
        str(config),
        "--format",
        "json",
        "--output",
        str(report),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"check failed (exit {proc.returncode}): {proc.stderr}")
    return elapsed, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--manifests", type=int, default=100)
    parser.add_argument("--repos", type=int, default=10)
    args = parser.parse_args(argv)
    repos = shared_repos(args.repos)
    with tempfile.TemporaryDirectory(prefix="r1policy-bench-hub-") as tmp, hub_server(repos, ORGS) as hub:
        work = Path(tmp)
        write_hub_manifests(work / "manifests", repos, args.manifests)
        config = work / "r1policy.yaml"
        config.write_text("trusted_publishers: [deepseek-ai]\nrules:\n  R1-EP-003: {enforcement: 'off'}\n")
        env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
        env.update(HF_ENDPOINT=hub.endpoint, R1POLICY_CACHE_DIR=str(work / "cache"), HF_HOME=str(work / "hf"))
        print(f"{args.manifests} Hub-sourced manifests sharing {args.repos} repositories (pinned commits)")
        print("| run | wall time | metadata requests | max per repo+revision | file requests | exit |")
        print("|---|---:|---:|---:|---:|---:|")
        worst = 0
        for label in ("cold cache", "warm cache"):
            hub.reset_counts()
            elapsed, code = run_check(work / "manifests", config, env)
            meta = Counter((r[2], r[3]) for r in hub.requests if r[1] == "model_info")
            files = sum(1 for r in hub.requests if r[1] == "resolve")
            most = max(meta.values(), default=0)
            worst = max(worst, most)
            print(f"| {label} | {elapsed:.2f} s | {sum(meta.values())} | {most} | {files} | {code} |")
            if label == "warm cache" and hub.count():
                print(f"bound exceeded: the warm-cache run made {hub.count()} requests")
                return 1
        if worst > 1:
            print("bound exceeded: more than one metadata request for a repository and revision")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
