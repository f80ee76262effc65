"""Issue 22: the compliance tables of an audit of a two-region moto world, exact per region and for both
regions together (the audit reports one table per framework for its whole scope; per region means the
same world audited with `--regions` of one region).

The world (account 123456789012):
* us-east-1: bucket `acme-weights-use1` compliant; endpoint `r1-use1` compliant except R1-EP-009 (its TGI
  image is past AWS's end of patch; a warning); endpoint `r1-use1-orphan` whose model was deleted (every
  rule that needs a model fact is `error`).
* eu-west-1: bucket `acme-weights-euw1` with SSE-S3 only (R1-S3-001), no versioning (R1-S3-005) and no
  access logging (R1-S3-007, waived); endpoint `r1-euw1` without network isolation (R1-EP-003) and VPC
  (R1-EP-004), and R1-EP-009 as above.

Each control's status follows from the rules its catalogue entry lists (policies/*/rule.yaml
`compliance`) and the precedence fail > error > waived > pass > not evaluated; a control no rule maps is
"not covered". Together, a control is the worse of the two regions: us-east-1's errors show where
eu-west-1 passes (CM-2, LLM04:2025), eu-west-1's failures win over us-east-1's errors (SC-7, AC-4), and
eu-west-1's waiver shows where us-east-1 passes (AU-2, S3.9). This test covers behaviour that already
existed (one-region demo world before): it pins it for two regions rather than fixing a bug, so it passes
on the code it was written against. Since then R1-S3-011 maps SC-12 (both buckets' keys pass) and
R1-IAM-001/002 map LLM06, AML.T0018, AC-6, IAM.1 and IAM.21: they err on the us-east-1 orphan (its model,
and so its execution role, is gone) and pass in eu-west-1 (a read-only role).
R1-EP-003 maps FSBP SageMaker.5 (the FSBP catalogue now holds the controls AWS lists today, without
S3.4): it fails in eu-west-1 and errs on the us-east-1 orphan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.awsworld import Bucket, Endpoint, World
from tests.support.motoserver import MotoServer

from aws_cases import write_config
from conftest import run_cli, validate_report
from r1policy.audit.history import run_folders
from r1policy.rules.catalogue import shipped_catalogues

FRAMEWORKS = ("owasp-llm-2025", "mitre-atlas", "nist-800-53-r5", "aws-fsbp")
US, EU = "us-east-1", "eu-west-1"
ACCOUNT = "123456789012"
EU_ENDPOINT = f"arn:aws:sagemaker:{EU}:{ACCOUNT}:endpoint/r1-euw1"
US_ORPHAN = f"arn:aws:sagemaker:{US}:{ACCOUNT}:endpoint/r1-use1-orphan"
WAIVER = {
    "rule": "R1-S3-007",
    "subject": "s3://acme-weights-euw1",
    "reason": "access logs go to the central trail",
    "owner": "platform-team",
    "expires": "2099-01-01",
    "ticket": "SEC-7",
}


def _table(**by_status: str) -> dict[str, str]:
    """A framework's expected table: every control, grouped by status (`_` for a space; `pass_`)."""
    out: dict[str, str] = {}
    for status, ids in by_status.items():
        for control in ids.split():
            out[control] = status.rstrip("_").replace("_", " ")
    return out


OWASP_NOT_COVERED = "LLM01:2025 LLM05:2025 LLM07:2025 LLM08:2025 LLM09:2025 LLM10:2025"
ATLAS_NOT_COVERED = (
    "AML.T0010.000 AML.T0010.002 AML.T0010.005 AML.T0011 AML.T0011.001 AML.T0011.002 AML.T0011.003 "
    "AML.T0018.000 AML.T0018.001 AML.T0019 AML.T0020 AML.T0024 AML.T0076"
)
FSBP_NOT_COVERED = "IAM.2 IAM.3 IAM.4 IAM.5 IAM.6 IAM.7 IAM.8 KMS.1 KMS.2 KMS.3 KMS.5 " + (
    "S3.12 S3.13 S3.19 S3.24 S3.25 SageMaker.1 SageMaker.2 SageMaker.3 SageMaker.4 SageMaker.8"
)
# The artifact rules are judged by `scan`, never by an audit: their controls are not evaluated.
ATLAS_ARTIFACT_ONLY = "AML.T0011.000 AML.T0018.002 AML.T0055"
NIST_ARTIFACT_ONLY = "CM-14 IA-5 SI-3 SI-10"

EXPECTED = {
    US: {
        "owasp-llm-2025": _table(
            fail="LLM03:2025", error="LLM02:2025 LLM04:2025 LLM06:2025", not_covered=OWASP_NOT_COVERED
        ),
        "mitre-atlas": _table(
            fail="AML.T0010.001",
            error="AML.T0010 AML.T0010.003 AML.T0010.004 AML.T0018 AML.T0025 AML.T0058 AML.T0074",
            pass_="AML.T0035",
            not_evaluated=ATLAS_ARTIFACT_ONLY,
            not_covered=ATLAS_NOT_COVERED,
        ),
        "nist-800-53-r5": _table(
            fail="SA-22",
            error="AC-4 AC-6 CM-2 CM-7 RA-5 SC-7 SI-2 SI-7 SR-3 SR-4 SR-11",
            pass_="AC-3 AU-2 AU-12 CP-9 SC-8 SC-12 SC-13 SC-28",
            not_evaluated=NIST_ARTIFACT_ONLY,
            not_covered="CM-8",
        ),
        "aws-fsbp": _table(
            error="IAM.1 IAM.21 SageMaker.5",
            pass_="S3.1 S3.2 S3.3 S3.5 S3.6 S3.8 S3.9",
            not_covered=FSBP_NOT_COVERED,
        ),
    },
    EU: {
        "owasp-llm-2025": _table(
            fail="LLM02:2025 LLM03:2025", pass_="LLM04:2025 LLM06:2025", not_covered=OWASP_NOT_COVERED
        ),
        "mitre-atlas": _table(
            fail="AML.T0010.001 AML.T0025",
            pass_="AML.T0010.003 AML.T0010.004 AML.T0018 AML.T0035",
            # no Hub model and no model-source error in eu-west-1: the Hub rules are skipped
            not_evaluated="AML.T0010 AML.T0058 AML.T0074 " + ATLAS_ARTIFACT_ONLY,
            not_covered=ATLAS_NOT_COVERED,
        ),
        "nist-800-53-r5": _table(
            fail="AC-4 CP-9 SA-22 SC-7 SC-13 SC-28",
            waived="AU-2 AU-12",
            pass_="AC-3 AC-6 CM-2 CM-7 RA-5 SC-8 SC-12 SI-2 SI-7 SR-3 SR-4 SR-11",
            not_evaluated=NIST_ARTIFACT_ONLY,
            not_covered="CM-8",
        ),
        "aws-fsbp": _table(
            fail="SageMaker.5",
            waived="S3.9",
            pass_="IAM.1 IAM.21 S3.1 S3.2 S3.3 S3.5 S3.6 S3.8",
            not_covered=FSBP_NOT_COVERED,
        ),
    },
}
BOTH = {
    "owasp-llm-2025": _table(
        fail="LLM02:2025 LLM03:2025", error="LLM04:2025 LLM06:2025", not_covered=OWASP_NOT_COVERED
    ),
    "mitre-atlas": _table(
        fail="AML.T0010.001 AML.T0025",
        error="AML.T0010 AML.T0010.003 AML.T0010.004 AML.T0018 AML.T0058 AML.T0074",
        pass_="AML.T0035",
        not_evaluated=ATLAS_ARTIFACT_ONLY,
        not_covered=ATLAS_NOT_COVERED,
    ),
    "nist-800-53-r5": _table(
        fail="AC-4 CP-9 SA-22 SC-7 SC-13 SC-28",
        error="AC-6 CM-2 CM-7 RA-5 SI-2 SI-7 SR-3 SR-4 SR-11",
        waived="AU-2 AU-12",
        pass_="AC-3 SC-8 SC-12",
        not_evaluated=NIST_ARTIFACT_ONLY,
        not_covered="CM-8",
    ),
    "aws-fsbp": _table(
        fail="SageMaker.5",
        error="IAM.1 IAM.21",
        waived="S3.9",
        pass_="S3.1 S3.2 S3.3 S3.5 S3.6 S3.8",
        not_covered=FSBP_NOT_COVERED,
    ),
}


def _seed() -> None:
    world = World()
    world.account_block_public_access()
    world.seed_bucket(Bucket("acme-weights-use1"))
    world.seed_endpoint(Endpoint("r1-use1", "acme-weights-use1"))
    world.seed_endpoint(Endpoint("r1-use1-orphan", "acme-weights-use1", model_exists=False))
    eu_bucket = Bucket("acme-weights-euw1", region=EU, encryption="AES256", versioning=False, logging=False)
    world.seed_bucket(eu_bucket)
    world.seed_endpoint(
        Endpoint("r1-euw1", "acme-weights-euw1", region=EU, network_isolation=False, vpc=False)
    )


def _audit(tmp: Path, config: Path, regions: str) -> dict[str, Any]:
    reports = tmp / regions
    args: list[Any] = ["audit", "--regions", regions, "--report-dir", reports, "--config", config, "-q"]
    for framework in FRAMEWORKS:
        args += ["--compliance", framework]
    result = run_cli(*args)
    assert result.code == 1, result.stderr
    doc: dict[str, Any] = json.loads((run_folders(reports)[-1] / "audit.json").read_text())
    validate_report(doc)
    return doc


def _statuses(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        fw["id"]: {c["id"]: c["status"] for c in fw["controls"]} for fw in doc["compliance"]["frameworks"]
    }


def _control(doc: dict[str, Any], framework: str, control: str) -> dict[str, Any]:
    fw = next(f for f in doc["compliance"]["frameworks"] if f["id"] == framework)
    found: dict[str, Any] = next(c for c in fw["controls"] if c["id"] == control)
    return found


def test_two_region_world_compliance_tables_per_region_and_together(
    moto_env: MotoServer, tmp_path: Path
) -> None:
    _seed()
    config = write_config(tmp_path, ["acme-weights-use1", "acme-weights-euw1"], waivers=[WAIVER])
    catalogues = shipped_catalogues()
    for region, expected in EXPECTED.items():
        assert _statuses(_audit(tmp_path, config, region)) == expected, region
    both = _audit(tmp_path, config, f"{US},{EU}")
    assert both["audit"]["scope"]["regions"] == [US, EU]
    assert _statuses(both) == BOTH
    for fw in both["compliance"]["frameworks"]:  # every control of every catalogue, in catalogue order
        assert [c["id"] for c in fw["controls"]] == [c.id for c in catalogues[fw["id"]].controls]
    # The subjects behind a control come from both regions: eu-west-1's failures, us-east-1's errors.
    sc7 = _control(both, "nist-800-53-r5", "SC-7")
    assert sc7["counts"] == {"fail": 2, "error": 2, "waived": 0, "pass": 6, "skipped": 0}
    assert {(s["rule_id"], s["id"], s["status"]) for s in sc7["subjects"]} == {
        ("R1-EP-003", EU_ENDPOINT, "fail"),
        ("R1-EP-004", EU_ENDPOINT, "fail"),
        ("R1-EP-003", US_ORPHAN, "error"),
        ("R1-EP-004", US_ORPHAN, "error"),
    }
    s39 = _control(both, "aws-fsbp", "S3.9")
    assert s39["counts"] == {"fail": 0, "error": 0, "waived": 1, "pass": 1, "skipped": 0}
    assert [w["ticket"] for w in s39["waivers"]] == ["SEC-7"]
