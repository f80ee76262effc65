"""Many inputs on two cores (core/forked.py, sources/readsplit.py, engine/judgesplit.py): a run with a
forked helper prints exactly what the same run without one prints -- the report, the message of bad
input, the exit code -- whatever the files, wherever the bad one sits, and when the helper fails.

Each run is a fresh interpreter (`_DRIVER`): a helper is forked only from a process without other
threads, which a pytest session is not. `R1POLICY_PARALLEL=always` forks whatever the number of
inputs, `off` never; the driver counts the helpers started, so that a comparison cannot pass by
comparing two runs without one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.snippet import run_snippet

from conftest import base_documents
from r1policy.commands.policytest import base_manifest, patch
from r1policy.core import forked
from r1policy.core.meeting import _RECORD, Meeting

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="helpers are forked on Linux only"
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("allow", "block", "cloudformation", "kubernetes", "sagemaker-api", "sagemaker-sdk", "terraform")

# Runs `r1policy ARGS`; prints the exit code and the number of helpers started on the last line of
# stderr. A helper can be made to fail: FAIL=read makes the reading helper raise in the child,
# FAIL=judge makes the judging helper die (os._exit) in the child, FAIL=notmp leaves no temporary
# folder to write in.
_DRIVER = r"""
    import os, sys
    from r1policy.core import forked
    from r1policy.sources import readsplit
    from r1policy.engine import judging

    started = []
    _init = forked.Forked.__init__
    def counting(self, *args):
        _init(self, *args)
        started.append(1)  # only a helper that was started
    forked.Forked.__init__ = counting
    fail = os.environ.get("FAIL")
    if fail == "read":
        def broken(paths, part, explicit, load):  # the helper has taken a chunk when it fails
            raise RuntimeError("helper broken on purpose")
        readsplit._read_chunk = broken
    if fail == "judge":
        def dying(self, ctx, facts):
            os._exit(7)
        judging.Judging.alone = dying
    if fail == "notmp":  # no temporary folder to write in: no helper can hand anything over
        import tempfile
        tempfile.tempdir = "/dev/null/tmp"  # under a file: never a folder
    import r1policy.cli as cli
    try:
        code = cli.main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    sys.stdout.flush()
    print(f"\nexit={code} helpers={len(started)}", file=sys.stderr)
"""


def _run(mode: str, *args: str, fail: str = "") -> tuple[str, str, str, int]:
    """The run's stdout, stderr and exit code, and the number of helpers it started."""
    env = {**os.environ, "R1POLICY_PARALLEL": mode, "FAIL": fail}
    done = run_snippet(_DRIVER, *args, env=env)
    *err, last = done.stderr.rstrip("\n").split("\n")
    assert last.startswith("exit="), done.stderr
    code, helpers = last.split()
    return done.stdout, "\n".join(err), code, int(helpers.removeprefix("helpers="))


def _same(*args: str, helpers: int, fail: str = "") -> tuple[str, str]:
    """The run with helpers (at least `helpers` started) prints what the run without prints."""
    alone = _run("off", *args)
    split = _run("always", *args, fail=fail)
    assert alone[3] == 0
    assert alone[2] in ("exit=0", "exit=1"), alone[1]
    assert split[3] >= helpers
    assert split[:3] == alone[:3]
    return alone[0], alone[1]


def _manifest(name: str, *, hub: bool = False, change: dict[str, object] | None = None) -> str:
    doc = patch(
        base_manifest(base_documents(), hub=hub),
        {"metadata": {"name": name}, "spec": {"endpoint": {"name": name}}},
    )
    if change:
        doc = patch(doc, change)
    return yaml.safe_dump(doc, sort_keys=False)


def _folder(tmp_path: Path, count: int = 24) -> Path:
    """`count` manifests named in walk order, some failing (the tests put other files between them)."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(count):
        change = {"spec": {"endpoint": {"network_isolation": False}}} if i % 5 == 2 else None
        (folder / f"m{i:03d}.yaml").write_text(_manifest(f"dep-{i:03d}", hub=i % 4 == 3, change=change))
    return folder


def _bucket_template(kms: bool, name: str = "acme-llm-weights") -> str:
    default = {"SSEAlgorithm": "aws:kms" if kms else "AES256"}
    encryption = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": default}]}
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Weights": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": name, "BucketEncryption": encryption},
            }
        },
    }
    return yaml.safe_dump(template, sort_keys=False)


@pytest.mark.parametrize(
    "sources",
    [
        [f"examples/{name}" for name in EXAMPLES],
        # each defines the examples' bucket its own way: a folder of its own, beside native manifests
        ["examples/terraform-source", "examples/allow"],  # Terraform modules: the readers' shared state
        ["tests/fixtures/cdk", "examples/allow"],  # `cdk synth` output, read through its manifest
    ],
    ids=["formats", "terraform-source", "cdk"],
)
def test_examples_read_and_judged_with_helpers_as_without(tmp_path: Path, sources: list[str]) -> None:
    """The bundled examples of every format; what uses the readers' shared state the reading helper
    leaves to the main process."""
    for source in sources:
        shutil.copytree(ROOT / source, tmp_path / "all" / source.replace("/", "-"))
    stdout, _ = _same("check", "--static", "--format", "json", str(tmp_path / "all"), helpers=2)
    assert '"findings"' in stdout


def test_mixed_folder_with_helpers_as_without(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    odd = {
        "m004-blob.bin": b"\x00\x01binary",
        "m008-latin1.txt": b"name: caf\xe9\n",
        "m010-notes.yaml": b"title: release notes\nitems: [a, b]\n",
        "m012-stack.yaml": _bucket_template(kms=True, name="acme-side-bucket").encode(),
        "m014-image.png": b"\x89PNG\r\n\x1a\n\x00\x00",
        "m016-deploy.py": (ROOT / "examples/sagemaker-sdk/lmi_s3_model_compliant.py").read_bytes(),
        "m018-plan.json": (ROOT / "examples/terraform/r1-endpoints.plan.json").read_bytes(),
        "m020-readme.md": b"# notes\n",
        "m022-two.yaml": _manifest("two-a").encode() + b"---\n" + _manifest("two-b").encode(),
        # deployment formats no reader understands: an error naming each, from the helper's part too
        "m019-endpoint.hcl": b'resource "aws_sagemaker_endpoint" "r1" {\n}\n',
        "m021-serving.properties": b"engine=Python\noption.model_id=deepseek-ai/DeepSeek-R1\n",
    }
    for name, data in odd.items():
        (folder / name).write_bytes(data)
    shutil.copytree(ROOT / "examples/terraform-source", folder / "m023-tf")
    stdout, _ = _same("check", "--static", "--format", "json", str(folder), helpers=2)
    assert "dep-023" in stdout and "two-b" in stdout
    report = json.loads(stdout)
    unreadable = {
        (f["status"], f["subject"]["id"]) for f in report["findings"] if f["rule_id"] == "R1-INPUT-001"
    }
    assert unreadable == {
        ("error", str(folder / name)) for name in ("m019-endpoint.hcl", "m021-serving.properties")
    }


_REPO = {"spec": {"model": {"hub": {"repo": "acme/r1--x"}}}}


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("m020.yaml", "apiVersion: r1policy/v1\nkind: ModelDeployment\nmetadata: {name: 5}\n", "m020.yaml:"),
        ("m021.yaml", _manifest("dep-002"), "duplicate deployment name 'dep-002'"),
        ("m022.yaml", _bucket_template(kms=False), "bucket acme-llm-weights is defined differently"),
        ("m023.yaml", _manifest("dep-x", hub=True, change=_REPO), "forbidden in a Hub"),
    ],
    ids=["invalid-manifest", "duplicate-name", "bucket-defined-twice", "bad-repo-id"],
)
def test_bad_input_in_the_helpers_part_is_the_same_error(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    folder = _folder(tmp_path)
    (folder / "m001-stack.yaml").write_text(_bucket_template(kms=True))
    (folder / name).write_text(text)
    alone = _run("off", "check", "--static", "--format", "json", str(folder))
    split = _run("always", "check", "--static", "--format", "json", str(folder))
    assert split[:3] == alone[:3]
    assert (alone[2], split[3]) == ("exit=2", 1)  # bad input; the reading helper only, judging never starts
    assert expected in alone[1]


def test_bad_input_in_both_parts_reports_the_first_in_walk_order(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    bad = "apiVersion: r1policy/v1\nkind: ModelDeployment\nmetadata: {name: 5}\n"
    (folder / "m002-bad.yaml").write_text(bad)
    (folder / "m021-bad.yaml").write_text(bad)
    alone = _run("off", "check", "--static", str(folder))
    split = _run("always", "check", "--static", str(folder))
    assert split[:3] == alone[:3]
    assert (alone[2], split[3]) == ("exit=2", 1)
    assert "m002-bad.yaml" in alone[1] and "m021-bad.yaml" not in alone[1]


def test_a_bucket_first_named_in_the_helpers_part(tmp_path: Path) -> None:
    """Buckets the files define: the judging helper works out its deployments' facts and asks Cedar
    with the buckets beside them (R1-S3-006 reads the bucket's region), and the findings of a bucket
    only the helper's deployments load from borrow names from the first of them, whose facts this
    process works out again."""
    folder = _folder(tmp_path)
    shutil.copytree(ROOT / "examples/terraform-source", folder / "m000-tf")  # acme-llm-weights, a region
    (folder / "m001-stack.yaml").write_text(_bucket_template(kms=False, name="acme-side-bucket"))
    elsewhere = {"spec": {"endpoint": {"region": "eu-west-1"}}}
    side = {"spec": {"model": {"s3": {"uri": "s3://acme-side-bucket/r1/"}}}}
    for i, change in ((20, elsewhere), (21, side), (22, side), (23, elsewhere)):
        (folder / f"m{i:03d}.yaml").write_text(_manifest(f"dep-{i:03d}", change=change))
    stdout, _ = _same("check", "--static", "--format", "json", str(folder), helpers=2)
    findings = {(f["rule_id"], f["status"], f["subject"]["id"]) for f in json.loads(stdout)["findings"]}
    assert ("R1-S3-001", "fail", "s3://acme-side-bucket") in findings
    region = {
        ident.rsplit("/", 1)[-1]
        for rule, status, ident in findings
        if (rule, status) == ("R1-S3-006", "fail")
    }
    assert region == {"dep-020", "dep-023"}


def test_licence_lineages_worked_out_by_the_helper(tmp_path: Path) -> None:
    """With `licences` configured and --static, the judging helper resolves its deployments' licence
    lineages itself; the BOM lists the same lineages (this process resolves them again)."""
    folder = _folder(tmp_path)
    config = tmp_path / "r1policy.yaml"
    config.write_text(yaml.safe_dump({"licences": {"allowed": ["mit"], "denied": ["llama3"]}}))
    outputs = []
    for mode in ("off", "always"):
        bom, report = tmp_path / f"{mode}-bom.json", tmp_path / f"{mode}-report.json"
        args = ("--format", "cyclonedx", "--output", str(bom), "--format", "json", "--output", str(report))
        _out, err, code, helpers = _run(
            mode, "check", "--static", "--config", str(config), *args, str(folder)
        )
        assert (code, helpers >= 2 or mode == "off") == ("exit=1", True), err
        document = json.loads(bom.read_text())
        document.pop("serialNumber", None)
        document.get("metadata", {}).pop("timestamp", None)
        outputs.append((document, report.read_text()))
    assert outputs[0] == outputs[1]
    assert "R1-LIC-001" in outputs[0][1] and "licenses" in json.dumps(outputs[0][0])


def test_facts_worked_out_here_when_the_hub_is_asked(tmp_path: Path) -> None:
    """Without --static the Hub is asked about the Hub models (offline here), and its answers belong
    to this process: the helper then only judges, from the facts and verdicts worked out here, with
    the bucket facts of a state snapshot."""
    folder = _folder(tmp_path)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(base_documents()["state"]))
    stdout, _ = _same(
        "check", "--state", str(state), "--show-passed", "--format", "json", str(folder), helpers=2
    )
    statuses = {(f["rule_id"], f["status"]) for f in json.loads(stdout)["findings"]}
    assert {("R1-S3-001", "pass"), ("R1-HUB-001", "skipped")} <= statuses


@pytest.mark.parametrize("fail", ["read", "judge"])
def test_a_failing_helper_leaves_its_part_to_the_main_process(tmp_path: Path, fail: str) -> None:
    folder = _folder(tmp_path)
    stdout, _ = _same("check", "--static", "--format", "json", str(folder), helpers=2, fail=fail)
    assert "dep-023" in stdout


def test_no_temporary_folder_means_no_helper_and_the_same_report(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    args = ("check", "--static", "--format", "json", str(folder))
    alone = _run("off", *args)
    without = _run("always", *args, fail="notmp")
    assert alone[2] == "exit=1", alone[1]
    assert (without[3], alone[3]) == (0, 0)
    assert without[:3] == alone[:3]
    assert "dep-023" in alone[0]


def test_waivers_and_expired_waivers_in_the_helpers_part(tmp_path: Path) -> None:
    """The judging helper's waived findings and expired-waiver notices come back, in order."""
    folder = _folder(tmp_path, count=30)
    config = tmp_path / "r1policy.yaml"
    waiver = {"rule": "R1-EP-003", "reason": "accepted until the rollout", "owner": "ml-platform"}
    waivers = [  # both in the helper's part (dep-018 to dep-029)
        {**waiver, "subject": "dep-02[0-4]", "expires": "2020-01-31"},
        {**waiver, "subject": "dep-02[5-9]", "expires": "2099-01-31"},
    ]
    config.write_text(yaml.safe_dump({"waivers": waivers}))
    args = ("check", "--static", "--config", str(config), "--format", "json", str(folder))
    stdout, _ = _same(*args, helpers=2)
    assert '"expired-waiver"' in stdout and '"waived"' in stdout


@pytest.mark.parametrize(
    ("own", "limits", "expected"),
    [
        ("/", {}, 2.0),
        ("/job/step", {"job/step": "max 100000"}, 2.0),
        ("/job/step", {"job/step": "150000 100000"}, 1.5),
        ("/job/step", {"job/step": "max 100000", "job": "50000 100000"}, 0.5),
        ("/job/step", {"job/step": "400000 100000"}, 2.0),  # a quota above the processors allowed
        ("/job", {"job": "garbage"}, 2.0),
    ],
)
def test_processors_count_the_cgroup_cpu_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own: str, limits: dict[str, str], expected: float
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text(f"4:memory:/other\n0::{own}\n")
    for folder, text in limits.items():
        (tmp_path / "sys/fs/cgroup" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "sys/fs/cgroup" / folder / "cpu.max").write_text(text + "\n")
    assert forked.processors(str(tmp_path)) == expected


def test_a_helper_ends_with_its_parent(tmp_path: Path) -> None:
    """A parent killed outright (no finally, no reaping) leaves no helper behind."""
    script = """
        import os, sys, time
        from r1policy.core import forked
        pid = forked.fork_child(lambda: time.sleep(60))
        print(pid, flush=True)
        os._exit(0)
    """
    command = [sys.executable, "-c", textwrap.dedent(script)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=60, check=True)
    status = Path(f"/proc/{int(done.stdout)}/status")
    for _ in range(100):
        if not status.exists() or "\nState:\tZ" in status.read_text():
            return
        time.sleep(0.05)
    pytest.fail("the helper outlived its parent")


def test_a_helper_that_handed_over_its_result_is_not_waited_for() -> None:
    """`result()` returns once the child wrote its whole result (one byte on a pipe says so), not when
    its exit is over; the next fork, or this process's exit, reaps it. A child that ends without its
    result is waited for and gives None, whatever it wrote."""
    script = """
        import os, time
        from r1policy.core import forked
        first = forked.Forked(lambda: b"x" * 100_000)
        assert first.result() == b"x" * 100_000
        assert len(forked._exiting) == 1
        time.sleep(0.3)
        broken = forked.Forked(lambda: (os.write(1, b""), os._exit(3)))  # writes no result: dies
        assert forked._exiting == []  # the first one was reaped when the second was forked
        assert broken.result() is None and forked._exiting == []
        last = forked.Forked(lambda: b"z")
        assert last.result() == b"z" and len(forked._exiting) == 1
        import atexit
        atexit._run_exitfuncs()  # the process's exit reaps it
        assert forked._exiting == []
        print("ok")
    """
    done = run_snippet(script, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


def test_the_helpers_chunks_are_taken_in_while_both_still_work() -> None:
    """The helper's values come back chunk by chunk: what it finished is unpickled here between this
    process's own chunks (so little is left when the two meet), every chunk of its part exactly once,
    in order. A helper that dies after handing over some chunks gives None: its whole part is done
    here, never half of it."""
    script = """
        import os, sys, time
        from r1policy.core import meeting as meeting_module

        parent, done_here = os.getpid(), []

        def each(part):
            if os.getpid() != parent:  # the helper: 5 ms a chunk, and (DIE) it dies at its 6th chunk
                done_here.append(part)
                if os.environ.get("DIE") and len(done_here) == 6:
                    os._exit(9)
                time.sleep(0.005)
            return [(i, "x" * (i % 50)) for i in part]

        count, chunk = 400, 7
        meeting = meeting_module.meet(count, 2, chunk, each)
        mine, taken_in = [], []
        for part in meeting.front():
            mine += each(part)
            taken_in.append(len(meeting._values))
            time.sleep(0.02)  # slower than the helper: it finishes chunks meanwhile
        values = meeting.result()
        meeting.close()
        if values is None:
            print("none", meeting.start > 0)
            sys.exit(0)
        theirs = [item for value in values for item in value]
        assert mine + theirs == each(range(count)), "not every item once, in order"
        assert meeting.start == len(mine) and meeting.start % chunk == 0
        print("ok", max(taken_in) > 0)
    """
    env = {**os.environ, "R1POLICY_PARALLEL": "always"}
    done = run_snippet(script, env=env, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok True\n", "")
    dead = run_snippet(script, env={**env, "DIE": "1"}, timeout=60)
    assert (dead.returncode, dead.stdout, dead.stderr) == (0, "none True\n", "")


@given(
    values=st.lists(st.lists(st.text(max_size=30), max_size=5), min_size=1, max_size=12),
    cuts=st.lists(st.integers(1, 400), min_size=1, max_size=40),
)
@settings(max_examples=150, deadline=None)
def test_records_are_taken_in_whole_whatever_the_reads_return(
    tmp_path_factory: pytest.TempPathFactory, values: list[list[str]], cuts: list[int]
) -> None:
    """The helper's records (`Meeting._collect`): read in pieces of any size, as far as the helper
    said they are whole at any moment, every chunk's value comes back once and whole; a record a read
    cut short is taken in at a later read."""
    import pickle
    import tempfile

    meeting = Meeting.__new__(Meeting)
    meeting._read, meeting._values = 0, {}
    records = tempfile.TemporaryFile(dir=tmp_path_factory.mktemp("records"))  # noqa: SIM115
    meeting._records = records
    ends = []
    for index, value in enumerate(values):
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        records.write(_RECORD.pack(index, len(data)) + data)
        ends.append(records.tell())
    records.flush()
    pieces = iter(cuts)
    real = os.pread

    def short(fd: int, size: int, at: int) -> bytes:
        return real(fd, min(size, next(pieces, size)), at)

    try:
        os.pread = short  # type: ignore[assignment]
        published = 0
        for end in ends:  # the helper publishes each record's end in turn; this process reads
            published = end
            meeting._collect(published)
        while meeting._read < published:
            meeting._collect(published)
    finally:
        os.pread = real  # type: ignore[assignment]
        records.close()
    assert meeting._values == dict(enumerate(values))
