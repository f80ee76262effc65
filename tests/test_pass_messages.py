"""A rule that passes for more than one reason says which one holds (rule.yaml `messages.pass`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXAMPLES, run_cli

MANIFEST = EXAMPLES / "allow" / "distill-llama-8b-s3.yaml"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _ep005(manifest: Path) -> dict[str, str]:
    result = run_cli(
        "check",
        manifest,
        "--config",
        EXAMPLES / "r1policy.yaml",
        "--static",
        "--show-passed",
        "--format",
        "json",
    )
    (finding,) = [f for f in result.json["findings"] if f["rule_id"] == "R1-EP-005"]
    return {"status": finding["status"], "message": finding["message"]}


def test_ep005_on_local_nvme_says_hardware_encryption() -> None:
    got = _ep005(MANIFEST)
    assert got["status"] == "pass"
    assert "local NVMe instance storage, which the instance encrypts in hardware" in got["message"]
    assert "KMS key" not in got["message"].replace("KmsKeyId", "")


@pytest.mark.parametrize("instance", ["ml.inf2.24xlarge"])
def test_ep005_on_ebs_instance_with_key_names_the_key(tmp_path: Path, instance: str) -> None:
    manifest = tmp_path / "inf2.yaml"
    manifest.write_text(MANIFEST.read_text().replace("ml.g5.2xlarge", instance))
    got = _ep005(manifest)
    assert got == {
        "status": "pass",
        "message": f"compliant: the storage volume of {instance} is encrypted with KMS key {KEY}.",
    }
