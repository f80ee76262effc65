"""Faults of the live AWS path, each through real HTTP (moto server, and a fault-injecting proxy)."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from tests.support.awsworld import ACCOUNT, Bucket, Endpoint, World
from tests.support.motoserver import MotoServer
from tests.support.throttle_proxy import Fault, FaultProxy, fault_proxy

from aws_cases import support_ended, write_config, write_manifest
from conftest import finding_set, run_cli
from r1policy.project.state import load_state

GOOD = "acme-weights-good"
GOOD_EP9 = support_ended("sagemaker:us-east-1:endpoint/good")
PARTNER_EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/r1-partner"
S3_ON_BUCKET = {"R1-S3-001", "R1-S3-002", "R1-S3-003", "R1-S3-004", "R1-S3-005", "R1-S3-007", "R1-S3-009"}


@contextlib.contextmanager
def injected(server: MotoServer, monkeypatch: pytest.MonkeyPatch, *faults: Fault) -> Iterator[FaultProxy]:
    with fault_proxy(server.endpoint_url, list(faults)) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        yield proxy


def _good_world(tmp_path: Path, **bucket: object) -> tuple[Path, Path]:
    world = World()
    world.account_block_public_access()
    spec = world.seed_bucket(Bucket(GOOD, **bucket))  # type: ignore[arg-type]
    manifest = write_manifest(tmp_path / "deploy", "good", GOOD, kms_key=spec.kms_key)
    return manifest, write_config(tmp_path, [GOOD])


def _live(manifest: Path, config: Path) -> tuple[int, dict[str, object], str]:
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json")
    return result.code, (result.json if result.code in (0, 1) else {}), result.stderr


def _messages(data: dict[str, object], rule: str) -> list[str]:
    return [f["message"] for f in data["findings"] if f["rule_id"] == rule]  # type: ignore[attr-defined,index]


def test_missing_credentials_exit_2(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_manifest(tmp_path / "deploy", "good", GOOD)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, stderr = _live(manifest, write_config(tmp_path, [GOOD]))
    assert code == 2
    assert "no AWS credentials" in stderr and "Traceback" not in stderr
    out = run_cli("snapshot", "--output", tmp_path / "s.json")
    assert out.code == 2 and "no AWS credentials" in out.stderr
    assert not (tmp_path / "s.json").exists()


def test_expired_credentials_exit_2(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_manifest(tmp_path / "deploy", "good", GOOD)
    expired = Fault(service="sts", operation="GetCallerIdentity", code="ExpiredToken", status=403)
    with injected(moto_env, monkeypatch, expired):
        code, _, stderr = _live(manifest, write_config(tmp_path, [GOOD]))
    assert code == 2
    assert "expired" in stderr and "ExpiredToken" in stderr


def test_access_denied_on_one_call_errors_exactly_its_rule(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, config = _good_world(tmp_path)
    denied = Fault(
        service="s3", query="versioning", code="AccessDenied", status=403, message="no s3:GetBucketVersioning"
    )
    with injected(moto_env, monkeypatch, denied):
        code, data, _ = _live(manifest, config)
    assert code == 1
    assert finding_set(data, "fail", "error") == {("R1-S3-005", "error", f"s3://{GOOD}")} | GOOD_EP9
    assert "AccessDenied on GetBucketVersioning" in _messages(data, "R1-S3-005")[0]


def test_throttling_past_retries_is_an_error(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, config = _good_world(tmp_path)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    slow = Fault(service="s3", query="logging", code="SlowDown", status=503)
    with injected(moto_env, monkeypatch, slow) as proxy:
        code, data, _ = _live(manifest, config)
    assert code == 0  # R1-S3-007 is warn by default: an error of a warn rule does not block
    assert finding_set(data, "fail", "error") == {("R1-S3-007", "error", f"s3://{GOOD}")} | GOOD_EP9
    assert "throttled past retries on GetBucketLogging" in _messages(data, "R1-S3-007")[0]
    assert sum(1 for r in proxy.requests if "logging" in r.query) == 2  # both attempts were made


def test_throttling_within_retries_recovers(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, config = _good_world(tmp_path)
    once = Fault(service="s3", query="encryption", code="Throttling", status=503, times=1)
    with injected(moto_env, monkeypatch, once) as proxy:
        code, data, _ = _live(manifest, config)
    assert code == 0
    assert finding_set(data, "fail", "error") == GOOD_EP9
    assert once.fired == 1
    assert sum(1 for r in proxy.requests if "encryption" in r.query) == 2


def test_region_not_enabled_is_recorded_not_fatal(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World()
    world.seed_bucket(Bucket(GOOD))
    world.seed_endpoint(Endpoint("r1-prod", GOOD))
    disabled = Fault(region="me-central-1", code="UnrecognizedClientException", status=400)
    out = tmp_path / "state.json"
    with injected(moto_env, monkeypatch, disabled):
        result = run_cli("snapshot", "--regions", "us-east-1,me-central-1", "--output", out)
    assert result.code == 0, result.stderr
    state = load_state(out)
    enabled, closed = state.sagemaker[ACCOUNT]["us-east-1"], state.sagemaker[ACCOUNT]["me-central-1"]
    assert [e["EndpointName"] for e in enabled["endpoints"]] == ["r1-prod"]
    assert closed["models"] == closed["endpoints"] == []
    assert "region me-central-1 is not enabled" in closed["errors"]["region"]
    assert GOOD in state.buckets


def test_invalid_policy_json_errors_the_policy_rules(moto_env: MotoServer, tmp_path: Path) -> None:
    manifest, config = _good_world(tmp_path, policy='{"Version": "2012-10-17", "Statement": [')
    code, data, _ = _live(manifest, config)
    assert code == 1
    assert (
        finding_set(data, "fail", "error")
        == {
            ("R1-S3-003", "error", f"s3://{GOOD}"),
            ("R1-S3-004", "error", f"s3://{GOOD}"),
            ("R1-S3-009", "error", f"s3://{GOOD}"),
        }
        | GOOD_EP9
    )
    assert "not valid JSON" in _messages(data, "R1-S3-003")[0]


def _other_account_session(account: str) -> boto3.Session:
    creds = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/owner", RoleSessionName="seed"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_model_bucket_in_another_account(moto_env: MotoServer, tmp_path: Path) -> None:
    other = World(_other_account_session("222222222222"))
    other.seed_bucket(Bucket("partner-weights", block_public_access=False))
    mine = World()
    mine.account_block_public_access()
    mine.seed_endpoint(Endpoint("r1-partner", "partner-weights"))
    # Audited alone, our account cannot say whose Block Public Access applies: error, not pass.
    alone = tmp_path / "alone.json"
    assert run_cli("snapshot", "--output", alone).code == 0
    record = load_state(alone).buckets["partner-weights"]
    assert "account_id" not in record
    assert "not owned by any audited account" in record["errors"]["account_id"]
    manifest = write_manifest(tmp_path / "deploy", "r1-partner", "partner-weights")
    config = write_config(tmp_path, ["partner-weights"])
    data = run_cli("check", manifest, "--state", alone, "--config", config, "--format", "json").json
    # ... nor read the partner's KMS key (its key policy does not let us): both rules are errors.
    assert finding_set(data, "fail", "error") == {
        ("R1-S3-001", "error", "s3://partner-weights"),
        ("R1-S3-002", "error", "s3://partner-weights"),
    } | support_ended(PARTNER_EP)
    assert "NotFoundException on DescribeKey" in _messages(data, "R1-S3-001")[0]
    # Audited together (one role per account), the bucket is read once, by its owner.
    both = tmp_path / "both.json"
    roles = "arn:aws:iam::123456789012:role/audit,arn:aws:iam::222222222222:role/audit"
    assert run_cli("snapshot", "--role-arns", roles, "--output", both).code == 0
    state = load_state(both)
    assert state.buckets["partner-weights"]["account_id"] == "222222222222"
    assert "errors" not in state.buckets["partner-weights"]
    assert set(state.accounts) == {"222222222222"}
    data = run_cli("check", manifest, "--state", both, "--config", config, "--format", "json").json
    assert finding_set(data, "fail", "error") == {
        ("R1-S3-002", "fail", "s3://partner-weights")
    } | support_ended(PARTNER_EP)


def test_endpoint_whose_model_was_deleted_is_kept(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.seed_bucket(Bucket(GOOD))
    world.seed_endpoint(Endpoint("orphan", GOOD, model_exists=False))
    out = tmp_path / "state.json"
    assert run_cli("snapshot", "--output", out).code == 0
    region = load_state(out).sagemaker[ACCOUNT]["us-east-1"]
    assert [e["EndpointName"] for e in region["endpoints"]] == ["orphan"]
    assert [c["EndpointConfigName"] for c in region["endpoint_configs"]] == ["orphan"]
    assert region["models"] == []
    assert "errors" not in region  # gone is not unreadable: the converter reports the dangling reference


def test_zero_resources(moto_env: MotoServer, tmp_path: Path) -> None:
    out = tmp_path / "state.json"
    result = run_cli("snapshot", "--output", out)
    assert result.code == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["buckets"] == {} and doc["kms_keys"] == {}
    assert doc["sagemaker"] == {
        ACCOUNT: {"us-east-1": {"models": [], "endpoint_configs": [], "endpoints": []}}
    }
    load_state(out)  # valid state-v1
    (tmp_path / "empty").mkdir()
    check = run_cli("check", tmp_path / "empty", "--live", "--format", "json")
    assert check.code == 0
    assert check.json["findings"] == []


def test_unreachable_endpoint_errors_the_bucket_rules(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, config = _good_world(tmp_path)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, data, _ = _live(manifest, config)
    assert code == 1
    subject = f"s3://{GOOD}"
    assert (
        finding_set(data, "fail", "error")
        == {
            *((rule, "error", subject) for rule in S3_ON_BUCKET),
            ("R1-S3-006", "error", "good"),
        }
        | GOOD_EP9
    )
    assert all("endpoint unreachable" in m for m in _messages(data, "R1-S3-005"))


def test_region_not_enabled_in_check_live_is_a_notice(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, config = _good_world(tmp_path)
    uae = write_manifest(tmp_path / "deploy", "uae", GOOD, region="me-central-1")
    disabled = Fault(region="me-central-1", code="UnrecognizedClientException", status=400)
    with injected(moto_env, monkeypatch, disabled):
        result = run_cli("check", manifest, uae, "--live", "--config", config, "--format", "json")
    assert result.code == 0, result.stderr
    assert finding_set(result.json, "fail", "error") == {
        ("R1-S3-006", "fail", "uae")
    } | GOOD_EP9 | support_ended("sagemaker:me-central-1:endpoint/uae")
    notices = [n["message"] for n in result.json.get("notices", [])]
    assert any("me-central-1: endpoint/uae: UnrecognizedClientException" in n for n in notices), notices
