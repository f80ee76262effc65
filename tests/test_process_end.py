"""The end of the `r1policy` process (core/gcpause.end, cli.run): the command's objects are not freed
one by one, but its output is whole, its exit code is the command's, and its exit handlers run; with
another thread still running, or in a caller's process, the exit is the usual one."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml
from tests.support.snippet import run_snippet

from conftest import base_documents, run_cli
from r1policy.commands.policytest import base_manifest, patch
from r1policy.core import gcpause

# Runs `r1policy ARGS` as the console script does, with an exit handler that writes ATEXIT, a temporary
# folder that only its finalizer removes, and (THREAD=1) a thread that writes THREAD after 0.3 s.
_DRIVER = r"""
    import atexit, os, sys, tempfile, threading, time
    from pathlib import Path
    marks = Path(os.environ["MARKS"])
    atexit.register(lambda: (marks / "ATEXIT").write_text("ran"))
    scratch = tempfile.TemporaryDirectory()
    (marks / "SCRATCH").write_text(scratch.name)
    if os.environ.get("THREAD"):
        threading.Thread(target=lambda: (time.sleep(0.3), (marks / "THREAD").write_text("ran"))).start()
    from r1policy import cli
    sys.argv = ["r1policy", *sys.argv[1:]]
    cli.run()
"""


def _folder(tmp_path: Path, count: int = 30) -> Path:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(count):
        doc = patch(
            base_manifest(base_documents(), hub=False),
            {"metadata": {"name": f"dep-{i:03d}"}, "spec": {"endpoint": {"name": f"dep-{i:03d}"}}},
        )
        if i % 3 == 0:
            doc = patch(doc, {"spec": {"endpoint": {"network_isolation": False}}})
        (folder / f"m{i:03d}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def _command(
    tmp_path: Path, *args: str, thread: bool = False
) -> tuple[subprocess.CompletedProcess[str], Path]:
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {"MARKS": str(marks), **({"THREAD": "1"} if thread else {})}
    # buffered output, as in most shells: what the end flushes is lost if it does not
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = run_snippet(_DRIVER, *args, env={**buffered, **env})
    return done, marks


def test_the_command_ends_with_its_whole_report_its_exit_code_and_exit_handlers(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    args = ("check", "--static", "--show-passed", "--format", "json", str(folder))
    done, marks = _command(tmp_path, *args)
    expected = run_cli(*args)  # in this process: main() returns, nothing is kept
    assert (done.returncode, done.stderr) == (expected.code, expected.stderr) == (1, "")
    assert json.loads(done.stdout)["findings"] == json.loads(expected.stdout)["findings"]
    assert len(done.stdout) == len(expected.stdout) > 100_000
    assert (marks / "ATEXIT").read_text() == "ran"
    assert not Path((marks / "SCRATCH").read_text()).exists()  # the finalizer ran at the end
    assert gcpause._kept is None


def test_another_thread_still_running_means_the_usual_exit(tmp_path: Path) -> None:
    folder = _folder(tmp_path, count=3)
    done, marks = _command(tmp_path, "check", "--static", str(folder), thread=True)
    assert done.returncode == 1, done.stderr
    assert (marks / "THREAD").read_text() == "ran"  # the interpreter waited for it
    assert (marks / "ATEXIT").read_text() == "ran"


def test_a_failed_start_exits_with_its_code(tmp_path: Path) -> None:
    done, marks = _command(
        tmp_path, "check", "--static", "--config", str(tmp_path / "missing.yaml"), "x.yaml"
    )
    assert done.returncode == 2 and "r1policy: error:" in done.stderr
    assert (marks / "ATEXIT").read_text() == "ran"


def test_output_a_command_left_in_its_buffer_is_written(tmp_path: Path) -> None:
    """`policies list` writes its lines without flushing them: the end flushes them."""
    done, _marks = _command(tmp_path, "policies", "list")
    expected = run_cli("policies", "list")
    assert (done.returncode, done.stdout) == (expected.code, expected.stdout) == (0, expected.stdout)
    assert done.stdout.endswith(" rules\n")
