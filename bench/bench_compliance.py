#!/usr/bin/env python3
"""Benchmark the `--compliance` section on the findings of an audit of 1,000 buckets and 300 endpoints
(the world of bench/bench_audit.py): the time to build the section for all four shipped frameworks and
to write it into the JSON report, against the same report without it.

    .venv/bin/python bench/bench_compliance.py [--buckets 1000] [--endpoints 300]

The target (SPEC 8.5): the section adds at most 10 % to the audit (12.9 s measured by bench_audit.py).
"""

from __future__ import annotations

import argparse
import json
import time

from r1policy.compliance.section import compliance_section
from r1policy.core.findings import Enforcement, Finding, Remediation, Severity, Status, Subject, SubjectType
from r1policy.engine.report import Report
from r1policy.formats.common import RenderOptions
from r1policy.formats.json_v1 import render
from r1policy.rules.catalogue import shipped_catalogues
from r1policy.rules.registry import load_registry

FIX = Remediation("fix it")


def findings(buckets: int, endpoints: int, rules: dict[str, object]) -> list[Finding]:
    out: list[Finding] = []
    bucket_rules = [r for r in rules if r.startswith("R1-S3-") and r not in ("R1-S3-006", "R1-S3-008")]
    other = [r for r in rules if not r.startswith("R1-ART-") and r not in bucket_rules]
    for i in range(buckets):
        subject = Subject(SubjectType.BUCKET, f"s3://bucket-{i}")
        for r in bucket_rules:
            status = Status.PASS if i % 2 else Status.FAIL
            out.append(Finding(r, r, Severity.HIGH, status, Enforcement.BLOCK, subject, "m", remediation=FIX))
    for i in range(endpoints):
        subject = Subject(SubjectType.ENDPOINT, f"arn:aws:sagemaker:us-east-1:1:endpoint/e-{i}")
        for r in other:
            status = (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED)[i % 4]
            out.append(Finding(r, r, Severity.HIGH, status, Enforcement.BLOCK, subject, "m", remediation=FIX))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=300)
    args = parser.parse_args()
    registry = load_registry([])
    found = findings(args.buckets, args.endpoints, dict(registry.rules))
    catalogues = list(shipped_catalogues().values())
    options = RenderOptions()
    report = Report(findings=found, command="audit", rules=registry.rules)
    t0 = time.perf_counter()
    plain = render(report, options)
    t1 = time.perf_counter()
    report.compliance = compliance_section(found, registry.rules, catalogues)
    t2 = time.perf_counter()
    with_section = render(report, options)
    t3 = time.perf_counter()
    json.loads(with_section)
    print(f"{len(found):,} findings, {sum(len(c.controls) for c in catalogues)} controls in 4 frameworks")
    print(f"JSON report without the section: {t1 - t0:.3f} s, {len(plain):,} bytes")
    print(f"section built in {t2 - t1:.3f} s; JSON with it {t3 - t2:.3f} s, {len(with_section):,} bytes")
    added = (t2 - t1) + (t3 - t2) - (t1 - t0)
    print(f"added: {added:.3f} s = {100 * added / 12.9:.1f} % of the 12.9 s audit (target <= 10 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
