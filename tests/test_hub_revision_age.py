"""R1-HUB-007 online and offline: the real huggingface_hub `list_repo_commits` against
tests/support/hubserver.py (paginated like the Hub), then from the response cache with HF_HUB_OFFLINE=1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import hubfixtures as fx
from tests.support.hubserver import RepoFixture, hub_server

from conftest import check_case, finding_set, run_cli, write_case

ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/case"
MODEL = f"hf://{fx.DISTILL}@{fx.DISTILL_SHA}"
# every baseline Hub deployment: downloads from the Hub at start-up (warn), TGI DLC past its support period
BASELINE = {("R1-HUB-006", "fail", MODEL), ("R1-EP-009", "fail", ARN)}
NEWER = ["c" * 40, "b" * 40, "a" * 40]
# newest first; the pinned commit is the fourth: three newer ones, the head 131 days and 3 hours later
BEHIND = [
    (NEWER[0], "2025-05-31T12:00:00.000Z"),
    (NEWER[1], "2025-03-01T00:00:00.000Z"),
    (NEWER[2], "2025-02-01T00:00:00.000Z"),
    (fx.DISTILL_SHA, "2025-01-20T09:00:00.000Z"),
    ("9" * 40, "2025-01-01T00:00:00.000Z"),
]
REWRITTEN = [("d" * 40, "2025-03-02T10:00:00.000Z"), ("e" * 40, "2025-01-01T00:00:00.000Z")]


def _fixture(**kwargs: Any) -> RepoFixture:
    base: dict[str, Any] = {
        "files": fx._files(fx.LLAMA_CONFIG),
        "sha": fx.DISTILL_SHA,
        "repo_id": fx.REPO_IDS[fx.DISTILL],
        "safetensors": {"BF16": 8030261248},
    }
    return RepoFixture(fx.DISTILL, **{**base, **kwargs})


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("R1POLICY_HUB_TIMEOUT", "0.5")
    monkeypatch.setenv("R1POLICY_HUB_RETRIES", "1")
    monkeypatch.setenv("R1POLICY_HUB_BACKOFF", "0.01")
    yield monkeypatch


def _check(tmp_path: Path, config: dict[str, Any], *extra: str) -> dict[str, Any]:
    manifest = {"spec": {"model": {"hub": {"repo": fx.DISTILL, "revision": fx.DISTILL_SHA}}}}
    paths = write_case(tmp_path, manifest=manifest, config=config, hub=True)
    return check_case(paths, "--show-passed", *extra).json


def _hub007(data: dict[str, Any]) -> dict[str, Any]:
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-HUB-007"]
    return finding


def _serve(env: pytest.MonkeyPatch, fixture: RepoFixture) -> Any:
    server = hub_server([fixture], fx.ORGS)
    hub = server.__enter__()
    env.setenv("HF_ENDPOINT", hub.endpoint)
    return server, hub


CONFIG = {"max_revision_age_days": 90}


def _online_then_offline(env: pytest.MonkeyPatch, tmp_path: Path, fixture: RepoFixture) -> list[Any]:
    server, hub = _serve(env, fixture)
    try:
        online = _check(tmp_path, CONFIG)
        requests = hub.count("commits", fx.DISTILL)
        env.setenv("HF_HUB_OFFLINE", "1")
        before = hub.count()
        offline = _check(tmp_path, CONFIG)
        assert hub.count() == before  # offline: not one request
    finally:
        server.__exit__(None, None, None)
    return [online, offline, requests]


def test_pass_pinned_commit_is_the_head(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    online, offline, requests = _online_then_offline(env, tmp_path, _fixture())
    for data in (online, offline):
        assert finding_set(data, "fail", "error") == BASELINE
        assert _hub007(data)["status"] == "pass"
    assert requests == 1


def test_fail_behind_more_than_max_days_across_pages(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fixture = _fixture(commits={"main": BEHIND}, commits_page_size=2)
    online, offline, requests = _online_then_offline(env, tmp_path, fixture)
    for data in (online, offline):
        assert finding_set(data, "fail", "error") == BASELINE | {("R1-HUB-007", "fail", MODEL)}
        finding = _hub007(data)
        assert finding["enforcement"] == "warn"
        assert (
            f"3 commit(s) and 131.1 days behind the head of main, {NEWER[0]} (2025-05-31T12:00:00Z)"
            in " ".join(finding["message"].split())
        ), finding["message"]
    assert requests == 3  # five commits, two per page: the library follows Link rel="next"
    assert online["decision"] == "allow"  # low, warn: never blocks


def test_pass_behind_within_max_days(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fixture = _fixture(commits={"main": BEHIND[1:]})  # head 2025-03-01: 39.6 days newer
    online, offline, _ = _online_then_offline(env, tmp_path, fixture)
    for data in (online, offline):
        assert _hub007(data)["status"] == "pass"


def test_fail_pinned_commit_not_on_the_branch(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fixture = _fixture(commits={"main": REWRITTEN})
    online, offline, _ = _online_then_offline(env, tmp_path, fixture)
    for data in (online, offline):
        assert finding_set(data, "fail", "error") == BASELINE | {("R1-HUB-007", "fail", MODEL)}
        message = " ".join(_hub007(data)["message"].split())
        assert f"not on the history of branch main, whose newest commit is {'d' * 40}" in message
        assert "(2025-03-02T10:00:00Z)" in message


def test_error_when_the_commit_list_fails(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server, hub = _serve(env, _fixture(commits_status=500))
    try:
        data = _check(tmp_path, CONFIG)
        assert hub.count("commits", fx.DISTILL) == 2  # R1POLICY_HUB_RETRIES=1
    finally:
        server.__exit__(None, None, None)
    assert finding_set(data, "fail", "error") == BASELINE | {("R1-HUB-007", "error", MODEL)}
    assert "HTTP 500" in _hub007(data)["message"]


def test_error_offline_without_a_cached_list(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server, hub = _serve(env, _fixture())
    try:
        _check(tmp_path, {})  # fills the metadata cache; R1-HUB-007 off: no commit list asked
        assert hub.count("commits") == 0
        env.setenv("HF_HUB_OFFLINE", "1")
        data = _check(tmp_path, CONFIG)
    finally:
        server.__exit__(None, None, None)
    assert finding_set(data, "fail", "error") == BASELINE | {("R1-HUB-007", "error", MODEL)}
    assert "HF_HUB_OFFLINE" in _hub007(data)["message"]


def test_skipped_without_max_revision_age_days(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server, hub = _serve(env, _fixture(commits={"main": REWRITTEN}))
    try:
        data = _check(tmp_path, {})
        assert hub.count("commits") == 0
    finally:
        server.__exit__(None, None, None)
    finding = _hub007(data)
    assert finding["status"] == "skipped"
    assert "max_revision_age_days is not set" in finding["message"]


def test_static_never_lists_commits(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server, hub = _serve(env, _fixture(commits={"main": REWRITTEN}))
    try:
        manifest = {"spec": {"model": {"hub": {"repo": fx.DISTILL, "revision": fx.DISTILL_SHA}}}}
        paths = write_case(tmp_path, manifest=manifest, config=CONFIG, hub=True)
        args = ("--config", paths["config"], "--static", "--format", "json", "--show-passed")
        data = run_cli("check", paths["manifest"], *args).json
        assert hub.count() == 0
    finally:
        server.__exit__(None, None, None)
    assert _hub007(data)["status"] == "skipped"


def test_one_commit_list_per_repository_per_run(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server, hub = _serve(env, _fixture(commits={"main": BEHIND}))
    try:
        manifest = {"spec": {"model": {"hub": {"repo": fx.DISTILL, "revision": fx.DISTILL_SHA}}}}
        a = write_case(tmp_path, name="a", manifest=manifest, config=CONFIG, hub=True)
        write_case(tmp_path, name="b", manifest=manifest, config=CONFIG, hub=True)
        data = run_cli(
            "check",
            tmp_path / "a.yaml",
            tmp_path / "b.yaml",
            "--state",
            a["state"],
            "--config",
            a["config"],
            "--format",
            "json",
            "--show-passed",
        ).json
        assert hub.count("commits", fx.DISTILL) == 1
    finally:
        server.__exit__(None, None, None)
    statuses = [f["status"] for f in data["findings"] if f["rule_id"] == "R1-HUB-007"]
    assert statuses == ["fail", "fail"]


def test_bad_max_revision_age_days_is_exit_2(tmp_path: Path) -> None:
    for bad in (0, "90", 1.5, True):
        paths = write_case(tmp_path, config={"max_revision_age_days": bad}, hub=True)
        result = run_cli("check", paths["manifest"], "--config", paths["config"], "--static")
        assert result.code == 2, (bad, result.stdout, result.stderr)
        assert "max_revision_age_days" in result.stderr


BAD_ANSWERS = {
    "not_a_list": ({"commits": []}, None, "not a list of commits"),
    "id_not_a_sha": ([{"id": "HEAD", "date": "2025-01-01T00:00:00Z"}], None, "is not a 40-hex SHA"),
    "date_not_a_date": ([{"id": "c" * 40, "date": "yesterday"}], None, "is not a date"),
    "no_date": ([{"id": "c" * 40}], None, "has no date"),
    "empty": ([], None, "no commits"),
    "next_page_elsewhere": (None, "http://attacker.example/api/models/x/commits/main?p=1", "another host"),
}


@pytest.mark.parametrize("name", sorted(BAD_ANSWERS))
def test_a_malformed_commit_list_is_an_error(name: str, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    body, next_url, fragment = BAD_ANSWERS[name]
    server, hub = _serve(env, _fixture(commits_body=body, commits_next=next_url))
    try:
        data = _check(tmp_path, CONFIG)
        if next_url:
            assert hub.count("commits") == 1  # the foreign page is never requested
    finally:
        server.__exit__(None, None, None)
    assert finding_set(data, "fail", "error") == BASELINE | {("R1-HUB-007", "error", MODEL)}
    assert fragment in _hub007(data)["message"], _hub007(data)["message"]


def test_commit_list_loop_is_bounded(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server, hub = _serve(env, _fixture())
    endless = f"{hub.endpoint}/api/models/{fx.DISTILL}/commits/main?p=1"
    hub.repos[fx.DISTILL].commits_next = endless
    hub.repos[fx.DISTILL].commits_body = [{"id": fx.DISTILL_SHA, "date": "2025-01-20T09:00:00Z"}]
    try:
        data = _check(tmp_path, CONFIG)
        assert hub.count("commits") == 200
    finally:
        server.__exit__(None, None, None)
    assert "more than 200 pages" in _hub007(data)["message"]
