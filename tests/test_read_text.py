"""`core.yamldoc.read_text` reads a file with `os.open` / `os.read` and no file object (a `check` reads
thousands of files): for every file, and every kind of path that is no readable file, it gives what
reading through a Python file object gave before -- the same text, or the same error, message and
position -- except where that read on past the size limit, which the size taken at the open did not
tell (a file that grew meanwhile, `/dev/zero`): that is refused, where a file object filled memory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli
from r1policy.core.errors import InputError, Position
from r1policy.core.yamldoc import decode_utf8, read_text


def _through_a_file_object(path: Path, limit: int) -> str:
    """read_text as it was: a buffered file object, its size from the open file, then read()."""
    shown = str(path)
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise InputError(
                    Position(shown), f"file is {size:,} bytes, over the {limit:,}-byte limit for input files"
                )
            data = handle.read()
    except OSError as exc:
        raise InputError(Position(shown), f"cannot read file: {exc.strerror or exc}") from exc
    return decode_utf8(data, shown)


def _outcome(read: Callable[[Path, int], str], path: Path, limit: int) -> tuple[str, object]:
    try:
        return "text", read(path, limit)
    except InputError as exc:
        return "error", (exc.message, exc.position)


def _same(path: Path, limit: int = 1 << 20) -> tuple[str, object]:
    mine = _outcome(lambda p, n: read_text(p, limit=n), path, limit)
    assert mine == _outcome(_through_a_file_object, path, limit)
    return mine


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300) | st.text(max_size=200).map(lambda t: t.encode("utf-8")))
def test_any_bytes_read_as_a_file_object_reads_them(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("read") / "m.yaml"
    path.write_bytes(data)
    _same(path)
    _same(path, limit=max(0, len(data) - 1))  # one byte over the limit: refused before reading


def test_paths_that_are_no_readable_file_give_the_same_error(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "real.yaml").write_text("\ufeffa: 1\n", encoding="utf-8")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 40_000)  # 200 kB: read whole
    outcomes = {
        name: _same(tmp_path / name)[0] for name in ("missing", "folder", "dangling", "loop", "link.yaml")
    }
    assert outcomes == {
        "missing": "error",
        "folder": "error",
        "dangling": "error",
        "loop": "error",
        "link.yaml": "text",
    }
    assert _same(tmp_path / "link.yaml") == ("text", "a: 1\n")
    assert _same(big) == ("text", "a: 1\n" * 40_000)
    assert _same(Path(os.devnull)) == ("text", "")


@pytest.fixture
def growing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file of 5 bytes by the size its open gives, and of 100,005 bytes by the time it is read."""
    path = tmp_path / "growing.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    real, inode = os.fstat, path.stat().st_ino

    def stale(fd: int) -> os.stat_result:  # the size as it was before the file grew
        found = real(fd)
        if found.st_ino == inode and found.st_size == 5:  # this file, once (pytest calls fstat too)
            with path.open("a", encoding="utf-8") as more:
                more.write("b: 2\n" * 20_000)
        return found

    monkeypatch.setattr(os, "fstat", stale)
    return path


def test_a_file_that_grows_after_its_size_was_taken_is_read_to_its_end(growing: Path) -> None:
    assert read_text(growing, limit=100_005) == "a: 1\n" + "b: 2\n" * 20_000  # the limit exactly


def test_a_file_that_grows_past_the_limit_while_read_is_refused(growing: Path) -> None:
    with pytest.raises(InputError) as raised:
        read_text(growing, limit=100_004)
    assert (raised.value.message, raised.value.position) == (
        "file is over the 100,004-byte limit for input files (read past it)",
        Position(str(growing)),
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_a_device_that_never_ends_is_refused_at_the_limit() -> None:
    """/dev/zero is 0 bytes by its size and never ends: read as a file object reads it, it filled memory."""
    with pytest.raises(InputError) as raised:
        read_text(Path("/dev/zero"), limit=200_000)
    assert raised.value.message == "file is over the 200,000-byte limit for input files (read past it)"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_check_of_a_device_that_never_ends_is_exit_2(tmp_path: Path) -> None:
    result = run_cli("check", "--static", "/dev/zero", cwd=tmp_path)
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "r1policy: error: /dev/zero: file is over the 8,388,608-byte limit for input files (read past it)\n"
    )
