"""Compliance reporting (SPEC 8.5): catalogues read from the frameworks' sources, every rule mapped to
controls that exist, custom catalogues checked against the run (exit 2, file:line), and the per-control
table of an audit of a moto world with violating, clean, waived and orphaned deployments."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.support.motoserver import MotoServer

from conftest import ROOT, run_cli, validate_report
from r1policy.audit.history import run_folders
from r1policy.rules.catalogue import shipped_catalogues
from r1policy.rules.registry import load_registry

FRAMEWORKS = ("owasp-llm-2025", "mitre-atlas", "nist-800-53-r5", "aws-fsbp")


def _seed_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "seed_world_compliance", ROOT / "examples" / "aws-demo" / "seed_world.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


seed_world = _seed_module()


def _config(tmp: Path, extra: str = "") -> Path:
    text = Path(seed_world.CONFIG).read_text(encoding="utf-8")
    path = tmp / "r1policy.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


WAIVER = """waivers:
  - rule: R1-S3-007
    subject: s3://acme-scratch
    reason: scratch bucket, access logs go to the central trail
    owner: platform-team
    expires: 2099-01-01
    ticket: SEC-42
"""


def _audit(tmp: Path, *frameworks: str) -> dict[str, Any]:
    reports = tmp / "reports"
    args: list[Any] = ["audit", "--regions", seed_world.REGION, "--report-dir", reports]
    args += ["--config", _config(tmp, WAIVER)]
    for f in frameworks:
        args += ["--compliance", f]
    result = run_cli(*args)
    assert result.code == 1, result.stderr
    folder = run_folders(reports)[-1]
    doc: dict[str, Any] = json.loads((folder / "audit.json").read_text())
    validate_report(doc)
    doc["_md"] = (folder / "audit.md").read_text()
    doc["_html"] = (folder / "audit.html").read_text()
    return doc


def _statuses(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        fw["id"]: {c["id"]: c["status"] for c in fw["controls"]} for fw in doc["compliance"]["frameworks"]
    }


def _table(**by_status: str) -> dict[str, str]:
    """A framework's expected table: every control, grouped by status (`_` for a space; `pass_`)."""
    out: dict[str, str] = {}
    for status, ids in by_status.items():
        for control in ids.split():
            out[control] = status.rstrip("_").replace("_", " ")
    return out


FSBP_NOT_COVERED = "IAM.2 IAM.3 IAM.4 IAM.5 IAM.6 IAM.7 IAM.8 KMS.1 KMS.2 KMS.3 KMS.5 " + (
    "S3.12 S3.13 S3.19 S3.24 S3.25 SageMaker.1 SageMaker.2 SageMaker.3 SageMaker.4 SageMaker.8"
)
OWASP_NOT_COVERED = "LLM01:2025 LLM05:2025 LLM07:2025 LLM08:2025 LLM09:2025 LLM10:2025"
ATLAS_NOT_COVERED = (
    "AML.T0010.000 AML.T0010.002 AML.T0010.005 AML.T0011 AML.T0011.001 AML.T0011.002 AML.T0011.003 "
    "AML.T0018.000 AML.T0018.001 AML.T0019 AML.T0020 AML.T0024 AML.T0076"
)
# The artifact rules are judged by `scan`, never by an audit: their controls are not evaluated.
ATLAS_ARTIFACT_ONLY = "AML.T0011.000 AML.T0018.002 AML.T0055"
NIST_ARTIFACT_ONLY = "CM-14 IA-5 SI-3 SI-10"

# R1-S3-009 (no writer outside the owning account) passes for both buckets: S3.6 passes. R1-S3-011 (no key
# user outside the account) passes for both: SC-12 passes. R1-S3-010 fails for acme-scratch (no data
# events): AU-2, AU-12 (no longer only the waived R1-S3-007) and AML.T0018 fail. The execution role is
# read-only, but r1-orphan's model (and so its role) is gone: R1-IAM-001/002 err there, so LLM06, IAM.1
# and IAM.21 are errors, and once the rest is repaired AML.T0018 and AC-6 are errors too.
# The demo world (examples/aws-demo/seed_world.py): r1-distill-llama-8b compliant (R1-EP-009 warns),
# r1-scratch violating on every count (its bucket's missing access logging waived), r1-orphan whose
# model is gone (every rule that needs it errs). Derived from the findings tests/test_audit_live.py pins.
VIOLATING = {
    "owasp-llm-2025": _table(
        fail="LLM02:2025 LLM03:2025 LLM04:2025", error="LLM06:2025", not_covered=OWASP_NOT_COVERED
    ),
    "mitre-atlas": _table(
        fail="AML.T0010.001 AML.T0010.003 AML.T0010.004 AML.T0018 AML.T0025 AML.T0035",
        error="AML.T0010 AML.T0058 AML.T0074",
        not_evaluated=ATLAS_ARTIFACT_ONLY,
        not_covered=ATLAS_NOT_COVERED,
    ),
    "nist-800-53-r5": _table(
        fail="AC-3 AC-4 AC-6 AU-2 AU-12 CM-2 CP-9 SA-22 SC-7 SC-8 SC-13 SC-28 SI-7 SR-3 SR-4 SR-11",
        error="CM-7 RA-5 SI-2",
        pass_="SC-12",
        not_evaluated=NIST_ARTIFACT_ONLY,
        not_covered="CM-8",
    ),
    "aws-fsbp": _table(
        fail="S3.1 S3.2 S3.3 S3.5 S3.8 SageMaker.5",
        error="IAM.1 IAM.21",
        waived="S3.9",
        pass_="S3.6",
        not_covered=FSBP_NOT_COVERED,
    ),
}
# The same world with r1-scratch repaired: the bucket controls pass; the orphan still errs.
REPAIRED = {
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
}


def test_audit_compliance_tables_of_violating_and_repaired_worlds(
    moto_env: MotoServer, tmp_path: Path
) -> None:
    seed_world.seed()
    doc = _audit(tmp_path, *FRAMEWORKS)
    assert [fw["id"] for fw in doc["compliance"]["frameworks"]] == list(FRAMEWORKS)
    assert _statuses(doc) == VIOLATING
    # every control of every catalogue is listed, in catalogue order
    catalogues = shipped_catalogues()
    for fw in doc["compliance"]["frameworks"]:
        assert [c["id"] for c in fw["controls"]] == [c.id for c in catalogues[fw["id"]].controls]
    nist = {c["id"]: c for c in doc["compliance"]["frameworks"][2]["controls"]}
    assert nist["AU-12"]["waivers"] == [
        {
            "rule_id": "R1-S3-007",
            "subject": "s3://acme-scratch",
            "owner": "platform-team",
            "reason": "scratch bucket, access logs go to the central trail",
            "expires": "2099-01-01",
            "ticket": "SEC-42",
        }
    ]
    assert nist["SC-8"]["subjects"] == [
        {"rule_id": "R1-S3-004", "type": "bucket", "id": "s3://acme-scratch", "status": "fail"}
    ]
    assert nist["SC-8"]["counts"] == {"fail": 1, "error": 0, "waived": 0, "pass": 1, "skipped": 0}
    assert nist["CM-8"] == {
        "id": "CM-8",
        "title": "System Component Inventory",
        "status": "not covered",
        "rules": [],
        "counts": {"fail": 0, "error": 0, "waived": 0, "pass": 0, "skipped": 0},
        "subjects": [],
    }
    md, html = doc["_md"], doc["_html"]
    assert "## Compliance" in md and "### OWASP Top 10 for LLM Applications (owasp-llm-2025 2025)" in md
    s39 = "| S3.9 | S3 general purpose buckets should have server access logging enabled | WAIVED | R1-S3-007"
    assert s39 in md
    assert "| CM-8 | System Component Inventory | NOT COVERED |  |" in md
    assert '<tr data-control="AML.T0074" data-status="error">' in html
    assert html.count("<tr data-control=") == sum(len(t) for t in VIOLATING.values())

    moto_env.reset()
    seed_world.seed(fixed=True)
    repaired = _audit(tmp_path, *FRAMEWORKS)
    assert _statuses(repaired) == REPAIRED
    s35 = [line for line in repaired["_md"].splitlines() if line.startswith("| S3.5 |")]
    assert s35 == [
        "| S3.5 | S3 general purpose buckets should require requests to use SSL | PASS | R1-S3-004 "
        "| 1 finding passed |"
    ]


def test_without_compliance_the_report_has_no_section(tmp_path: Path) -> None:
    result = run_cli("check", ROOT / "examples" / "block", "--static", "--format", "json")
    assert "compliance" not in result.json


def test_every_catalogue_names_its_source_and_every_mapped_control_exists() -> None:
    catalogues = shipped_catalogues()
    assert set(catalogues) == set(FRAMEWORKS)
    for catalogue in catalogues.values():
        assert catalogue.sources and all(s.startswith("https://") for s in catalogue.sources)
        assert catalogue.scope and catalogue.controls
    rules = load_registry([]).rules
    for rule in rules.values():
        assert rule.compliance, f"{rule.id} maps to no control"
        for framework, controls in rule.compliance.items():
            assert set(controls) <= catalogues[framework].control_ids, (rule.id, framework)
    # spot checks against the frameworks' texts
    titles = {(k, c.id): c.title for k, cat in catalogues.items() for c in cat.controls}
    assert titles["owasp-llm-2025", "LLM03:2025"] == "Supply Chain"
    assert titles["owasp-llm-2025", "LLM04:2025"] == "Data and Model Poisoning"
    assert titles["mitre-atlas", "AML.T0010"] == "AI Supply Chain Compromise"
    assert titles["mitre-atlas", "AML.T0011.000"] == "Unsafe AI Artifacts"
    assert titles["nist-800-53-r5", "SR-4"] == "Provenance"
    assert titles["aws-fsbp", "S3.8"] == "S3 general purpose buckets should block public access"
    assert titles["aws-fsbp", "SageMaker.5"] == "SageMaker models should have network isolation enabled"
    assert titles["aws-fsbp", "SageMaker.1"] == (
        "Amazon SageMaker notebook instances should not have direct internet access"
    )
    # FSBP as AWS lists it today: S3.4, S3.10 and S3.11 left the standard, S3.17 and KMS.4 are not in it
    assert not {"S3.4", "S3.10", "S3.11", "S3.17", "KMS.4"} & catalogues["aws-fsbp"].control_ids
    # a Security Hub control a rule names as its equivalent counts for FSBP once the standard lists it
    fsbp = catalogues["aws-fsbp"].control_ids
    for rule in rules.values():
        named = set(rule.equivalents.get("securityhub", ())) & fsbp
        assert named <= set(rule.compliance.get("aws-fsbp", ())), (rule.id, named)


def test_a_rule_naming_an_unknown_control_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "R1-EP-003"
    folder.mkdir()
    source = (ROOT / "policies" / "R1-EP-003").iterdir()
    for f in source:
        (folder / f.name).write_bytes(f.read_bytes()) if f.is_file() else None
    meta = folder / "rule.yaml"
    meta.write_text(meta.read_text().replace("aws-fsbp: [SageMaker.5]", "aws-fsbp: [S3.99]"))
    from r1policy.core.errors import PolicyLoadError
    from r1policy.rules.metadata import load_metadata

    with pytest.raises(PolicyLoadError, match=r"S3\.99"):
        load_metadata(meta, builtin=True)


ACME = """id: acme-ml
name: ACME ML controls
version: "2026.1"
sources: [https://wiki.acme.example/ml-controls]
scope: every ACME ML control
controls:
  - {id: ACME-1, title: Model containers cannot reach the internet}
  - {id: ACME-2, title: Prompts are logged}
  - {id: ACME-3, title: No secrets in model artifacts}
mapping:
  ACME-1: [R1-EP-003]
  ACME-3: [R1-ART-003]
"""


def _custom(tmp: Path, catalogue: str, name: str = "acme-ml-controls.yaml") -> Path:
    (tmp / "controls").mkdir(exist_ok=True)
    (tmp / "controls" / name).write_text(catalogue, encoding="utf-8")
    config = tmp / "r1policy.yaml"
    config.write_text(f"compliance: [controls/{name}]\n", encoding="utf-8")
    return config


def test_custom_framework_is_listed_and_reported(tmp_path: Path) -> None:
    config = _custom(tmp_path, ACME)
    listing = run_cli("compliance", "list", "--config", config)
    assert listing.code == 0, listing.stderr
    assert "acme-ml" in listing.stdout and "custom" in listing.stdout and "2026.1" in listing.stdout
    result = run_cli(
        "check",
        ROOT / "examples" / "block",
        "--static",
        "--config",
        config,
        "--compliance",
        "acme-ml",
        "--format",
        "json",
    )
    (fw,) = result.json["compliance"]["frameworks"]
    assert fw["custom"] is True
    assert {c["id"]: c["status"] for c in fw["controls"]} == {
        "ACME-1": "fail",  # R1-EP-003 fails for r1-quick-test
        "ACME-2": "not covered",
        "ACME-3": "not evaluated",  # an artifact rule: `check` does not judge it
    }


@pytest.mark.parametrize(
    ("catalogue", "line", "message"),
    [
        (ACME.replace("[R1-ART-003]", "[R1-ART-999]"), 12, "unknown rule 'R1-ART-999'"),
        (ACME.replace("  ACME-3: [R1", "  ACME-9: [R1"), 12, "control 'ACME-9'"),
        (ACME.replace("id: acme-ml", "id: aws-fsbp"), 1, "already defined"),
        (ACME.replace("sources: [https://wiki.acme.example/ml-controls]\n", ""), 1, "sources"),
        (ACME.replace("ACME-2, title", "ACME-1, title"), 8, "listed twice"),
        (ACME.replace("  ACME-1: [R1-EP-003]", "  ACME-1: R1-EP-003"), 11, "expected array"),
    ],
    ids=["unknown-rule", "unknown-control", "taken-id", "no-source", "duplicate-control", "not-a-list"],
)
def test_custom_framework_bad_input_exits_2_naming_file_and_line(
    tmp_path: Path, catalogue: str, line: int, message: str
) -> None:
    config = _custom(tmp_path, catalogue)
    for args in (("compliance", "list"), ("check", str(ROOT / "examples" / "block"), "--static")):
        result = run_cli(*args, "--config", config)
        assert result.code == 2, result.stderr
        assert f"acme-ml-controls.yaml:{line}" in result.stderr, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_a_missing_custom_catalogue_names_the_config_line(tmp_path: Path) -> None:
    config = tmp_path / "r1policy.yaml"
    config.write_text("trusted_publishers: [deepseek-ai]\ncompliance:\n  - controls/missing.yaml\n")
    result = run_cli("compliance", "list", "--config", config)
    assert result.code == 2
    assert "r1policy.yaml:3" in result.stderr and "missing.yaml" in result.stderr


def test_an_unknown_framework_is_a_usage_error() -> None:
    result = run_cli("check", ROOT / "examples" / "block", "--static", "--compliance", "iso-42001")
    assert result.code == 2 and "iso-42001" in result.stderr and "owasp-llm-2025" in result.stderr


def test_the_report_schema_refuses_a_malformed_compliance_section() -> None:
    import jsonschema

    result = run_cli(
        "check", ROOT / "examples" / "block", "--static", "--compliance", "aws-fsbp", "--format", "json"
    )
    doc = result.json
    validate_report(doc)
    bad = json.loads(json.dumps(doc))
    control = bad["compliance"]["frameworks"][0]["controls"][0]
    control["status"] = "passed"
    with pytest.raises(jsonschema.ValidationError):
        validate_report(bad)
    bad = json.loads(json.dumps(doc))
    uncovered = next(
        c for c in bad["compliance"]["frameworks"][0]["controls"] if c["status"] == "not covered"
    )
    uncovered["rules"] = ["R1-S3-001"]  # a "not covered" control names no rule
    with pytest.raises(jsonschema.ValidationError):
        validate_report(bad)


@pytest.mark.parametrize(
    ("rules", "statuses", "expected"),
    [
        ((), ("pass",), "not covered"),  # findings of no supporting rule never make a control pass
        (("R1-X-1",), (), "not evaluated"),
        (("R1-X-1",), ("skipped", "skipped"), "not evaluated"),
        (("R1-X-1",), ("pass", "skipped"), "pass"),
        (("R1-X-1",), ("pass", "waived"), "waived"),
        (("R1-X-1",), ("waived", "error", "pass"), "error"),
        (("R1-X-1",), ("error", "fail", "waived"), "fail"),
    ],
)
def test_control_status_precedence(rules: tuple[str, ...], statuses: tuple[str, ...], expected: str) -> None:
    from r1policy.compliance.section import control_status
    from r1policy.core.findings import Status

    assert control_status(rules, (Status(s) for s in statuses)) == expected
