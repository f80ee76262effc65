"""`check` consulting the Hub: the real huggingface_hub client against tests/support/hubserver.py.

Each fixture is checked online, then again with HF_HUB_OFFLINE=1 from the response cache the online run
filled; the exact failing/erroring findings are asserted for both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import hubfixtures as fx
from tests.support.hubserver import HubServer, hub_server

from conftest import check_case, finding_set, run_cli, write_case

ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/case"
# The baseline image is a TGI DLC built on PyTorch 2.4, past its AWS end of patch: R1-EP-009 warns.
SUPPORT_ENDED = ("R1-EP-009", "fail", ARN)
MISSING_SHA = "deadbeef" * 5


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    with hub_server(fx.all_fixtures(), fx.ORGS) as server:
        yield server


@pytest.fixture
def online(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("R1POLICY_HUB_TIMEOUT", "0.3")
    monkeypatch.setenv("R1POLICY_HUB_RETRIES", "2")
    monkeypatch.setenv("R1POLICY_HUB_BACKOFF", "0.01")
    hub.reset_counts()
    return hub


def _model(repo: str, revision: str | None, **extra: Any) -> dict[str, Any]:
    return {"spec": {"model": {"hub": {"repo": repo, "revision": revision or "<null>"}, **extra}}}


R1_ON_P5E = {
    "parameters": 6.85e11,
    "dtype": "fp8",
}
TRUST_ACME = {"trusted_publishers": ["deepseek-ai", "acme-ai"]}

# name -> (manifest patch, config patch, lock value or None, online findings, offline-from-cache findings)
# findings: (rule, status) of every fail/error; "EP" rules are on the endpoint, the others on the model.
H6 = ("R1-HUB-006", "fail")  # every Hub download at start-up while network isolation is required (warn)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None, set[Any], set[Any]]] = {
    "pass_clean_pinned_distill": (_model(fx.DISTILL, fx.DISTILL_SHA), {}, None, {H6}, {H6}),
    "fail_full_r1_ships_code_warns": (
        {
            **_model(fx.R1, fx.R1_SHA, **R1_ON_P5E),
            "spec": {
                **_model(fx.R1, fx.R1_SHA, **R1_ON_P5E)["spec"],
                "endpoint": {"instance_type": "ml.p5e.48xlarge"},
            },
        },
        {},
        None,
        {H6, ("R1-HUB-005", "fail")},
        {H6, ("R1-HUB-005", "fail")},
    ),
    "fail_branch_revision": (
        _model(fx.DISTILL, "main"),
        {},
        None,
        {H6, ("R1-HUB-001", "fail")},
        {H6, ("R1-HUB-001", "fail"), ("R1-HUB-004", "error")},
    ),
    "fail_tag_revision": (
        _model(fx.DISTILL, "v1.0"),
        {},
        None,
        {H6, ("R1-HUB-001", "fail")},
        {H6, ("R1-HUB-001", "fail"), ("R1-HUB-004", "error")},
    ),
    "fail_nonexistent_revision": (
        _model(fx.DISTILL, MISSING_SHA),
        {},
        None,
        {H6, ("R1-HUB-001", "fail"), ("R1-HUB-004", "fail")},
        {H6, ("R1-HUB-004", "error")},
    ),
    "fail_disabled_repo": (
        _model(fx.DISABLED, fx.SHAS[fx.DISABLED]),
        {},
        None,
        {H6, ("R1-HUB-004", "fail")},
        {H6, ("R1-HUB-004", "error")},
    ),
    "fail_gated_without_access": (
        _model(fx.GATED, fx.SHAS[fx.GATED]),
        {},
        None,
        {H6, ("R1-HUB-004", "fail")},
        {H6, ("R1-HUB-004", "error")},  # offline, access cannot be known
    ),
    "fail_scan_flags_a_file": (
        _model(fx.FLAGGED, fx.SHAS[fx.FLAGGED]),
        {},
        None,
        {H6, ("R1-HUB-004", "fail")},
        {H6, ("R1-HUB-004", "fail")},
    ),
    "error_scan_not_done": (
        _model(fx.SCAN_PENDING, fx.SHAS[fx.SCAN_PENDING]),
        {},
        None,
        {H6, ("R1-HUB-004", "error")},
        {H6, ("R1-HUB-004", "error")},
    ),
    "fail_reregistered_namespace": (
        _model(fx.REREGISTERED, fx.SHAS[fx.REREGISTERED]),
        {},
        {
            f"hf://{fx.REREGISTERED}": {
                "revision": fx.SHAS[fx.REREGISTERED],
                "repo_id": fx.LOCKED_REPO_ID,
                "files": {},
            }
        },
        {H6, ("R1-HUB-002", "fail")},
        {H6, ("R1-HUB-002", "fail")},
    ),
    "fail_typosquatted_publisher": (
        _model(fx.TYPOSQUAT, fx.SHAS[fx.TYPOSQUAT]),
        {},
        None,
        {H6, ("R1-HUB-002", "fail"), ("R1-HUB-003", "fail")},
        {H6, ("R1-HUB-002", "fail"), ("R1-HUB-003", "fail")},
    ),
    "pass_rate_limited_then_success": (
        _model(fx.RATE_LIMITED, fx.SHAS[fx.RATE_LIMITED]),
        {},
        None,
        {H6},
        {H6},
    ),
    "error_server_error_forever": (
        _model(fx.BROKEN, fx.SHAS[fx.BROKEN]),
        {},
        None,
        {H6, ("R1-HUB-004", "error")},
        {H6, ("R1-HUB-004", "error")},
    ),
    "error_slow_server_times_out": (
        _model(fx.SLOW, fx.SHAS[fx.SLOW]),
        {},
        None,
        {H6, ("R1-HUB-004", "error")},
        {H6, ("R1-HUB-004", "error")},
    ),
    "fail_parameters_from_hub_do_not_fit": (
        _model(fx.UNKNOWN_SIZE, fx.SHAS[fx.UNKNOWN_SIZE], parameters=None, dtype=None),
        TRUST_ACME,
        None,
        {H6, ("R1-EP-002", "fail")},
        {H6, ("R1-EP-002", "fail")},
    ),
    "fail_publisher_not_verified": (
        _model(fx.UNVERIFIED, fx.SHAS[fx.UNVERIFIED]),
        {**TRUST_ACME, "require_verified_publisher": True},
        None,
        {H6, ("R1-HUB-002", "fail")},
        {H6, ("R1-HUB-002", "fail")},
    ),
    "pass_verified_publisher": (
        _model(fx.DISTILL, fx.DISTILL_SHA),
        {"require_verified_publisher": True},
        None,
        {H6},
        {H6},
    ),
}


def _expected(findings: set[tuple[str, str]], repo: str, revision: str | None) -> set[tuple[str, str, str]]:
    model = f"hf://{repo}@{revision}" if revision else f"hf://{repo}"
    judged = {(rule, status, ARN if rule.startswith("R1-EP") else model) for rule, status in findings}
    return judged | {SUPPORT_ENDED}


def _run(tmp_path: Path, name: str) -> tuple[dict[str, Any], str, str | None]:
    manifest, config, lock, _, _ = CASES[name]
    paths = write_case(tmp_path, name="case", manifest=manifest, config=config, hub=True)
    if lock is not None:
        value = {"schema_version": 1, "kind": "r1policy-lock", "sources": lock}
        (tmp_path / "r1policy.lock").write_text(json.dumps(value))
    hub_spec = manifest["spec"]["model"]["hub"]
    revision = None if hub_spec["revision"] == "<null>" else hub_spec["revision"]
    return check_case(paths).json, hub_spec["repo"], revision


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_online_then_offline_from_cache(
    name: str, online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, repo, revision = _run(tmp_path, name)
    assert finding_set(data, "fail", "error") == _expected(CASES[name][3], repo, revision)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = online.count()
    data, repo, revision = _run(tmp_path, name)
    assert online.count() == before  # offline: not one request
    assert finding_set(data, "fail", "error") == _expected(CASES[name][4], repo, revision)


def test_branch_is_resolved_and_named_in_the_remediation(online: HubServer, tmp_path: Path) -> None:
    data, _, _ = _run(tmp_path, "fail_branch_revision")
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-HUB-001"]
    assert finding["remediation"]["steps"][0].startswith(f"pin revision: {fx.DISTILL_SHA}")


def test_messages_say_what_the_hub_said(online: HubServer, tmp_path: Path) -> None:
    expected = {
        "fail_disabled_repo": "is disabled",
        "fail_gated_without_access": "is gated (manual)",
        "fail_scan_flags_a_file": "model-00001-of-000002.safetensors (unsafe)",
        "error_scan_not_done": "scansDone: false",
        "error_server_error_forever": "HTTP 500 (gave up after 3 attempts)",
        "error_slow_server_times_out": "did not answer in time",
        "fail_nonexistent_revision": "does not exist",
    }
    for name, fragment in expected.items():
        folder = tmp_path / name
        folder.mkdir()
        data, _, _ = _run(folder, name)
        (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-HUB-004"]
        assert fragment in finding["message"], (name, finding["message"])


def test_warn_reason_does_not_block(online: HubServer, tmp_path: Path) -> None:
    data, _, _ = _run(tmp_path, "fail_full_r1_ships_code_warns")
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-HUB-005"]
    assert finding["enforcement"] == "warn"
    assert "configuration_deepseek.DeepseekV3Config" in finding["message"]
    assert data["decision"] == "allow"


def test_retries_are_bounded_and_counted(online: HubServer, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    _run(tmp_path / "a", "pass_rate_limited_then_success")
    assert online.count("model_info", fx.RATE_LIMITED) == 3  # two 429s, then the answer
    (tmp_path / "b").mkdir()
    _run(tmp_path / "b", "error_server_error_forever")
    assert online.count("model_info", fx.BROKEN) == 3  # R1POLICY_HUB_RETRIES=2: three attempts


def test_one_metadata_request_then_warm_cache(online: HubServer, tmp_path: Path) -> None:
    _run(tmp_path, "pass_clean_pinned_distill")
    assert online.count("model_info", fx.DISTILL) == 1
    online.reset_counts()
    _run(tmp_path, "pass_clean_pinned_distill")  # same cache folder, still online
    assert online.count() == 0


def test_static_never_asks_the_hub(online: HubServer, tmp_path: Path) -> None:
    manifest, config, _, _, _ = CASES["fail_nonexistent_revision"]
    paths = write_case(tmp_path, manifest=manifest, config=config, hub=True)
    data = run_cli(
        "check", paths["manifest"], "--config", paths["config"], "--static", "--format", "json"
    ).json
    assert online.count() == 0
    statuses = {(f["rule_id"], f["status"]) for f in data["findings"] if f["rule_id"].startswith("R1-HUB")}
    assert ("R1-HUB-004", "skipped") in statuses and ("R1-HUB-001", "pass") not in statuses


def test_offline_without_cache_is_an_error_never_a_pass(tmp_path: Path) -> None:
    # the autouse fixture: HF_HUB_OFFLINE=1 and an empty cache
    manifest, config, _, _, _ = CASES["fail_parameters_from_hub_do_not_fit"]
    paths = write_case(tmp_path, manifest=manifest, config=config, hub=True)
    data = check_case(paths).json
    model = f"hf://{fx.UNKNOWN_SIZE}@{fx.SHAS[fx.UNKNOWN_SIZE]}"
    assert finding_set(data, "fail", "error") == {
        ("R1-HUB-004", "error", model),
        ("R1-HUB-006", "fail", model),
        ("R1-EP-002", "error", ARN),
        SUPPORT_ENDED,
    }
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-HUB-004"]
    assert "HF_HUB_OFFLINE" in finding["message"]


def test_gated_repo_passes_with_an_approved_token(
    online: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", fx.GATED_TOKEN)
    data, repo, revision = _run(tmp_path, "fail_gated_without_access")
    assert finding_set(data, "fail", "error") == _expected({H6}, repo, revision)
    auth = [r for r in online.requests if r[1] == "resolve" and r[2] == fx.GATED]
    assert auth  # the files were downloaded, with the token
