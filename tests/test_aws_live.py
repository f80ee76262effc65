"""`check --live` against a moto server over real HTTP: the S3 rules judged from live bucket state."""

from __future__ import annotations

from pathlib import Path

from tests.support.awsworld import ACCOUNT, Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from aws_cases import support_ended, write_config, write_manifest
from conftest import finding_set, run_cli


def test_live_compliant_bucket_passes_every_s3_rule(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    bucket = world.seed_bucket(Bucket("acme-weights-good"))
    manifest = write_manifest(tmp_path / "deploy", "good", bucket.name, kms_key=bucket.kms_key)
    config = write_config(tmp_path, [bucket.name])
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json", "--show-passed")
    assert result.code == 0, result.stderr
    assert finding_set(result.json, "fail", "error") == support_ended("sagemaker:us-east-1:endpoint/good")
    passed = {(r, s) for r, _, s in finding_set(result.json, "pass") if r.startswith("R1-S3")}
    on_bucket = {f"R1-S3-00{i}" for i in (1, 2, 3, 4, 5, 7, 9)} | {"R1-S3-010", "R1-S3-011"}
    assert passed == {(r, "s3://acme-weights-good") for r in on_bucket} | {
        ("R1-S3-006", "good"),
        ("R1-S3-008", "good"),
    }


def test_live_noncompliant_bucket_fails_each_rule(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access(on=False)
    bucket = world.seed_bucket(
        Bucket(
            "acme-weights-bad",
            region="eu-west-1",
            encryption="AES256",
            block_public_access=False,
            policy="public",
            public_acl=True,
            versioning=False,
            logging=False,
        )
    )
    manifest = write_manifest(tmp_path / "deploy", "bad", bucket.name)
    config = write_config(tmp_path, ["acme-llm-weights"])
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json")
    assert result.code == 1, result.stderr
    subject = "s3://acme-weights-bad"
    assert finding_set(result.json, "fail", "error") == {
        ("R1-S3-001", "fail", subject),
        ("R1-S3-002", "fail", subject),
        ("R1-S3-003", "fail", subject),
        ("R1-S3-004", "fail", subject),
        ("R1-S3-005", "fail", subject),
        ("R1-S3-006", "fail", "bad"),
        ("R1-S3-007", "fail", subject),
        ("R1-S3-008", "fail", "bad"),
        *support_ended("sagemaker:us-east-1:endpoint/bad"),
    }


def test_live_existing_endpoint_gives_the_real_arn(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    bucket = world.seed_bucket(Bucket("acme-weights-good"))
    world.seed_endpoint(Endpoint("r1-prod", bucket.name, vpc=False))
    manifest = write_manifest(tmp_path / "deploy", "r1-prod", bucket.name, kms_key=bucket.kms_key, vpc=None)
    config = write_config(tmp_path, [bucket.name])
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json")
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/r1-prod"
    assert finding_set(result.json, "fail", "error") == {("R1-EP-004", "fail", arn)} | support_ended(arn)
