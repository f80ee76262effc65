"""ECR scan findings from files: which images are asked about (aws/ecr.py) and how R1-EP-008 judges the
`ecr_image_scans` of a state snapshot (`check --state`), exact findings per case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import check_case, run_cli, write_case
from r1policy.aws.ecr import own_ecr_images

OWN = "111122223333.dkr.ecr.us-east-1.amazonaws.com"
DIGEST = "sha256:" + "ab" * 32
DLC = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
ENDPOINT = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/case"


def _model(name: str, image: str) -> dict[str, Any]:
    return {"ModelName": name, "PrimaryContainer": {"Image": image}}


def test_only_own_registry_images_with_a_tag_or_digest_are_asked_about() -> None:
    models = [
        _model("tagged", f"{OWN}/acme/r1-server:build-7"),
        _model("pinned", f"{OWN}/acme/r1-server@{DIGEST}"),
        _model("resolved", f"{OWN}/acme/r1-other:prod"),
        _model("dlc", DLC),
        _model("other-account", "444455556666.dkr.ecr.us-east-1.amazonaws.com/shared/r1:1.0"),
        _model("public", "public.ecr.aws/deep-learning-containers/vllm:0.15-gpu-py312"),
        _model("untagged", f"{OWN}/acme/r1-bare"),
        {"ModelName": "multi", "Containers": [{"Image": f"{OWN}/acme/r1-side:2"}, {"Image": DLC}]},
    ]
    endpoints = [
        {
            "ProductionVariants": [
                {
                    "DeployedImages": [
                        {
                            "SpecifiedImage": f"{OWN}/acme/r1-other:prod",
                            "ResolvedImage": f"{OWN}/acme/r1-other@{DIGEST}",
                        }
                    ]
                }
            ]
        }
    ]
    got = own_ecr_images(models, endpoints, "111122223333")
    assert {k: v["image_id"] for k, v in got.items()} == {
        f"{OWN}/acme/r1-server:build-7": {"imageTag": "build-7"},
        f"{OWN}/acme/r1-server@{DIGEST}": {"imageDigest": DIGEST},
        f"{OWN}/acme/r1-other:prod": {"imageDigest": DIGEST},  # the digest the endpoint resolved
        f"{OWN}/acme/r1-side:2": {"imageTag": "2"},
    }
    assert {v["repository"] for v in got.values()} == {"acme/r1-server", "acme/r1-other", "acme/r1-side"}
    assert {(v["registry_id"], v["region"]) for v in got.values()} == {("111122223333", "us-east-1")}


def _scan(findings: list[dict[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "registry_id": "111122223333",
        "region": "us-east-1",
        "repository": "acme/r1-server",
        "image_id": {"imageTag": "build-7"},
    }
    if findings is not None:
        entry.update(status="COMPLETE", scan_type="BASIC", findings=findings)
    entry.update(extra)
    return entry


HIGH = {"id": "CVE-2025-47277", "severity": "HIGH", "package": "vllm 0.8.4"}
TAGGED = f"{OWN}/acme/r1-server:build-7"
PINNED = f"{OWN}/acme/r1-server@{DIGEST}"

# name -> (image, scan entry or None, config patch, expected R1-EP-008 status, message fragment)
CASES: dict[str, tuple[str, dict[str, Any] | None, dict[str, Any], str, str]] = {
    "fail_basic_high_finding": (TAGGED, _scan([HIGH]), {}, "fail", "CVE-2025-47277 in vllm 0.8.4, HIGH"),
    "fail_undefined_severity_counts": (
        TAGGED,
        _scan([{"id": "CVE-2025-0002", "severity": "UNDEFINED", "package": "libfoo 1"}]),
        {},
        "fail",
        "CVE-2025-0002 in libfoo 1, UNDEFINED",
    ),
    "error_informational_only_basic": (
        TAGGED,
        _scan([{"id": "CVE-2025-0003", "severity": "INFORMATIONAL", "package": "x 1"}]),
        {},
        "error",
        "basic ECR scan covers operating-system packages only",
    ),
    "pass_enhanced_clean": (TAGGED, _scan([], status="ACTIVE", scan_type="ENHANCED"), {}, "pass", ""),
    "pass_enhanced_low_below_threshold": (
        TAGGED,
        _scan(
            [{"id": "CVE-2025-0004", "severity": "LOW", "package": "y 2"}],
            status="ACTIVE",
            scan_type="ENHANCED",
        ),
        {},
        "pass",
        "",
    ),
    "error_scan_unreadable": (
        TAGGED,
        _scan(error="ScanNotFoundException on DescribeImageScanFindings: no scan"),
        {},
        "error",
        "ScanNotFoundException",
    ),
    "error_no_scan_in_state": (TAGGED, None, {}, "error", "cannot tell the serving framework"),
    "fail_reviewed_digest_with_finding": (
        PINNED,
        _scan([HIGH], image_id={"imageDigest": DIGEST}),
        {"image_digests_reviewed": [DIGEST]},
        "fail",
        "CVE-2025-47277",
    ),
    "pass_reviewed_digest_scan_unreadable": (
        PINNED,
        _scan(error="AccessDenied on DescribeImageScanFindings: denied", image_id={"imageDigest": DIGEST}),
        {"image_digests_reviewed": [DIGEST]},
        "pass",
        "",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_scan_findings_judge_r1_ep_008(name: str, tmp_path: Path) -> None:
    image, scan, config, status, fragment = CASES[name]
    paths = write_case(tmp_path, manifest={"spec": {"container": {"image": image}}}, config=config)
    state = json.loads(paths["state"].read_text())
    if scan is not None:
        state["ecr_image_scans"] = {image: scan}
    paths["state"].write_text(json.dumps(state))
    data = check_case(paths, "--show-passed").json
    found = [
        (f["status"], f["subject"]["id"], " ".join(f["message"].split()))
        for f in data["findings"]
        if f["rule_id"] == "R1-EP-008"
    ]
    assert [(s, subject) for s, subject, _ in found] == [(status, ENDPOINT)]
    assert fragment in found[0][2]


def test_a_scan_entry_that_is_not_a_scan_record_is_exit_2(tmp_path: Path) -> None:
    paths = write_case(tmp_path, manifest={"spec": {"container": {"image": TAGGED}}})
    state = json.loads(paths["state"].read_text())
    state["ecr_image_scans"] = {TAGGED: {**_scan([HIGH]), "findings": [{"id": "CVE-1"}]}}
    paths["state"].write_text(json.dumps(state))
    result = run_cli("check", paths["manifest"], "--state", paths["state"], "--config", paths["config"])
    assert result.code == 2
    assert "state.json" in result.stderr and "severity" in result.stderr
