"""SARIF 2.1.0: validated against the OASIS schema, plus what GitHub code scanning needs on top."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from conftest import EXAMPLES, ROOT, SHARED, run_cli
from r1policy.core.findings import Enforcement, Location, Severity
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.common import level
from r1policy.formats.sarif import ANCHOR, FINGERPRINT_KEY, SRCROOT, render
from test_formats_registry import ARN, hostile_report, sample_findings, sample_report

SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"


def validate(doc: dict[str, Any]) -> None:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"{SARIF_SCHEMA} is absent (the OASIS schema ships in ../shared, not in the project)")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def sarif(report: Report, root: Path, *, show_passed: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render(report, RenderOptions(show_passed=show_passed, root=root)))
    validate(doc)
    return doc


def _results(doc: dict[str, Any]) -> set[tuple[str, str, str, bool]]:
    """(ruleId, kind, level, suppressed) of every result."""
    return {
        (r["ruleId"], r["kind"], r["level"], bool(r.get("suppressions"))) for r in doc["runs"][0]["results"]
    }


def test_sample_report_validates_and_maps_every_status(tmp_path: Path) -> None:
    doc = sarif(sample_report(tmp_path / "deploy" / "r1.yaml"), tmp_path)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    assert _results(doc) == {
        ("R1-EP-001", "fail", "error", False),  # fail, block
        ("R1-S3-001", "fail", "error", False),  # error (could not evaluate) blocks like a fail
        ("R1-EP-004", "fail", "warning", False),  # fail, warn
        ("R1-EP-003", "fail", "error", True),  # waived: a suppressed result, not dropped
        ("R1-HUB-001", "fail", "note", False),  # fail, enforcement off
    }
    run = doc["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    skipped = [n for n in notes if n.get("properties", {}).get("status") == "skipped"]
    assert [n["associatedRule"]["id"] for n in skipped] == ["R1-S3-006"]
    assert any("expired" in n["message"]["text"] for n in notes)


def test_passes_are_results_only_with_show_passed(tmp_path: Path) -> None:
    doc = sarif(sample_report(tmp_path / "r1.yaml"), tmp_path, show_passed=True)
    assert ("R1-EP-007", "pass", "none", False) in _results(doc)


def test_driver_describes_every_rule_as_github_expects(tmp_path: Path) -> None:
    doc = sarif(sample_report(tmp_path / "r1.yaml"), tmp_path)
    driver = doc["runs"][0]["tool"]["driver"]
    assert (
        driver["name"] == "r1policy" and driver["version"] and driver["informationUri"].startswith("https://")
    )
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert {"R1-EP-001", "R1-S3-001", "R1-HUB-001"} <= set(ids)
    for rule in rules:
        assert rule["name"].isidentifier(), rule["name"]
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "How to fix" in rule["help"]["text"]
        assert "## How to fix" in rule["help"]["markdown"] and "## Why" in rule["help"]["markdown"]
        severity = rule["properties"]["security-severity"]
        assert isinstance(severity, str) and 0.0 <= float(severity) <= 10.0
        assert "security" in rule["properties"]["tags"]
    by_id = {r["id"]: r for r in rules}
    # GitHub: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 3.9 or less low.
    assert float(by_id["R1-HUB-003"]["properties"]["security-severity"]) > 9.0  # critical
    assert 7.0 <= float(by_id["R1-EP-001"]["properties"]["security-severity"]) < 9.0  # high
    assert 4.0 <= float(by_id["R1-S3-004"]["properties"]["security-severity"]) < 7.0  # medium
    assert float(by_id["R1-S3-007"]["properties"]["security-severity"]) <= 3.9  # low
    for result in doc["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_rules_missing_from_the_catalogue_are_described_from_findings(tmp_path: Path) -> None:
    doc = sarif(sample_report(tmp_path / "r1.yaml", with_rules=False), tmp_path)
    ids = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert ids == {f.rule_id for f in sample_findings(tmp_path / "r1.yaml")}


def test_locations_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    doc = sarif(sample_report(tmp_path / "deploy" / "r1 ü.yaml"), tmp_path)
    run = doc["runs"][0]
    assert run["originalUriBaseIds"][SRCROOT]["uri"] == tmp_path.resolve().as_uri() + "/"
    by_rule = {r["ruleId"]: r for r in run["results"]}
    physical = by_rule["R1-EP-001"]["locations"][0]["physicalLocation"]
    uri = physical["artifactLocation"]["uri"]
    assert physical["artifactLocation"]["uriBaseId"] == SRCROOT
    assert uri == "deploy/r1%20%C3%BC.yaml" and unquote(uri) == "deploy/r1 ü.yaml"
    assert not urlsplit(uri).scheme
    assert physical["region"] == {"startLine": 16, "startColumn": 20}
    # A live resource has no file: its subject is the logical location, and (because GitHub rejects
    # results without a physical location) it is anchored to the config file, without a region.
    live = by_rule["R1-EP-004"]["locations"][0]
    assert live["physicalLocation"] == {"artifactLocation": {"uri": ANCHOR, "uriBaseId": SRCROOT}}
    assert live["logicalLocations"][0]["fullyQualifiedName"] == ARN
    for result in run["results"]:  # what GitHub code scanning insists on
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"]
    assert by_rule["R1-HUB-001"]["locations"][0]["logicalLocations"][0]["name"].startswith("hf://")


def test_waived_result_carries_the_waiver_as_suppression(tmp_path: Path) -> None:
    doc = sarif(sample_report(tmp_path / "r1.yaml"), tmp_path)
    (waived,) = [r for r in doc["runs"][0]["results"] if r.get("suppressions")]
    (suppression,) = waived["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["justification"] == "dev sandbox, no VPC"
    assert suppression["properties"] == {"owner": "ml-platform", "expires": "2099-12-31", "ticket": "SEC-123"}


def test_fingerprints_survive_line_moves_and_separate_subjects(tmp_path: Path) -> None:
    manifest = tmp_path / "r1.yaml"
    findings = sample_findings(manifest)
    moved = [
        type(f)(**{**f.__dict__, "location": Location(f.location.path, (f.location.line or 0) + 40, 1)})
        if f.location
        else f
        for f in findings
    ]

    def prints(fs: list[Any]) -> dict[str, str]:
        doc = sarif(Report(findings=fs), tmp_path)
        return {r["ruleId"]: r["partialFingerprints"][FINGERPRINT_KEY] for r in doc["runs"][0]["results"]}

    before, after = prints(findings), prints(moved)
    assert before == after
    assert len(set(before.values())) == len(before)


def test_hostile_text_still_validates(tmp_path: Path) -> None:
    sarif(hostile_report(tmp_path), tmp_path, show_passed=True)


def test_check_writes_valid_sarif_with_repository_relative_paths(tmp_path: Path) -> None:
    out = tmp_path / "out" / "r1policy.sarif"
    result = run_cli(
        "check",
        EXAMPLES / "block",
        "--config",
        EXAMPLES / "r1policy.yaml",
        "--static",  # offline: only the files decide
        "--format",
        "sarif",
        "--output",
        out,
        cwd=ROOT,
    )
    assert result.code == 1, result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in doc["runs"][0]["results"]
        if "region" in r["locations"][0]["physicalLocation"]
    }
    assert uris and all(u.startswith("examples/block/") for u in uris), uris
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} >= {"R1-EP-001", "R1-EP-007", "R1-HUB-003"}
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any(n["associatedRule"]["id"] == "R1-S3-001" for n in notes if "associatedRule" in n)  # skipped
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in doc["runs"][0]["results"]]
    assert len(prints) == len(set(prints))  # R1-EP-007 reports one image twice (two reasons)


def test_level_combines_severity_and_enforcement() -> None:
    assert {s: level(s, Enforcement.BLOCK) for s in Severity} == dict.fromkeys(Severity, "error")
    assert [level(s, Enforcement.WARN) for s in Severity] == ["warning", "warning", "warning", "note", "note"]
    assert {level(s, Enforcement.OFF) for s in Severity} == {"note"}
