#!/usr/bin/env python3
"""Benchmark the reading phase of `r1policy check` (`sources.discover`: walk, read, YAML, native
manifests) on the 2,000 generated manifests of bench_check.py, in process, by CPU time.

Usage (from the repository root; compile checker/ first, as users' installs are):

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m compileall -q checker
    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python bench/bench_read.py [--count N] [--runs R]
    # the old code, from another checkout (git worktree add ../base <commit>):
    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python bench/bench_read.py --checker ../base/checker

Each run reads the folder afresh in the same process (the per-run caches of scalar tags, constructed
scalars and server views are cleared between runs, so that every run pays for them). Prints the median
and the best CPU time, the load average beside them, and the target (issue 23 item 2: 2,000 manifests
read in at most 0.35 s). A benchmark, not a test: it never fails a build.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
TARGET_2000_S = 0.35


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--checker", type=Path, help="another checkout's checker/ folder (the old code)")
    args = parser.parse_args()
    if args.checker is not None:
        sys.path.insert(0, str(args.checker.resolve()))
    import importlib

    import bench_check
    from r1policy.sources.discover import discover

    caches = []  # the per-run caches this version has
    for module, name in (
        ("core.yamldoc", "_RESOLVED"),
        ("core.yamlevents", "_VALUES"),
        ("sources.servers", "_VIEWS"),
        ("sources.servers", "_FAMILIES"),
    ):
        try:
            caches.append(getattr(importlib.import_module(f"r1policy.{module}"), name))
        except (ImportError, AttributeError):
            continue

    with tempfile.TemporaryDirectory() as tmp:
        folder = bench_check.write_inputs(Path(tmp), bench_check.load_base(), args.count)
        found = len(discover([folder]).deployments)
        times = []
        for _ in range(args.runs):
            for cache in caches:
                cache.clear()
            start = time.process_time()
            discover([folder])
            times.append(time.process_time() - start)
    median, best = statistics.median(times), min(times)
    target = TARGET_2000_S * args.count / 2000
    load = os.getloadavg()[0]
    import r1policy

    print(f"r1policy from {Path(r1policy.__file__).parent}")
    print(f"sources.discover, {args.count} manifests ({found} deployments), {args.runs} runs, CPU time:")
    print(f"  median {median:.3f} s, best {best:.3f} s (load average {load:.2f})")
    print(f"  target <= {target:.3f} s: {'met' if median <= target else 'missed'}")


if __name__ == "__main__":
    main()
