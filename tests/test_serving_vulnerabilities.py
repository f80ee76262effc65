"""R1-EP-008 / R1-EP-009: the serving image's framework version against the advisory store and the DLC
support table, from files and from a live moto world; `r1policy advisories import`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.awsworld import ACCOUNT, Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from conftest import finding_set, run_cli
from r1policy.commands.policytest import base_manifest, load_base, patch
from r1policy.facts.serving import serving_image

DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
VULNERABLE = "vllm/vllm-openai:v0.8.4"
PATCHED = "vllm/vllm-openai:v0.14.0"
UNFIXED = "GHSA-9pcc-gvx5-r5wm"  # CVE-2025-30165: no vLLM release fixes it


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (
            f"{DLC}/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04",
            ("tgi", "3.0.1", "3.0.1", True),
        ),
        (
            f"{DLC}/huggingface-pytorch-tgi-inference:2.6.0-tgi3.2.3-gpu-py311-cu124-ubuntu22.04-v2.0",
            ("tgi", "3.2.3", "3.2.3", True),
        ),
        (f"{DLC}/djl-inference:0.31.0-lmi13.0.0-cu124", ("lmi", "13.0.0", None, True)),
        (f"{DLC}/djl-inference:0.33.0-lmi15.0.0-cu128", ("lmi", "15.0.0", "0.8.4", True)),
        (f"{DLC}/vllm:0.10.2-gpu-py312-cu128-ubuntu22.04-sagemaker", ("vllm", "0.10.2", "0.10.2", True)),
        ("public.ecr.aws/deep-learning-containers/vllm:0.15-gpu-py312", ("vllm", "0.15.0", "0.15.0", True)),
        ("vllm/vllm-openai:v0.6.4.post1", ("vllm", "0.6.4.post1", "0.6.4.post1", False)),
        ("docker.io/vllm/vllm-openai:v0.8.5", ("vllm", "0.8.5", "0.8.5", False)),
        ("ghcr.io/huggingface/text-generation-inference:3.0.1", ("tgi", "3.0.1", "3.0.1", False)),
    ],
)
def test_image_tags_name_framework_and_version(image: str, expected: tuple[Any, ...]) -> None:
    found = serving_image(image)
    assert found is not None
    assert (found.framework, found.version, found.engine_version, found.dlc) == expected


@pytest.mark.parametrize(
    "image",
    [
        "vllm/vllm-openai:latest",
        "vllm/vllm-openai:nightly",
        "ghcr.io/huggingface/text-generation-inference:latest",
        "ghcr.io/huggingface/text-generation-inference:sha-0e8bc3f",
        f"{DLC}/huggingface-pytorch-tgi-inference@sha256:{'a' * 64}",
        f"{DLC}/djl-inference:0.30.0-tensorrtllm0.12.0-cu125",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/vllm:0.8.5-gpu-py312",  # not a DLC account
        "lmsysorg/sglang:v0.4.6",
        "evil.example/vllm/vllm-openai:v0.14.0",
    ],
)
def test_unknown_images_have_no_version(image: str) -> None:
    assert serving_image(image) is None


def _manifest(folder: Path, name: str, image: str) -> Path:
    doc = patch(
        base_manifest(load_base(), hub=False),
        {"metadata": {"name": name}, "spec": {"container": {"image": image}, "endpoint": {"name": name}}},
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _config(tmp: Path, **extra: Any) -> Path:
    config = dict(load_base()["config"])
    config["approved_image_registries"] = [*config["approved_image_registries"], "docker.io"]
    config.update(extra)
    path = tmp / "r1policy.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _ep8(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        f["subject"]["id"].rsplit("/", 1)[-1]: (f["status"], f["message"])
        for f in data["findings"]
        if f["rule_id"] == "R1-EP-008"
    }


def test_files_vulnerable_and_patched_vllm(tmp_path: Path) -> None:
    _manifest(tmp_path / "m", "old", VULNERABLE)
    _manifest(tmp_path / "m", "new", PATCHED)
    waiver = {
        "rule": "R1-EP-008",
        "subject": "new",
        "advisory": "CVE-2025-30165",
        "reason": "single node",
        "owner": "ml-platform",
        "expires": "2099-01-01",
    }
    config = _config(tmp_path, waivers=[waiver])
    result = run_cli("check", tmp_path / "m", "--static", "--config", config, "--format", "json")
    assert result.code == 1, result.stderr
    got = _ep8(result.json)
    assert {k: v[0] for k, v in got.items()} == {"old": "fail", "new": "waived"}
    assert "GHSA-hj4w-hm2g-p6w5 (CVE-2025-32444), critical: fixed in 0.8.5" in got["old"][1]
    assert "GHSA-9pcc-gvx5-r5wm (CVE-2025-30165), high: no fixed release exists" in got["old"][1]
    waived = next(
        f for f in result.json["findings"] if f["rule_id"] == "R1-EP-008" and f["status"] == "waived"
    )
    assert waived["waiver"]["owner"] == "ml-platform"


def test_advisory_waiver_on_another_rule_is_a_config_error(tmp_path: Path) -> None:
    _manifest(tmp_path / "m", "old", VULNERABLE)
    waiver = {
        "rule": "R1-EP-007",
        "subject": "*",
        "advisory": UNFIXED,
        "reason": "x y z",
        "owner": "o",
        "expires": "2099-01-01",
    }
    result = run_cli("check", tmp_path / "m", "--static", "--config", _config(tmp_path, waivers=[waiver]))
    assert result.code == 2
    assert "r1policy.yaml" in result.stderr and "R1-EP-008 only" in result.stderr


OSV_TGI = {
    "id": "GHSA-test-tgi0-0001",
    "modified": "2026-11-01T00:00:00Z",
    "aliases": ["CVE-2026-99999"],
    "affected": [
        {
            "package": {"ecosystem": "GitHub Actions", "name": "text-generation-inference"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.0"}]}],
        }
    ],
    "database_specific": {"severity": "CRITICAL"},
}


def test_imported_advisory_is_judged_and_store_is_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("R1POLICY_DATA_DIR", str(tmp_path / "data"))
    tgi = f"{DLC}/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
    _manifest(tmp_path / "m", "tgi", tgi)
    config = _config(tmp_path)
    before = run_cli(
        "check", tmp_path / "m", "--static", "--config", config, "--format", "json", "--show-passed"
    )
    assert _ep8(before.json)["tgi"][0] == "pass"
    advisory = tmp_path / "tgi.json"
    advisory.write_text(json.dumps([OSV_TGI]))
    imported = run_cli("advisories", "import", advisory)
    assert imported.code == 0, imported.stderr
    assert (tmp_path / "data" / "advisories" / "GHSA-test-tgi0-0001.json").is_file()
    after = run_cli("check", tmp_path / "m", "--static", "--config", config, "--format", "json")
    status, message = _ep8(after.json)["tgi"]
    assert status == "fail"
    assert "GHSA-test-tgi0-0001 (CVE-2026-99999), critical: fixed in 3.1.0" in message


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("{not json", "bad.json:1:2: not JSON"),
        (
            json.dumps({"id": "X-1", "affected": []}),
            "bad.json:1:1: (top level): 'modified' is a required property",
        ),
        (
            json.dumps(
                {
                    "id": "X-1",
                    "modified": "2026-01-01T00:00:00Z",
                    "affected": [{"package": {"ecosystem": "PyPI"}, "ranges": []}],
                }
            ),
            "affected[0].package: 'name' is a required property",
        ),
        (
            json.dumps(
                [
                    OSV_TGI,
                    {
                        **OSV_TGI,
                        "affected": [
                            {
                                "package": {"ecosystem": "PyPI", "name": "vllm"},
                                "ranges": [
                                    {"type": "ECOSYSTEM", "events": [{"fixed": "1.0", "introduced": "0"}]}
                                ],
                            }
                        ],
                    },
                ]
            ),
            "affected[0].ranges[0].events[0]",
        ),
        (json.dumps({**OSV_TGI, "database_specific": {"severity": "URGENT"}}), "database_specific.severity"),
    ],
)
def test_import_refuses_what_is_not_osv_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, where: str
) -> None:
    monkeypatch.setenv("R1POLICY_DATA_DIR", str(tmp_path / "data"))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(OSV_TGI))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = run_cli("advisories", "import", good, bad)
    assert result.code == 2
    assert where in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "advisories").exists()


def test_corrupt_local_store_is_an_error_not_an_empty_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "data" / "advisories"
    store.mkdir(parents=True)
    (store / "broken.json").write_text('{"id": "X"}')
    monkeypatch.setenv("R1POLICY_DATA_DIR", str(tmp_path / "data"))
    _manifest(tmp_path / "m", "old", VULNERABLE)
    result = run_cli("check", tmp_path / "m", "--static", "--config", _config(tmp_path))
    assert result.code == 2
    assert "broken.json" in result.stderr


def test_live_world_vulnerable_and_patched_vllm(moto_env: MotoServer, tmp_path: Path) -> None:
    world = World()
    world.account_block_public_access()
    bucket = world.seed_bucket(Bucket("acme-weights-vllm"))
    world.seed_endpoint(Endpoint("vllm-old", bucket.name, image=VULNERABLE))
    world.seed_endpoint(Endpoint("vllm-new", bucket.name, image=PATCHED))
    waiver = {
        "rule": "R1-EP-008",
        "subject": "*vllm-new",
        "advisory": UNFIXED,
        "reason": "single node",
        "owner": "ml-platform",
        "expires": "2099-01-01",
    }
    config = _config(tmp_path, approved_buckets=[bucket.name], waivers=[waiver])
    result = run_cli(
        "audit",
        "--regions",
        "us-east-1",
        "--report-dir",
        tmp_path / "reports",
        "--config",
        config,
        "--format",
        "json",
    )
    assert result.code == 1, result.stderr
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/"
    ep = {(r, s, subj) for r, s, subj in finding_set(result.json) if r in ("R1-EP-008", "R1-EP-009")}
    assert ep == {
        ("R1-EP-008", "fail", arn + "vllm-old"),
        ("R1-EP-008", "waived", arn + "vllm-new"),
        ("R1-EP-009", "skipped", arn + "vllm-old"),
        ("R1-EP-009", "skipped", arn + "vllm-new"),
    }
    message = _ep8(result.json)["vllm-old"][1]
    assert "GHSA-hjq4-87xh-g4fv (CVE-2025-47277), critical: fixed in 0.8.5" in message


# -- R1-S3-009 (bucket policy and ACL writers), live ------------------------------------------------
def test_live_cross_account_bucket_policy_writer(moto_env: MotoServer, tmp_path: Path) -> None:
    from aws_cases import write_config, write_manifest

    world = World()
    world.account_block_public_access()
    writer = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PartnerMirror",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::444455556666:role/mirror"},
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": "arn:aws:s3:::acme-weights-shared/*",
            }
        ],
    }
    shared = world.seed_bucket(Bucket("acme-weights-shared", policy=writer))
    manifest = write_manifest(tmp_path / "deploy", "shared", shared.name, kms_key=shared.kms_key)
    config = write_config(tmp_path, [shared.name])
    result = run_cli("check", manifest, "--live", "--config", config, "--format", "json")
    assert result.code == 1, result.stderr
    s3 = {(r, s, subj) for r, s, subj in finding_set(result.json, "fail", "error") if r.startswith("R1-S3")}
    # R1-S3-004 too: this policy has no TLS-only statement
    assert s3 == {
        ("R1-S3-004", "fail", "s3://acme-weights-shared"),
        ("R1-S3-009", "fail", "s3://acme-weights-shared"),
    }
    (finding,) = [f for f in result.json["findings"] if f["rule_id"] == "R1-S3-009"]
    assert "444455556666" in finding["message"]
    assert "acme-weights-shared" in finding["remediation"]["cli"]
    (tmp_path / "trusted").mkdir()
    trusted = write_config(tmp_path / "trusted", [shared.name], trusted_writer_accounts=["444455556666"])
    again = run_cli("check", manifest, "--live", "--config", trusted, "--format", "json")
    assert "R1-S3-009" not in {r for r, _s, _ in finding_set(again.json, "fail", "error")}
