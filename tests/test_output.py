"""--format / --output bad input: exit 2 with one line naming the problem, and nothing half-written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLES, Result, run_cli
from r1policy.core.atomic import write_all
from r1policy.core.errors import OutputError


def check(*extra: str | Path) -> Result:
    return run_cli(
        "check",
        EXAMPLES / "allow",
        "--config",
        EXAMPLES / "r1policy.yaml",
        "--state",
        EXAMPLES / "state.json",
        *extra,
    )


def _one_error_line(result: Result) -> str:
    assert result.code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("r1policy: error: "), result.stderr
    return lines[0]


def test_unknown_format_lists_the_valid_ones() -> None:
    line = _one_error_line(check("--format", "xml"))
    assert "unknown format 'xml'" in line
    assert "valid: table, json, sarif, github, junit, markdown" in line


@pytest.mark.parametrize("command", ["check"])
def test_unknown_format_is_refused_before_any_work(command: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    _one_error_line(
        run_cli(command, tmp_path / "missing", "--format", "json", "--output", out, "--format", "x")
    )
    assert not out.exists()


def test_output_into_a_missing_directory_creates_it(tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "report.json"
    result = check("--format", "json", "--output", out)
    assert result.code == 0, result.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["decision"] == "allow"
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.json"]


def test_output_under_a_regular_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("keep me\n", encoding="utf-8")
    line = _one_error_line(check("--format", "json", "--output", blocker / "report.json"))
    assert str(blocker / "report.json") in line and "cannot write" in line
    assert blocker.read_text(encoding="utf-8") == "keep me\n"


def test_output_onto_a_directory_is_refused(tmp_path: Path) -> None:
    line = _one_error_line(check("--format", "json", "--output", tmp_path))
    assert f"{tmp_path}: cannot write: Is a directory" in line
    assert list(tmp_path.iterdir()) == []


def test_one_unwritable_output_writes_none_of_them(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text("previous run\n", encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    _one_error_line(
        check("--format", "json", "--output", good, "--format", "sarif", "--output", blocker / "x.sarif")
    )
    assert good.read_text(encoding="utf-8") == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "good.json"]


@pytest.mark.parametrize(
    "outputs",
    [
        ("r.out", "r.out"),
        ("r.out", "./sub/../r.out"),
    ],
)
def test_two_formats_to_the_same_file_are_refused(tmp_path: Path, outputs: tuple[str, str]) -> None:
    first, second = (tmp_path / o for o in outputs)
    line = _one_error_line(
        check("--format", "json", "--output", first, "--format", "sarif", "--output", second)
    )
    assert "same place" in line
    assert list(tmp_path.iterdir()) == []


def test_two_formats_to_standard_output_are_refused() -> None:
    line = _one_error_line(check("--format", "json", "--format", "markdown"))
    assert "standard output" in line


def test_more_outputs_than_formats_are_refused(tmp_path: Path) -> None:
    line = _one_error_line(check("--format", "json", "--output", tmp_path / "a", "--output", tmp_path / "b"))
    assert "more --output files than --format options" in line


def test_several_formats_at_once(tmp_path: Path) -> None:
    names = {"json": "r.json", "sarif": "r.sarif", "junit": "r.xml", "markdown": "r.md", "github": "r.txt"}
    args: list[str | Path] = []
    for fmt, name in names.items():
        args += ["--format", fmt, "--output", tmp_path / name]
    result = check(*args, "--format", "table")
    assert result.code == 0, result.stderr
    assert "decision: allow" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names.values())


def test_write_all_removes_its_temporary_files_when_a_rename_fails(tmp_path: Path) -> None:
    ok = tmp_path / "ok.txt"
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "inside").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="occupied: cannot write"):
        write_all([(ok, "first\n"), (occupied, "second\n")])
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert all(not name.endswith(".tmp") for name in leftovers), leftovers


def test_a_fifo_target_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    # `--output /dev/null` as root once replaced the device with a regular file (rename onto it);
    # a FIFO stands in for any device here: it must stay a FIFO and receive the text.
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    regular = tmp_path / "report.json"
    write_all([(regular, "{}\n"), (fifo, "to the pipe\n")])
    reader.join(timeout=30)
    assert received == ["to the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert regular.read_text(encoding="utf-8") == "{}\n"


def test_chunks_that_fail_while_they_are_made_leave_every_file_as_it_was(tmp_path: Path) -> None:
    # A large JSON report is made chunk by chunk as its temporary file is written (formats/json_v1):
    # whatever stops the making, no target is touched and no temporary file is left.
    first, report = tmp_path / "first.txt", tmp_path / "report.json"
    report.write_text("the old report\n", encoding="utf-8")

    def chunks() -> Iterator[bytes]:
        yield b'{"findings": [\n'
        raise ValueError("made wrong on purpose")

    with pytest.raises(ValueError, match="on purpose"):
        write_all([(first, "first\n"), (report, chunks())])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert report.read_text(encoding="utf-8") == "the old report\n"
