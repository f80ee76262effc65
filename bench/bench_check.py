#!/usr/bin/env python3
"""Benchmark `r1policy check`: cold start on one manifest, and throughput on N generated manifests.

Usage (from the repository root):

    .venv/bin/python bench/bench_check.py            # print the Markdown table
    .venv/bin/python bench/bench_check.py --write    # also update docs/benchmarks.md

Every run is a fresh `r1policy` process, timed by wall clock from outside, exactly as CI would run it.
The manifests are generated from the compliant baseline in policies/cases-base.yaml, varied (instance
types, S3 buckets, Hub repos and revisions, network isolation) so that rules pass, fail and skip.
This is a benchmark, not a test: it prints figures and compares them with the targets, and never
fails a build.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

TARGET_COLD_MEDIAN_S = 0.2
# issue 23: at most 0.75 ms per manifest
TARGET_2000_S = 1.5
TARGET_10000_S = 7.5
# "Linear" means the marginal cost of one more manifest at the largest sizes stays within this factor
# of the marginal cost at the smallest sizes.
LINEAR_TOLERANCE = 1.5

# Variations cycled through the generated manifests: (instance type, model source, network isolation).
INSTANCE_TYPES = (
    "ml.g5.2xlarge",  # approved, fits
    "ml.g5.12xlarge",  # approved, fits
    "ml.g6e.12xlarge",  # approved, fits
    "ml.g4dn.xlarge",  # not approved; T4 has no bf16
    "ml.m5.xlarge",  # not approved; no accelerator
)
PINNED = "6a6f4aa4197940add57724a7707d069478df56b1"
SOURCES: tuple[dict[str, Any], ...] = (
    {"s3": {"uri": "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"}},
    {"s3": {"uri": "s3://acme-llm-weights/deepseek-r1-distill-qwen-7b/"}},
    {"s3": {"uri": "s3://other-team-weights/llama-8b/"}},  # not an approved bucket
    {"hub": {"repo": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "revision": PINNED}},
    {"hub": {"repo": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "revision": "main"}},  # unpinned
    {"hub": {"repo": "deepseek-al/DeepSeek-R1-Distill-Llama-8B"}},  # typosquat, unpinned
)


@dataclass
class Row:
    scenario: str
    manifests: int
    runs: int
    median_s: float
    p90_s: float | None
    findings: int | None
    exit_code: int
    target: str
    met: bool | None
    load: float = 0.0  # 1-minute load average when the runs ended
    cpu_s: float = 0.0  # median user + system CPU time of the process

    @property
    def per_manifest_ms(self) -> float:
        return self.median_s / self.manifests * 1000


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    version = subprocess.run(
        [*r1policy_cmd(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    listing = subprocess.run(
        [*r1policy_cmd(), "policies", "list"], capture_output=True, text=True, check=False, cwd=ROOT
    ).stdout
    rules = sum(1 for line in listing.splitlines() if line.startswith("R1-"))
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "nproc": str(usable),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "r1policy": version or "?",
        "rules": str(rules),
        "commit": (commit + (" (with uncommitted changes)" if dirty else "")) or "?",
    }


_CMD: list[str] = []


def r1policy_cmd() -> list[str]:
    if not _CMD:
        script = Path(sys.executable).parent / "r1policy"
        _CMD.extend([str(script)] if script.exists() else [sys.executable, "-m", "r1policy"])
    return _CMD


def load_base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "policies" / "cases-base.yaml").read_text())
    return data


def manifest(base: dict[str, Any], i: int) -> dict[str, Any]:
    doc = copy.deepcopy(base["manifest"])
    doc["metadata"]["name"] = f"bench-deployment-{i:05d}"
    spec = doc["spec"]
    spec["endpoint"]["name"] = f"bench-endpoint-{i:05d}"
    spec["endpoint"]["instance_type"] = INSTANCE_TYPES[i % len(INSTANCE_TYPES)]
    source = SOURCES[(i // len(INSTANCE_TYPES)) % len(SOURCES)]
    model = spec["model"]
    model.pop("s3", None)
    model.pop("hub", None)
    model.update(copy.deepcopy(source))
    if "hub" in source:
        spec["container"]["env"] = {"SM_NUM_GPUS": "1"}
    if i % 7 == 3:
        spec["endpoint"]["network_isolation"] = False
    return doc


def write_inputs(workdir: Path, base: dict[str, Any], n: int) -> Path:
    folder = workdir / f"manifests-{n}"
    folder.mkdir()
    for i in range(n):
        (folder / f"deploy-{i:05d}.yaml").write_text(yaml.safe_dump(manifest(base, i), sort_keys=False))
    return folder


CPU_TIMES: list[float] = []  # user + system CPU seconds of each timed run, in order


def timed(args: list[str], cwd: Path) -> tuple[float, int, str]:
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = os.times()
    CPU_TIMES.append(
        after.children_user - before.children_user + after.children_system - before.children_system
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"benchmark run failed (exit {proc.returncode}): {' '.join(args)}\n{proc.stderr}")
    return elapsed, proc.returncode, proc.stderr


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def bench_cold(workdir: Path, base: dict[str, Any], runs: int) -> Row:
    one = workdir / "one.yaml"
    one.write_text(yaml.safe_dump(base["manifest"], sort_keys=False))
    cmd = [*r1policy_cmd(), "check", "--static", str(one)]
    timed(cmd, workdir)  # warm the page cache and __pycache__; not counted
    times, code = [], 0
    for _ in range(runs):
        elapsed, code, _err = timed(cmd, workdir)
        times.append(elapsed)
    median = statistics.median(times)
    cpu = statistics.median(CPU_TIMES[-runs:])
    return Row(
        scenario="cold process, `check --static`, 1 manifest",
        manifests=1,
        runs=runs,
        median_s=median,
        p90_s=percentile(times, 0.9),
        findings=None,
        exit_code=code,
        target=f"median ≤ {TARGET_COLD_MEDIAN_S} s",
        met=median <= TARGET_COLD_MEDIAN_S,
        load=os.getloadavg()[0],
        cpu_s=cpu,
    )


def bench_many(workdir: Path, folder: Path, n: int, repeat: int, state: Path | None) -> Row:
    out = workdir / f"report-{n}{'-state' if state else ''}.json"
    mode = ["--state", str(state)] if state else ["--static"]
    cmd = [*r1policy_cmd(), "check", *mode, "--format", "json", "--output", str(out), str(folder)]
    times, code = [], 0
    for _ in range(repeat):
        out.unlink(missing_ok=True)
        elapsed, code, _err = timed(cmd, workdir)
        times.append(elapsed)
    report = json.loads(out.read_text())
    median = statistics.median(times)
    target, met = "", None
    if n == 2000:
        target, met = f"≤ {TARGET_2000_S:g} s", median <= TARGET_2000_S
    elif n == 10000:
        target, met = f"≤ {TARGET_10000_S:g} s", median <= TARGET_10000_S
    return Row(
        scenario=f"`check {'--state' if state else '--static'} --format json`, {n:,} manifests",
        manifests=n,
        runs=repeat,
        median_s=median,
        p90_s=None,
        findings=len(report["findings"]),
        exit_code=code,
        target=target,
        met=met,
        load=os.getloadavg()[0],
        cpu_s=statistics.median(CPU_TIMES[-repeat:]),
    )


def linearity(rows: list[Row]) -> tuple[str, bool | None]:
    """Compare the marginal cost per extra manifest between successive sizes (start-up cost excluded)."""
    static = sorted((r for r in rows if "--static --format" in r.scenario), key=lambda r: r.manifests)
    if len(static) < 2:
        return "", None
    pairs = list(itertools.pairwise(static))
    slopes = [(b.median_s - a.median_s) / (b.manifests - a.manifests) * 1000 for a, b in pairs]
    text = ", ".join(
        f"{a.manifests:,}→{b.manifests:,}: {s:.2f} ms" for (a, b), s in zip(pairs, slopes, strict=True)
    )
    if len(slopes) < 2:
        return f"marginal cost per extra manifest {text}", None
    ratio = slopes[-1] / slopes[0]
    return (
        f"marginal cost per extra manifest {text}; the last span costs {ratio:.2f}× the first "
        f"(linear means ≤ {LINEAR_TOLERANCE}×)",
        ratio <= LINEAR_TOLERANCE,
    )


def render(rows: list[Row], info: dict[str, str], note: str, linear_ok: bool | None) -> str:
    def verdict(met: bool | None) -> str:
        return "" if met is None else ("met" if met else "**missed**")

    lines = [
        f"Measured {info['date']} on {info['cpu']}, {info['nproc']} CPUs, {info['python']}, "
        f"{info['os']}; {info['r1policy']} ({info['rules']} built-in rules), commit {info['commit']}.",
        "",
        "| scenario | runs | median wall (s) | p90 (s) | median CPU (s) | per manifest (ms) | findings "
        "| exit | load avg | target | |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        p90 = f"{r.p90_s:.3f}" if r.p90_s is not None else ""
        findings = f"{r.findings:,}" if r.findings is not None else ""
        lines.append(
            f"| {r.scenario} | {r.runs} | {r.median_s:.3f} | {p90} | {r.cpu_s:.3f} | "
            f"{r.per_manifest_ms:.2f} | {findings} | {r.exit_code} | {r.load:.1f} | {r.target} | "
            f"{verdict(r.met)} |"
        )
    if note:
        lines += ["", f"Scaling: {note} — {verdict(linear_ok)}."]
    return "\n".join(lines) + "\n"


def update_doc(table: str) -> None:
    text = DOC.read_text() if DOC.exists() else ""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC}: markers {BEGIN} / {END} not found; add them where the table belongs")
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")
    print(f"updated {DOC.relative_to(ROOT)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--cold-runs", type=int, default=21, help="cold single-manifest runs (default 21)")
    parser.add_argument(
        "--sizes", default="200,2000,10000", help="comma-separated manifest counts (default 200,2000,10000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per size; the median is reported")
    parser.add_argument("--state-size", type=int, default=2000, help="manifest count for the --state run")
    parser.add_argument("--write", action="store_true", help=f"update {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    # The `--state` run is not --static, so it would consult the Hub for the Hub-sourced manifests:
    # keep it offline (Hub rules report `error`); bench/bench_hub.py measures the Hub path.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    base = load_base()
    info = machine_info()
    rows: list[Row] = []
    workdir = Path(tempfile.mkdtemp(prefix="r1policy-bench-"))
    try:
        (workdir / "r1policy.yaml").write_text(yaml.safe_dump(base["config"], sort_keys=False))
        state = workdir / "state.yaml"
        state.write_text(yaml.safe_dump(base["state"], sort_keys=False))
        print(f"cold start × {args.cold_runs} …", file=sys.stderr)
        rows.append(bench_cold(workdir, base, args.cold_runs))
        folders: dict[int, Path] = {}
        for n in sorted({*sizes, args.state_size} if args.state_size else set(sizes)):
            folders[n] = write_inputs(workdir, base, n)
        for n in sizes:
            print(f"{n:,} manifests × {args.repeat} …", file=sys.stderr)
            rows.append(bench_many(workdir, folders[n], n, args.repeat, None))
        if args.state_size:
            print(f"{args.state_size:,} manifests with --state × {args.repeat} …", file=sys.stderr)
            rows.append(bench_many(workdir, folders[args.state_size], args.state_size, args.repeat, state))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    note, linear_ok = linearity(rows)
    table = render(rows, info, note, linear_ok)
    print(table)
    if args.write:
        update_doc(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
