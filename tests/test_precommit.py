"""The pre-commit hooks, installed by the real `pre-commit` into a throwaway repository.

The hook repository is a snapshot of this checkout's working tree (the files the package build needs
plus .pre-commit-hooks.yaml, committed into a temporary git repository), so the test exercises exactly
what is on disk, committed or not, and works the same in a fresh clone in CI. pre-commit then builds its
own virtualenv and pip-installs r1policy into it (from the package index pip is configured with), which
takes tens of seconds: hence `slow`.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES, ROOT, run_cli

PACKAGE_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "checker", "policies", "schemas")
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


@dataclass
class Project:
    path: Path
    env: dict[str, str]

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=900,
        )


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_AUTHOR_NAME="r1policy test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="r1policy test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        PRE_COMMIT_HOME=str(home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _hook_repository(dest: Path, env: dict[str, str]) -> str:
    """Snapshot the working tree's package files into a fresh git repository; return its commit."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *PACKAGE_FILES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=dest, env=env, check=True, capture_output=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=dest, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A repository with both hooks installed and a first commit of its config files (YAML that the
    check hook must skip, not reject), which is when pre-commit builds its environment."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the hook repository is snapshotted with git ls-files")
    base = tmp_path_factory.mktemp("precommit")
    env = _env(base / "pre-commit-home")
    hooks = base / "r1policy-hooks"
    hooks.mkdir()
    rev = _hook_repository(hooks, env)
    work = Project(base / "project", env)
    work.path.mkdir()
    work.git("init", "-q", "-b", "main")
    shutil.copy2(EXAMPLES / "r1policy.yaml", work.path / "r1policy.yaml")
    (work.path / "notes.yaml").write_text("just: some yaml\n", encoding="utf-8")
    hook_ids = [{"id": "r1policy-check"}, {"id": "r1policy-scan"}]
    config = {"repos": [{"repo": str(hooks), "rev": rev, "hooks": hook_ids}]}
    (work.path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    subprocess.run([*PRE_COMMIT, "install"], cwd=work.path, env=env, check=True, capture_output=True)
    first = _commit(work, "setup", ".pre-commit-config.yaml", "r1policy.yaml", "notes.yaml")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _hook_line(first, "r1policy check").endswith("Passed")
    yield work


def _commit(project: Project, message: str, *files: str) -> subprocess.CompletedProcess[str]:
    project.git("add", *files)
    return project.git("commit", "-m", message, check=False)


def _hook_line(result: subprocess.CompletedProcess[str], name: str) -> str:
    return next(line for line in (result.stdout + result.stderr).splitlines() if line.startswith(name))


def _log(project: Project) -> list[str]:
    return project.git("log", "--format=%s").stdout.split()


@pytest.mark.slow
def test_check_hook_lets_a_good_manifest_through_and_blocks_a_bad_one(project: Project) -> None:
    (project.path / "deploy").mkdir()
    shutil.copy2(EXAMPLES / "allow" / "distill-llama-8b-s3.yaml", project.path / "deploy" / "good.yaml")
    good = _commit(project, "good-manifest", "deploy/good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert _hook_line(good, "r1policy check").endswith("Passed")
    assert _log(project)[0] == "good-manifest"

    # A bad one: the hook fails, the commit does not happen, and the output names rule and file.
    shutil.copy2(EXAMPLES / "block" / "many-problems.yaml", project.path / "deploy" / "bad.yaml")
    bad = _commit(project, "bad-manifest", "deploy/bad.yaml")
    output = bad.stdout + bad.stderr
    assert bad.returncode == 1, output
    assert _hook_line(bad, "r1policy check").endswith("Failed")
    assert "exit code: 1" in output
    assert "R1-EP-001" in output and "deploy/bad.yaml" in output
    assert "decision: BLOCK" in output
    assert "bad-manifest" not in _log(project)
    project.git("reset", "-q", "HEAD", "deploy/bad.yaml")


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(header)) + header + bytes(8)


@pytest.mark.slow
def test_scan_hook_lets_safetensors_through_and_blocks_a_malicious_pickle(project: Project) -> None:
    (project.path / "weights").mkdir()
    (project.path / "weights" / "model.safetensors").write_bytes(_safetensors())
    good = _commit(project, "safe-weights", "weights/model.safetensors")
    assert good.returncode == 0, good.stdout + good.stderr
    assert _hook_line(good, "r1policy scan").endswith("Passed")

    # A protocol-0 pickle that would call os.system when loaded (it is only ever read as bytes here).
    (project.path / "weights" / "extra.pkl").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    bad = _commit(project, "evil-pickle", "weights/extra.pkl")
    output = bad.stdout + bad.stderr
    assert bad.returncode == 1, output
    assert _hook_line(bad, "r1policy scan").endswith("Failed")
    assert "R1-ART-001" in output and "os.system" in output
    assert "evil-pickle" not in _log(project)
    project.git("reset", "-q", "HEAD", "weights/extra.pkl")


def test_hooks_manifest_is_valid_for_pre_commit() -> None:
    result = subprocess.run(
        [*PRE_COMMIT, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {
        h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    }
    assert set(hooks) == {"r1policy-check", "r1policy-scan"}
    check = hooks["r1policy-check"]
    assert check["entry"].split()[:3] == ["r1policy", "check", "--static"] and check["pass_filenames"] is True
    assert hooks["r1policy-scan"]["entry"].split()[:2] == ["r1policy", "scan"]


@pytest.mark.parametrize(
    ("hook", "matches", "ignored"),
    [
        (
            "r1policy-check",
            ["deploy/r1.yaml", "cfn/stack.template", "k8s/vllm.YML", "plan.json", "infra/tfplan.json"],
            ["model.safetensors", ".pre-commit-config.yaml", "package.json", "README.md"],
        ),
        (
            "r1policy-scan",
            [
                "m/model.safetensors",
                "pytorch_model.bin",
                "x.pt",
                "w.pkl",
                "q.gguf",
                "m.onnx",
                "m.keras",
                "model.tar.gz",
                "tokenizer_config.json",
            ],
            ["deploy/r1.yaml", "config.yaml", "notes.txt", "my_tokenizer_config.json"],
        ),
    ],
)
def test_file_patterns(hook: str, matches: list[str], ignored: list[str]) -> None:
    import re

    spec = {
        h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    }[hook]
    include = re.compile(spec["files"])
    exclude = re.compile(spec.get("exclude", "^$"))

    def selected(name: str) -> bool:
        return bool(include.search(name)) and not exclude.search(name)

    assert [m for m in matches if not selected(m)] == []
    assert [i for i in ignored if selected(i)] == []


def test_skip_unrecognised_skips_other_yaml_but_not_broken_files(tmp_path: Path) -> None:
    notes = tmp_path / "notes.yaml"
    notes.write_text("just: some yaml\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    shutil.copy2(EXAMPLES / "block" / "many-problems.yaml", bad)
    config = ("--config", EXAMPLES / "r1policy.yaml")
    assert run_cli("check", "--static", *config, notes, bad).code == 2  # without the flag: not a manifest
    result = run_cli("check", "--static", "--skip-unrecognised", *config, notes, bad, "--format", "json")
    assert result.code == 1, result.stderr
    assert result.json["inputs"] == [str(bad)]
    only_notes = run_cli("check", "--static", "--skip-unrecognised", *config, notes)
    assert only_notes.code == 0 and "nothing to judge" in only_notes.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: r1policy/v1\nkind: [unclosed\n", encoding="utf-8")
    failed = run_cli("check", "--static", "--skip-unrecognised", *config, broken)
    assert failed.code == 2 and str(broken) in failed.stderr
