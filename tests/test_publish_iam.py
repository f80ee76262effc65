"""The publisher's IAM policy (`policies/iam/r1policy-publisher.json`) is sufficient and minimal under
moto's IAM enforcement, the way tests/test_aws_iam.py proves the auditor's: with exactly it, a publish
succeeds; without any one of its actions, the publish fails (exit 1) naming that action. The auditor's
policy grants nothing that writes to Security Hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.support.iam_actions import IAM_ACTION
from tests.support.motoserver import MotoServer

from conftest import ROOT, run_cli
from test_aws_iam import _as, _user
from test_publish_securityhub import _audit, _open, _world

POLICY = ROOT / "policies" / "iam" / "r1policy-publisher.json"
AUDITOR = ROOT / "policies" / "iam" / "r1policy-auditor.json"


def _actions(path: Path) -> set[str]:
    return {a for s in json.loads(path.read_text())["Statement"] for a in s["Action"]}


def _policy(without: str = "") -> dict[str, Any]:
    doc = json.loads(POLICY.read_text())
    for statement in doc["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != without]
    doc["Statement"] = [s for s in doc["Statement"] if s["Action"]]
    return doc


def test_publisher_policy_is_exactly_the_securityhub_calls() -> None:
    doc = json.loads(POLICY.read_text())
    assert all(s["Effect"] == "Allow" and "NotAction" not in s for s in doc["Statement"])
    assert _actions(POLICY) == {
        action for (service, _), action in IAM_ACTION.items() if service == "securityhub"
    }
    assert not any(a.startswith("securityhub:") for a in _actions(AUDITOR))


def test_publisher_policy_is_sufficient(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = _world(tmp_path)
    report = _audit(tmp_path, config)
    publisher = _user("publisher", _policy())
    moto_env.set_auth(0)
    _as(monkeypatch, publisher)
    result = run_cli("publish", "securityhub", report)
    assert result.code == 0, result.stderr
    assert f"{len(_open(report))} imported" in result.stdout


@pytest.mark.parametrize("permission", sorted(_actions(POLICY)))
def test_without_each_action_the_publish_fails_naming_it(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, permission: str
) -> None:
    _, config = _world(tmp_path)
    report = _audit(tmp_path, config)
    if permission == "securityhub:GetFindings":
        # Something to read back: an earlier import by an admin.
        assert run_cli("publish", "securityhub", report).code == 0
    before = len(boto3.client("securityhub").get_findings()["Findings"])
    publisher = _user("publisher", _policy(without=permission))
    moto_env.set_auth(0)
    _as(monkeypatch, publisher)
    result = run_cli("publish", "securityhub", report)
    assert result.code == 1
    assert permission in result.stderr and "AccessDenied" in result.stderr
    assert f"{len(_open(report))} finding(s) not imported" in result.stderr
    moto_env.set_auth(None)
    assert len(boto3.client("securityhub").get_findings()["Findings"]) == before
