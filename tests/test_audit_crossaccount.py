"""`audit --organization` with a cross-account model bucket: a model in team-a loads from a bucket
team-b owns. Both audited: the bucket's facts are read through team-b's role (no `error`, its own
findings). team-b excluded: the bucket stays `error`, the reason naming the audited accounts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.awsworld import Bucket, Endpoint
from tests.support.motoserver import MotoServer
from tests.support.orgworld import Organization

from conftest import run_cli, validate_report
from r1policy.audit.history import run_folders


@pytest.fixture
def org(moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> tuple[Organization, str]:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    organization = Organization.create(["team-a", "team-b"])
    team_a, team_b = organization.members
    # team-b's bucket: versioning off, so R1-S3-* judges it with a real fail only the owner's read shows
    shared = team_b.world.seed_bucket(Bucket(f"shared-models-{team_b.account_id}", versioning=False))
    team_a.world.seed_endpoint(Endpoint("r1-cross", shared.name))
    return organization, shared.name


def _audit(tmp: Path, *args: str) -> dict[str, Any]:
    result = run_cli(
        "audit",
        "--organization",
        "--report-dir",
        tmp / "reports",
        *args,
        "--format",
        "json",
        "--output",
        tmp / "o",
    )
    assert result.code in (0, 1), result.stderr
    document = json.loads((run_folders(tmp / "reports")[-1] / "audit.json").read_text())
    validate_report(document)
    return document


def _bucket_findings(doc: dict[str, Any], bucket: str) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["status"]) for f in doc["findings"] if f["subject"]["id"] == f"s3://{bucket}"}


def test_a_bucket_owned_by_an_audited_member_is_read_through_its_role(
    org: tuple[Organization, str], tmp_path: Path
) -> None:
    organization, bucket = org
    team_b = organization.members[1].account_id
    doc = _audit(tmp_path / "both", "--exclude-accounts", organization.management)
    found = _bucket_findings(doc, bucket)
    assert found, doc["findings"]
    assert not {rule for rule, status in found if status == "error"}, found
    assert doc["audit"]["placement"]["buckets"][bucket]["account"] == team_b
    assert any(status == "fail" for _, status in found)  # versioning off, read as its owner reads it
    messages = " ".join(f["message"] for f in doc["findings"])
    assert "not owned by any audited account" not in messages


def test_a_bucket_outside_the_audited_accounts_stays_error(
    org: tuple[Organization, str], tmp_path: Path
) -> None:
    organization, bucket = org
    team_a = organization.members[0].account_id
    doc = _audit(tmp_path / "alone", "--accounts", team_a)
    errors = [f for f in doc["findings"] if f["subject"]["id"] == f"s3://{bucket}" and f["status"] == "error"]
    assert errors
    owner_unknown = [
        f for f in errors if f"bucket {bucket} is not owned by any audited account" in f["message"]
    ]
    assert {f["rule_id"] for f in owner_unknown} >= {"R1-S3-002"}
    for finding in owner_unknown:  # the message is shortened in the middle when long
        assert f"organization (listed in {team_a}); audit its owner with --profiles" in finding["message"]
