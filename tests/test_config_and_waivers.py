"""Configuration (SPEC §6): overrides, waivers (active and expired), config discovery."""

from __future__ import annotations

from conftest import check_case, finding_set, run_cli, write_case

ENDPOINT_ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/dev-box"
CASE_ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/case"
# The baseline image is a TGI DLC built on PyTorch 2.4, past its AWS end of patch: R1-EP-009 warns.
SUPPORT_ENDED = ("R1-EP-009", "fail", CASE_ARN)


def test_clean_baseline_is_allowed_with_no_findings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(tmp_path)
    result = check_case(paths)
    assert result.code == 0
    data = result.json
    assert data["decision"] == "allow"
    # Rules for Hub-sourced models do not apply to weights from S3, and R1-ART-004 needs an
    # r1policy.lock, which this case has not: listed as skipped, with the reason.
    assert finding_set(data) == {
        (rule, "skipped", "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/")
        for rule in (
            "R1-HUB-001",
            "R1-HUB-002",
            "R1-HUB-003",
            "R1-HUB-004",
            "R1-HUB-006",
            "R1-HUB-007",
            "R1-JS-001",
            "R1-ART-004",
            "R1-LIC-001",
            "R1-LIC-002",
        )
    } | {SUPPORT_ENDED} | {
        # the baseline manifest names no execution role (spec.model.execution_role)
        ("R1-IAM-001", "skipped", CASE_ARN),
        ("R1-IAM-002", "skipped", CASE_ARN),
    }
    assert all(
        f["message"].startswith("does not apply") for f in data["findings"] if f["rule_id"] != "R1-EP-009"
    )
    assert data["summary"]["passed"] == 20
    assert data["summary"]["blocking"] == 0


def test_active_waiver_waives_and_keeps_the_finding_listed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    waiver = {
        "rule": "R1-EP-004",
        "subject": "arn:aws:sagemaker:*:*:endpoint/dev-*",
        "reason": "sandbox",
        "owner": "ml-platform",
        "ticket": "SEC-1",
        "expires": "2999-01-01",
    }
    paths = write_case(
        tmp_path, name="dev-box", manifest={"spec": {"endpoint": {"vpc": None}}}, config={"waivers": [waiver]}
    )
    result = check_case(paths)
    assert result.code == 0
    data = result.json
    assert finding_set(data, "fail", "error", "waived") == {
        ("R1-EP-004", "waived", ENDPOINT_ARN),
        ("R1-EP-009", "fail", ENDPOINT_ARN),
    }
    (finding,) = [f for f in data["findings"] if f["status"] == "waived"]
    assert finding["waiver"] == {
        "reason": "sandbox",
        "owner": "ml-platform",
        "expires": "2999-01-01",
        "ticket": "SEC-1",
    }
    assert data["summary"]["waived"] == 1


def test_expired_waiver_waives_nothing_and_is_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    waiver = {
        "rule": "R1-EP-004",
        "subject": "dev-box",
        "reason": "sandbox",
        "owner": "ml-platform",
        "expires": "2020-01-01",
    }
    paths = write_case(
        tmp_path, name="dev-box", manifest={"spec": {"endpoint": {"vpc": None}}}, config={"waivers": [waiver]}
    )
    result = check_case(paths)
    assert result.code == 1
    data = result.json
    assert finding_set(data, "fail", "error", "waived") == {
        ("R1-EP-004", "fail", ENDPOINT_ARN),
        ("R1-EP-009", "fail", ENDPOINT_ARN),
    }
    (failed,) = [f for f in data["findings"] if f["status"] == "fail" and f["rule_id"] == "R1-EP-004"]
    assert failed["expired_waiver"]["expires"] == "2020-01-01"
    (notice,) = data["notices"]
    assert notice["kind"] == "expired-waiver" and "2020-01-01" in notice["message"]
    assert notice["location"]["path"] == str(paths["config"])
    table = run_cli("check", paths["manifest"], "--state", paths["state"], "--config", paths["config"])
    assert "expired on 2020-01-01" in table.stdout


def test_enforcement_override_to_warn_does_not_block(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(
        tmp_path,
        manifest={"spec": {"endpoint": {"vpc": None}}},
        config={"rules": {"R1-EP-004": {"enforcement": "warn"}}},
    )
    result = check_case(paths)
    assert result.code == 0
    data = result.json
    assert data["summary"]["warnings"] == 2  # R1-EP-004 turned to warn, and R1-EP-009
    assert [f["enforcement"] for f in data["findings"] if f["status"] == "fail"] == ["warn", "warn"]


def test_enforcement_off_reports_skipped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(
        tmp_path,
        manifest={"spec": {"endpoint": {"vpc": None}}},
        config={"rules": {"R1-EP-004": {"enforcement": "off"}}},
    )
    data = check_case(paths).json
    assert {
        (f["rule_id"], f["status"], f["enforcement"]) for f in data["findings"] if f["rule_id"] == "R1-EP-004"
    } == {("R1-EP-004", "skipped", "off")}
    assert finding_set(data, "fail", "error") == {SUPPORT_ENDED}


def test_config_from_pyproject_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(tmp_path, manifest={"spec": {"endpoint": {"instance_type": "ml.g5.12xlarge"}}})
    paths["config"].unlink()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.r1policy]\napproved_instance_types = ["ml.g5.2xlarge"]\n'
        'approved_buckets = ["acme-llm-weights"]\n'
        'encryption = {algorithm = "aws:kms", customer_managed_key = true}\n'
    )
    result = run_cli("check", paths["manifest"], "--state", paths["state"], "--format", "json", cwd=tmp_path)
    assert finding_set(result.json, "fail") == {("R1-EP-001", "fail", CASE_ARN), SUPPORT_ENDED}


def test_bad_key_in_pyproject_names_file_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(tmp_path)
    paths["config"].unlink()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.r1policy]\ntrusted_publishers = ["a"]\napproved_bukets = []\n'
    )
    result = run_cli("check", paths["manifest"], "--static", cwd=tmp_path)
    assert result.code == 2
    assert "pyproject.toml:3:" in result.stderr and "approved_bukets" in result.stderr
    assert "did you mean 'approved_buckets'" in result.stderr


def test_static_skips_live_rules_and_no_state_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_case(tmp_path)
    static = run_cli("check", paths["manifest"], "--config", paths["config"], "--static", "--format", "json")
    assert static.code == 0
    skipped = {f["rule_id"] for f in static.json["findings"] if f["message"].startswith("--static")}
    assert skipped == {
        "R1-S3-001",
        "R1-S3-002",
        "R1-S3-003",
        "R1-S3-004",
        "R1-S3-005",
        "R1-S3-006",
        "R1-S3-007",
        "R1-S3-009",
        "R1-S3-010",
        "R1-S3-011",
    }
    live = run_cli("check", paths["manifest"], "--config", paths["config"], "--format", "json")
    assert live.code == 1
    errors = {f["rule_id"] for f in live.json["findings"] if f["status"] == "error"}
    assert errors == skipped
    assert all("--state FILE" in f["message"] for f in live.json["findings"] if f["status"] == "error")
