"""`r1policy audit` end to end against a real moto server (boto3 over HTTP on loopback): the seeded demo
world (examples/aws-demo/seed_world.py), exact findings, a second run with the world repaired (resolved
findings), and `audit --state` from `r1policy snapshot` producing the same findings as the live audit."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.support.motoserver import MotoServer

from conftest import ROOT, finding_set, run_cli, validate_report
from r1policy.audit.history import run_folders
from r1policy.rules.registry import load_registry


def _seed_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "seed_world", ROOT / "examples" / "aws-demo" / "seed_world.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


seed_world = _seed_module()
ACCOUNT, REGION = seed_world.ACCOUNT, seed_world.REGION


def arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"


SCRATCH_FAILS = {
    ("R1-S3-001", "fail", "s3://acme-scratch"),
    ("R1-S3-002", "fail", "s3://acme-scratch"),
    ("R1-S3-003", "fail", "s3://acme-scratch"),
    ("R1-S3-004", "fail", "s3://acme-scratch"),
    ("R1-S3-005", "fail", "s3://acme-scratch"),
    ("R1-S3-007", "fail", "s3://acme-scratch"),
    ("R1-S3-010", "fail", "s3://acme-scratch"),
    ("R1-S3-008", "fail", "r1-scratch"),
    ("R1-EP-001", "fail", arn("r1-scratch")),
    ("R1-EP-002", "fail", arn("r1-scratch")),
    ("R1-EP-003", "fail", arn("r1-scratch")),
    ("R1-EP-004", "fail", arn("r1-scratch")),
    ("R1-EP-006", "fail", arn("r1-scratch")),
    ("R1-EP-007", "fail", arn("r1-scratch")),
    ("R1-EP-008", "error", arn("r1-scratch")),  # docker.io/acme/tgi:latest: no version to judge
}
ORPHAN_ERRORS = {
    ("R1-S3-006", "error", "r1-orphan"),
    ("R1-S3-008", "error", "r1-orphan"),
    ("R1-EP-002", "error", arn("r1-orphan")),
    ("R1-EP-003", "error", arn("r1-orphan")),
    ("R1-EP-004", "error", arn("r1-orphan")),
    ("R1-EP-007", "error", arn("r1-orphan")),
    ("R1-EP-008", "error", arn("r1-orphan")),
    ("R1-EP-009", "error", arn("r1-orphan")),
    # the model, and with it its execution role, is gone (the other models' role reads only: pass)
    ("R1-IAM-001", "error", arn("r1-orphan")),
    ("R1-IAM-002", "error", arn("r1-orphan")),
}
# The TGI DLC of the demo is built on PyTorch 2.4, past its AWS end of patch: R1-EP-009 warns.
WARNINGS = {("R1-EP-009", "fail", arn("r1-distill-llama-8b"))}
# Every Hub and JumpStart rule needs the model source, which is unknown for the orphan.
# (R1-HUB-007 is off without max_revision_age_days in the configuration: skipped whatever the model.)
HUB_RULES = {rule for rule in load_registry([]).rules if rule.startswith(("R1-HUB-", "R1-JS-"))} - {
    "R1-HUB-007"
}
ORPHAN_ERRORS |= {(rule, "error", "(unknown model of r1-orphan)") for rule in HUB_RULES}


def _config(tmp: Path) -> Path:
    path: Path = seed_world.CONFIG
    return path


def _canonical(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in findings)


def _latest(reports: Path) -> dict[str, Any]:
    doc = json.loads((run_folders(reports)[-1] / "audit.json").read_text())
    validate_report(doc)
    return doc


def test_live_audit_of_the_demo_world(moto_env: MotoServer, tmp_path: Path) -> None:
    seed_world.seed()
    reports = tmp_path / "reports"
    args = ("audit", "--regions", REGION, "--report-dir", reports, "--config", _config(tmp_path))
    result = run_cli(*args)
    assert result.code == 1, result.stderr
    doc = _latest(reports)
    assert finding_set(doc, "fail", "error", "waived") == SCRATCH_FAILS | ORPHAN_ERRORS | WARNINGS
    # The compliant endpoint and bucket have no finding that needs attention (R1-EP-009 only warns).
    judged = {s for _r, _st, s in finding_set(doc, "fail", "error", "waived") - WARNINGS}
    assert not judged & {arn("r1-distill-llama-8b"), "s3://acme-llm-weights", "r1-distill-llama-8b"}
    inventory = doc["audit"]["inventory"]
    assert [(r["models"], r["endpoint_configs"], r["endpoints"], r["buckets"]) for r in inventory] == [
        (2, 3, 3, 2)
    ]
    assert doc["audit"]["source"] == "live"
    assert [p["resource_id"] for p in doc["audit"]["problems"]] == ["Model r1-orphan"]

    # The scratch endpoint is repaired: its findings are resolved, the orphan's persist.
    moto_env.reset()
    seed_world.seed(fixed=True)
    assert run_cli(*args).code == 1
    second = _latest(reports)
    resolved = {(c["rule_id"], c["subject"]["id"]) for c in second["audit"]["diff"]["resolved"]}
    assert resolved == {(rule, subject) for rule, _s, subject in SCRATCH_FAILS}
    # repaired onto the approved TGI DLC, the scratch endpoint gets its R1-EP-009 warning
    new = {(c["rule_id"], c["subject"]["id"]) for c in second["audit"]["diff"]["new"]}
    assert new == {("R1-EP-009", arn("r1-scratch"))}
    assert {(c["rule_id"], c["subject"]["id"]) for c in second["audit"]["diff"]["persisting"]} == {
        (rule, subject) for rule, _s, subject in ORPHAN_ERRORS | WARNINGS
    }


def test_audit_from_a_snapshot_equals_the_live_audit(moto_env: MotoServer, tmp_path: Path) -> None:
    seed_world.seed()
    config = _config(tmp_path)
    live = run_cli(
        "audit", "--regions", REGION, "--report-dir", tmp_path / "live", "--config", config, "--show-passed"
    )
    assert live.code == 1, live.stderr
    snapshot = tmp_path / "state.json"
    taken = run_cli("snapshot", "--regions", REGION, "--output", snapshot)
    assert taken.code == 0, taken.stderr
    offline = run_cli(
        "audit",
        "--state",
        snapshot,
        "--report-dir",
        tmp_path / "offline",
        "--config",
        config,
        "--show-passed",
    )
    assert offline.code == 1, offline.stderr
    live_doc, offline_doc = _latest(tmp_path / "live"), _latest(tmp_path / "offline")
    # Same findings; the order of two findings of one rule on one subject is not part of the contract.
    assert _canonical(live_doc["findings"]) == _canonical(offline_doc["findings"])
    assert live_doc["summary"] == offline_doc["summary"]
    assert live_doc["audit"]["inventory"] == offline_doc["audit"]["inventory"]
    assert offline_doc["audit"]["source"] == "state"


def test_empty_account_gives_a_valid_empty_report(moto_env: MotoServer, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = run_cli("audit", "--regions", REGION, "--report-dir", reports, "--config", _config(tmp_path))
    assert result.code == 0, result.stderr
    doc = _latest(reports)
    assert doc["findings"] == [] and doc["decision"] == "allow"
    assert (run_folders(reports)[-1] / "audit.html").read_text().count("<html") == 1


def test_make_demo_audit_script(tmp_path: Path) -> None:
    """`make demo`'s audit part: its own moto server, two audits, exit 0 when they decided as expected."""
    import subprocess
    import sys

    reports = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, ROOT / "examples" / "aws-demo" / "run_demo_audit.py", "--report-dir", reports],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    folders = run_folders(reports)
    assert len(folders) == 2
    assert f"audit report (HTML): {folders[-1] / 'audit.html'}" in proc.stdout
    second = _latest(reports)
    assert {(c["rule_id"], c["subject"]["id"]) for c in second["audit"]["diff"]["resolved"]} == {
        (rule, subject) for rule, _s, subject in SCRATCH_FAILS
    }


def test_missing_credentials_exit_2_with_a_clear_message(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    reports = tmp_path / "reports"
    result = run_cli("audit", "--regions", REGION, "--report-dir", reports, "--config", _config(tmp_path))
    assert result.code == 2
    assert "credentials" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not reports.exists()


def test_two_regions_are_audited_and_summarised_per_region(moto_env: MotoServer, tmp_path: Path) -> None:
    import boto3

    seed_world.seed()
    sm = boto3.client("sagemaker", region_name="eu-west-1")
    seed_world._model(
        sm,
        "r1-eu",
        seed_world.GOOD_BUCKET,
        seed_world.LLAMA_8B,
        image=seed_world.DLC_IMAGE,
        isolated=False,
        vpc=True,
    )
    seed_world._endpoint(sm, "r1-eu", "r1-eu", "ml.g5.2xlarge", None)
    reports = tmp_path / "reports"
    result = run_cli(
        "audit", "--regions", f"{REGION},eu-west-1", "--report-dir", reports, "--config", _config(tmp_path)
    )
    assert result.code == 1, result.stderr
    doc = _latest(reports)
    eu_arn = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/r1-eu"
    assert {(r, s) for r, s, subject in finding_set(doc, "fail", "error") if subject == eu_arn} == {
        ("R1-EP-003", "fail"),
        ("R1-EP-006", "fail"),
        ("R1-EP-009", "fail"),  # the TGI DLC on PyTorch 2.4, past its end of patch
    }
    # The bucket is in us-east-1, the endpoint in eu-west-1 (R1-S3-006 warns).
    assert ("R1-S3-006", "fail", "r1-eu") in finding_set(doc, "fail")
    rows = {(r["region"], r["endpoints"]) for r in doc["audit"]["inventory"]}
    assert rows == {(REGION, 3), ("eu-west-1", 1)}
    assert doc["audit"]["scope"]["regions"] == [REGION, "eu-west-1"]
    assert doc["audit"]["placement"]["deployments"]["r1-eu"] == {"account": ACCOUNT, "region": "eu-west-1"}
