#!/usr/bin/env python3
"""Benchmark the JSON report of `check`: the time `write_reports` takes for 2,000 manifests.

Usage (from the repository root):

    .venv/bin/python bench/bench_json_report.py                       # this tree
    .venv/bin/python bench/bench_json_report.py --base ../other-tree  # also another tree, alternating

Each run is a fresh `r1policy check --static --format json --output … manifests-2000` process (inputs
from bench_check.py), with a timer around `write_reports` (render and write the report): its CPU time
(`time.process_time`, what other jobs on a shared machine do not change) and wall time, and the whole
process's user CPU. Prints the median of --repeat runs per tree, the load average, and the target
(issue 23 item 2: the JSON report of 2,000 manifests written in ≤ 0.35 s). With --base, both trees'
reports must parse to the same document (timing fields aside: the report has none). A benchmark, not a
test: it never fails a build.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_check  # noqa: E402

TARGET_S = 0.35

HARNESS = """
import json, resource, sys, time
import r1policy.commands.check as check
inner, spent = check.write_reports, {}
def timed(*args, **kwargs):
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        inner(*args, **kwargs)
    finally:
        spent.update(cpu=time.process_time() - cpu, wall=time.perf_counter() - wall)
check.write_reports = timed
from r1policy.cli import main
code = main(sys.argv[1:])
spent.update(user=resource.getrusage(resource.RUSAGE_SELF).ru_utime, exit=code)
print(json.dumps(spent))
"""


def run_once(tree: Path, workdir: Path, folder: Path, out: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree / "checker")
    args = ["check", "--static", "--format", "json", "--output", str(out), str(folder)]
    done = subprocess.run(
        [sys.executable, "-c", HARNESS, *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"{tree}: r1policy failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--base", type=Path, help="another source tree to compare with (alternating runs)")
    parser.add_argument("--manifests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per tree; the median is reported")
    args = parser.parse_args(argv)
    trees = {"this tree": ROOT} | ({"base": args.base.resolve()} if args.base else {})
    for tree in trees.values():  # as users' installs have it: bytecode compiled
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "checker")], check=True)
    with tempfile.TemporaryDirectory(prefix="r1policy-bench-json-") as tmp:
        workdir = Path(tmp)
        base = bench_check.load_base()
        (workdir / "r1policy.yaml").write_text(yaml.safe_dump(base["config"], sort_keys=False))
        folder = bench_check.write_inputs(workdir, base, args.manifests)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for i in range(args.repeat):
            for name, tree in trees.items():
                runs[name].append(run_once(tree, workdir, folder, workdir / f"{name}-{i}.json"))
                print(f"{name} run {i + 1}: {runs[name][-1]} (load {load()})", file=sys.stderr)
        if args.base:
            same = json.loads((workdir / "this tree-0.json").read_text()) == json.loads(
                (workdir / "base-0.json").read_text()
            )
            print(f"reports parse to the same document: {same}")
    scenario = f"`check --static --format json`, {args.manifests:,} manifests"
    print(f"{scenario}, median of {args.repeat} (load {load()})")
    print("| tree | write_reports CPU | write_reports wall | process user CPU |")
    print("|---|---:|---:|---:|")
    for name, results in runs.items():
        cpu, wall, user = (statistics.median(r[k] for r in results) for k in ("cpu", "wall", "user"))
        print(f"| {name} | {cpu:.3f} s | {wall:.3f} s | {user:.2f} s |")
    cpu = statistics.median(r["cpu"] for r in runs["this tree"])
    verdict = "met" if cpu <= TARGET_S else "missed"
    print(f"target: JSON report written in ≤ {TARGET_S} s CPU: {cpu:.3f} s, {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
