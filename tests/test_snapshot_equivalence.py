"""`check --state snapshot.json` decides exactly as `check --live` on the same moto world."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.awsworld import ACCOUNT, Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from aws_cases import write_config, write_manifest
from conftest import run_cli
from r1policy.project.state import load_state


def _mixed_world(tmp_path: Path) -> tuple[Path, Path]:
    world = World()
    world.account_block_public_access(on=False)
    good = world.seed_bucket(Bucket("acme-weights-good"))
    world.seed_bucket(Bucket("acme-weights-sse-s3", encryption="AES256", versioning=False))
    world.seed_bucket(
        Bucket("acme-weights-public", block_public_access=False, policy="public", public_acl=True)
    )
    world.seed_bucket(Bucket("acme-weights-eu", region="eu-west-1", logging=False, policy=None))
    world.seed_bucket(Bucket("acme-weights-broken-policy", policy='{"Statement": [}'))
    world.seed_endpoint(Endpoint("r1-prod", good.name))
    deploy = tmp_path / "deploy"
    names = {
        "r1-prod": "acme-weights-good",
        "r1-sse": "acme-weights-sse-s3",
        "r1-public": "acme-weights-public",
        "r1-eu": "acme-weights-eu",
        "r1-broken": "acme-weights-broken-policy",
        "r1-gone": "acme-weights-deleted",
    }
    for name, bucket in names.items():
        write_manifest(deploy, name, bucket, kms_key=good.kms_key)
    return deploy, write_config(tmp_path, sorted(names.values()))


def test_snapshot_then_state_equals_live(moto_env: MotoServer, tmp_path: Path) -> None:
    deploy, config = _mixed_world(tmp_path)
    common = ("--config", config, "--format", "json", "--show-passed")
    live = run_cli("check", deploy, "--live", *common)
    snap = tmp_path / "snapshot.json"
    written = run_cli("snapshot", deploy, "--output", snap)
    assert written.code == 0, written.stderr
    offline = run_cli("check", deploy, "--state", snap, *common)
    assert live.code == offline.code == 1
    assert live.json["findings"] == offline.json["findings"]
    assert live.json["summary"] == offline.json["summary"]
    statuses = {(f["rule_id"], f["subject"]["id"]): f["status"] for f in live.json["findings"]}
    # The world really is mixed: each kind of outcome shows up.
    assert statuses[("R1-S3-001", "s3://acme-weights-sse-s3")] == "fail"
    assert statuses[("R1-S3-003", "s3://acme-weights-public")] == "fail"
    assert statuses[("R1-S3-006", "r1-eu")] == "fail"
    assert statuses[("R1-S3-003", "s3://acme-weights-broken-policy")] == "error"
    assert statuses[("R1-S3-005", "s3://acme-weights-deleted")] == "error"
    assert statuses[("R1-S3-005", "s3://acme-weights-good")] == "pass"
    assert statuses[("R1-EP-003", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/r1-prod")] == "pass"


def test_full_snapshot_is_valid_state(moto_env: MotoServer, tmp_path: Path) -> None:
    _mixed_world(tmp_path)
    snap = tmp_path / "snapshot.json"
    result = run_cli("snapshot", "--regions", "us-east-1,eu-west-1", "--output", snap)
    assert result.code == 0, result.stderr
    state = load_state(snap)  # validates against schemas/state-v1.schema.json
    regions = state.sagemaker[ACCOUNT]
    assert [m["ModelName"] for m in regions["us-east-1"]["models"]] == ["r1-prod"]
    assert regions["eu-west-1"] == {"models": [], "endpoint_configs": [], "endpoints": []}
    # Enumeration follows the model to its bucket (and only that bucket).
    assert set(state.buckets) == {"acme-weights-good"}
    assert state.buckets["acme-weights-good"]["account_id"] == ACCOUNT
    key = state.buckets["acme-weights-good"]["encryption"]["kms_key"]
    assert state.kms_keys[key] == {"customer_managed": True, "rotation_enabled": True}
    json.loads(snap.read_text())
    assert "1 buckets" in result.stderr
