"""Every byte of a scanned file is read once (issue 23 item 1): the byte ranges a scan reads from a
local file (both handles: the forward pass and the central directory read from the end) tile the file
exactly, and an S3 object is fetched by one GET of its whole body, no ranged re-reads; zips inside
streams are read forward by their local headers and every disagreement with their central directory
is a finding."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import finding_set, run_cli
from tests.fixtures import make_artifacts as mk

from r1policy.artifacts import targets
from r1policy.artifacts.scanner import Scanner, SourceFile

BENIGN = pickle.dumps({"weights": [1, 2, 3]}, protocol=2)
MIB = 1024 * 1024


def _torch_zip(path: Path) -> Path:
    """torch.save's layout: stored members, data.pkl first, raw storages under data/."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", BENIGN)
        archive.writestr("archive/byteorder", "little")
        # storages are raw tensor bytes; one that happens to open with PROTO is analysed as a pickle
        # (a polyglot), and one with `{` at byte 8 as safetensors (1 in 256 random blobs), so the
        # random bytes start like a float tensor's zeros, for 16 bytes, to keep this layout exact
        archive.writestr("archive/data/0", bytes(16) + os.urandom(3 * MIB + 1))
        archive.writestr("archive/data/1", bytes(16) + os.urandom(69_984))
        archive.writestr("archive/version", "3\n")
    return path


def _deflated_zip(path: Path) -> Path:
    return mk.zip_with(path, {"config.json": b'{"a": 1}' * 5000, "notes.txt": os.urandom(200_000)})


def _descriptor_zip(path: Path) -> Path:
    """Written to a stream that cannot seek: sizes and CRCs follow each member's data."""

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            self.data += bytes(b)
            return len(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b'{"model_type": "llama"}')
        with archive.open("model.bin", "w") as member:
            member.write(BENIGN)
    path.write_bytes(bytes(sink.data))
    return path


def _tar_with_zip(path: Path) -> Path:
    inner = _torch_zip(path.parent / "inner.pt").read_bytes()
    return mk.tar_with(path, [("model/model.pt", inner), ("model/config.json", b"{}")])


def _zip_in_gzip(path: Path) -> Path:
    path.write_bytes(gzip.compress(_deflated_zip(path.parent / "inner.zip").read_bytes()))
    return path


def _small_zip(path: Path) -> Path:
    return mk.zip_with(path, {"config.json": b"{}"})


ZIPS = {
    "torch.pt": _torch_zip,
    "deflated.zip": _deflated_zip,
    "descriptor.zip": _descriptor_zip,
    "small.zip": _small_zip,
}
MAKERS = {
    **ZIPS,
    "model.tar.gz": _tar_with_zip,
    "model.zip.gz": _zip_in_gzip,
    "model.safetensors": lambda p: mk.safetensors_large(p, 2 * MIB),
}


class _Counting:
    """A file handle that records the (offset, length) of every read."""

    def __init__(self, raw: Any, reads: list[tuple[int, int]]) -> None:
        self._raw, self._reads = raw, reads

    def read(self, n: int = -1, /) -> bytes:
        pos = self._raw.tell()
        data: bytes = self._raw.read(n)
        self._reads.append((pos, len(data)))
        return data

    def readinto(self, buffer: Any) -> int:
        pos = self._raw.tell()
        got: int = self._raw.readinto(buffer)
        self._reads.append((pos, got))
        return got

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._raw.seek(offset, whence))

    def tell(self) -> int:
        return int(self._raw.tell())

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _counted(src: SourceFile, reads: list[tuple[int, int]]) -> SourceFile:
    opener, reopen = src.open, src.reopen

    @contextlib.contextmanager
    def counted_open() -> Iterator[Any]:
        with opener() as raw:
            yield _Counting(raw, reads)

    def counted_reopen() -> Any:
        assert reopen is not None
        return _Counting(reopen(), reads)

    return dataclasses.replace(src, open=counted_open, reopen=counted_reopen if reopen else None)


def _assert_tiled(reads: list[tuple[int, int]], size: int) -> None:
    pos = 0
    for offset, length in sorted(r for r in reads if r[1]):
        assert offset == pos, f"bytes {offset:,}..{offset + length:,} read again or {pos:,}.. skipped"
        pos += length
    assert pos == size


@pytest.mark.parametrize("name", sorted(ZIPS))
def test_local_zip_bytes_are_read_exactly_once(tmp_path: Path, name: str) -> None:
    path = MAKERS[name](tmp_path / name)
    (src,) = targets.resolve(str(path)).files
    reads: list[tuple[int, int]] = []
    (result,) = Scanner(workers=1).scan_all([_counted(src, reads)])
    _assert_tiled(reads, path.stat().st_size)
    top = result.top
    assert top.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not top.unreadable and not top.archive_problems, top.archive_problems
    assert len(result.facts) > 1  # the members were analysed in the same pass


@pytest.mark.parametrize("name", ["model.tar.gz", "model.zip.gz", "model.safetensors"])
def test_other_containers_are_read_once_too(tmp_path: Path, name: str) -> None:
    """(These were one pass before; a guard that the zip inside the tar and the gzip stays so.)"""
    path = MAKERS[name](tmp_path / name)
    (src,) = targets.resolve(str(path)).files
    reads: list[tuple[int, int]] = []
    (result,) = Scanner(workers=1).scan_all([_counted(src, reads)])
    _assert_tiled(reads, path.stat().st_size)
    assert result.top.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_torch_zip_members_are_analysed_in_the_pass(tmp_path: Path) -> None:
    path = _torch_zip(tmp_path / "model.pt")
    (result,) = Scanner(workers=1).scan_all(targets.resolve(str(path)).files)
    kinds = {f.path.split("!/")[-1]: f.format for f in result.facts[1:]}
    assert result.top.detail == "pytorch-zip"
    assert kinds["archive/data.pkl"] == "pickle"
    assert kinds["archive/data/0"] == kinds["archive/data/1"] == "tensor-storage"


def _s3_client_counting(calls: list[dict[str, Any]]) -> Any:
    import boto3

    client = boto3.session.Session().client("s3")

    def before(params: dict[str, Any], **_: Any) -> None:
        calls.append({"key": params["Key"], "range": params.get("Range")})

    def after(parsed: dict[str, Any], **_: Any) -> None:
        calls[-1]["length"] = parsed.get("ContentLength")

    client.meta.events.register("provide-client-params.s3.GetObject", before)
    client.meta.events.register("after-call.s3.GetObject", after)
    return client


def test_s3_objects_are_fetched_by_one_whole_get_each(
    moto_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    client = _s3_client_counting(calls)
    monkeypatch.setattr(targets, "_s3_client", lambda: client)
    client.create_bucket(Bucket="weights")
    sizes = {}
    for name in ("torch.pt", "descriptor.zip", "model.tar.gz", "model.zip.gz", "model.safetensors"):
        data = MAKERS[name](tmp_path / name).read_bytes()
        client.put_object(Bucket="weights", Key=f"m/{name}", Body=data)
        sizes[f"m/{name}"] = len(data)
    results = Scanner(workers=1).scan_all(targets.resolve("s3://weights/m/").files)
    assert sorted((c["key"], str(c["range"]), c["length"]) for c in calls) == sorted(
        (key, "None", size) for key, size in sizes.items()
    )
    by_name = {r.source.rel: r for r in results}
    torch = by_name["torch.pt"]
    assert not torch.top.archive_problems and torch.top.detail == "pytorch-zip"
    assert {f.path.split("!/")[-1] for f in torch.facts[1:]} == {
        "archive/data.pkl",
        "archive/byteorder",
        "archive/data/0",
        "archive/data/1",
        "archive/version",
    }
    assert all(not r.top.archive_problems and not r.top.unreadable for r in results)


# --- zips in streams: the local headers against the central directory -------------------------------


def _hidden_member(data: bytes) -> bytes:
    """A second local member that the central directory does not list (zip readers never see it)."""
    extra = io.BytesIO()
    with zipfile.ZipFile(extra, "w") as archive:
        archive.writestr("hidden.pkl", b"cos\nsystem\n(S'id'\ntR.")
    hidden = extra.getvalue()
    hidden = hidden[: hidden.find(b"PK\x01\x02")]
    central = data.find(b"PK\x01\x02")
    end = data.find(b"PK\x05\x06")
    eocd = bytearray(data[end:])
    offset = struct.unpack_from("<I", eocd, 16)[0]
    struct.pack_into("<I", eocd, 16, offset + len(hidden))
    return data[:central] + hidden + data[central:end] + bytes(eocd)


def _gap(data: bytes) -> bytes:
    """Bytes between the last member and the central directory that belong to no member."""
    return _hidden_member(data)  # a seekable reader sees the hidden member as such bytes


STREAM_CASES = {
    "hidden_member": (_hidden_member, "'hidden.pkl' at byte "),
    "name_mismatch": (None, "local header names it 'nodes.txt'"),
    "bad_crc": (None, "fails its CRC check (stored deadbeef"),
}


@pytest.mark.parametrize("case", sorted(STREAM_CASES))
def test_zip_in_a_tar_is_checked_against_its_central_directory(tmp_path: Path, case: str) -> None:
    change, message = STREAM_CASES[case]
    if change is None:
        inner = mk.zip_defects(tmp_path / "defects")[case].read_bytes()
    else:
        inner = change(mk.zip_with(tmp_path / "inner.zip", {"config.json": b"{}"}).read_bytes())
    mk.tar_with(tmp_path / "model.tar.gz", [("inner.zip", inner)])
    result = run_cli("scan", "model.tar.gz", "--format", "json", cwd=tmp_path)
    archive = "model.tar.gz!/inner.zip"
    assert ("R1-ART-007", "fail", archive) in finding_set(result.json, "fail")
    (text,) = [
        f["message"]
        for f in result.json["findings"]
        if f["rule_id"] == "R1-ART-007" and f["subject"]["id"] == archive
    ]
    assert message in text


def test_data_between_members_of_a_local_zip_is_a_finding(tmp_path: Path) -> None:
    data = _gap(mk.zip_with(tmp_path / "clean.zip", {"config.json": b"{}"}).read_bytes())
    (tmp_path / "gap.zip").write_bytes(data)
    result = run_cli("scan", "gap.zip", "--format", "json", cwd=tmp_path)
    assert finding_set(result.json, "fail", "error") == {("R1-ART-007", "fail", "gap.zip")}
    (text,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-007"]
    assert "before the central directory, belong to no member" in text


def test_unsafe_pickle_in_a_zip_in_a_gzip_is_found(tmp_path: Path) -> None:
    bad = b"cos\nsystem\n(S'id'\ntR."
    inner = mk.zip_with(tmp_path / "inner.zip", {"archive/data.pkl": bad, "archive/version": b"3\n"})
    (tmp_path / "model.pt.gz").write_bytes(gzip.compress(inner.read_bytes()))
    inner.unlink()
    result = run_cli("scan", "model.pt.gz", "--format", "json", cwd=tmp_path)
    assert ("R1-ART-001", "fail", "model.pt.gz!/model.pt!/archive/data.pkl") in finding_set(
        result.json, "fail"
    )


# --- memory: a tar's members are streamed in small pieces, and no record of every member is kept ------


def _peak_traced(path: Path) -> tuple[int, Any]:
    import tracemalloc

    files = targets.resolve(str(path)).files
    tracemalloc.start()
    try:
        (result,) = Scanner(workers=1).scan_all(files)
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("gz", [True, False], ids=["tar.gz", "tar"])
def test_a_large_tar_member_is_streamed_in_small_pieces(tmp_path: Path, gz: bool) -> None:
    """A 24 MiB member: Python's peak allocation while scanning stays below 12 MiB, the file's own
    8 MiB read buffer included (tarfile's stream mode and 8 MiB member reads held about three copies
    of each 8 MiB piece on top of it: 24-27 MiB; issue 23: RSS <= 100 MB whatever the model)."""
    name = "model.tar.gz" if gz else "model.tar"
    body = os.urandom(24 * MIB)
    path = mk.tar_with(tmp_path / name, [("model/weights.bin", body)], gz=gz)
    peak, result = _peak_traced(path)
    assert not result.top.archive_problems and not result.top.unreadable
    assert [f.path for f in result.facts[1:]] == [f"{path}!/model/weights.bin"]
    assert result.top.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_tar_of_many_members_keeps_no_list_of_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tarfile keeps a TarInfo for every member it has read (about 630 bytes each: 13 MiB for 20,000
    members); the walk drops each once it is handled, so what it holds does not grow with the archive."""
    import tarfile

    held: list[int] = []
    original = tarfile.TarFile.next

    def next_member(self: tarfile.TarFile) -> tarfile.TarInfo | None:
        held.append(len(self.members))
        return original(self)

    monkeypatch.setattr(tarfile.TarFile, "next", next_member)
    members = [(f"shard/{i:05d}.json", b"{}") for i in range(2_000)]
    path = mk.tar_with(tmp_path / "many.tar", members, gz=False)  # type: ignore[arg-type]
    (result,) = Scanner(workers=1).scan_all(targets.resolve(str(path)).files)
    assert not result.top.archive_problems and len(result.facts) == 2_001
    assert len(held) > 2_000 and max(held) <= 1
