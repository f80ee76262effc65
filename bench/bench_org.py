#!/usr/bin/env python3
"""Benchmark `audit --organization` collection on a moto organization: serial vs local[8] vs Dask.

Usage (from the repository root):

    .venv/bin/python bench/bench_org.py                 # 10 accounts x 2 regions x 3 endpoints
    .venv/bin/python bench/bench_org.py --full          # 50 accounts x 2 regions x 10 endpoints
    .venv/bin/python bench/bench_org.py --accounts 20 --endpoints 5 --no-dask
    .venv/bin/python bench/bench_org.py --latency-ms 30   # each executor without and with 30 ms per call
    .venv/bin/python bench/bench_org.py --accounts 6 --endpoints 2 --no-dask \
        --prowler /work/benchenv/prowler/bin/prowler          # + Prowler, one run per member account

A moto server (tests/support/motoserver.py, its own process, with the Organizations patches of
tests/support/motoorg.py) gets an organization of N member accounts (Organizations CreateAccount), each
with the auditor role trusting the management account, and per account and region one model bucket and
M endpoints loading from it. Then the organization's collection (``r1policy.aws.orgrun``: list the
accounts, assume the role in each, enumerate SageMaker and read the buckets) runs with

* ``local[1]``: one account at a time (the serial baseline; inside an account the per-region pools
  still overlap reads, as in every run),
* ``local[8]``: eight account tasks on threads,
* ``dask``: a ``distributed.LocalCluster`` of 2 worker processes (2 threads each), when installed,

and prints wall times and the speed-ups. Every executor must produce the same merged state (checked).
This is a benchmark, not a test: the moto server is one Python process, so on a small machine it is
the bottleneck that bounds every speed-up.

``--latency-ms N`` runs every executor twice: as is (loopback: moto answers in about a millisecond of
its own CPU, so the work is CPU, not I/O) and with the server answering each request N ms late (slept
in the request's thread, ``MotoServer.set_latency``), as a regional AWS endpoint's round trip does
(20-40 ms for the S3 / SageMaker / STS control-plane calls the audit makes). Only with latency is the
work I/O, which is what issue 17's target (local[8] >= 4x serial on 2 cores) is about. The seeding
always runs without latency. The load average is printed beside every figure.

``--prowler EXE`` then runs Prowler's S3 and SageMaker checks once per member account, as its users
cover an organization (``prowler aws --role arn:aws:iam::<member>:role/r1policy-auditor``: Prowler
assumes the role with the management account's credentials, as r1policy does), one after another and
without latency, and prints per account its wall time, its findings and the account's buckets and
endpoints it reported on, beside what r1policy's organization run collected for that account.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "checker"))

from tests.support.awsworld import Bucket, Endpoint  # noqa: E402
from tests.support.motoserver import moto_server  # noqa: E402
from tests.support.orgworld import Member, Organization  # noqa: E402

REGIONS = ("us-east-1", "eu-west-1")
TARGET_SPEEDUP = 4.0  # issue 17: local[8] against serial, the work being I/O


def _seed_member(member: Member, endpoints: int) -> None:
    for region in REGIONS:
        bucket = member.world.seed_bucket(Bucket(f"bench-{member.account_id}-{region}", region=region))
        for i in range(endpoints):
            member.world.seed_endpoint(
                Endpoint(f"r1-{region}-{i}", bucket.name, region=region, network_isolation=i % 2 == 0)
            )


def _seed(accounts: int, endpoints: int) -> Organization:
    org = Organization.create([f"team-{i:03d}" for i in range(accounts)])
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda m: _seed_member(m, endpoints), org.members))
    return org


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("captured_at",)}


def _run(executor: str) -> tuple[float, dict[str, Any]]:
    from r1policy.aws.executors import parse_executor
    from r1policy.aws.orgrun import OrgRequest, audit_organization

    request = OrgRequest(role_name="r1policy-auditor", regions=REGIONS, executor=parse_executor(executor))
    started, cpu, moto = time.perf_counter(), time.process_time(), _cpu_of(_SERVER_PID[0])
    outcome = audit_organization(request)
    _CPU[executor] = (time.process_time() - cpu, _cpu_of(_SERVER_PID[0]) - moto)
    return time.perf_counter() - started, _comparable(outcome.state)


_SERVER_PID = [0]
_CPU: dict[str, tuple[float, float]] = {}  # executor -> (this process's CPU s, moto's CPU s) of its last run


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux ``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--endpoints", type=int, default=3, help="endpoints per account and region")
    parser.add_argument("--full", action="store_true", help="50 accounts x 2 regions x 10 endpoints")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--prowler", type=Path, metavar="EXE", help="also run Prowler once per member")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="also run every executor with the moto server answering each request this late (e.g. 30)",
    )
    args = parser.parse_args()
    if args.full:
        args.accounts, args.endpoints = 50, 10
    with moto_server() as server:
        os.environ.update(
            AWS_ENDPOINT_URL=server.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        started = time.perf_counter()
        org = _seed(args.accounts, args.endpoints)
        seeded = time.perf_counter() - started
        total = args.accounts * len(REGIONS) * args.endpoints
        print(
            f"world: {args.accounts} member accounts (+ management) x {len(REGIONS)} regions x "
            f"{args.endpoints} endpoints = {total} endpoints; seeded in {seeded:.1f} s",
            flush=True,
        )
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}")
        _SERVER_PID[0] = server.process.pid
        _run("local[8]")  # warm-up, not timed: imports and the first parse of the service models
        rows: list[tuple[str, float, list[tuple[str, float, float, str]]]] = []
        for latency in sorted({0.0, max(args.latency_ms, 0.0)}):
            server.set_latency(latency)
            rows.append((f"{latency:g} ms", latency, _executors(args.no_dask)))
        server.set_latency(0)
        prowler_rows = _prowler(args.prowler, org, _REFERENCE) if args.prowler else []
    print()
    print(
        "| latency per call | executor | wall time (s) | speed-up vs serial | CPU: this process / moto (s) "
        "| load average (1 min) |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for label, _, results in rows:
        serial = results[0][1]
        for name, seconds, load, cpu in results:
            print(f"| {label} | {name} | {seconds:.1f} | {serial / seconds:.2f}x | {cpu} | {load:.1f} |")
    for label, latency, results in rows:
        speedup = results[0][1] / results[1][1]
        met = "met" if speedup >= TARGET_SPEEDUP else "MISSED"
        work = "I/O (latency)" if latency else "CPU (loopback, no latency)"
        print(
            f"local[8] vs serial at {label}: {speedup:.2f}x (target >= {TARGET_SPEEDUP:g}x on "
            f"{os.cpu_count()} cores, the work being I/O: {met}; the work here: {work})"
        )
    _print_prowler(prowler_rows)
    return 0


_REFERENCE: dict[str, Any] = {}  # the state the serial run collected (for the Prowler comparison)


def _executors(no_dask: bool) -> list[tuple[str, float, float, str]]:
    """(executor, wall s, 1-min load average after the run, CPU split) for serial, local[8], Dask."""
    serial, reference = _run("local[1]")
    _REFERENCE.update(reference)
    results = [("local[1] (serial)", serial, os.getloadavg()[0], _cpu("local[1]"))]
    print(f"local[1]: {serial:.1f} s", flush=True)
    threads, state = _run("local[8]")
    assert state == reference, "local[8] collected a different state"
    results.append(("local[8]", threads, os.getloadavg()[0], _cpu("local[8]")))
    print(f"local[8]: {threads:.1f} s", flush=True)
    if not no_dask:
        seconds = _dask(reference)
        moto = _CPU[next(k for k in _CPU if k.startswith("dask"))][1]
        split = f"(workers' not counted) / {moto:.1f}"
        results.append(("dask, LocalCluster 2 workers x 2 threads", seconds, os.getloadavg()[0], split))
        print(f"dask: {results[-1][1]:.1f} s", flush=True)
    return results


def _cpu(executor: str) -> str:
    ours, moto = _CPU[executor]
    return f"{ours:.1f} / {moto:.1f}"


def _dask(reference: dict[str, Any]) -> float:
    import distributed

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        seconds, state = _run("dask://" + cluster.scheduler_address.removeprefix("tcp://"))
    assert state == reference, "the Dask executor collected a different state"
    return seconds


def _prowler(exe: Path, org: Organization, state: dict[str, Any]) -> list[dict[str, Any]]:
    """One Prowler run per member account (assuming the auditor role), one after another."""
    rows = []
    for member in org.members:
        role = f"arn:aws:iam::{member.account_id}:role/r1policy-auditor"
        with tempfile.TemporaryDirectory() as out:
            command = [str(exe), "aws", "--role", role, "--service", "s3", "sagemaker", "--region", *REGIONS]
            command += ["-M", "json-ocsf", "--output-directory", out, "--no-banner"]
            started = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
            wall = time.perf_counter() - started
            findings = [f for p in Path(out).glob("*.ocsf.json") for f in json.loads(p.read_text())]
        uids = {r.get("uid", "") for f in findings for r in f.get("resources", [])}
        accounts = {str(f.get("cloud", {}).get("account", {}).get("uid", "")) for f in findings}
        sm = state.get("sagemaker", {}).get(member.account_id, {})
        endpoints = {e["EndpointArn"] for r in sm.values() for e in r.get("endpoints", [])}
        models = {m["ModelArn"] for r in sm.values() for m in r.get("models", [])}
        configs = {c["EndpointConfigArn"] for r in sm.values() for c in r.get("endpoint_configs", [])}
        buckets = {n for n, b in state.get("buckets", {}).items() if b.get("account_id") == member.account_id}
        rows.append(
            {
                "account": member.account_id,
                "wall_s": wall,
                "exit": proc.returncode,
                "load": os.getloadavg()[0],
                "findings": len(findings),
                "finding_accounts": sorted(accounts - {""}),
                "buckets": f"{sum(any(b in u for u in uids) for b in buckets)}/{len(buckets)}",
                "endpoints": f"{len(endpoints & uids)}/{len(endpoints)}",
                "models": f"{len(models & uids)}/{len(models)}",
                "configs": f"{len(configs & uids)}/{len(configs)}",
                "error": "" if findings else proc.stderr.strip()[-300:],
            }
        )
        print(f"prowler {member.account_id}: {wall:.1f} s, {len(findings)} findings", flush=True)
    return rows


def _print_prowler(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    print()
    print(
        "| member account | Prowler wall (s) | exit | findings | accounts in its findings | "
        "of r1policy's: buckets | models | endpoint configs | endpoints | load |"
    )
    print("|---|---:|---:|---:|---|---|---|---|---|---:|")
    for r in rows:
        print(
            f"| {r['account']} | {r['wall_s']:.1f} | {r['exit']} | {r['findings']} | "
            f"{', '.join(r['finding_accounts'])} | {r['buckets']} | {r['models']} | {r['configs']} | "
            f"{r['endpoints']} | {r['load']:.1f} |"
        )
    total = sum(r["wall_s"] for r in rows)
    print(f"Prowler, {len(rows)} runs one per member account: {total:.1f} s in all")
    print("(Prowler has no endpoint-level SageMaker check: models, endpoint configs, notebooks, jobs)")
    for r in rows:
        if r["error"]:
            print(f"  {r['account']}: {r['error']}")


if __name__ == "__main__":
    sys.exit(main())
