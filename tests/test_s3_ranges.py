"""`scan s3://…` as executor tasks (issue 17 item 2, docs/s3-hashing.md): one task per object, per-range
tasks for objects over the threshold that fetch disjoint ranges (every byte once, counted here per
GET), S3's stored part checksums verified (a tampered part is a finding), part digests in the lock
(schema version 2), and a Dask LocalCluster giving the local executor's report."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import finding_set, run_cli

from r1policy.artifacts import s3parts, s3tasks, targets
from r1policy.artifacts.s3parts import Window
from r1policy.artifacts.scanner import Scanner
from r1policy.aws.executors import parse_executor

MIB = 1024 * 1024
PART = 5 * MIB  # S3's smallest part
BUCKET = "r1-weights-ranges"
BASE = f"s3://{BUCKET}/m"


def _safetensors(total: int) -> bytes:
    """A valid safetensors file of exactly `total` bytes: one U8 tensor of random bytes."""
    for width in range(60, 200):
        data = total - 8 - width
        header = json.dumps({"w": {"dtype": "U8", "shape": [data], "data_offsets": [0, data]}}).encode()
        if len(header) <= width:
            header += b" " * (width - len(header))
            return struct.pack("<Q", len(header)) + header + os.urandom(data)
    raise AssertionError(total)


def _torch_zip(size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/data/0", bytes(16) + os.urandom(size))  # never `{` at byte 8: safetensors
    return out.getvalue()


def _multipart(client: Any, key: str, data: bytes, *, tamper_part: int | None = None) -> None:
    meta = {"r1policy-tamper-part": str(tamper_part)} if tamper_part else {}
    upload = client.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="SHA256", Metadata=meta)
    parts = []
    for number, start in enumerate(range(0, len(data), PART), 1):
        answer = client.upload_part(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[start : start + PART],
            ChecksumAlgorithm="SHA256",
        )
        parts.append(
            {"ETag": answer["ETag"], "PartNumber": number, "ChecksumSHA256": answer["ChecksumSHA256"]}
        )
    client.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )


def _counting_client(gets: list[tuple[str, str | None, int]]) -> Any:
    """A boto3 S3 client that records every GetObject: (key, Range, bytes returned), thread-safe."""
    import boto3

    client = boto3.session.Session().client("s3")
    lock = threading.Lock()

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["r1_get"] = (params["Key"], params.get("Range"))

    def after(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        with lock:
            gets.append((*context["r1_get"], int(parsed["ContentLength"])))

    client.meta.events.register("provide-client-params.s3.GetObject", before)
    client.meta.events.register("after-call.s3.GetObject", after)
    return client


@pytest.fixture
def world(moto_env: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Objects over a 1 MiB threshold (ranges of 1 MiB where S3 has no parts) and one under it."""
    import boto3

    monkeypatch.setattr(s3parts, "DEFAULT_THRESHOLD", MIB)
    monkeypatch.setattr(s3parts, "DEFAULT_PART_SIZE", MIB)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    objects = {
        "m/multipart.safetensors": _safetensors(2 * PART + 100_000),  # split along S3's 3 parts
        "m/single.safetensors": _safetensors(3 * MIB + 123),  # split into 4 ranges of our own
        "m/torch.pt": _torch_zip(2 * MIB),  # a zip is read in order: first range, then the rest
        "m/config.json": b'{"model_type": "llama"}',  # under the threshold: one whole GET
    }
    _multipart(client, "m/multipart.safetensors", objects["m/multipart.safetensors"])
    for key in ("m/single.safetensors", "m/torch.pt", "m/config.json"):
        client.put_object(Bucket=BUCKET, Key=key, Body=objects[key])
    return objects


def _ranges(gets: list[tuple[str, str | None, int]], key: str, size: int) -> list[tuple[int, int]]:
    spans = []
    for got_key, header, length in gets:
        if got_key != key:
            continue
        if header is None:
            spans.append((0, length))
            continue
        first, last = (int(v) for v in header.removeprefix("bytes=").split("-"))
        assert last - first + 1 == length, (header, length)
        spans.append((first, last + 1))
    return sorted(spans)


def test_every_byte_is_fetched_once_in_disjoint_ranges(
    world: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    gets: list[tuple[str, str | None, int]] = []
    client = _counting_client(gets)
    monkeypatch.setattr(targets, "_s3_client", lambda: client)
    target = targets.resolve(f"{BASE}/")
    results = s3tasks.scan_target(target, Scanner(workers=4), parse_executor("local[4]"))
    expected_spans = {
        "m/multipart.safetensors": [(0, PART), (PART, 2 * PART), (2 * PART, 2 * PART + 100_000)],
        "m/single.safetensors": [(i * MIB, min((i + 1) * MIB, 3 * MIB + 123)) for i in range(4)],
        "m/torch.pt": [(0, MIB), (MIB, len(world["m/torch.pt"]))],
        "m/config.json": [(0, len(world["m/config.json"]))],
    }
    for key, data in world.items():
        assert _ranges(gets, key, len(data)) == expected_spans[key], key
    assert sum(length for _, _, length in gets) == sum(len(d) for d in world.values())
    by_rel = {r.source.rel: r.top for r in results}
    for rel, top in by_rel.items():
        assert not top.digest_problems and not top.unreadable and not top.header_problems, rel
    data = world["m/multipart.safetensors"]
    assert by_rel["multipart.safetensors"].sha256 is None
    assert by_rel["multipart.safetensors"].parts == tuple(
        (len(data[s : s + PART]), hashlib.sha256(data[s : s + PART]).hexdigest())
        for s in range(0, len(data), PART)
    )
    assert len(by_rel["single.safetensors"].parts) == 4
    assert by_rel["single.safetensors"].format == "safetensors"
    torch = by_rel["torch.pt"]
    assert torch.sha256 == hashlib.sha256(world["m/torch.pt"]).hexdigest() and not torch.parts
    assert torch.detail == "pytorch-zip" and not torch.archive_problems
    assert by_rel["config.json"].sha256 == hashlib.sha256(world["m/config.json"]).hexdigest()


def test_a_part_that_differs_from_its_s3_checksum_is_a_finding(
    world: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    client = boto3.client("s3")
    good = world["m/multipart.safetensors"]
    _multipart(client, "m/multipart.safetensors", good, tamper_part=2)
    _multipart(client, "m/torch-parts.pt", _torch_zip(PART + MIB), tamper_part=1)
    result = run_cli("scan", f"{BASE}/", "--format", "json", "--executor", "local[3]")
    assert result.code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert ("R1-ART-004", "fail", f"{BASE}/multipart.safetensors") in finding_set(doc, "fail")
    assert ("R1-ART-004", "fail", f"{BASE}/torch-parts.pt") in finding_set(doc, "fail")
    assert {f[2] for f in finding_set(doc, "fail") if f[0] == "R1-ART-004"} == {
        f"{BASE}/multipart.safetensors",
        f"{BASE}/torch-parts.pt",
    }
    (finding,) = [
        f
        for f in doc["findings"]
        if f["rule_id"] == "R1-ART-004" and f["subject"]["id"].endswith("safetensors")
    ]
    stored = hashlib.sha256(good[PART : 2 * PART]).hexdigest()
    assert (
        f"part 2 (bytes {PART:,}-{2 * PART - 1:,}) ChecksumSHA256 says sha256 {stored}" in finding["message"]
    )


def _scan(*args: str | Path) -> tuple[int, dict[str, Any]]:
    result = run_cli("scan", f"{BASE}/", "--format", "json", *args)
    assert result.code in (0, 1), result.stderr
    return result.code, json.loads(result.stdout)


def test_the_lock_records_part_digests_and_verifies_them(world: dict[str, bytes], tmp_path: Path) -> None:
    import boto3

    lock = tmp_path / "r1policy.lock"
    _scan("--write-lock", "--lock", str(lock))
    doc = json.loads(lock.read_text())
    assert doc["schema_version"] == 2
    files = doc["sources"][f"s3://{BUCKET}/m/"]["files"]
    assert files["multipart.safetensors"]["sha256"] is None
    assert [p["size"] for p in files["multipart.safetensors"]["parts"]] == [PART, PART, 100_000]
    assert files["single.safetensors"]["sha256"] is None and len(files["single.safetensors"]["parts"]) == 4
    assert files["torch.pt"]["sha256"] == hashlib.sha256(world["m/torch.pt"]).hexdigest()
    assert "parts" not in files["torch.pt"] and "parts" not in files["config.json"]
    pickled = ("R1-ART-002", "fail", f"{BASE}/torch.pt!/archive/data.pkl")  # torch.save's pickle
    _, clean = _scan("--lock", str(lock))
    assert finding_set(clean, "fail", "error") == {pickled}
    # the same size, other bytes in the third 1 MiB range: the lock's part 3 differs
    changed = bytearray(world["m/single.safetensors"])
    changed[2 * MIB + 5] ^= 0xFF
    boto3.client("s3").put_object(Bucket=BUCKET, Key="m/single.safetensors", Body=bytes(changed))
    _, after = _scan("--lock", str(lock))
    assert finding_set(after, "fail", "error") == {
        ("R1-ART-004", "fail", f"{BASE}/single.safetensors"),
        pickled,
    }
    (finding,) = [f for f in after["findings"] if f["rule_id"] == "R1-ART-004" and f["status"] == "fail"]
    assert f"says part 3 (bytes {2 * MIB:,}-{3 * MIB - 1:,}) has sha256" in finding["message"]
    # now under the threshold: still verified against the lock's parts, never passed for want of a digest
    boto3.client("s3").put_object(Bucket=BUCKET, Key="m/single.safetensors", Body=_safetensors(MIB // 2))
    _, smaller = _scan("--lock", str(lock))
    assert ("R1-ART-004", "fail", f"{BASE}/single.safetensors") in finding_set(smaller, "fail")
    (finding,) = [f for f in smaller["findings"] if f["rule_id"] == "R1-ART-004" and f["status"] == "fail"]
    assert f"records {3 * MIB + 123:,} bytes in parts, the object has {MIB // 2:,}" in finding["message"]


@pytest.mark.parametrize(
    ("version", "parts", "message"),
    [
        (1, [{"size": 10, "sha256": "a" * 64}], "`parts` needs lock schema_version 2"),
        (2, [{"size": 9, "sha256": "a" * 64}], "the parts add up to 9 bytes, the file has 10"),
    ],
)
def test_bad_part_locks_are_exit_2(tmp_path: Path, version: int, parts: list[Any], message: str) -> None:
    from r1policy.core.errors import InputError
    from r1policy.project.lockfile import load_lock

    lock = tmp_path / "r1policy.lock"
    entry = {"size": 10, "sha256": None if version == 2 else "b" * 64, "version_id": None, "parts": parts}
    source = {"revision": None, "repo_id": None, "files": {"w.safetensors": entry}}
    lock.write_text(
        json.dumps({"kind": "r1policy-lock", "schema_version": version, "sources": {"s3://bkt1/m/": source}})
    )
    with pytest.raises(InputError, match=message):
        load_lock(lock)


def test_a_whole_digest_in_the_lock_keeps_the_object_in_one_pass(
    world: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version 1 lock (whole-file SHA-256) is verified as before: the object is read in order."""
    from r1policy.project.lockfile import Lock, LockedFile, LockedSource, write_lock

    data = world["m/single.safetensors"]
    lock = tmp_path / "r1policy.lock"
    files = {
        rel.removeprefix("m/"): LockedFile(len(d), hashlib.sha256(d).hexdigest()) for rel, d in world.items()
    }
    write_lock(lock, Lock({f"s3://{BUCKET}/m/": LockedSource(files=files)}))
    assert json.loads(lock.read_text())["schema_version"] == 1
    gets: list[tuple[str, str | None, int]] = []
    client = _counting_client(gets)
    monkeypatch.setattr(targets, "_s3_client", lambda: client)
    _, doc = _scan("--lock", str(lock))
    assert finding_set(doc, "fail", "error") == {("R1-ART-002", "fail", f"{BASE}/torch.pt!/archive/data.pkl")}
    assert [g[1] for g in gets if g[0] == "m/single.safetensors"] == [None]
    assert _ranges(gets, "m/single.safetensors", len(data)) == [(0, len(data))]


def test_window_ranges_tile_and_hash_each_window_once() -> None:
    lock = [Window(0, 4), Window(4, 8), Window(8, 10)]
    s3 = [Window(0, 5), Window(5, 10)]
    assert s3parts.ranges(lock + s3) == [Window(0, 10)]
    assert s3parts.ranges([Window(0, 4), Window(4, 10)]) == [Window(0, 4), Window(4, 10)]
    hasher = s3parts.WindowHasher(lock + s3)
    data = bytes(range(10))
    for offset in range(0, 10, 3):
        hasher.feed(offset, data[offset : offset + 3])
    digests = hasher.digests()
    assert all(digests[w] == hashlib.sha256(data[w.start : w.end]).hexdigest() for w in lock + s3)
    assert s3parts.chunks(10, 4) == [Window(0, 4), Window(4, 8), Window(8, 10)]


def test_dask_executor_gives_the_local_report(world: dict[str, bytes], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    import boto3

    _multipart(boto3.client("s3"), "m/tampered.safetensors", _safetensors(PART + 10), tamper_part=1)
    _, local = _scan("--executor", "local[3]")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        _, dask = _scan("--executor", f"dask://{address}")
    assert dask["findings"] == local["findings"]
    assert ("R1-ART-004", "fail", f"{BASE}/tampered.safetensors") in finding_set(local, "fail")


def test_bad_executor_is_exit_2(moto_env: Any) -> None:
    result = run_cli("scan", f"{BASE}/", "--executor", "local[0]")
    assert result.code == 2 and "--executor local[0]" in result.stderr


def test_composite_checksums_are_verified_under_the_threshold_too(
    moto_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects under 1 GiB uploaded in parts: one whole GET each, each part checked against S3's."""
    gets: list[tuple[str, str | None, int]] = []
    client = _counting_client(gets)
    monkeypatch.setattr(targets, "_s3_client", lambda: client)
    client.create_bucket(Bucket=BUCKET)
    good, bad = _torch_zip(PART + MIB), _torch_zip(PART + MIB)
    _multipart(client, "m/good.pt", good)
    _multipart(client, "m/bad.pt", bad, tamper_part=2)
    results = s3tasks.scan_target(targets.resolve(f"{BASE}/"), Scanner(workers=2), parse_executor("local[2]"))
    assert sorted(gets) == sorted([("m/good.pt", None, len(good)), ("m/bad.pt", None, len(bad))])
    by_rel = {r.source.rel: r.top for r in results}
    assert (
        by_rel["good.pt"].digest_problems == []
        and by_rel["good.pt"].sha256 == hashlib.sha256(good).hexdigest()
    )
    stored = hashlib.sha256(bad[PART:]).hexdigest()
    problems = by_rel["bad.pt"].digest_problems
    assert len(problems) == 2
    assert problems[0].startswith(
        f"the S3 object's part 2 (bytes {PART:,}-{len(bad) - 1:,}) ChecksumSHA256 says sha256 {stored}"
    )
    assert problems[1].startswith("the S3 object's composite ChecksumSHA256 says")


def test_dask_with_malware_scanning_is_exit_2(world: dict[str, bytes], tmp_path: Path) -> None:
    """clamd is streamed from this process: objects hashed on Dask workers could not be sent to it."""
    import yaml

    (tmp_path / "r1policy.yaml").write_text(
        yaml.safe_dump({"malware_scan": {"clamd": f"unix://{tmp_path}/none"}})
    )
    result = run_cli("scan", f"{BASE}/", "--executor", "dask://127.0.0.1:1", cwd=tmp_path)
    assert result.code == 2, result.stderr
    assert "--executor dask:// cannot stream objects to clamd (malware_scan is configured)" in result.stderr
