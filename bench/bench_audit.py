#!/usr/bin/env python3
"""Benchmark the live-AWS collectors, `r1policy snapshot` and `r1policy audit` on a seeded moto world.

Usage (from the repository root):

    .venv/bin/python bench/bench_audit.py                       # 1,000 buckets, 300 endpoints, 2 regions
    .venv/bin/python bench/bench_audit.py --buckets 100 --endpoints 30   # a quick run
    .venv/bin/python bench/bench_audit.py --golden --prowler /work/benchenv/prowler/bin/prowler
        # issue 23.3's world (the golden audit world: 12 buckets, 8 endpoints + the demo deployment,
        # two regions), the audit and Prowler 5 times each: ratio, target >= 10x, met/missed

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

Each audit run also reports its CPU split: the audit process's own CPU (user + system, from
``getrusage(RUSAGE_CHILDREN)``) and the moto server's CPU during the run (``/proc/<pid>/stat``), since
moto runs on the same cores. ``--latency-ms N`` makes the server answer each request N ms late (slept in
the request's thread; seeding runs without it). With ``--prowler``, Prowler runs ``--prowler-runs``
times (default 5) and the ratio of the medians is printed with the target (audit >= 10x Prowler).

This is a benchmark, not a test: it prints figures and compares them with the targets.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import resource
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
from tests.support.callcount import identity  # noqa: E402
from tests.support.motoserver import moto_server  # noqa: E402
from tests.support.throttle_proxy import fault_proxy  # noqa: E402

REGIONS = ("us-east-1", "eu-west-1")
TARGET_CALLS_PER_BUCKET = 12
TARGET_PROWLER_RATIO = 10.0  # issue 23.3: the audit at least 10x faster than Prowler on the same world
TARGET_CALLS_PER_ENDPOINT = 6


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
        ident = identity(params)  # a duplicate (operation, identity) is a resource read twice
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


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux ``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuSplit:
    """CPU seconds of the children run inside the block and of the moto server meanwhile."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.ours = self.moto = 0.0

    def __enter__(self) -> CpuSplit:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._ours, self._moto = usage.ru_utime + usage.ru_stime, _cpu_of(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.ours = usage.ru_utime + usage.ru_stime - self._ours
        self.moto = _cpu_of(self.pid) - self._moto


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


def prowler(exe: Path, out: Path, env: dict[str, str], split: CpuSplit) -> dict[str, Any]:
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
    with split:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    rss = next((int(x.split()[1]) for x in proc.stderr.splitlines() if x.startswith("maxrss_kib")), 0)
    findings = sum(len(json.loads(f.read_text())) for f in out.glob("*.ocsf.json"))
    return {
        "command": " ".join(command[3:]),
        "wall_s": wall,
        "cpu_s": split.ours,
        "moto_cpu_s": split.moto,
        "exit": proc.returncode,
        "peak_rss_mib": rss / 1024,
        "findings": findings,
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=300)
    parser.add_argument(
        "--golden",
        action="store_true",
        help="the golden audit world (tests/support/auditgolden.py) instead of --buckets/--endpoints",
    )
    parser.add_argument("--runs", type=int, default=5, help="audit runs; the median is reported (default 5)")
    parser.add_argument(
        "--prowler",
        type=Path,
        metavar="EXE",
        help="also run Prowler's S3 and SageMaker checks against the same moto world "
        "(e.g. /work/benchenv/prowler/bin/prowler; it honours AWS_ENDPOINT_URL through boto3)",
    )
    parser.add_argument("--prowler-runs", type=int, default=5, help="Prowler runs (default 5)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="moto answers each request this late (default 0)"
    )
    return parser.parse_args()


def _seed_world(ns: argparse.Namespace) -> tuple[float, list[str], list[str]]:
    """Seed the world: (seconds, the bucket names to collect, extra audit arguments)."""
    if ns.golden:
        from tests.support.auditgolden import seed_golden_world

        started = time.perf_counter()
        seed_golden_world()
        config = ROOT / "examples" / "aws-demo" / "r1policy.yaml"
        return time.perf_counter() - started, [], ["--config", str(config)]
    return seed(ns.buckets, ns.endpoints), [_bucket_spec(i).name for i in range(ns.buckets)], []


def _collection(names: list[str]) -> dict[str, Any]:
    counter = CallCounter()
    wall, doc = collect(names, counter)
    n_buckets = len(doc["buckets"])
    inventories = [r for regions in doc.get("sagemaker", {}).values() for r in regions.values()]
    n_sm = sum(len(r[k]) for r in inventories for k in ("models", "endpoint_configs", "endpoints"))
    s3_calls = sum(v for k, v in counter.calls.items() if _service(k) == "s3" and k != "GetObject")
    n_endpoints = sum(len(r["endpoints"]) for r in inventories)
    n_prefixes = len(doc.get("model_files", {}))
    n_roles = len(doc.get("iam_roles", {}))
    trails = {t["arn"] for b in doc["buckets"].values() for t in b.get("trails", []) if "arn" in t}
    tracemalloc.start()
    collect(names, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "wall_s": wall,
        "tracemalloc_peak_mib": peak / 2**20,
        "buckets_read": n_buckets,
        "sagemaker_resources": n_sm,
        "endpoints": n_endpoints,
        "kms_keys": len(doc["kms_keys"]),
        "iam_roles": n_roles,
        "api_calls": sum(counter.calls.values()),
        "http_attempts": counter.attempts,
        "calls_by_operation": dict(sorted(counter.calls.items())),
        "s3_calls_per_bucket": s3_calls / max(n_buckets, 1),
        "sagemaker_calls_per_endpoint": _calls(counter, "sagemaker") / max(n_endpoints, 1),
        "calls_per_resource_kind": {
            "endpoint (SageMaker List* pages and Describe* of its model, config, endpoint)": _calls(
                counter, "sagemaker"
            )
            / max(n_endpoints, 1),
            "bucket (S3 facts, ListBuckets and account BPA shared)": s3_calls / max(n_buckets, 1),
            "model prefix (GetObject config.json + index)": counter.calls["GetObject"] / max(n_prefixes, 1),
            "KMS key": _calls(counter, "kms") / max(len(doc["kms_keys"]), 1),
            "execution role (IAM)": _calls(counter, "iam") / max(n_roles, 1),
            "trail (CloudTrail, DescribeTrails per account+region shared)": _calls(counter, "cloudtrail")
            / max(len(trails), 1),
        },
        "resources_read_twice": sorted(
            f"{op}({ident})" for (op, ident), n in counter.identities.items() if n > 1
        ),
        "unreadable_facts": sum(len(b.get("errors", {})) for b in doc["buckets"].values()),
    }


def _audits(
    ns: argparse.Namespace, env: dict[str, str], tmp: Path, extra: list[str], pid: int
) -> dict[str, Any]:
    audit_args = ["audit", "--regions", ",".join(REGIONS), "--report-dir", "", "--exit-zero", *extra]
    walls: list[float] = []
    loads: list[float] = []
    cpus: list[tuple[float, float]] = []
    for run in range(max(ns.runs, 1)):
        audit_args[4] = str(tmp / f"reports-{run}")
        with CpuSplit(pid) as split:
            wall, code, rss, tail = child(audit_args, env)
        walls.append(wall)
        loads.append(os.getloadavg()[0])
        cpus.append((split.ours, split.moto))
    return {
        "wall_s": statistics.median(walls),
        "wall_s_runs": [round(w, 2) for w in walls],
        "load_avg_1min": [round(x, 2) for x in loads],
        "cpu_s_runs": [round(c[0], 2) for c in cpus],
        "moto_cpu_s_runs": [round(c[1], 2) for c in cpus],
        "cpu_s": statistics.median(c[0] for c in cpus),
        "moto_cpu_s": statistics.median(c[1] for c in cpus),
        "exit": code,
        "peak_rss_mib": rss,
        "stderr": tail,
        "args": audit_args,
    }


def main() -> int:
    ns = _arguments()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGIONS[0],
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    world = "golden audit world" if ns.golden else f"{ns.buckets} buckets, {ns.endpoints} endpoints"
    results: dict[str, Any] = {"world": world, "regions": list(REGIONS), "latency_ms": ns.latency_ms}
    with moto_server() as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        os.environ["R1POLICY_CACHE_DIR"] = str(tmp / "cache")
        results["seed_s"], names, extra = _seed_world(ns)
        server.set_latency(ns.latency_ms)
        results["collect"] = _collection(names)
        env = dict(os.environ)
        snap = tmp / "snapshot.json"
        wall, code, rss, tail = child(
            ["snapshot", "--regions", ",".join(REGIONS), "--output", str(snap)], env
        )
        results["snapshot"] = {"wall_s": wall, "exit": code, "peak_rss_mib": rss, "stderr": tail}
        results["audit"] = audit = _audits(ns, env, tmp, extra, server.process.pid)
        with fault_proxy(server.endpoint_url) as proxy:
            audit["args"][4] = str(tmp / "reports-proxy")
            child(audit["args"], dict(env, AWS_ENDPOINT_URL=proxy.endpoint_url))
            by_service = collections.Counter(r.service for r in proxy.requests)
        audit["http_requests"] = len(proxy.requests)
        audit["http_requests_by_service"] = dict(by_service)
        if ns.prowler is not None:
            runs = []
            for run in range(max(ns.prowler_runs, 1)):
                runs.append(prowler(ns.prowler, tmp / f"prowler-{run}", env, CpuSplit(server.process.pid)))
                runs[-1]["load_avg_1min"] = round(os.getloadavg()[0], 2)
            results["prowler"] = {
                "runs": runs,
                "wall_s": statistics.median(r["wall_s"] for r in runs),
                "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            }
    cpu = platform.processor() or platform.machine()
    results["machine"] = f"{cpu}, {os.cpu_count()} CPUs, CPython {platform.python_version()}"
    print(json.dumps(results, indent=2))
    _summary(results)
    return 0


def _summary(results: dict[str, Any]) -> None:
    c, a = results["collect"], results["audit"]
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    say(
        f"\nworld: {results['world']}, regions {', '.join(results['regions'])}, "
        f"latency {results['latency_ms']:g} ms"
    )
    for kind, per in c["calls_per_resource_kind"].items():
        say(f"API calls per {kind}: {per:.2f}")
    met = "met" if c["sagemaker_calls_per_endpoint"] <= TARGET_CALLS_PER_ENDPOINT else "MISSED"
    say(
        f"SageMaker calls per endpoint: {c['sagemaker_calls_per_endpoint']:.2f} "
        f"(target <= {TARGET_CALLS_PER_ENDPOINT}: {met})"
    )
    met = "met" if c["s3_calls_per_bucket"] <= TARGET_CALLS_PER_BUCKET else "MISSED"
    say(f"S3 calls per bucket: {c['s3_calls_per_bucket']:.2f} (target <= {TARGET_CALLS_PER_BUCKET}: {met})")
    say(f"resources read twice: {len(c['resources_read_twice'])} (target 0)")
    say(
        f"audit: median {a['wall_s']:.2f} s of {len(a['wall_s_runs'])} runs {a['wall_s_runs']}; CPU (median) "
        f"{a['cpu_s']:.2f} s ours + {a['moto_cpu_s']:.2f} s moto's; load average (1 min) after each run "
        f"{a['load_avg_1min']}; {a['http_requests']} HTTP requests {a['http_requests_by_service']}"
    )
    prow = results.get("prowler")
    if prow:
        walls = [round(r["wall_s"], 1) for r in prow["runs"]]
        loads = [r["load_avg_1min"] for r in prow["runs"]]
        say(
            f"Prowler: median {prow['wall_s']:.1f} s of {walls}, CPU (median) {prow['cpu_s']:.1f} s; "
            f"load {loads}"
        )
        ratio = prow["wall_s"] / a["wall_s"]
        met = "met" if ratio >= TARGET_PROWLER_RATIO else "MISSED"
        say(
            f"audit vs Prowler (medians): {ratio:.1f}x faster (target >= {TARGET_PROWLER_RATIO:g}x: {met}); "
            f"CPU {prow['cpu_s'] / max(a['cpu_s'], 1e-9):.1f}x less"
        )


def _service(operation: str) -> str:
    if operation in _SM_OPS:
        return "sagemaker"
    if operation in _KMS_OPS:
        return "kms"
    if operation in _IAM_OPS:
        return "iam"
    if operation in _TRAIL_OPS:
        return "cloudtrail"
    if operation == "GetCallerIdentity":
        return "sts"
    return "s3"


def _calls(counter: CallCounter, service: str) -> int:
    return sum(n for op, n in counter.calls.items() if _service(op) == service)


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
_KMS_OPS = {"DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy"}
_IAM_OPS = {
    "GetRole",
    "ListRolePolicies",
    "GetRolePolicy",
    "ListAttachedRolePolicies",
    "GetPolicy",
    "GetPolicyVersion",
}
_TRAIL_OPS = {"DescribeTrails", "GetTrailStatus", "GetEventSelectors"}


if __name__ == "__main__":
    raise SystemExit(main())
