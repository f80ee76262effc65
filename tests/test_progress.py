"""Progress bars: on stderr only when stderr is a terminal (a pseudo-terminal here), never in a pipe,
never with --quiet; the report on stdout is the same in every case. The CLI runs as a subprocess with
its stderr on the slave side of a pty (`pty.openpty`), as on a developer's terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.support.motoserver import MotoServer
from tests.support.terminal import Run, run

from conftest import ROOT, validate_report
from r1policy.core.progress import NO_PROGRESS, NoProgress, Progress, Tally

CONTROL = ("\r", "\x1b")


def _report(stdout: str) -> dict[str, Any]:
    """The JSON report without what differs from run to run (timings, run ids, report folders)."""
    doc = json.loads(stdout)
    validate_report(doc)
    for key in ("generated_at", "duration_seconds", "timing", "started_at", "finished_at", "run_id"):
        doc.pop(key, None)
    doc.pop("audit", None)
    return doc


def _canonical(stdout: str) -> dict[str, Any]:
    doc = _report(stdout)
    doc["findings"] = sorted(json.dumps(f, sort_keys=True) for f in doc["findings"])
    return doc


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "qwen2"}')
    (folder / "README.md").write_text("a model card\n")
    (folder / "notes.txt").write_text("x" * 5000)
    return folder


def test_scan_shows_files_and_bytes_on_a_terminal_only(model_dir: Path) -> None:
    args = ("scan", model_dir, "--format", "json")
    on_tty = run(*args, terminal="stderr")
    piped = run(*args, terminal=None)
    quiet = run(*args, "--quiet", terminal="stderr")
    plain = run(*args, "--no-color", terminal="stderr")
    assert on_tty.code == piped.code == quiet.code == plain.code
    # --no-color: the same bars without colour (rich itself honours NO_COLOR)
    assert "\x1b[32m3/3" in on_tty.stderr and "3/3" in plain.stderr and "\x1b[32m" not in plain.stderr
    # a bar for the target: files done of total and bytes
    assert f"scan {model_dir}"[-20:] in on_tty.stderr
    assert "3/3" in on_tty.stderr and "5.0 kB" in on_tty.stderr
    assert "\x1b[?25l" in on_tty.stderr and "\x1b[?25h" in on_tty.stderr  # cursor hidden, then shown
    # a pipe gets the summary line only: no bar, no carriage return, no escape sequence
    assert piped.stderr.startswith("scanned 3 files") and piped.stderr.count("\n") == 1
    assert not any(c in piped.stderr for c in CONTROL)
    assert quiet.stderr == ""
    assert _report(on_tty.stdout) == _report(piped.stdout) == _report(quiet.stdout) == _report(plain.stdout)


def test_no_progress_means_rich_is_never_imported(model_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    probe = (
        "import sys; from r1policy.cli import main; "
        f"code = main(['scan', {str(model_dir)!r}, '--format', 'json', '--output', {str(report)!r}]); "
        "print(code, 'rich' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.stdout.split()[1:] == ["False"], done
    assert report.is_file()


@pytest.fixture
def bucket(moto_env: MotoServer) -> str:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="acme-weights")
    s3.put_object(Bucket="acme-weights", Key="r1/config.json", Body=b'{"model_type": "qwen2"}')
    s3.put_object(Bucket="acme-weights", Key="r1/model.safetensors", Body=b"\0" * 3000)
    return "s3://acme-weights/r1/"


def test_lock_shows_objects_and_bytes_on_a_terminal_only(bucket: str, tmp_path: Path) -> None:
    runs: dict[str, Run] = {}
    written: dict[str, str] = {}
    for name, terminal, extra in (
        ("tty", "stderr", ()),
        ("pipe", None, ()),
        ("quiet", "stderr", ("--quiet",)),
    ):
        lock = tmp_path / f"{name}.lock"
        result = run("lock", bucket, "--lock", lock, *extra, terminal=terminal)
        assert result.code == 0, result.stderr
        runs[name] = Run(result.code, result.stdout.replace(str(lock), "LOCK"), result.stderr)
        written[name] = lock.read_text()
    assert f"lock {bucket}" in runs["tty"].stderr and "2/2" in runs["tty"].stderr
    assert "3.0 kB" in runs["tty"].stderr
    assert runs["pipe"].stderr == runs["quiet"].stderr == ""
    assert runs["tty"].stdout == runs["pipe"].stdout == runs["quiet"].stdout
    assert "LOCK: written (1 sources)" in runs["pipe"].stdout
    assert written["tty"] == written["pipe"] == written["quiet"]


def _seed_audit_world() -> None:
    sys.path.insert(0, str(ROOT / "examples" / "aws-demo"))
    try:
        import seed_world  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    seed_world.seed()


def test_audit_shows_regions_and_resources_on_a_terminal_only(moto_env: MotoServer, tmp_path: Path) -> None:
    _seed_audit_world()
    common = ("audit", "--regions", "us-east-1", "--format", "json")
    on_tty = run(*common, "--report-dir", tmp_path / "a", terminal="stderr")
    piped = run(*common, "--report-dir", tmp_path / "b", terminal=None)
    quiet = run(*common, "--report-dir", tmp_path / "c", "--quiet", terminal="stderr")
    assert on_tty.code == piped.code == quiet.code == 1, piped.stderr
    assert "sagemaker 123456789012 us-east-1" in on_tty.stderr
    assert "buckets" in on_tty.stderr and "evaluating 3 deployment(s)" in on_tty.stderr
    assert piped.stderr.startswith("r1policy audit: ") and piped.stderr.count("\n") == 1
    assert not any(c in piped.stderr for c in CONTROL)
    assert quiet.stderr == ""
    # (the order of two findings of one rule on one subject varies between audit runs, with or without
    # progress: compared as sorted lists)
    assert _canonical(on_tty.stdout) == _canonical(piped.stdout) == _canonical(quiet.stdout)


def test_silent_progress_and_tally() -> None:
    calls: list[tuple[Any, ...]] = []

    class Recorder:
        def __call__(self, phase: str, done: int, total: int | None, **sizes: int | None) -> None:
            calls.append((phase, done, total, sizes["done_bytes"], sizes["total_bytes"]))

        def note(self, message: str) -> None:
            calls.append((message,))

    recorder: Progress = Recorder()
    tally = Tally(recorder, "scan x", [10, 20])
    tally.finished(10)
    tally.finished(20)
    assert calls == [("scan x", 0, 2, 0, 30), ("scan x", 1, 2, 10, 30), ("scan x", 2, 2, 30, 30)]
    unknown = Tally(recorder, "lock y", [None, 5])
    assert unknown.total_bytes is None
    assert isinstance(NO_PROGRESS, NoProgress)
    NO_PROGRESS("phase", 1, None, done_bytes=3)
    NO_PROGRESS.note("nothing happens")
