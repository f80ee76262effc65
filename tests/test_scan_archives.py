"""Archives: every defect class gives exactly one R1-ART-007 finding on the archive, bombs are refused
after a bounded number of bytes, nesting is bounded; model.tar.gz end to end."""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import finding_set, run_cli
from tests.fixtures import make_artifacts as mk

from r1policy.artifacts.model import MIB, ScanLimits
from r1policy.artifacts.scanner import Scanner
from r1policy.artifacts.targets import resolve


def _blocking(tmp_path: Path, *targets: str, extra: tuple[str, ...] = ()) -> set[tuple[str, str, str]]:
    result = run_cli("scan", *targets, "--format", "json", *extra, cwd=tmp_path)
    assert result.code in (0, 1), result.stderr
    return finding_set(result.json, "fail", "error")


ZIP_MESSAGES = {
    "traversal": "'../../evil.txt' escapes the extraction folder",
    "absolute": "'/etc/cron.d/evil' has an absolute path",
    "symlink": "'weights.bin' is a symbolic link",
    "encrypted_flag": "'notes.txt' is flagged as encrypted",
    "name_mismatch": "local header names it 'nodes.txt'",
    "bad_crc": "fails its CRC check (stored deadbeef",
    "bomb_ratio": "members declare 83,886,080 bytes from a ",
}
TAR_MESSAGES = {
    "traversal": "'../../etc/cron.d/x' escapes the extraction folder",
    "absolute": "'/etc/passwd' has an absolute path",
    "symlink": "'model.bin' is a symbolic link to '/etc/shadow'",
    "hardlink": "'model.bin' is a hard link to '/etc/shadow'",
    "device": "'dev/sda' is a device file or FIFO",
}


@pytest.mark.parametrize("defect", sorted(ZIP_MESSAGES))
def test_zip_defect_blocks(tmp_path: Path, defect: str) -> None:
    path = mk.zip_defects(tmp_path / "zip")[defect]
    rel = path.relative_to(tmp_path).as_posix()
    result = run_cli("scan", rel, "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert finding_set(result.json, "fail", "error") == {("R1-ART-007", "fail", rel)}
    (message,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-007"]
    assert ZIP_MESSAGES[defect] in message


@pytest.mark.parametrize("defect", sorted(TAR_MESSAGES))
def test_tar_defect_blocks(tmp_path: Path, defect: str) -> None:
    path = mk.tar_defects(tmp_path / "tar")[defect]
    rel = path.relative_to(tmp_path).as_posix()
    result = run_cli("scan", rel, "--format", "json", cwd=tmp_path)
    assert finding_set(result.json, "fail", "error") == {("R1-ART-007", "fail", rel)}
    (message,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-007"]
    assert TAR_MESSAGES[defect] in message


def test_clean_zip_and_tar_pass(tmp_path: Path) -> None:
    mk.zip_with(tmp_path / "ok.zip", {"config.json": b"{}", "README.md": b"# ok\n"})
    mk.tar_with(tmp_path / "ok.tar.gz", [("config.json", b"{}")])
    assert _blocking(tmp_path, "ok.zip", "ok.tar.gz") == set()


def test_deep_nesting_is_bounded(tmp_path: Path) -> None:
    mk.nested_zip(tmp_path / "nested.zip", 8)
    found = _blocking(tmp_path, "nested.zip")
    deepest = "nested.zip!/level2.zip!/level3.zip!/level4.zip!/level5.zip"
    assert found == {("R1-ART-007", "fail", deepest)}
    assert _blocking(tmp_path, "nested.zip", extra=("--max-depth", "8")) == set()


def test_tar_bomb_of_4_gib_is_refused_after_the_ratio_limit(tmp_path: Path) -> None:
    path = mk.tar_bomb(tmp_path / "bomb.tar.gz", expanded=4 * 1024 * MIB)
    assert path.stat().st_size < 8 * MIB
    target = resolve(str(path))
    (result,) = Scanner(ScanLimits()).scan_all(target.files)
    problems = result.top.archive_problems
    assert len(problems) == 1 and "decompression bomb" in problems[0], problems
    expanded = int(re.search(r"\(([\d,]+) bytes from", problems[0]).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert 64 * MIB < expanded <= 64 * MIB + 8 * MIB  # stopped right after the 64 MiB grace, not at 4 GiB
    assert result.top.sha256 is not None  # the compressed file itself was still hashed whole


def test_tar_bomb_by_declared_size(tmp_path: Path) -> None:
    mk.tar_with(tmp_path / "big.tar", [("a.txt", b"a" * 4096), ("b.txt", b"b" * 4096)], gz=False)
    target = resolve(str(tmp_path / "big.tar"))
    (result,) = Scanner(ScanLimits(max_expanded_bytes=6000)).scan_all(target.files)
    assert result.top.archive_problems == [
        "members expand to more than 6,000 bytes; archive not read further"
    ]


def test_zip_bomb_by_total_size(tmp_path: Path) -> None:
    mk.zip_with(tmp_path / "big.zip", {"a.txt": b"a" * 4096, "b.txt": b"b" * 4096})
    found = _blocking(tmp_path, "big.zip", extra=("--max-expanded-bytes", "6000"))
    assert found == {("R1-ART-007", "fail", "big.zip")}


def test_model_tar_gz_end_to_end(tmp_path: Path) -> None:
    mk.sagemaker_tarball(tmp_path / "model.tar.gz", with_code=True)
    result = run_cli("scan", "model.tar.gz", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert finding_set(result.json, "fail", "error") == {
        ("R1-ART-006", "fail", "model.tar.gz!/code/inference.py"),
        ("R1-ART-006", "fail", "model.tar.gz!/code/requirements.txt"),
    }
    assert "scanned 1 files (11 archive members)" in result.stderr
    clean = mk.sagemaker_tarball(tmp_path / "clean" / "model.tar.gz", with_code=False)
    again = run_cli("scan", clean, "--format", "json")
    assert again.code == 0 and finding_set(again.json, "fail", "error") == set()


def test_gzip_members_are_concatenated_and_trailing_garbage_is_refused(tmp_path: Path) -> None:
    import gzip
    import io

    from r1policy.artifacts.archives import GzipReader

    two = gzip.compress(b"first ") + gzip.compress(b"second")
    reader = GzipReader(io.BytesIO(two), ScanLimits())
    assert reader.read(-1) == b"first second" and reader.trailing == 0
    reader = GzipReader(io.BytesIO(two + b"PK\x03\x04junk"), ScanLimits())
    assert reader.read(-1) == b"first second" and reader.trailing == 8
    (tmp_path / "notes.txt.gz").write_bytes(gzip.compress(b"hello\n") + b"\x00" * 8)
    assert _blocking(tmp_path, "notes.txt.gz") == {("R1-ART-007", "fail", "notes.txt.gz")}


def test_zip_bomb_by_total_ratio_and_by_overlapping_members(tmp_path: Path) -> None:
    many = {f"part{i:03d}.txt": b"a" * MIB for i in range(80)}  # each member under the 64 MiB grace
    mk.zip_with(tmp_path / "many.zip", many)
    assert _blocking(tmp_path, "many.zip") == {("R1-ART-007", "fail", "many.zip")}
    overlap = mk.zip_overlapping(tmp_path / "overlap.zip")
    top = Scanner().scan_all(resolve(str(overlap)).files)[0].top
    assert len(top.archive_problems) == 1 and "overlap in the archive (zip bomb)" in top.archive_problems[0]


def _tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


_HIDDEN = b"cos\nsystem\n(S'id'\ntR."


def _junk_header(data: bytes) -> bytes:
    """A block of garbage before the second member: tarfile stops there, GNU tar skips it and
    extracts the member after it (`tar: Skipping to next header`)."""
    second = 512 + 512  # header and one data block of the first member
    return data[:second] + bytes(range(256)) * 2 + data[second:]


def _cut_header(data: bytes) -> bytes:
    return data[: 1024 + 300]  # the archive ends inside the second member's header


def _appended(data: bytes) -> bytes:
    return data + _tar_bytes([("hidden.pkl", _HIDDEN)])  # a second archive after the end blocks


@pytest.mark.parametrize("change", [_junk_header, _cut_header, _appended], ids=lambda f: f.__name__[1:])
@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
def test_bytes_after_where_tarfile_stops_are_a_finding(
    tmp_path: Path, change: Callable[[bytes], bytes], gz: bool
) -> None:
    """tarfile ends quietly at a header it cannot parse; what lies after it (a member GNU tar
    extracts, a second archive) was never scanned. Non-zero bytes there are R1-ART-007."""
    data = change(_tar_bytes([("config.json", b"{}"), ("model.pkl", _HIDDEN)]))
    name = "model.tar.gz" if gz else "model.tar"
    (tmp_path / name).write_bytes(gzip.compress(data) if gz else data)
    result = run_cli("scan", name, "--format", "json", cwd=tmp_path)
    assert ("R1-ART-007", "fail", name) in finding_set(result.json, "fail", "error")
    (message,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-007"]
    assert "non-zero bytes after the end of the tar archive" in message
