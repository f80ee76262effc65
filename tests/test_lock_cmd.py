"""`r1policy lock`: Hub sources through the real client and tests/support/hubserver.py, S3 sources
through boto3 and the moto server; the lock round trip through `check` (R1-ART-004)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import hubfixtures as fx
from tests.support.hubserver import HubServer, Lfs, hub_server

from conftest import check_case, finding_set, run_cli, write_case
from r1policy.project.lockfile import load_lock

NEW_SHA = "c0ffee00" * 5


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    with hub_server(fx.all_fixtures(), fx.ORGS) as server:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        monkeypatch.setenv("R1POLICY_HUB_TIMEOUT", "2")
        monkeypatch.setenv("R1POLICY_HUB_BACKOFF", "0.01")
        yield server


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_lock_resolves_commit_id_and_every_file_digest(online: HubServer, tmp_path: Path) -> None:
    lock = tmp_path / "r1policy.lock"
    result = run_cli("lock", f"hf://{fx.DISTILL}@main", "--lock", lock)
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"+ hf://{fx.DISTILL} @ {fx.DISTILL_SHA[:12]} (5 files)"
    source = load_lock(lock).sources[f"hf://{fx.DISTILL}"]
    assert source.revision == fx.DISTILL_SHA
    assert source.repo_id == fx.REPO_IDS[fx.DISTILL]
    served = online.repos[fx.DISTILL].files
    expected = {}
    for path, spec in served.items():
        content = spec.content if isinstance(spec, Lfs) else spec
        assert content is not None
        expected[path] = (len(content), _digest(content))
    assert {p: (f.size, f.sha256) for p, f in source.files.items()} == expected
    # small non-LFS files were downloaded; LFS files were not
    downloaded = {r[4] for r in online.requests if r[1] == "resolve" and r[0] == "GET"}
    assert downloaded == {"config.json", "generation_config.json", "tokenizer_config.json"}
    text = lock.read_text()
    again = run_cli("lock", f"hf://{fx.DISTILL}@{fx.DISTILL_SHA}", "--lock", lock)
    assert again.code == 0 and "up to date" in again.stdout
    assert lock.read_text() == text


def test_lock_round_trip_check_fails_when_a_file_hash_changes(
    online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_case(tmp_path, hub=True)
    lock = tmp_path / "r1policy.lock"  # next to the config: found without --lock
    assert run_cli("lock", f"hf://{fx.DISTILL}@{fx.DISTILL_SHA}", "--lock", lock).code == 0
    model = f"hf://{fx.DISTILL}@{fx.DISTILL_SHA}"
    data = check_case(paths, "--show-passed").json
    assert ("R1-ART-004", "pass", model) in finding_set(data)
    # the server now serves other bytes for a weight file at the same commit (a mirror that lies, a
    # rewritten LFS object); the checking machine has its own, cold response cache
    online.repos[fx.DISTILL].files["model-00001-of-000002.safetensors"] = Lfs(content=b"tampered")
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(tmp_path / "other-cache"))
    data = check_case(paths).json
    assert ("R1-ART-004", "fail", model) in finding_set(data)
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-ART-004"]
    assert "model-00001-of-000002.safetensors" in finding["message"]
    assert data["decision"] == "block"


def test_deployment_at_another_revision_fails_against_the_lock(online: HubServer, tmp_path: Path) -> None:
    paths = write_case(tmp_path, hub=True)
    lock = tmp_path / "elsewhere.lock"
    assert run_cli("lock", f"hf://{fx.DISTILL}", "--lock", lock).code == 0
    value = json.loads(lock.read_text())
    value["sources"][f"hf://{fx.DISTILL}"]["revision"] = NEW_SHA
    lock.write_text(json.dumps(value))
    data = check_case(paths, "--lock", lock).json
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-ART-004"]
    assert finding["status"] == "fail"
    assert f"locks commit {NEW_SHA}" in finding["message"]


def test_update_is_explicit_and_prints_the_diff(online: HubServer, tmp_path: Path) -> None:
    lock = tmp_path / "r1policy.lock"
    assert run_cli("lock", f"hf://{fx.R1}", "--lock", lock).code == 0
    before = lock.read_text()
    online.repos[fx.R1].sha = NEW_SHA  # the default branch moved
    refused = run_cli("lock", f"hf://{fx.R1}", "--lock", lock)
    assert refused.code == 2
    assert f"revision: {fx.R1_SHA} -> {NEW_SHA}" in refused.stderr
    assert "--update" in refused.stderr
    assert lock.read_text() == before
    updated = run_cli("lock", f"hf://{fx.R1}", "--lock", lock, "--update")
    assert updated.code == 0, updated.stderr
    assert updated.stdout.splitlines()[:2] == [f"~ hf://{fx.R1}", f"    revision: {fx.R1_SHA} -> {NEW_SHA}"]
    assert load_lock(lock).sources[f"hf://{fx.R1}"].revision == NEW_SHA


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("hf://deepseek-ai/DeepSeek-R1@nope", "revision does not exist"),
        ("hf://nobody/nothing", "repository does not exist"),
        ("ftp://x/y", "not an hf://org/repo"),
    ],
)
def test_lock_errors_exit_2_and_write_nothing(
    online: HubServer, tmp_path: Path, target: str, fragment: str
) -> None:
    lock = tmp_path / "r1policy.lock"
    result = run_cli("lock", target, "--lock", lock)
    assert result.code == 2
    assert fragment in result.stderr
    assert not lock.exists()


def test_lock_offline_without_cache_is_an_error(tmp_path: Path) -> None:
    result = run_cli("lock", f"hf://{fx.DISTILL}@main", "--lock", tmp_path / "r1policy.lock")
    assert result.code == 2
    assert "offline" in result.stderr


def test_lock_s3_prefix_records_versions_and_digests(moto_env: Any, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acme-llm-weights")
    s3.put_bucket_versioning(Bucket="acme-llm-weights", VersioningConfiguration={"Status": "Enabled"})
    weights, config = b"safetensors-bytes" * 100, b'{"model_type": "llama"}'
    put = s3.put_object(
        Bucket="acme-llm-weights", Key="distill/model.safetensors", Body=weights, ChecksumAlgorithm="SHA256"
    )
    assert base64.b64decode(put["ChecksumSHA256"]).hex() == _digest(weights)
    s3.put_object(Bucket="acme-llm-weights", Key="distill/config.json", Body=config)
    s3.put_object(Bucket="acme-llm-weights", Key="other/x.bin", Body=b"not locked")
    lock = tmp_path / "r1policy.lock"
    result = run_cli("lock", "s3://acme-llm-weights/distill", "--lock", lock)
    assert result.code == 0, result.stderr
    source = load_lock(lock).sources["s3://acme-llm-weights/distill/"]
    assert {p: (f.size, f.sha256) for p, f in source.files.items()} == {
        "model.safetensors": (len(weights), _digest(weights)),
        "config.json": (len(config), _digest(config)),
    }
    assert all(f.version_id for f in source.files.values())
    # an S3 deployment from the locked prefix passes R1-ART-004; one from another prefix fails
    paths = write_case(tmp_path, name="locked")
    base = "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"
    data = check_case(paths, "--lock", lock).json
    assert ("R1-ART-004", "fail", base) in finding_set(data)
    paths = write_case(
        tmp_path,
        name="locked",
        manifest={"spec": {"model": {"s3": {"uri": "s3://acme-llm-weights/distill/"}}}},
    )
    data = check_case(paths, "--lock", lock, "--show-passed").json
    assert ("R1-ART-004", "pass", "s3://acme-llm-weights/distill/") in finding_set(data)
