"""`--format asff` validated against botocore's `AwsSecurityFinding` shape (ASFF has no official JSON
Schema) and `--format ocsf` against py-ocsf-models' event classes; stable ids; severity mapping;
compliance metadata carried into both; the 240 KB per-finding limit (shortened, never dropped)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

from conftest import ROOT, run_cli
from r1policy.core.errors import OutputError
from r1policy.engine.report import Report
from r1policy.formats import Format, RenderOptions, writers
from r1policy.formats.asff import MAX_FINDING_BYTES, Place, fit, size, to_asff
from test_formats_registry import catalogue, hostile_report, sample_report

ACCOUNT = "111122223333"
ENDPOINT_ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/r1-prod"


@pytest.fixture(autouse=True)
def _aws_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")


def _model() -> Any:
    return botocore.session.get_session().get_service_model("securityhub")


def conforms(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Every problem of `value` against a botocore shape: types, required and unknown members,
    enums, string and list lengths, recursively."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not an object"]
        problems = [f"{path}.{k}: required" for k in shape.required_members if k not in value]
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}: not a member of {shape.name}")
            else:
                problems += conforms(item, shape.members[key], f"{path}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        problems = []
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            problems.append(f"{path}: {len(value)} items, max {shape.metadata['max']}")
        for i, item in enumerate(value):
            problems += conforms(item, shape.member, f"{path}[{i}]")
        return problems
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: not a map"]
        return [p for k, v in value.items() for p in conforms(v, shape.value, f"{path}[{k}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: not a string"]
        if shape.enum and value not in shape.enum:
            return [f"{path}: {value!r} not in {shape.enum}"]
        return [f"{path}: empty"] if shape.metadata.get("min", 0) > len(value) else []
    if kind in ("integer", "long"):
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: not an integer"]
    if kind in ("double", "float"):
        return [] if isinstance(value, int | float) else [f"{path}: not a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: not a boolean"]
    return [f"{path}: unexpected shape type {kind}"]


def validate_asff(document: dict[str, Any]) -> None:
    request = _model().operation_model("BatchImportFindings").input_shape
    assert conforms(document, request) == []
    report = ParamValidator().validate(document, request)
    assert not report.has_errors(), report.generate_report()


def _asff(report: Report, show_passed: bool = True) -> dict[str, Any]:
    return json.loads(writers()[Format.ASFF](report, RenderOptions(show_passed=show_passed)))


def test_the_shape_checker_catches_wrong_documents() -> None:
    """The validator itself fails on what AWS would refuse (so the tests below can fail)."""
    finding = _asff(sample_report(Path("/x/deploy.yaml")))["Findings"][0]
    for broken in (
        {k: v for k, v in finding.items() if k != "Resources"},
        finding | {"Unknown": 1},
        finding | {"RecordState": "GONE"},
        finding | {"Resources": [{"Type": "Other"}]},
        finding | {"ProductFields": {"a": 1}},
    ):
        assert conforms({"Findings": [broken]}, _model().operation_model("BatchImportFindings").input_shape)


def test_asff_of_every_status_conforms_to_the_securityhub_shape(tmp_path: Path) -> None:
    for report in (sample_report(tmp_path / "deploy.yaml"), hostile_report(tmp_path)):
        validate_asff(_asff(report))


def test_asff_exports_exactly_the_open_waived_and_passed_findings(tmp_path: Path) -> None:
    report = sample_report(tmp_path / "deploy.yaml")
    got = {
        (f["ProductFields"]["r1policy/rule_id"], f["ProductFields"]["r1policy/status"])
        for f in _asff(report, show_passed=False)["Findings"]
    }
    assert got == {("R1-EP-001", "fail"), ("R1-S3-001", "error"), ("R1-EP-004", "fail"),
                   ("R1-EP-003", "waived"), ("R1-HUB-001", "fail")}  # fmt: skip
    passed = {f["ProductFields"]["r1policy/rule_id"] for f in _asff(report)["Findings"]}
    assert passed - {rule for rule, _ in got} == {"R1-EP-007"}  # skipped never


def test_asff_severity_status_and_place(tmp_path: Path) -> None:
    by_rule = {f["GeneratorId"]: f for f in _asff(sample_report(tmp_path / "d.yaml"))["Findings"]}
    assert {g: f["FindingProviderFields"]["Severity"]["Label"] for g, f in by_rule.items()} == {
        "r1policy/R1-EP-001": "HIGH",
        "r1policy/R1-S3-001": "HIGH",
        "r1policy/R1-EP-004": "MEDIUM",
        "r1policy/R1-EP-003": "HIGH",
        "r1policy/R1-HUB-001": "CRITICAL",
        "r1policy/R1-EP-007": "HIGH",
    }
    assert by_rule["r1policy/R1-EP-003"]["Workflow"] == {"Status": "SUPPRESSED"}
    assert by_rule["r1policy/R1-S3-001"]["Compliance"]["Status"] == "FAILED"  # error: not a pass
    assert by_rule["r1policy/R1-EP-007"]["Compliance"]["Status"] == "PASSED"
    # An ARN subject is placed in its own account and region; a file's finding in the configured ones.
    assert (by_rule["r1policy/R1-EP-004"]["AwsAccountId"], by_rule["r1policy/R1-EP-004"]["Region"]) == (
        ACCOUNT,
        "us-east-1",
    )
    assert by_rule["r1policy/R1-EP-001"]["Region"] == "eu-west-1"
    assert by_rule["r1policy/R1-S3-001"]["Resources"][0] | {"Details": None} == {
        "Type": "AwsS3Bucket",
        "Id": "arn:aws:s3:::acme-llm-weights",
        "Partition": "aws",
        "Region": "eu-west-1",
        "Details": None,
    }


def test_asff_ids_are_stable_and_distinct(tmp_path: Path) -> None:
    report = sample_report(tmp_path / "deploy.yaml")
    first = [f["Id"] for f in _asff(report)["Findings"]]
    second = [f["Id"] for f in _asff(report)["Findings"]]
    assert first == second and len(set(first)) == len(first)
    twice = Report(findings=[report.findings[0], dataclasses.replace(report.findings[0], message="other")])
    ids = [f["Id"] for f in _asff(twice)["Findings"]]
    assert len(set(ids)) == 2 and ids[1] == ids[0] + "#1"


def test_asff_carries_the_rules_compliance_controls(tmp_path: Path) -> None:
    report = sample_report(tmp_path / "deploy.yaml")
    meta = dataclasses.replace(
        catalogue()["R1-EP-001"], compliance={"nist-800-53-r5": ("CM-7",), "aws-fsbp": ("SageMaker.1",)}
    )
    report.rules = {**report.rules, "R1-EP-001": meta}
    finding = next(f for f in _asff(report)["Findings"] if f["GeneratorId"] == "r1policy/R1-EP-001")
    assert finding["Compliance"]["RelatedRequirements"] == ["aws-fsbp SageMaker.1", "nist-800-53-r5 CM-7"]
    assert finding["Compliance"]["AssociatedStandards"] == [
        {"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"},
        {"StandardsId": "r1policy/nist-800-53-r5"},
    ]


def test_a_finding_over_240_kb_is_shortened_with_a_pointer_not_dropped() -> None:
    record = {
        "rule_id": "R1-EP-001",
        "title": "t",
        "severity": "high",
        "status": "fail",
        "enforcement": "block",
        "subject": {"type": "deployment", "id": "d"},
        "message": "m",
        "references": [],
    }
    finding = to_asff(record, Place(ACCOUNT, "us-east-1"), now="2026-01-01T00:00:00Z", report_ref="r.json")
    finding["Note"] = {"Text": "x" * 400_000, "UpdatedBy": "r1policy", "UpdatedAt": "2026-01-01T00:00:00Z"}
    assert size(finding) > MAX_FINDING_BYTES
    fitted = fit(finding, "r.json")
    assert size(fitted) <= MAX_FINDING_BYTES
    assert fitted["Note"]["Text"].startswith("xxxx") and fitted["Note"]["Text"].endswith(
        "[shortened; full text in r.json]"
    )
    assert fitted["Id"] == finding["Id"]


def test_asff_without_a_configured_account_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCOUNT_ID")
    monkeypatch.setenv("AWS_ACCOUNT_ID", "12")
    with pytest.raises(OutputError, match="not a 12-digit account id"):
        _asff(sample_report(Path("/x/d.yaml")))


def test_ocsf_events_validate_as_py_ocsf_models_classes(tmp_path: Path) -> None:
    from py_ocsf_models import OCSF_VERSION
    from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    report = sample_report(tmp_path / "deploy.yaml")
    meta = dataclasses.replace(catalogue()["R1-EP-001"], compliance={"owasp-llm-2025": ("LLM03:2025",)})
    # Only R1-EP-001 names a control here (the built-in mappings would add one event per control).
    bare = {rule_id: dataclasses.replace(m, compliance={}) for rule_id, m in report.rules.items()}
    report.rules = {**bare, "R1-EP-001": meta}
    events = json.loads(writers()[Format.OCSF](report, RenderOptions(show_passed=True)))
    classes = {2004: DetectionFinding, 2003: ComplianceFinding}
    for event in events:
        model = classes[event["class_uid"]]
        # A round trip through the model keeps every attribute: nothing unknown, nothing mistyped.
        assert model.model_validate(event).model_dump(mode="json", exclude_none=True) == event
        assert event["metadata"]["version"] == OCSF_VERSION
    detections = [e for e in events if e["class_uid"] == 2004]
    assert {(e["metadata"]["event_code"], e["severity_id"], e["status_id"]) for e in detections} == {
        ("R1-EP-001", 4, 1),
        ("R1-S3-001", 4, 1),
        ("R1-EP-004", 3, 1),
        ("R1-EP-003", 4, 3),
        ("R1-HUB-001", 5, 1),
        ("R1-EP-007", 4, 4),
    }
    compliance = [e for e in events if e["class_uid"] == 2003]
    assert [(e["compliance"]["standards"], e["compliance"]["control"], e["compliance"]["status_id"])
            for e in compliance] == [(["owasp-llm-2025"], "LLM03:2025", 3)]  # fmt: skip
    assert compliance[0]["type_uid"] == 200301


def test_ocsf_and_asff_from_the_cli(tmp_path: Path) -> None:
    asff, ocsf = tmp_path / "f.asff.json", tmp_path / "f.ocsf.json"
    result = run_cli(
        "check",
        ROOT / "examples" / "block",
        "--config",
        ROOT / "examples" / "r1policy.yaml",
        "--static",
        *("--format", "asff", "--output", asff, "--format", "ocsf", "--output", ocsf),
    )
    assert result.code == 1, result.stderr
    validate_asff(json.loads(asff.read_text()))
    assert {e["class_uid"] for e in json.loads(ocsf.read_text())} <= {2003, 2004}
