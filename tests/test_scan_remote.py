"""Remote targets through real clients: an S3 prefix on the moto server (boto3 over HTTP, object
checksums), a Hub repository on the loopback Hub (huggingface_hub metadata, streamed files, LFS
sha256); and r1policy.lock written and verified by `scan --write-lock` / `--lock`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.conftest import finding_set, run_cli
from tests.fixtures import make_artifacts as mk
from tests.support.hubserver import Lfs, RepoFixture, hub_server

BUCKET = "acme-llm-weights"


def _upload(client: Any, folder: Path, prefix: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}"
        client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes(), ChecksumAlgorithm="SHA256")


def test_s3_prefix_on_moto(moto_env: Any, tmp_path: Path) -> None:
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    repo = mk.hub_repo(tmp_path / "repo")
    _upload(client, repo, "r1-distill")
    mk.sagemaker_tarball(tmp_path / "tar" / "model.tar.gz", with_code=True)
    mk.keras_v3(tmp_path / "tar" / "lambda.keras", with_lambda=True)
    _upload(client, tmp_path / "tar", "r1-distill/packed")
    head = client.head_object(Bucket=BUCKET, Key="r1-distill/config.json", ChecksumMode="ENABLED")
    assert "ChecksumSHA256" in head  # the scan compares it with the bytes it reads

    result = run_cli("scan", f"s3://{BUCKET}/r1-distill", "--format", "json")
    assert result.code == 1, result.stderr
    base = f"s3://{BUCKET}/r1-distill/packed"
    assert finding_set(result.json, "fail", "error") == {
        ("R1-ART-006", "fail", f"{base}/model.tar.gz!/code/inference.py"),
        ("R1-ART-006", "fail", f"{base}/model.tar.gz!/code/requirements.txt"),
        ("R1-ART-009", "fail", f"{base}/lambda.keras!/config.json"),
    }
    assert "scanned 11 files" in result.stderr


def test_s3_checksum_is_read_and_a_mismatch_names_both_digests(moto_env: Any) -> None:
    import boto3

    from r1policy.artifacts.model import Expected
    from r1policy.artifacts.scanner import Scanner
    from r1policy.artifacts.targets import resolve

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    body = b'{"model_type": "llama"}'
    client.put_object(Bucket=BUCKET, Key="m/config.json", Body=body, ChecksumAlgorithm="SHA256")
    target = resolve(f"s3://{BUCKET}/m/")
    (src,) = target.files
    assert src.expected == [Expected(hashlib.sha256(body).hexdigest(), "the S3 object's ChecksumSHA256")]
    # moto recomputes the checksum on upload, so a stored mismatch cannot be made on the server: the
    # object is replaced behind the listing instead (what a concurrent overwrite looks like).
    client.put_object(Bucket=BUCKET, Key="m/config.json", Body=b'{"model_type": "evil"}')
    (result,) = Scanner().scan_all(target.files)
    evil = hashlib.sha256(b'{"model_type": "evil"}').hexdigest()
    assert result.top.digest_problems == [
        f"the S3 object's ChecksumSHA256 says sha256 {hashlib.sha256(body).hexdigest()}, the file has {evil}"
    ]


def test_s3_missing_bucket_is_exit_2(moto_env: Any) -> None:
    result = run_cli("scan", "s3://no-such-bucket/x", "--format", "json")
    assert result.code == 2
    assert "s3://no-such-bucket/x: cannot list objects" in result.stderr


def _hub_fixture(tmp_path: Path, *, tamper: bool) -> RepoFixture:
    repo = mk.hub_repo(tmp_path / "repo")
    files: dict[str, bytes | Lfs] = {}
    for path in sorted(p for p in repo.rglob("*") if p.is_file()):
        data = path.read_bytes()
        rel = path.relative_to(repo).as_posix()
        if rel.endswith(".safetensors"):
            files[rel] = Lfs(content=data, sha256="0" * 64 if tamper else None)
        else:
            files[rel] = data
    return RepoFixture(
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        files=files,
        sha="6a6f4aa4197940add57724a7707d069478df56b1",
    )


def test_hub_repo_streams_and_checks_lfs_sha256(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with hub_server([_hub_fixture(tmp_path, tamper=False)]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        target = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@6a6f4aa4197940add57724a7707d069478df56b1"
        result = run_cli("scan", target, "--format", "json")
        assert result.code == 0, result.stdout + result.stderr
        assert finding_set(result.json, "fail", "error") == set()
        assert "scanned 9 files" in result.stderr
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(tmp_path / "fresh-cache"))  # metadata is cached per commit
    with hub_server([_hub_fixture(tmp_path / "t", tamper=True)]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        result = run_cli("scan", target, "--format", "json")
        assert finding_set(result.json, "fail", "error") == {
            ("R1-ART-004", "fail", f"{target}/model.safetensors")
        }
        (message,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-004"]
        assert "the Hub's LFS sha256 says sha256 " + "0" * 64 in message


def test_write_lock_then_verify_detects_a_changed_file(tmp_path: Path) -> None:
    mk.hub_repo(tmp_path / "model")
    written = run_cli("scan", "model", "--write-lock", "--format", "json", cwd=tmp_path)
    assert written.code == 0, written.stdout
    lock = json.loads((tmp_path / "r1policy.lock").read_text())
    files = lock["sources"]["file:model"]["files"]
    assert set(files) >= {"config.json", "model.safetensors", "figures/benchmark.jpg"}
    digest = hashlib.sha256((tmp_path / "model" / "config.json").read_bytes()).hexdigest()
    assert files["config.json"]["sha256"] == digest

    assert run_cli("scan", "model", "--format", "json", cwd=tmp_path).code == 0
    (tmp_path / "model" / "config.json").write_text('{"model_type": "llama", "changed": true}')
    (tmp_path / "model" / "extra.md").write_text("new file\n")
    (tmp_path / "model" / "LICENSE").unlink()
    result = run_cli("scan", "model", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert finding_set(result.json, "fail", "error") == {
        ("R1-ART-004", "fail", "model/config.json"),
        ("R1-ART-004", "fail", "model/extra.md"),
        ("R1-ART-004", "fail", "model/LICENSE"),
    }
    messages = {
        f["subject"]["id"]: f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-004"
    }
    assert digest in messages["model/config.json"]
    new = hashlib.sha256((tmp_path / "model" / "config.json").read_bytes()).hexdigest()
    assert new in messages["model/config.json"]


def test_s3_lock_records_versions_and_detects_a_replaced_object(moto_env: Any, tmp_path: Path) -> None:
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(
        Bucket=BUCKET, Key="m/config.json", Body=b'{"model_type": "llama"}', ChecksumAlgorithm="SHA256"
    )
    assert run_cli("scan", f"s3://{BUCKET}/m", "--write-lock", cwd=tmp_path).code == 0
    lock = json.loads((tmp_path / "r1policy.lock").read_text())
    entry = lock["sources"][f"s3://{BUCKET}/m/"]["files"]["config.json"]
    assert entry["version_id"] and entry["sha256"] == hashlib.sha256(b'{"model_type": "llama"}').hexdigest()
    client.put_object(
        Bucket=BUCKET, Key="m/config.json", Body=b'{"model_type": "evil"}', ChecksumAlgorithm="SHA256"
    )
    result = run_cli("scan", f"s3://{BUCKET}/m", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert finding_set(result.json, "fail", "error") == {
        ("R1-ART-004", "fail", f"s3://{BUCKET}/m/config.json")
    }


def test_hub_file_that_cannot_be_downloaded_is_an_error(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    fixture = _hub_fixture(tmp_path, tamper=False)
    fixture.files["model-00002-of-00002.safetensors"] = Lfs(sha256="ab" * 32, size=1024)  # listed, not served
    with hub_server([fixture]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        target = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@6a6f4aa4197940add57724a7707d069478df56b1"
        result = run_cli("scan", target, "--format", "json")
    assert result.code == 1
    errors = finding_set(result.json, "error")
    assert {s for _r, _st, s in errors} == {f"{target}/model-00002-of-00002.safetensors"}
    assert len(errors) == 10  # every artifact rule, R1-ART-004 included


def test_hub_lock_pins_the_commit(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    fixture = _hub_fixture(tmp_path, tamper=False)
    with hub_server([fixture]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        target = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@main"
        assert run_cli("scan", target, "--write-lock", cwd=tmp_path).code == 0
        lock = json.loads((tmp_path / "r1policy.lock").read_text())
        entry = lock["sources"]["hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B"]
        assert entry["revision"] == fixture.sha and entry["repo_id"] == fixture.repo_id
        assert run_cli("scan", target, "--format", "json", cwd=tmp_path).code == 0
        fixture.sha = "2" * 40  # main moved to a new commit with the same files
        monkeypatch.setenv("R1POLICY_CACHE_DIR", str(tmp_path / "fresh-cache"))
        result = run_cli("scan", target, "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert finding_set(result.json, "fail", "error") == {("R1-ART-004", "fail", target)}
    (message,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-004"]
    assert (
        f"locks commit {'6a6f4aa4197940add57724a7707d069478df56b1'}, the scan resolved {'2' * 40}" in message
    )
