"""Accounts and regions on the command line: profiles, assumed roles, bad values (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.awsworld import Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from conftest import run_cli
from r1policy.project.state import load_state


def _credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *profiles: str) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "".join(f"[{p}]\naws_access_key_id = testing\naws_secret_access_key = testing\n" for p in profiles)
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))


def test_profiles_are_sessions(moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    World().seed_endpoint(Endpoint("r1-prod", World().seed_bucket(Bucket("acme-weights")).name))
    _credentials(tmp_path, monkeypatch, "audit-a", "audit-b")
    out = tmp_path / "state.json"
    result = run_cli("snapshot", "--profiles", "audit-a,audit-b", "--output", out)
    assert result.code == 0, result.stderr
    state = load_state(out)
    # Both profiles reach the same (moto default) account: it is read once.
    assert list(state.sagemaker) == ["123456789012"]
    assert "profile audit-a" in json.loads(out.read_text())["source"]


def test_unknown_profile_exit_2(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _credentials(tmp_path, monkeypatch, "audit-a")
    result = run_cli("snapshot", "--profiles", "audit-a,nope", "--output", tmp_path / "s.json")
    assert result.code == 2
    assert "profile" in result.stderr and "nope" in result.stderr
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--regions", "us-east-1,mars-1", "'mars-1' is not an AWS region name"),
        ("--role-arns", "arn:aws:iam::12:role/x", "is not an IAM role ARN"),
    ],
)
def test_bad_account_options_exit_2(
    moto_env: MotoServer, tmp_path: Path, option: str, value: str, message: str
) -> None:
    result = run_cli("snapshot", option, value, "--output", tmp_path / "s.json")
    assert result.code == 2
    assert message in result.stderr


def test_role_that_cannot_be_assumed_exit_2(moto_env: MotoServer, tmp_path: Path) -> None:
    moto_env.set_auth(0)  # the default "testing" keys are unknown to IAM: AssumeRole is refused
    result = run_cli(
        "snapshot", "--role-arns", "arn:aws:iam::222222222222:role/audit", "--output", tmp_path / "s"
    )
    assert result.code == 2
    assert "refused by STS" in result.stderr or "cannot assume role" in result.stderr
