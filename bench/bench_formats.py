#!/usr/bin/env python3
"""Benchmark the output formats: render one report of N findings in every format.

Usage (from the repository root):

    .venv/bin/python bench/bench_formats.py [--findings 20000] [--repeat 3]

The findings are built through Finding.create (a failing rule on one of N/5 deployments, each with a
file location and a 200-character message), so every writer does its real work: paths relative to the
repository, redaction, escaping, fingerprints. Prints a Markdown table (best of --repeat, wall clock);
a benchmark, not a test: it never fails a build.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "checker"))

from r1policy.core.findings import (  # noqa: E402
    Enforcement,
    Finding,
    Location,
    Remediation,
    Severity,
    Status,
    Subject,
    SubjectType,
)
from r1policy.engine.report import Report  # noqa: E402
from r1policy.formats import RenderOptions, writers  # noqa: E402


def build(n: int) -> Report:
    findings = [
        Finding.create(
            rule_id=f"R1-EP-00{i % 7 + 1}",
            title="Endpoint instance type is on the approved list",
            severity=Severity.HIGH,
            status=Status.FAIL,
            enforcement=Enforcement.BLOCK,
            subject=Subject(SubjectType.DEPLOYMENT, f"deployment-{i // 5:05d}"),
            message="m" * 200,
            location=Location(f"deploy/d{i // 5 % 50}.yaml", i % 400 + 1, 3),
            remediation=Remediation("Fix it.", ("Use an approved instance type.",)),
        )
        for i in range(n)
    ]
    return Report(findings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.chdir(ROOT)
    report = build(args.findings)
    cores = os.cpu_count()
    version = platform.python_version()
    print(f"{args.findings} findings, best of {args.repeat}; Python {version}, {cores} cores")
    print("\n| format | seconds | output |\n|---|---:|---:|")
    for fmt, render in writers().items():
        best, size = float("inf"), 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            text = render(report, RenderOptions(width=160))
            best = min(best, time.perf_counter() - start)
            size = len(text.encode("utf-8"))
        print(f"| {fmt.value} | {best:.2f} | {size / 1e6:.1f} MB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
