"""100 Hub-sourced manifests sharing 10 repositories: at most one metadata request per repository and
revision in a run, and none from a warm response cache (bench/bench_hub.py times the same)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from tests.support.hubfixtures import ORGS, shared_repos, write_hub_manifests
from tests.support.hubserver import hub_server

from conftest import run_cli


@pytest.mark.slow
def test_hundred_manifests_one_request_per_repo_then_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repos = shared_repos(10)
    write_hub_manifests(tmp_path / "manifests", repos, 100)
    config = tmp_path / "r1policy.yaml"
    config.write_text("trusted_publishers: [deepseek-ai]\nrules:\n  R1-EP-003: {enforcement: 'off'}\n")
    with hub_server(repos, ORGS) as hub:
        monkeypatch.delenv("HF_HUB_OFFLINE")
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        args = ("check", tmp_path / "manifests", "--config", config, "--format", "json", "--show-passed")
        cold = run_cli(*args)
        assert cold.code == 0, cold.stdout[-2000:]
        per_revision = Counter((r[2], r[3]) for r in hub.requests if r[1] == "model_info")
        assert per_revision == {(r.repo, r.sha): 1 for r in repos}
        assert {f["status"] for f in cold.json["findings"] if f["rule_id"] == "R1-HUB-004"} == {"pass"}
        hub.reset_counts()
        warm = run_cli(*args)
        assert warm.code == 0
        assert hub.requests == []
