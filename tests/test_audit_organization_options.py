"""`audit --organization` options and edges against the moto server: bad values exit 2 without a traceback,
`--regions all` reads each account's enabled regions (account:ListRegions, else EC2 DescribeRegions),
`--external-id` is sent, a caller outside an organization exits 2, progress counts accounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.motoorg import OPT_IN
from tests.support.motoserver import MotoServer
from tests.support.orgworld import Organization
from tests.support.throttle_proxy import Fault, fault_proxy

from conftest import run_cli
from r1policy.aws.executors import parse_executor
from r1policy.aws.orgrun import OrgRequest, audit_organization
from r1policy.core.errors import UsageError


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regions", "all"], "--regions all applies to --organization only"),
        (["--accounts", "111122223333"], "--accounts applies to --organization only"),
        (["--executor", "dask://127.0.0.1:8786"], "--executor dask:// applies to --organization only"),
        (["--organization", "--accounts", "12345"], "not a 12-digit AWS account id"),
        (["--organization", "--regions", "all,us-east-1"], "cannot be combined"),
        (["--organization", "--regions", "mars-1"], "is not an AWS region name"),
        (["--organization", "--role-name", "bad name!"], "is not an IAM role name"),
        (["--organization", "--external-id", "x"], "--external-id: 2 to 1224 characters"),
        (["--organization", "--executor", "local[0]"], "thread count must be 1 to 256"),
        (["--organization", "--executor", "threads"], "expected local, local[N] or dask://HOST:PORT"),
        (["--organization", "--profiles", "a"], "drop --profiles/--role-arns"),
    ],
)
def test_bad_options_exit_2(moto_env: MotoServer, tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("audit", *args, "--report-dir", tmp_path / "r")
    assert result.code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()


def test_executor_values() -> None:
    assert str(parse_executor("local")) == "local[8]"
    assert str(parse_executor("local[3]")) == "local[3]"
    spec = parse_executor("dask://scheduler.internal:8786")
    assert (spec.kind, spec.address) == ("dask", "tcp://scheduler.internal:8786")
    with pytest.raises(UsageError):
        parse_executor("dask://host")


def test_caller_outside_an_organization_exits_2(moto_env: MotoServer, tmp_path: Path) -> None:
    result = run_cli("audit", "--organization", "--report-dir", tmp_path / "r")
    assert result.code == 2
    assert "cannot list the organization's accounts (organizations:ListAccounts)" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "r").exists()


def test_unknown_account_filter_exits_2(moto_env: MotoServer, tmp_path: Path) -> None:
    Organization.create(["solo"])
    result = run_cli(
        "audit", "--organization", "--exclude-accounts", "999999999999", "--report-dir", tmp_path
    )
    assert result.code == 2 and "999999999999 not in the organization's account list" in result.stderr


def _enabled() -> list[str]:
    import boto3

    regions = boto3.client("ec2", region_name="us-east-1").describe_regions()["Regions"]
    return sorted({r["RegionName"] for r in regions} - OPT_IN)


def test_regions_all_reads_the_enabled_regions_and_progress_counts_accounts(moto_env: MotoServer) -> None:
    org = Organization.create(["one", "two"])
    calls: list[tuple[str, int, int]] = []
    outcome = audit_organization(
        OrgRequest(role_name="r1policy-auditor", regions=None, accounts=(org.members[0].account_id,)),
        progress=lambda phase, done, total: calls.append((phase, done, total)),
    )
    assert calls == [("accounts", 1, 1)]
    assert list(outcome.regions) == _enabled() and "af-south-1" not in outcome.regions
    assert outcome.organization["accounts"][0]["regions"] == _enabled()
    assert sorted(outcome.state["sagemaker"][org.members[0].account_id]) == _enabled()


def test_regions_all_falls_back_to_ec2_when_list_regions_is_denied(
    moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = Organization.create(["one"])
    faults = [Fault(code="AccessDeniedException", status=403, service="account", path_contains="listRegions")]
    with fault_proxy(moto_env.endpoint_url, faults) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        request = OrgRequest(
            role_name="r1policy-auditor", regions=None, accounts=(org.members[0].account_id,)
        )
        outcome = audit_organization(request)
    assert faults[0].fired == 1
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto_env.endpoint_url)
    every = ec2.describe_regions()["Regions"]
    assert list(outcome.regions) == sorted(r["RegionName"] for r in every)  # what DescribeRegions lists
    assert any(r.service == "ec2" for r in proxy.requests)
    assert outcome.organization["accounts"][0]["status"] == "audited"


def test_external_id_must_match_the_trust_policy(
    moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    org = Organization.create(["guarded"], external_id="r1-audit-7")
    member = org.members[0].account_id
    wrong = audit_organization(
        OrgRequest(role_name="r1policy-auditor", external_id="other", accounts=(member,))
    )
    right = audit_organization(
        OrgRequest(role_name="r1policy-auditor", external_id="r1-audit-7", accounts=(member,))
    )
    assert wrong.organization["accounts"][0]["status"] == "failed"
    assert "AccessDenied on AssumeRole" in wrong.organization["accounts"][0]["message"]
    assert right.organization["accounts"][0]["status"] == "audited"


def test_unreachable_dask_scheduler_exits_2(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr("r1policy.aws.executors.CONNECT_TIMEOUT", 2)
    Organization.create(["solo"])
    result = run_cli(
        "audit", "--organization", "--executor", "dask://127.0.0.1:9", "--report-dir", tmp_path / "r"
    )
    assert result.code == 2, result.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "r").exists()
