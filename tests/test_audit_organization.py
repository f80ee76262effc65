"""`audit --organization` against a moto organization over real HTTP: member accounts with the auditor role,
one whose role refuses the caller (trust policy), one whose AssumeRole throttles past retries, one
suspended; `--executor dask://` on a LocalCluster gives the same report; `report merge` of shards equals
one full run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.awsworld import Bucket, Endpoint
from tests.support.motoserver import MotoServer
from tests.support.orgworld import Organization
from tests.support.throttle_proxy import Fault, fault_proxy

from conftest import run_cli, validate_report
from r1policy.audit.history import run_folders

TIMING = ("run_id", "started_at", "finished_at", "baseline", "diff", "trend", "merged_from")


@pytest.fixture
def org(moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Organization:
    """team-0 .. team-3 with endpoints (team-1's is not network-isolated; team-0's and team-2's have
    the same name), team-deny without the auditor role, team-gone suspended."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    names = ["team-0", "team-1", "team-2", "team-3", "team-deny", "team-gone"]
    organization = Organization.create(names, without_auditor=["team-deny"])
    for index, member in enumerate(organization.members[:4]):
        bucket = member.world.seed_bucket(Bucket(f"models-{member.account_id}"))
        name = "r1-shared" if index in (0, 2) else f"r1-{index}"
        member.world.seed_endpoint(Endpoint(name, bucket.name, network_isolation=index != 1))
    organization.close(organization.members[-1])
    return organization


def _by_name(org: Organization) -> dict[str, str]:
    return {m.name: m.account_id for m in org.members}


def _audit(tmp: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp / "out.json"
    result = run_cli(
        "audit", "--organization", "--report-dir", tmp / "reports", *args, "--format", "json", "--output", out
    )
    assert result.code in (0, 1), result.stderr
    folder = run_folders(tmp / "reports")[-1]
    document = json.loads((folder / "audit.json").read_text())
    validate_report(document)
    return result.code, document, (folder / "audit.md").read_text()


def _account_of(f: dict[str, Any], doc: dict[str, Any]) -> str:
    placement = doc["audit"]["placement"]
    if f.get("deployment") in placement["deployments"]:
        return str(placement["deployments"][f["deployment"]]["account"])
    return str(placement["buckets"][f["subject"]["id"].removeprefix("s3://")]["account"])


def _comparable(doc: dict[str, Any], *, prose: bool = True) -> dict[str, Any]:
    audit = {k: v for k, v in doc["audit"].items() if k not in TIMING}
    findings = doc["findings"]
    if not prose:
        qualified = [
            {**f, "message": "", "remediation": {}} if " (" in f.get("deployment", "") else f
            for f in findings
        ]
        findings = qualified
    return {**doc, "findings": findings, "audit": audit}


@pytest.fixture
def throttled(org: Organization, moto_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """team-3's AssumeRole answers Throttling every time (the other accounts pass through)."""
    target = _by_name(org)["team-3"]
    faults = [Fault(code="Throttling", service="sts", operation="AssumeRole", body_contains=f"::{target}:")]
    with fault_proxy(moto_env.endpoint_url, faults) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        yield target


def test_denied_and_throttled_accounts_are_errors_and_the_others_exact(
    org: Organization, throttled: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_env: MotoServer
) -> None:
    ids = _by_name(org)
    code, doc, markdown = _audit(tmp_path / "faulty")
    assert code == 1
    rows = {
        r["account"]: (r["status"], r.get("message", "")) for r in doc["audit"]["organization"]["accounts"]
    }
    assert {a: s for a, (s, _) in rows.items()} == {
        org.management: "audited",
        ids["team-0"]: "audited",
        ids["team-1"]: "audited",
        ids["team-2"]: "audited",
        ids["team-3"]: "failed",
        ids["team-deny"]: "failed",
        ids["team-gone"]: "skipped",
    }
    assert "throttled past retries on AssumeRole" in rows[throttled][1]
    assert "AccessDenied on AssumeRole" in rows[ids["team-deny"]][1]
    failed = {throttled, ids["team-deny"]}
    broken = [f for f in doc["findings"] if _account_of(f, doc) in failed]
    assert "error" in {f["status"] for f in broken} and {f["status"] for f in broken} <= {"error", "skipped"}
    assert {f["subject"]["id"] for f in broken} >= {
        f"arn:aws:sagemaker:us-east-1:{a}:endpoint/*" for a in failed
    }
    # The other accounts' findings are exactly those of a run over them alone, without any fault.
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_env.endpoint_url)
    good = [ids["team-0"], ids["team-1"], ids["team-2"], org.management]
    _, alone, _ = _audit(tmp_path / "alone", "--accounts", ",".join(good))
    assert [f for f in doc["findings"] if _account_of(f, doc) not in failed] == alone["findings"]
    team1 = f"arn:aws:sagemaker:us-east-1:{ids['team-1']}:endpoint/r1-1"
    assert any(f["subject"]["id"] == team1 and f["status"] == "fail" for f in alone["findings"])
    assert "## Organization" in markdown and "### By account" in markdown and "### By region" in markdown
    assert f"| {ids['team-deny']} | team-deny | failed |" in markdown


def test_dask_executor_gives_the_local_report(org: Organization, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    _, local, _ = _audit(tmp_path / "local", "--executor", "local[3]")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        _, dask, _ = _audit(tmp_path / "dask", "--executor", f"dask://{address}")
    assert _comparable(dask) == _comparable(local)
    statuses = {r["status"] for r in local["audit"]["organization"]["accounts"]}
    assert statuses == {"audited", "failed", "skipped"}


def test_merged_shards_equal_one_full_run(org: Organization, tmp_path: Path) -> None:
    ids = _by_name(org)
    _, full, _ = _audit(tmp_path / "full")
    shard_a = [org.management, ids["team-0"], ids["team-gone"]]
    shard_b = [ids["team-1"], ids["team-2"], ids["team-3"], ids["team-deny"]]
    paths = []
    for name, accounts in (("b", shard_b), ("a", shard_a)):
        _audit(tmp_path / name, "--accounts", ",".join(accounts))
        paths.append(run_folders(tmp_path / name / "reports")[-1] / "audit.json")
    merged_dir = tmp_path / "merged"
    result = run_cli(
        "report", "merge", *paths, "--output", tmp_path / "merged.json", "--report-dir", merged_dir
    )
    assert result.code == 1, result.stderr
    merged = json.loads((tmp_path / "merged.json").read_text())
    validate_report(merged)
    # A name two accounts share is qualified the same way in both; only the prose of such a deployment's
    # findings (message, remediation) names it as its shard saw it (docs/organization.md).
    assert _comparable(merged, prose=False) == _comparable(full, prose=False)
    assert sum(name.startswith("r1-shared") for name in full["audit"]["placement"]["deployments"]) == 2
    assert sum(" (" in f.get("deployment", "") for f in merged["findings"]) > 0
    # the organization's execution roles were read in every account (not lost when the accounts merge)
    assert full["audit"]["role_reads"].endswith("IAM call(s)") and not full["audit"]["role_reads"].startswith(
        "0 "
    )
    assert merged["audit"]["merged_from"] and len(merged["audit"]["diff"]["new"]) == len(
        full["audit"]["diff"]["new"]
    )
    # A second merge into the same report dir diffs against the first: nothing new, all persisting.
    again = run_cli(
        "report", "merge", *paths, "--output", tmp_path / "again.json", "--report-dir", merged_dir
    )
    assert again.code == 1, again.stderr
    second = json.loads((tmp_path / "again.json").read_text())
    assert second["audit"]["diff"]["new"] == [] and len(second["audit"]["trend"]) == 2
    assert len(second["audit"]["diff"]["persisting"]) == len(merged["audit"]["diff"]["new"])
    html = (run_folders(merged_dir)[-1] / "audit.html").read_text()
    assert 'data-account-status="failed"' in html and "Merged from 2 shard reports" in html


def test_merge_refuses_overlapping_shards(org: Organization, tmp_path: Path) -> None:
    ids = _by_name(org)
    _audit(tmp_path / "a", "--accounts", f"{ids['team-0']},{ids['team-1']}")
    _audit(tmp_path / "b", "--accounts", ids["team-1"])
    a, b = (run_folders(tmp_path / n / "reports")[-1] / "audit.json" for n in ("a", "b"))
    result = run_cli("report", "merge", a, b, "--output", tmp_path / "m.json")
    assert result.code == 2
    assert f"both audited account {ids['team-1']} in us-east-1" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "m.json").exists()
    same = run_cli("report", "merge", a, a, "--output", tmp_path / "m.json")
    assert same.code == 2 and "overlaps" in same.stderr
