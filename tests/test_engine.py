"""The engine: custom policies, schema validation at load, fail-closed evaluation, env overrides,
locations of findings, and the format registry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import check_case, finding_set, run_cli, write_case
from r1policy.core.findings import Enforcement, Finding, Severity, Status, Subject, SubjectType
from r1policy.engine.report import Report
from r1policy.formats import Format, RenderOptions, writers

ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/case"


def test_custom_annotated_policy_is_evaluated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    policies = tmp_path / "custom"
    policies.mkdir()
    (policies / "stage.cedar").write_text(
        '@id("ACME-001")\n@title("Production deployments declare an owner stage")\n@severity("low")\n'
        '@subject("deployment")\n@message("stage {{ stage }} is not allowed")\n'
        'forbid (principal, action == R1::Action::"deploy", resource is R1::Deployment)\n'
        'when { resource.stage == "prod" };\n'
    )
    paths = write_case(tmp_path)
    result = check_case(paths, "--policies", policies)
    assert result.code == 1
    # R1-EP-009 warns about the baseline image (a TGI DLC on PyTorch 2.4, past its end of patch)
    assert finding_set(result.json, "fail") == {
        ("ACME-001", "fail", "case"),
        ("R1-EP-009", "fail", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/case"),
    }
    assert result.json["findings"][0]["message"] == "stage prod is not allowed"
    listing = run_cli("policies", "list", "--policies", policies)
    assert "ACME-001" in listing.stdout and "custom" in listing.stdout


def test_custom_policy_that_does_not_validate_names_file_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    policies = tmp_path / "custom"
    policies.mkdir()
    (policies / "bad.cedar").write_text(
        '// a comment\n@id("ACME-002")\nforbid (principal, action, resource is R1::Deployment)\n'
        'when { resource.stage == "prod" };\n\n'
        '@id("ACME-003")\nforbid (principal, action, resource is R1::Deployment)\n'
        "when { resource.no_such_attr };\n"
    )
    result = run_cli("check", tmp_path, "--static", "--policies", policies)
    assert result.code == 2
    assert f"{policies / 'bad.cedar'}:6:" in result.stderr
    assert "no_such_attr" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("forbid (principal, action, resource) when { ", "invalid Cedar policy"),
        ('@id("ACME-004") permit (principal, action, resource);', "forbid"),
        ("forbid (principal, action, resource is R1::Deployment);", "@id"),
    ],
)
def test_malformed_custom_policies_exit_2(tmp_path, text: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    policies = tmp_path / "custom"
    policies.mkdir()
    (policies / "p.cedar").write_text(text)
    result = run_cli("policies", "list", "--policies", policies)
    assert result.code == 2
    assert needle in result.stderr


def test_policy_runtime_error_is_an_error_never_a_pass(tmp_path) -> None:  # type: ignore[no-untyped-def]
    policies = tmp_path / "custom"
    policies.mkdir()
    (policies / "overflow.cedar").write_text(
        '@id("ACME-005")\n@subject("endpoint")\n'
        'forbid (principal, action == R1::Action::"deploy", resource is R1::Deployment)\n'
        "when { resource has capacity && resource.capacity.weights_mib * 9223372036854775807 > 0 };\n"
    )
    paths = write_case(tmp_path)
    result = check_case(paths, "--policies", policies)
    assert result.code == 1
    (finding,) = [f for f in result.json["findings"] if f["rule_id"] == "ACME-005"]
    assert finding["status"] == "error"
    assert "overflow" in finding["message"]


def test_env_revision_overrides_manifest_and_points_at_env_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(
        tmp_path, hub=True, manifest={"spec": {"container": {"env": {"HF_MODEL_REVISION": "main"}}}}
    )
    data = check_case(paths).json
    hub001 = [f for f in data["findings"] if f["rule_id"] == "R1-HUB-001"]
    assert [(f["status"], f["subject"]["id"]) for f in hub001] == [
        ("fail", "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@main")
    ]
    text = paths["manifest"].read_text().splitlines()
    line = hub001[0]["location"]["line"]
    assert "HF_MODEL_REVISION" in text[line - 1]


def test_env_trust_remote_code_is_honoured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The base image is TGI: it reads TRUST_REMOTE_CODE, not LMI's OPTION_TRUST_REMOTE_CODE.
    paths = write_case(
        tmp_path, hub=True, manifest={"spec": {"container": {"env": {"TRUST_REMOTE_CODE": "true"}}}}
    )
    data = check_case(paths).json
    assert ("R1-HUB-005", "fail") in {(f["rule_id"], f["status"]) for f in data["findings"]}


def test_env_model_id_on_s3_switches_source(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(
        tmp_path,
        hub=True,
        manifest={"spec": {"container": {"env": {"HF_MODEL_ID": "s3://other-bucket/llama/"}}}},
    )
    data = check_case(paths).json
    assert ("R1-S3-008", "fail", "case") in finding_set(data)


def test_finding_location_points_at_the_offending_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(tmp_path, manifest={"spec": {"endpoint": {"instance_type": "ml.p4de.24xlarge"}}})
    data = check_case(paths).json
    (finding,) = [f for f in data["findings"] if f["rule_id"] == "R1-EP-001"]
    lines = paths["manifest"].read_text().splitlines()
    loc = finding["location"]
    assert loc["path"] == str(paths["manifest"])
    assert lines[loc["line"] - 1][loc["column"] - 1 :].startswith("ml.p4de.24xlarge")
    assert finding["subject"] == {"type": "endpoint", "id": ARN}
    assert "ml.p4de.24xlarge" in finding["message"]
    assert finding["remediation"]["steps"] and "case" in finding["remediation"]["cli"]


def test_every_format_has_exactly_one_writer() -> None:
    assert set(writers()) == set(Format)


def _finding(**changes: Any) -> Finding:
    """A passed finding built through the real constructor, with some fields changed."""
    fields: dict[str, Any] = {
        "rule_id": "R1-EP-001",
        "title": "t",
        "severity": Severity.HIGH,
        "status": Status.PASS,
        "enforcement": Enforcement.BLOCK,
        "subject": Subject(SubjectType.DEPLOYMENT, "d"),
        "message": "x",
    }
    return Finding.create(**(fields | changes))


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_non_ascii_and_long_messages(
    fmt: Format, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCOUNT_ID", "111122223333")  # ASFF/OCSF: the account of findings from files
    finding = _finding(
        title="Ünïcödé title", subject=Subject(SubjectType.DEPLOYMENT, "dépl-😀"), message="m" * 5000
    )
    text = writers()[fmt](Report([finding]), RenderOptions(show_passed=True))
    assert "dépl" in text


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"status": Status.FAIL}, "how to fix"),
        ({"status": Status.WAIVED}, "waiver"),
        ({"rule_id": "bad id"}, "rule id"),
    ],
)
def test_finding_constructor_enforces_invariants(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        _finding(**changes)


def test_secrets_in_messages_are_redacted() -> None:
    finding = _finding(message="key AKIAIOSFODNN7EXAMPLE leaked")
    assert "AKIAIOSFODNN7EXAMPLE" not in finding.message
    assert "AKIA…[redacted, 20 chars]" in finding.message


def test_show_passed_lists_passes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(tmp_path)
    data = check_case(paths, "--show-passed").json
    statuses = [f["status"] for f in data["findings"]]
    # skipped: the 6 Hub rules and R1-JS-001 (an S3 model), R1-ART-004 (no r1policy.lock) and
    # R1-LIC-001/002 (no `licences` in the config); R1-EP-009 warns (the baseline TGI DLC is built on
    # PyTorch 2.4, past its end of patch); R1-IAM-001/002 (the manifest names no execution role)
    assert len(statuses) == 33 and statuses.count("pass") == 20 and statuses.count("skipped") == 12
    json.dumps(data)
