"""Markdown PR comment: collapsible sections per subject, escaped cells, GitHub's size limit."""

from __future__ import annotations

import re
from pathlib import Path

from r1policy.core.findings import (
    Enforcement,
    Finding,
    Location,
    Remediation,
    Severity,
    Status,
    Subject,
    SubjectType,
)
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions
from r1policy.formats.markdown import COMMENT_LIMIT, MARKER, render, size
from test_formats_registry import ARN, sample_report


def _fail(i: int, message: str, subject: str) -> Finding:
    return Finding.create(
        rule_id=f"R1-EP-{i % 7 + 1:03d}",
        title="Ünïcödé title",
        severity=Severity.HIGH,
        status=Status.FAIL,
        enforcement=Enforcement.BLOCK,
        subject=Subject(SubjectType.DEPLOYMENT, subject),
        message=message,
        location=Location("deploy/r1.yaml", i + 1, 1),
        remediation=Remediation("Fix it.", ("Do it 😀.",)),
    )


def test_sections_per_subject_with_blocking_ones_open(tmp_path: Path) -> None:
    text = render(sample_report(tmp_path / "deploy" / "r1.yaml"), RenderOptions(root=tmp_path))
    assert text.startswith(MARKER)
    assert "r1policy check: BLOCK" in text
    sections = re.findall(r"<details( open)?>\n<summary><b>(.*?)</b>", text)
    assert sections == [
        (" open", "bucket s3://acme-llm-weights"),
        (" open", "deployment r1-prod"),
        ("", f"endpoint {ARN}"),
        ("", "model hf://deepseek-ai/DeepSeek-R1@main"),
    ]
    assert text.count("<details") == text.count("</details>")
    assert "deploy/r1.yaml:16" in text
    assert "waived by ml-platform, SEC-123 until 2099-12-31" in text
    assert "Truncated" not in text
    assert "- R1-S3-006 for s3://acme-llm-weights: --static: the bucket's region is live state" in text


def test_cells_are_escaped() -> None:
    finding = _fail(0, "a | b <script>alert(1)</script> & c\nnew row | x", "d|<img src=x>")
    text = render(Report([finding]), RenderOptions())
    assert "<script>" not in text and "<img" not in text
    assert "a \\| b &lt;script&gt;alert(1)&lt;/script&gt; &amp; c new row \\| x" in text
    row = next(line for line in text.splitlines() if line.startswith("| fail (BLOCK) | high | R1-EP-001 | a"))
    assert len(re.split(r"(?<!\\)\|", row)) == 6 + 2  # six cells between the outer pipes


def test_a_huge_report_stays_under_the_comment_limit_and_says_so() -> None:
    findings = [_fail(i, f"message {i} 😀 " + "x" * 3_000, f"dépl-{i // 10:03d}") for i in range(600)]
    text = render(Report(findings), RenderOptions())
    assert size(text) <= COMMENT_LIMIT
    assert text.count("<details") == text.count("</details>")
    note = re.search(r"\*\*Truncated:\*\* (\d+) more findings in (\d+) subjects", text)
    assert note is not None
    shown_rows = len(re.findall(r"^\| fail \(BLOCK\) \| high \| R1-EP-\d{3} \| message", text, re.M))
    assert shown_rows + int(note.group(1)) == 600
    assert 0 < int(note.group(2)) <= 60
    assert "[truncated, " in text  # a 3,000-character message is cut inside its cell


def test_one_subject_with_too_many_findings_is_cut_inside_its_section() -> None:
    findings = [_fail(i, "y" * 900, "one-subject") for i in range(200)]
    text = render(Report(findings), RenderOptions(), limit=20_000)
    assert size(text) <= 20_000
    assert text.count("<details") == 1 == text.count("</details>")
    assert "more findings in 1 subjects" in text
