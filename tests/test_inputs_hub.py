"""The Hub must answer what was asked (issue 20) and repo ids are read as the Hub reads them (issue 13).

Against tests/support/hubserver.py with the real huggingface_hub client. Before this change a 40-hex
revision that the Hub resolved to another commit (a branch named like a SHA) passed R1-HUB-001, a
renamed repository's answer was taken for the one asked, `scan hf://…@sha` of an empty listing passed,
and `deepseek-ai/..%2Fdeepseek-al%2FDeepSeek-R1` was accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.hubserver import RepoFixture, hub_server

from conftest import finding_set, run_cli, write_case

REPO = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
REAL = "6a6f4aa4197940add57724a7707d069478df56b1"
CONFIG = b'{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}'


def _fixture(**kw: Any) -> RepoFixture:
    return RepoFixture(REPO, files={"config.json": CONFIG}, sha=REAL, **kw)


def _check(tmp_path: Path, revision: str, monkeypatch: pytest.MonkeyPatch, server: Any, *extra: str) -> Any:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    paths = write_case(
        tmp_path, hub=True, manifest={"spec": {"model": {"hub": {"repo": REPO, "revision": revision}}}}
    )
    return run_cli(
        "check",
        paths["manifest"],
        "--config",
        paths["config"],
        "--state",
        paths["state"],
        "--format",
        "json",
        *extra,
    )


@pytest.mark.parametrize(
    "branch",
    [
        "b" * 40,  # the example: a branch named like a SHA
        "0123456789abcdef0123456789abcdef01234567",
        "f" * 40,
        "6a6f4aa4197940add57724a7707d069478df56b2",  # one digit off the real commit
        "deadbeef" * 5,
    ],
)
def test_a_sha_shaped_branch_is_not_a_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, branch: str
) -> None:
    with hub_server([_fixture(refs={branch: REAL})]) as server:
        result = _check(tmp_path, branch, monkeypatch, server)
    assert result.code == 1, result.stdout + result.stderr
    hub001 = [f for f in result.json["findings"] if f["rule_id"] == "R1-HUB-001"]
    assert [f["status"] for f in hub001] == ["fail"], hub001
    assert f"resolved {branch} to commit {REAL}" in hub001[0]["message"]


def test_the_real_commit_still_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hub_server([_fixture()]) as server:
        result = _check(tmp_path, REAL, monkeypatch, server, "--show-passed")
    assert ("R1-HUB-001", "pass", f"hf://{REPO}@{REAL}") in finding_set(result.json), result.stdout


@pytest.mark.parametrize(
    "answered", ["evil-labs/DeepSeek-R1-Distill-Llama-8B", REPO.lower(), "deepseek-ai/other"]
)
def test_an_answer_for_another_repository_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answered: str
) -> None:
    with hub_server([_fixture(answer_id=answered)]) as server:
        result = _check(tmp_path, REAL, monkeypatch, server)
    assert result.code == 1
    hub001 = [f for f in result.json["findings"] if f["rule_id"] == "R1-HUB-001"]
    assert [f["status"] for f in hub001] == ["fail"]
    assert repr(answered) in hub001[0]["message"]


def test_scan_of_a_commit_with_no_files_is_not_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with hub_server([RepoFixture(REPO, files={}, sha=REAL)]) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        result = run_cli("scan", f"hf://{REPO}@{REAL}", "--format", "json")
    assert result.code == 2, result.stdout
    assert "lists no files" in result.stderr


def test_scan_of_a_sha_shaped_branch_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with hub_server([_fixture(refs={"c" * 40: REAL})]) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        result = run_cli("scan", f"hf://{REPO}@{'c' * 40}", "--format", "json")
    assert result.code == 2
    assert "not a pin" in result.stderr


BAD_IDS = [
    "deepseek-ai/..%2Fdeepseek-al%2FDeepSeek-R1",  # the example
    "deepseek-ai/../deepseek-al/DeepSeek-R1",
    "deepseek-ai/DeepSeek-R1/extra",
    "deepseek-ai/DeepSeek--R1",
    "deepseek-ai/DeepSeek-R1.git",
    "deepseek-ai/-DeepSeek-R1",
    "deepseek-ai/DeepSeek R1",
    "deepseek-ai/DeepSeek-R1\u200b",
    "deepseek-аi/DeepSeek-R1",  # Cyrillic a
    "deepseek-ai/" + "x" * 97,
    "/DeepSeek-R1",
]
GOOD_IDS = [REPO, "deepseek-ai/DeepSeek-R1", "a/b", "user_1/model.v2-final", "x/" + "y" * 96]


@pytest.mark.parametrize("repo", BAD_IDS)
def test_a_bad_repo_id_in_a_manifest_is_exit_2(tmp_path: Path, repo: str) -> None:
    paths = write_case(
        tmp_path, hub=True, manifest={"spec": {"model": {"hub": {"repo": repo, "revision": REAL}}}}
    )
    result = run_cli("check", "--static", paths["manifest"], "--config", paths["config"], cwd=tmp_path)
    assert result.code == 2, result.stdout
    assert "Traceback" not in result.stderr and paths["manifest"].name in result.stderr


@pytest.mark.parametrize("repo", BAD_IDS[:6])
def test_a_bad_repo_id_in_the_container_env_blocks_naming_it(tmp_path: Path, repo: str) -> None:
    """The server would ask the Hub for a malformed id: what it loads cannot be told, so every rule
    that reads the model is `error` naming the variable and its value (sources/servers.py)."""
    env = {"HF_MODEL_ID": repo}
    paths = write_case(tmp_path, hub=True, manifest={"spec": {"container": {"env": env}}})
    result = run_cli(
        "check", "--static", paths["manifest"], "--config", paths["config"], "--format", "json", cwd=tmp_path
    )
    _refused_or_blocked(result, repo, "case.yaml")


def _refused_or_blocked(result: Any, repo: str, file: str) -> None:
    """A shaped-like-a-Hub-id value (`org/..`) is refused by the repo-id check (exit 2 naming the file);
    any other (`%2F`, a third part) cannot be told and errs every rule reading the model (exit 1)."""
    if result.code == 2:
        assert file in result.stderr and "Hub repository" in result.stderr, result.stderr
        return
    assert result.code == 1, result.stderr
    errors = [f for f in result.json["findings"] if f["status"] == "error"]
    assert {f["rule_id"] for f in errors} >= {"R1-HUB-001", "R1-HUB-002", "R1-HUB-003"}
    assert all(f"HF_MODEL_ID: {repo!r}" in f["message"] for f in errors if f["rule_id"].startswith("R1-HUB"))


@pytest.mark.parametrize("repo", BAD_IDS[:5])
def test_a_bad_repo_id_in_scan_lock_and_the_lock_file_is_refused(tmp_path: Path, repo: str) -> None:
    scan = run_cli("scan", f"hf://{repo}@{REAL}")
    assert scan.code == 2 and "Traceback" not in scan.stderr, scan.stderr
    lock = run_cli("lock", f"hf://{repo}@{REAL}", "--lock", tmp_path / "r1policy.lock")
    assert lock.code == 2 and "Traceback" not in lock.stderr, lock.stderr
    lock_file = tmp_path / "bad.lock"
    lock_file.write_text(
        yaml.safe_dump(
            {
                "schema_version": 1,
                "kind": "r1policy-lock",
                "sources": {f"hf://{repo}": {"revision": REAL, "repo_id": "x", "files": {}}},
            }
        )
    )
    verify = run_cli("scan", str(tmp_path), "--lock", lock_file)
    assert verify.code == 2 and "bad.lock" in verify.stderr, verify.stderr


@pytest.mark.parametrize("repo", BAD_IDS + GOOD_IDS)
def test_repo_ids_agree_with_huggingface_hub(repo: str) -> None:
    """Differential: whatever huggingface_hub refuses is refused too (r1policy is stricter: two parts,
    ASCII only)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from r1policy.core.repoid import repo_id_problem

    try:
        validate_repo_id(repo)
        library_ok = True
    except HFValidationError:
        library_ok = False
    ours = repo_id_problem(repo) is None
    assert ours <= library_ok, repo
    assert ours == (repo in GOOD_IDS), repo


@pytest.mark.parametrize(
    "config",
    [
        b'{"auto_map": {"AutoModel": "m.M"}, "n": ' + b"1" * 5000 + b"}",
        b"[" * 5000 + b"]" * 5000,
        b'{"torch_dtype": NaN}',
    ],
)
def test_a_hub_file_with_unbounded_json_is_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: bytes
) -> None:
    fixture = RepoFixture(REPO, files={"config.json": config}, sha=REAL)
    with hub_server([fixture]) as server:
        result = _check(tmp_path, REAL, monkeypatch, server)
    assert result.code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("repo", BAD_IDS[:3])
def test_a_bad_repo_id_in_an_api_request_is_refused_or_blocks(tmp_path: Path, repo: str) -> None:
    import json
    import shutil

    from conftest import EXAMPLES

    folder = tmp_path / "api"
    shutil.copytree(EXAMPLES / "sagemaker-api", folder)
    model = json.loads((folder / "create-model.json").read_text())
    model["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] = repo
    (folder / "create-model.json").write_text(json.dumps(model, indent=1))
    result = run_cli("check", "--static", "api", "--format", "json", cwd=tmp_path)
    _refused_or_blocked(result, repo, "create-model.json")
