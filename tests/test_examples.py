"""The bundled examples (what `make demo` runs): exact findings, decisions and exit codes."""

from __future__ import annotations

from conftest import EXAMPLES, finding_set, run_cli

ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/"
ARGS = ("--config", EXAMPLES / "r1policy.yaml", "--state", EXAMPLES / "state.json", "--format", "json")
NOT_FROM_HUB = ("R1-HUB-001", "R1-HUB-002", "R1-HUB-003", "R1-HUB-004", "R1-HUB-006", "R1-JS-001")
NO_REVISION_AGE = ("R1-HUB-007",)  # examples/r1policy.yaml sets no max_revision_age_days: skipped
NO_LOCK = ("R1-ART-004",)  # no examples/r1policy.lock: skipped
NO_LICENCES = ("R1-LIC-001", "R1-LIC-002")  # examples/r1policy.yaml has no `licences`: skipped


def test_clean_deployments_are_allowed() -> None:
    result = run_cli("check", EXAMPLES / "allow", *ARGS)
    assert result.code == 0
    data = result.json
    assert data["decision"] == "allow"
    assert finding_set(data, "fail", "error", "waived") == {
        # LMI 16 ships vLLM 0.10.2: its two high advisories are waived one by one in r1policy.yaml
        ("R1-EP-008", "waived", ARN + "deepseek-r1-671b"),
        # R1-EP-009 warns: AWS publishes no support period for LMI images, and the TGI DLC is built on
        # PyTorch 2.4, past its end of patch
        ("R1-EP-009", "error", ARN + "deepseek-r1-671b"),
        ("R1-EP-009", "fail", ARN + "r1-distill-llama-8b"),
    }
    assert finding_set(data, "skipped") == {
        (rule, "skipped", uri)
        for uri in (
            "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/",
            "s3://acme-llm-weights/deepseek-r1/",
        )
        for rule in NOT_FROM_HUB + NO_LOCK + NO_LICENCES + NO_REVISION_AGE
    }
    # Two deployments x 14 deployment rules that apply to S3 sources (R1-IAM-001/002 among them),
    # plus the 9 bucket rules once for the bucket both share.
    assert data["summary"] == {
        "blocking": 0,
        "warnings": 2,
        "errors": 1,
        "skipped": 20,
        "waived": 1,
        "passed": 34,
        "subjects": 7,
    }


def test_blocked_deployments_block_for_every_reason() -> None:
    result = run_cli("check", EXAMPLES / "block", *ARGS)
    assert result.code == 1
    data = result.json
    assert data["decision"] == "block"
    quick = ARN + "r1-quick-test"
    hub = "hf://deepseek-al/DeepSeek-R1@main"
    assert finding_set(data, "fail", "error", "waived") == {
        # weights in a public, unencrypted, unversioned, unlogged scratch bucket in another region
        ("R1-S3-001", "fail", "s3://acme-scratch"),
        ("R1-S3-002", "fail", "s3://acme-scratch"),
        ("R1-S3-003", "fail", "s3://acme-scratch"),
        ("R1-S3-004", "fail", "s3://acme-scratch"),
        ("R1-S3-005", "fail", "s3://acme-scratch"),
        ("R1-S3-007", "fail", "s3://acme-scratch"),
        ("R1-S3-010", "fail", "s3://acme-scratch"),
        ("R1-S3-006", "fail", "r1-distill-qwen-32b-scratch"),
        ("R1-S3-008", "fail", "r1-distill-qwen-32b-scratch"),
        # a look-alike publisher on a branch, with remote code, pulled at runtime
        ("R1-HUB-001", "fail", hub),
        ("R1-HUB-002", "fail", hub),
        ("R1-HUB-003", "fail", hub),
        # the Hub is offline in tests and the demo (HF_HUB_OFFLINE=1): a branch is never answered from the
        # response cache, so whether `main` exists, is disabled or flagged is unknown: an error, which blocks
        ("R1-HUB-004", "error", hub),
        ("R1-HUB-005", "fail", hub),
        ("R1-HUB-006", "fail", hub),
        # an unapproved, too small instance without isolation or VPC, and a floating image (no R1-EP-005:
        # ml.p5.48xlarge has local NVMe storage, for which SageMaker refuses a KMS key)
        ("R1-EP-001", "fail", quick),
        ("R1-EP-002", "fail", quick),
        ("R1-EP-003", "fail", quick),
        ("R1-EP-004", "fail", quick),
        ("R1-EP-007", "fail", quick),
        # `ghcr.io/example/vllm-openai:latest`: no version, so no advisory check is possible
        ("R1-EP-008", "error", quick),
        # the scratch deployment's TGI DLC is built on PyTorch 2.4, past its end of patch
        ("R1-EP-009", "fail", ARN + "r1-distill-qwen-32b-scratch"),
    }
    ep7 = [f["message"] for f in data["findings"] if f["rule_id"] == "R1-EP-007"]
    assert len(ep7) == 2  # unapproved registry and unpinned tag are two findings
    warned = {f["rule_id"] for f in data["findings"] if f["status"] == "fail" and f["enforcement"] == "warn"}
    assert warned == {"R1-S3-004", "R1-S3-006", "R1-S3-007", "R1-S3-010", "R1-HUB-006", "R1-EP-009"}


def test_table_output_names_file_line_and_fix() -> None:
    result = run_cli(
        "check", EXAMPLES / "block" / "many-problems.yaml", "--config", EXAMPLES / "r1policy.yaml", "--static"
    )
    assert result.code == 1
    out = result.stdout
    assert "many-problems.yaml:13:" in out  # the repo line
    assert "R1-HUB-003" in out and "deepseek-ai" in out
    assert "decision: BLOCK" in out
    assert "skipped R1-S3-006, R1-S3-008 for r1-quick-test" in out


def test_exit_zero_reports_but_does_not_fail() -> None:
    result = run_cli("check", EXAMPLES / "block", *ARGS, "--exit-zero")
    assert result.code == 0
    assert result.json["decision"] == "block"
