"""The deploy guard with `attestation.trusted_keys`: a CreateModel (against the moto server) goes through
only when every locked file of its model data is a subject of a valid `allow` attestation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from tests.conftest import EXAMPLES, check_case, write_case
from tests.test_attestation import MODEL_FILES, write_keypair, write_lock
from tests.test_guard import compliant_model

import r1policy.guard as guard
from r1policy.guard import GuardBlocked

pytest.importorskip("securesystemslib", reason="the `trust` extra is not installed")


@pytest.fixture
def gate(tmp_path: Path, moto_env: Any) -> Iterator[Path]:
    """A guard config trusting gate.pub and accepting attestations from attestations/."""
    write_keypair(tmp_path, "gate")
    (tmp_path / "attestations").mkdir()
    config = yaml.safe_load((EXAMPLES / "r1policy.yaml").read_text())
    config["attestation"] = {"trusted_keys": ["gate.pub"], "envelopes": ["attestations"]}
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "r1policy.yaml").write_text(yaml.safe_dump(config))
    for name in ("gate.pub",):
        (guard_dir / name).write_bytes((tmp_path / name).read_bytes())
    (guard_dir / "attestations").symlink_to(tmp_path / "attestations")
    write_lock(guard_dir)
    guard.install(config=guard_dir / "r1policy.yaml")
    try:
        yield tmp_path
    finally:
        guard.uninstall()


def _attest(folder: Path, name: str, **manifest: Any) -> None:
    case = folder / name
    case.mkdir()
    (case / "gate.key").write_bytes((folder / "gate.key").read_bytes())
    paths = write_case(case, manifest=manifest or None, config={"attestation": {"signing_key": "gate.key"}})
    write_lock(case)
    check_case(paths, "--attest", folder / "attestations" / f"{name}.json")


def test_create_model_without_attestation_is_blocked_naming_the_digest(gate: Path) -> None:
    client = boto3.client("sagemaker")
    with pytest.raises(GuardBlocked) as caught:
        client.create_model(**compliant_model())
    text = str(caught.value)
    assert "no valid `allow` attestation covers" in text
    for sha in MODEL_FILES.values():
        assert f"sha256 {sha}" in text
    assert client.list_models()["Models"] == []


def test_create_model_with_an_allow_attestation_goes_through(gate: Path) -> None:
    _attest(gate, "allowed")
    client = boto3.client("sagemaker")
    client.create_model(**compliant_model())
    assert [m["ModelName"] for m in client.list_models()["Models"]] == ["r1-distill-llama-8b"]


def test_block_decision_or_untrusted_signer_does_not_count(gate: Path) -> None:
    _attest(gate, "blocked", spec={"endpoint": {"instance_type": "ml.t2.medium"}})
    client = boto3.client("sagemaker")
    with pytest.raises(GuardBlocked) as caught:
        client.create_model(**compliant_model())
    assert "decision is block, not allow" in str(caught.value)
    write_keypair(gate, "gate")  # a new key pair: the guard still trusts the old public key
    _attest(gate, "other-key")
    with pytest.raises(GuardBlocked) as again:
        client.create_model(**compliant_model())
    assert "no signature by a trusted key verifies" in str(again.value)
    assert client.list_models()["Models"] == []


def test_model_data_not_in_the_lock_is_blocked(gate: Path) -> None:
    _attest(gate, "allowed")
    model = compliant_model("elsewhere")
    model["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"] = "s3://acme-llm-weights/other/"
    client = boto3.client("sagemaker")
    with pytest.raises(GuardBlocked) as caught:
        client.create_model(**model)
    assert "is not in" in str(caught.value) and "r1policy.lock" in str(caught.value)
