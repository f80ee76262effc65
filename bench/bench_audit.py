#!/usr/bin/env python3
"""Benchmark the live-AWS collectors, `r1policy snapshot` and `r1policy audit` on a seeded moto world.

Usage (from the repository root):

    .venv/bin/python bench/bench_audit.py                       # 1,000 buckets, 300 endpoints, 2 regions
    .venv/bin/python bench/bench_audit.py --buckets 100 --endpoints 30   # a quick run

A moto server (tests/support/motoserver.py, its own process) is seeded through boto3 over HTTP with
N buckets (every S3 fact set, half of them compliant) and M endpoints (model + endpoint config +
endpoint, each model loading from one of the buckets), spread over two regions. Then:

1. collection in this process (`collect_state(..., sagemaker=True, buckets=<all>)`): wall time,
   API calls per operation and per resource (botocore ``before-call`` hooks; HTTP attempts through
   ``before-send``), whether any resource was read twice;
2. the same collection under ``tracemalloc``: peak Python memory of the collection;
3. `r1policy snapshot` and `r1policy audit` as fresh processes: wall time and peak RSS
   (``getrusage(RUSAGE_CHILDREN)``); audit's HTTP requests counted by a pass-through loopback proxy
   (``tests/support/throttle_proxy.py``) in a separate run; the audit is run ``--runs`` times (default 5)
   and the median reported with the 1-minute load average after each run;
4. API calls per resource kind: per endpoint (SageMaker), per bucket (S3), per model prefix (GetObject
   of config.json and the safetensors index) and per KMS key.

This is a benchmark, not a test: it prints figures and compares them with the targets.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.awsworld import Bucket, Endpoint, World  # noqa: E402
from tests.support.motoserver import moto_server  # noqa: E402
from tests.support.throttle_proxy import fault_proxy  # noqa: E402

REGIONS = ("us-east-1", "eu-west-1")
TARGET_CALLS_PER_BUCKET = 12

# Reads that identify one resource by these request parameters (a duplicate is a resource read twice).
_IDENTITY = ("Bucket", "KeyId", "ModelName", "EndpointConfigName", "EndpointName", "AccountId")


def _bucket_spec(i: int) -> Bucket:
    region = REGIONS[i % 2]
    name = f"bench-weights-{i:04d}"
    if i % 2 == 0:
        return Bucket(name, region=region)
    return Bucket(
        name,
        region=region,
        encryption="AES256" if i % 3 else None,
        block_public_access=i % 5 != 1,
        policy="public" if i % 7 == 1 else None,
        versioning=i % 4 != 1,
        logging=False,
    )


def seed(buckets: int, endpoints: int, workers: int = 8) -> float:
    started = time.perf_counter()
    world = World()
    world.account_block_public_access()
    for region in REGIONS:  # create the shared keys and log buckets before the threads race for them
        world.shared_key(region)
        world.log_bucket(region)
    specs = [_bucket_spec(i) for i in range(buckets)]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(world.seed_bucket, specs))
        list(
            pool.map(
                world.seed_endpoint,
                [
                    Endpoint(
                        f"bench-endpoint-{j:03d}",
                        specs[j % buckets].name,
                        region=specs[j % buckets].region,
                        network_isolation=j % 3 != 1,
                        vpc=j % 4 != 1,
                        instance_type="ml.g5.2xlarge" if j % 5 else "ml.p4d.24xlarge",
                    )
                    for j in range(endpoints)
                ],
            )
        )
    return time.perf_counter() - started


class CallCounter:
    """Counts API calls (before-call) and HTTP attempts (before-send) on every client of a session."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.identities: collections.Counter[tuple[str, str]] = collections.Counter()
        self.attempts = 0
        self._lock = threading.Lock()

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        ident = ",".join(f"{k}={params[k]}" for k in _IDENTITY if k in params)
        with self._lock:
            self.calls[model.name] += 1
            if ident:
                self.identities[(model.name, ident)] += 1

    def before_send(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1


def collect(buckets: list[str], counter: CallCounter | None) -> tuple[float, dict[str, Any]]:
    from r1policy.aws.collect import collect_state
    from r1policy.aws.session import open_accounts

    accounts = open_accounts(region=REGIONS[0])
    if counter is not None:
        for account in accounts:
            account.on_event("before-call", counter.before_call)
            account.on_event("before-send", counter.before_send)
    started = time.perf_counter()
    doc = collect_state(accounts, regions=list(REGIONS), buckets=buckets, sagemaker=True)
    return time.perf_counter() - started, doc


# VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across fork+exec into ru_maxrss.
_WRAP = (
    "import re, sys\n"
    "from pathlib import Path\n"
    "from r1policy.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = re.search(r'VmHWM:\\s+(\\d+) kB', Path('/proc/self/status').read_text())\n"
    "print('maxrss_kib', hwm.group(1) if hwm else 0, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def child(args: list[str], env: dict[str, str]) -> tuple[float, int, float, str]:
    """Run a fresh r1policy process: (wall s, exit code, its peak RSS in MiB, its last message)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _WRAP, *args], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    lines = proc.stderr.strip().splitlines()
    rss = next((int(line.split()[1]) for line in reversed(lines) if line.startswith("maxrss_kib")), 0)
    message = next((line for line in reversed(lines) if not line.startswith("maxrss_kib")), "")
    return wall, proc.returncode, rss / 1024, message


def prowler(exe: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    """Prowler's S3 + SageMaker checks, timed by wall clock; peak RSS from GNU time (%M, KiB)."""
    command = [
        "/usr/bin/time",
        "-f",
        "maxrss_kib %M",
        str(exe),
        "aws",
        "--service",
        "s3",
        "sagemaker",
        "--region",
        *REGIONS,
        "-M",
        "json-ocsf",
        "--output-directory",
        str(out),
        "--no-banner",
    ]
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    rss = next((int(x.split()[1]) for x in proc.stderr.splitlines() if x.startswith("maxrss_kib")), 0)
    findings = sum(len(json.loads(f.read_text())) for f in out.glob("*.ocsf.json"))
    return {
        "command": " ".join(command[3:]),
        "wall_s": wall,
        "exit": proc.returncode,
        "peak_rss_mib": rss / 1024,
        "findings": findings,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5, help="audit runs; the median is reported (default 5)")
    parser.add_argument(
        "--prowler",
        type=Path,
        metavar="EXE",
        help="also run Prowler's S3 and SageMaker checks against the same moto world "
        "(e.g. /work/benchenv/prowler/bin/prowler; it honours AWS_ENDPOINT_URL through boto3)",
    )
    ns = parser.parse_args()

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGIONS[0],
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    results: dict[str, Any] = {"buckets": ns.buckets, "endpoints": ns.endpoints, "regions": list(REGIONS)}
    with moto_server() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        results["seed_s"] = seed(ns.buckets, ns.endpoints)
        names = [_bucket_spec(i).name for i in range(ns.buckets)]

        counter = CallCounter()
        wall, doc = collect(names, counter)
        n_buckets = len(doc["buckets"])
        inventories = [r for regions in doc["sagemaker"].values() for r in regions.values()]
        n_sm = sum(len(r[k]) for r in inventories for k in ("models", "endpoint_configs", "endpoints"))
        s3_calls = sum(
            v for k, v in counter.calls.items() if k not in _SM_OPS and k not in _KMS_OPS and k != "GetObject"
        )
        n_endpoints = sum(len(r["endpoints"]) for r in inventories)
        n_prefixes = len(doc.get("model_files", {}))
        results["collect"] = {
            "wall_s": wall,
            "buckets_read": n_buckets,
            "sagemaker_resources": n_sm,
            "kms_keys": len(doc["kms_keys"]),
            "api_calls": sum(counter.calls.values()),
            "http_attempts": counter.attempts,
            "calls_by_operation": dict(sorted(counter.calls.items())),
            "s3_calls_per_bucket": s3_calls / max(n_buckets, 1),
            "sagemaker_calls_per_resource": sum(counter.calls[k] for k in _SM_OPS) / max(n_sm, 1),
            "calls_per_resource_kind": {
                "endpoint (SageMaker List*/Describe*)": sum(counter.calls[k] for k in _SM_OPS)
                / max(n_endpoints, 1),
                "bucket (S3 facts, ListBuckets and account BPA shared)": s3_calls / max(n_buckets, 1),
                "model prefix (GetObject config.json + index)": counter.calls["GetObject"]
                / max(n_prefixes, 1),
                "KMS key": sum(counter.calls[k] for k in _KMS_OPS if k != "GetCallerIdentity")
                / max(len(doc["kms_keys"]), 1),
            },
            "resources_read_twice": sorted(
                f"{op}({ident})" for (op, ident), n in counter.identities.items() if n > 1
            ),
            "unreadable_facts": sum(len(b.get("errors", {})) for b in doc["buckets"].values()),
        }

        tracemalloc.start()
        collect(names, None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results["collect"]["tracemalloc_peak_mib"] = peak / 2**20

        env = dict(os.environ)
        snap = Path(tmp) / "snapshot.json"
        regions = ",".join(REGIONS)
        wall, code, rss, tail = child(["snapshot", "--regions", regions, "--output", str(snap)], env)
        results["snapshot"] = {
            "wall_s": wall,
            "exit": code,
            "peak_rss_mib": rss,
            "bytes": snap.stat().st_size,
            "stderr": tail,
        }
        audit_args = [
            "audit",
            "--regions",
            regions,
            "--report-dir",
            str(Path(tmp) / "reports"),
            "--exit-zero",
        ]
        walls: list[float] = []
        loads: list[float] = []
        for run in range(max(ns.runs, 1)):
            audit_args[4] = str(Path(tmp) / f"reports-{run}")
            wall, code, rss, tail = child(audit_args, env)
            walls.append(wall)
            loads.append(os.getloadavg()[0])
        results["audit"] = {
            "wall_s": statistics.median(walls),
            "wall_s_runs": [round(w, 2) for w in walls],
            "load_avg_1min": [round(x, 2) for x in loads],
            "exit": code,
            "peak_rss_mib": rss,
            "stderr": tail,
        }
        with fault_proxy(server.endpoint_url) as proxy:
            env_proxy = dict(env, AWS_ENDPOINT_URL=proxy.endpoint_url)
            audit_args[4] = str(Path(tmp) / "reports-proxy")
            child(audit_args, env_proxy)
            by_service = collections.Counter(r.service for r in proxy.requests)
        results["audit"]["http_requests"] = len(proxy.requests)
        results["audit"]["http_requests_by_service"] = dict(by_service)
        if ns.prowler is not None:
            results["prowler"] = prowler(ns.prowler, Path(tmp) / "prowler", env)

    cpu = platform.processor() or platform.machine()
    results["machine"] = f"{cpu}, {os.cpu_count()} CPUs, CPython {platform.python_version()}"
    print(json.dumps(results, indent=2))
    c = results["collect"]
    for kind, per in c.get("calls_per_resource_kind", {}).items():
        print(f"API calls per {kind}: {per:.2f}", file=sys.stderr)
    a = results["audit"]
    print(
        f"audit: median {a['wall_s']:.2f} s of {len(a['wall_s_runs'])} runs {a['wall_s_runs']}, "
        f"load average (1 min) after each run {a['load_avg_1min']}",
        file=sys.stderr,
    )
    met = "met" if c["s3_calls_per_bucket"] <= TARGET_CALLS_PER_BUCKET else "MISSED"
    print(
        f"\ncollection: {c['wall_s']:.1f} s for {c['buckets_read']} buckets + "
        f"{c['sagemaker_resources']} SageMaker resources; {c['s3_calls_per_bucket']:.2f} S3 calls per "
        f"bucket (target ≤ {TARGET_CALLS_PER_BUCKET}: {met}); "
        f"resources read twice: {len(c['resources_read_twice'])}",
        file=sys.stderr,
    )
    return 0


_SM_OPS = {
    "ListModels",
    "DescribeModel",
    "ListEndpointConfigs",
    "DescribeEndpointConfig",
    "ListEndpoints",
    "DescribeEndpoint",
    "ListInferenceComponents",
    "DescribeInferenceComponent",
}
_KMS_OPS = {"DescribeKey", "GetKeyRotationStatus", "GetCallerIdentity"}


if __name__ == "__main__":
    raise SystemExit(main())
