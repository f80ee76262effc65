"""JUnit XML, read back by a standard JUnit parser (junitparser) and by xml.etree."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped

from conftest import EXAMPLES, run_cli
from r1policy.formats import RenderOptions
from r1policy.formats.junit import render
from test_formats_registry import ARN, hostile_report, sample_report


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_one_testcase_per_rule_and_subject_with_mapped_outcomes(tmp_path: Path) -> None:
    report = sample_report(tmp_path / "deploy" / "r1.yaml")
    xml = JUnitXml.fromfile(str(_write(tmp_path, render(report, RenderOptions(root=tmp_path)))))
    outcomes: dict[tuple[str, str], str] = {}
    for suite in xml:
        for case in suite:
            kinds = {type(r).__name__ for r in case.result}
            outcome = "pass" if not kinds else kinds.pop()
            outcomes[(suite.name, case.name.split(":")[0])] = outcome
    assert outcomes == {
        ("deployment r1-prod", "R1-EP-001"): "Failure",
        ("deployment r1-prod", "R1-EP-007"): "pass",
        ("bucket s3://acme-llm-weights", "R1-S3-001"): "Error",
        ("bucket s3://acme-llm-weights", "R1-S3-006"): "Skipped",
        (f"endpoint {ARN}", "R1-EP-004"): "Failure",
        (f"endpoint {ARN}", "R1-EP-003"): "Skipped",
        ("model hf://deepseek-ai/DeepSeek-R1@main", "R1-HUB-001"): "Failure",
    }
    totals = (xml.tests, xml.failures, xml.errors, xml.skipped)
    assert totals == (7, 3, 1, 2)


def test_failure_carries_message_type_and_fix(tmp_path: Path) -> None:
    report = sample_report(tmp_path / "r1.yaml")
    xml = JUnitXml.fromfile(str(_write(tmp_path, render(report, RenderOptions(root=tmp_path)))))
    results = {case.name.split(":")[0]: case.result for suite in xml for case in suite}
    (failure,) = results["R1-EP-001"]
    assert isinstance(failure, Failure)
    assert failure.message.startswith("[high] Endpoint r1-prod uses ml.p5.48xlarge")
    assert failure.type == "R1-EP-001 block"
    assert "How to fix" in (failure.text or "") and "r1.yaml:16" in (failure.text or "")
    (error,) = results["R1-S3-001"]
    assert isinstance(error, Error)
    (waived,) = results["R1-EP-003"]
    assert isinstance(waived, Skipped)
    assert waived.message == "waived: waived by ml-platform, SEC-123 until 2099-12-31: dev sandbox, no VPC"


def test_plain_elementtree_reads_it_and_counts_add_up(tmp_path: Path) -> None:
    text = render(hostile_report(tmp_path), RenderOptions(root=tmp_path, show_passed=True))
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert int(root.get("tests", "-1")) == len(cases) == 5
    for suite in root.findall("testsuite"):
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
    JUnitXml.fromfile(str(_write(tmp_path, text)))


def test_check_writes_junit(tmp_path: Path) -> None:
    out = tmp_path / "results" / "junit.xml"
    result = run_cli(
        "check",
        EXAMPLES / "block",
        "--config",
        EXAMPLES / "r1policy.yaml",
        "--static",  # offline: only the files decide
        "--format",
        "junit",
        "--output",
        out,
    )
    assert result.code == 1, result.stderr
    xml = JUnitXml.fromfile(str(out))
    assert xml.failures > 0 and xml.tests >= xml.failures + xml.errors + xml.skipped


def test_testcase_names_are_unique_within_a_suite(tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    result = run_cli(
        "check",
        EXAMPLES / "block",
        "--config",
        EXAMPLES / "r1policy.yaml",
        "--static",
        "--format",
        "junit",
        "--output",
        out,
    )
    assert result.code == 1, result.stderr
    for suite in ET.parse(out).getroot().findall("testsuite"):
        names = [case.get("name") for case in suite.findall("testcase")]
        assert len(names) == len(set(names)), names
