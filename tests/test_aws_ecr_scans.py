"""R1-EP-008 with ECR scan findings: a live audit of a moto world whose endpoints run images from the
account's own private ECR registry, with scan results set through moto's API; the auditor policy is
sufficient for them, and without ecr:DescribeImageScanFindings exactly R1-EP-008 of those images errs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.support.awsworld import ACCOUNT, Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from aws_cases import write_config
from conftest import ROOT, finding_set, run_cli

REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
BUCKET = "acme-weights"
POLICY = ROOT / "policies" / "iam" / "r1policy-auditor.json"
CVE_HIGH = "CVE-2025-47277"
CVE_MEDIUM = "CVE-2024-0001"


def _arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name}"


def _manifest(tag: str) -> str:
    layer = hashlib.sha256(tag.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": f"sha256:{layer}",
            },
            "layers": [],
        }
    )


def _basic(name: str, severity: str, package: str, version: str) -> dict[str, Any]:
    return {
        "name": name,
        "uri": f"https://nvd.nist.gov/vuln/detail/{name}",
        "severity": severity,
        "attributes": [
            {"key": "package_name", "value": package},
            {"key": "package_version", "value": version},
        ],
    }


def _enhanced(name: str, severity: str, package: str, version: str, status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "awsAccountId": ACCOUNT,
        "severity": severity,
        "status": status,
        "title": f"{name} - {package}",
        "type": "PACKAGE_VULNERABILITY",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": name,
            "vulnerablePackages": [{"name": package, "version": version}],
        },
    }


# endpoint -> (repository:tag, scan status or None for "never scanned", basic findings, enhanced findings)
IMAGES: dict[str, tuple[str, str | None, list[dict[str, Any]], list[dict[str, Any]]]] = {
    "fail-basic-high": (
        "acme/r1-server:2025-06-01",
        "COMPLETE",
        [_basic(CVE_HIGH, "HIGH", "vllm", "0.8.4")],
        [],
    ),
    "fail-enhanced-critical": (
        "acme/r1-inspected:build-7",
        "ACTIVE",
        [],
        [
            _enhanced("CVE-2025-32444", "CRITICAL", "vllm", "0.8.4"),
            _enhanced("CVE-2023-1", "HIGH", "openssl", "3.0.1", "CLOSED"),
        ],
    ),
    "pass-enhanced-medium-only": (
        "acme/r1-clean:build-8",
        "ACTIVE",
        [],
        [_enhanced(CVE_MEDIUM, "MEDIUM", "zlib", "1.2.11")],
    ),
    "error-basic-clean": ("acme/r1-os-only:build-9", "COMPLETE", [], []),
    "error-never-scanned": ("acme/r1-unscanned:build-10", None, [], []),
    "error-scan-in-progress": ("acme/r1-pending:build-11", "IN_PROGRESS", [], []),
}


def _seed(world: World, moto: MotoServer) -> None:
    ecr = world.client("ecr")
    results = []
    for name, (ref, status, basic, enhanced) in IMAGES.items():
        repo, tag = ref.split(":")
        if repo not in {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}:
            ecr.create_repository(repositoryName=repo)
        ecr.put_image(repositoryName=repo, imageManifest=_manifest(ref), imageTag=tag)
        if status is not None:
            ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": tag})
            findings: dict[str, Any] = (
                {"findings": basic} if status == "COMPLETE" else {"enhancedFindings": enhanced}
            )
            results.append(
                {
                    "registryId": ACCOUNT,
                    "repositoryName": repo,
                    "imageId": {"imageTag": tag},
                    "imageScanStatus": {"status": status, "description": "set by the test"},
                    "imageScanFindings": findings,
                }
            )
        world.seed_endpoint(Endpoint(name, BUCKET, image=f"{REGISTRY}/{ref}"))
    moto._post("/moto-api/static/ecr/scan-finding-results", json.dumps({"results": results}).encode())


def _world(tmp_path: Path, moto: MotoServer, **config: Any) -> Path:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket(BUCKET, block_public_access=False, object_lock=True))
    _seed(world, moto)
    return write_config(tmp_path, [BUCKET], **config)


def _audit(tmp_path: Path, name: str, config: Path, *extra: str) -> dict[str, Any]:
    args = ("--regions", "us-east-1", "--report-dir", tmp_path / name, "--config", config)
    result = run_cli("audit", *args, "--format", "json", "--show-passed", *extra)
    assert result.code in (0, 1), result.stderr
    return dict(json.loads(result.stdout))


def _ep008(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        f["subject"]["id"]: (f["status"], " ".join(f["message"].split()))
        for f in data["findings"]
        if f["rule_id"] == "R1-EP-008"
    }


def _user(name: str, policy: dict[str, Any]) -> dict[str, str]:
    iam = boto3.client("iam")
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _policy(without: str = "") -> dict[str, Any]:
    doc = json.loads(POLICY.read_text())
    for statement in doc["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != without]
    doc["Statement"] = [s for s in doc["Statement"] if s["Action"]]
    return doc


def test_scan_findings_judge_own_ecr_images(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import r1policy.aws.ecr as ecr

    calls: list[dict[str, Any]] = []
    real = ecr._scan
    monkeypatch.setattr(ecr, "_scan", lambda account, where: calls.append(where) or real(account, where))
    config = _world(tmp_path, moto_env)
    found = _ep008(_audit(tmp_path, "audit", config))
    assert {k: v[0] for k, v in found.items()} == {
        _arn("fail-basic-high"): "fail",
        _arn("fail-enhanced-critical"): "fail",
        _arn("pass-enhanced-medium-only"): "pass",
        _arn("error-basic-clean"): "error",
        _arn("error-never-scanned"): "error",
        _arn("error-scan-in-progress"): "error",
    }
    assert len(calls) == len(IMAGES)  # one listing per distinct image
    assert {c["image_id"]["imageTag"] for c in calls} == {ref.split(":")[1] for ref, *_ in IMAGES.values()}
    message = found[_arn("fail-basic-high")][1]
    assert (
        f"Its basic ECR image scan reports 1 finding at or above high: {CVE_HIGH} in vllm 0.8.4, HIGH."
        in message
    )
    message = found[_arn("fail-enhanced-critical")][1]
    assert (
        "Its enhanced ECR image scan reports 1 finding at or above high: "
        "CVE-2025-32444 in vllm 0.8.4, CRITICAL." in message
    )
    assert "CVE-2023-1" not in message  # closed: fixed
    assert "basic ECR scan covers operating-system packages only" in found[_arn("error-basic-clean")][1]
    assert "ScanNotFoundException" in found[_arn("error-never-scanned")][1]
    assert "not complete (status IN_PROGRESS)" in found[_arn("error-scan-in-progress")][1]


def test_threshold_and_advisory_waiver_apply_to_scan_findings(moto_env: MotoServer, tmp_path: Path) -> None:
    waiver = {
        "rule": "R1-EP-008",
        "subject": "fail-enhanced-*",
        "advisory": "CVE-2025-32444",
        "reason": "patched build pending",
        "owner": "ml-platform",
        "expires": "2099-01-01",
    }
    config = _world(tmp_path, moto_env, vulnerability_threshold="medium", waivers=[waiver])
    found = _ep008(_audit(tmp_path, "audit", config))
    assert found[_arn("pass-enhanced-medium-only")][0] == "fail"  # MEDIUM is at the threshold now
    assert f"{CVE_MEDIUM} in zlib 1.2.11, MEDIUM" in found[_arn("pass-enhanced-medium-only")][1]
    status, message = found[_arn("fail-enhanced-critical")]
    assert status == "waived"  # an enhanced scan judges the image: its one finding is waived
    assert "CVE-2025-32444 (owner ml-platform, until 2099-01-01)" in message
    # a basic scan cannot judge the server's own packages: the waived finding leaves it unknown
    assert found[_arn("fail-basic-high")][0] == "fail"  # its CVE is not the waived one


def test_auditor_policy_reads_the_scans_and_without_it_only_ep008_errs(
    moto_env: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _world(tmp_path, moto_env)
    admin = _user(
        "admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    auditor = _user("auditor", _policy())
    partial = _user("partial", _policy(without="ecr:DescribeImageScanFindings"))
    moto_env.set_auth(0)
    runs: dict[str, dict[str, Any]] = {}
    for name, creds in (("admin", admin), ("auditor", auditor), ("partial", partial)):
        for key, value in creds.items():
            monkeypatch.setenv(key, value)
        runs[name] = _audit(tmp_path, name, config)
    admin_set, partial_set = finding_set(runs["admin"]), finding_set(runs["partial"])
    assert finding_set(runs["auditor"]) == admin_set
    # the images the scan judged (their tags tell no version) become errors; nothing else changes
    judged = {"fail-basic-high", "fail-enhanced-critical", "pass-enhanced-medium-only"}
    assert partial_set - admin_set == {("R1-EP-008", "error", _arn(n)) for n in judged}
    assert {f[0] for f in admin_set - partial_set} == {"R1-EP-008"}
    message = _ep008(runs["partial"])[_arn("fail-basic-high")][1]
    assert "AccessDenied on DescribeImageScanFindings" in message
