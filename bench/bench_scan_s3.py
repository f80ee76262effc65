#!/usr/bin/env python3
"""Benchmark `scan s3://prefix/` as executor tasks on a moto prefix: serial (`local[1]`) vs `local[N]`.

Usage (from the repository root):

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python bench/bench_scan_s3.py
    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python bench/bench_scan_s3.py --objects 32 --mib 8 --threads 8

A moto server (tests/support/motoserver.py, its own process) gets a prefix of --objects safetensors
objects of --mib MiB each, plus two multipart uploads with SHA-256 part checksums of 3 x 5 MiB parts
that are hashed in ranges (the range threshold is lowered to 4 MiB for the run, as the tests do).
Then ``r1policy.artifacts.s3tasks.scan_target`` scans the prefix with ``local[1]`` and with
``local[N]``, --repeat rounds each (median reported, load average printed beside every figure), and
checks that both give the same facts and that the GETs fetched every byte once.

Target: local[N] >= 2x serial on 2 cores (the work is I/O against one moto process plus SHA-256,
which releases the GIL). This is a benchmark, not a test; it never fails a build.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "checker"))

from tests.support.motoserver import moto_server  # noqa: E402

from r1policy.artifacts import s3parts, s3tasks, targets  # noqa: E402
from r1policy.artifacts.scanner import Scanner  # noqa: E402
from r1policy.aws.executors import parse_executor  # noqa: E402

MIB = 1024 * 1024
BUCKET = "r1-bench-scan-s3"
TARGET = 2.0


def _safetensors(total: int) -> bytes:
    import json
    import struct

    data = total - 8 - 128
    header = json.dumps({"w": {"dtype": "U8", "shape": [data], "data_offsets": [0, data]}}).encode()
    return struct.pack("<Q", 128) + header.ljust(128) + os.urandom(data)


def _seed(client: Any, objects: int, size: int) -> int:
    client.create_bucket(Bucket=BUCKET)
    total = 0
    for index in range(objects):
        body = _safetensors(size)
        client.put_object(Bucket=BUCKET, Key=f"m/model-{index:05d}.safetensors", Body=body)
        total += len(body)
    for index in range(2):
        key = f"m/multipart-{index}.safetensors"
        body = _safetensors(15 * MIB)
        upload = client.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="SHA256")
        parts = []
        for number, start in enumerate(range(0, len(body), 5 * MIB), 1):
            answer = client.upload_part(
                Bucket=BUCKET,
                Key=key,
                UploadId=upload["UploadId"],
                PartNumber=number,
                Body=body[start : start + 5 * MIB],
                ChecksumAlgorithm="SHA256",
            )
            parts.append(
                {"ETag": answer["ETag"], "PartNumber": number, "ChecksumSHA256": answer["ChecksumSHA256"]}
            )
        client.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
        )
        total += len(body)
    return total


def _counting(client: Any, fetched: list[int]) -> None:
    lock = threading.Lock()

    def after(parsed: dict[str, Any], **_: Any) -> None:
        with lock:
            fetched[0] += int(parsed["ContentLength"])

    client.meta.events.register("after-call.s3.GetObject", after)


def _round(executor: str, threads: int) -> tuple[float, list[Any], int]:
    import boto3

    client = boto3.session.Session().client("s3")
    fetched = [0]
    _counting(client, fetched)
    targets._s3_client = lambda: client  # type: ignore[assignment]
    target = targets.resolve(f"s3://{BUCKET}/m/")
    started = time.perf_counter()
    results = s3tasks.scan_target(target, Scanner(workers=threads), parse_executor(executor))
    elapsed = time.perf_counter() - started
    facts = [(r.source.rel, r.top.sha256, r.top.parts, r.top.digest_problems, r.top.format) for r in results]
    return elapsed, facts, fetched[0]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=24)
    parser.add_argument("--mib", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    s3parts.DEFAULT_THRESHOLD = 4 * MIB  # the multipart objects are hashed in ranges
    with moto_server() as server:
        os.environ.update(
            AWS_ENDPOINT_URL=server.endpoint_url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
        )
        import boto3

        stored = _seed(boto3.client("s3"), args.objects, args.mib * MIB)
        print(f"prefix: {args.objects} x {args.mib} MiB + 2 x 15 MiB multipart = {stored:,} bytes; {_load()}")
        times: dict[str, list[float]] = {"local[1]": [], f"local[{args.threads}]": []}
        reference = None
        for _ in range(args.repeat):
            for executor in times:
                elapsed, facts, fetched = _round(executor, args.threads)
                reference = reference or facts
                assert facts == reference, f"{executor} gave other facts"
                assert fetched == stored, f"{executor} fetched {fetched:,} bytes of {stored:,}"
                assert not any(f[3] for f in facts), "digest problems on an untouched prefix"
                times[executor].append(elapsed)
                print(f"  {executor:<10} {elapsed:6.2f} s  ({stored / elapsed / 1e6:6.1f} MB/s)  {_load()}")
    serial, parallel = (statistics.median(v) for v in times.values())
    ratio = serial / parallel
    verdict = "met" if ratio >= TARGET else "missed"
    print(
        f"median: local[1] {serial:.2f} s, local[{args.threads}] {parallel:.2f} s: {ratio:.2f}x "
        f"(target >= {TARGET:.1f}x: {verdict}); every byte fetched once in every run; {_load()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
