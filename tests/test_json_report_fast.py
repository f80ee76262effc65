"""The large JSON report (more than 1,000 findings, one finding per line) is built from encoded parts
cached per report (issue 23 item 2): each line must be exactly what the C encoder makes of the finding's
JSON dict, and the whole text exactly what encoding the document field by field gives, whatever the
strings (quotes, backslashes, controls, non-ASCII, lone surrogates), numbers and optional parts, and
however the findings share their Remediation, Location and reference objects."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from r1policy.core.findings import (
    Enforcement,
    Finding,
    Location,
    Remediation,
    Severity,
    Status,
    Subject,
    SubjectType,
    WaiverRef,
)
from r1policy.engine.evaluate import Notice
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions, json_v1
from r1policy.sources.walk import Skipped

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode

TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet='a"\\\n\t\x00\x1f\x7f\u2028é×✓\U0001f600\ud83d/', max_size=8),
    st.sampled_from(["", " ", "null", "s3://acme/x", "hf_api", "AKIAIOSFODNN7EXAMPLE"]),
)
NUMBER = st.one_of(st.none(), st.integers(min_value=-(10**12), max_value=10**12))
OPTIONAL_TEXT = st.one_of(st.none(), TEXT)

LOCATIONS = st.builds(Location, TEXT, NUMBER, NUMBER, NUMBER)
REMEDIATIONS = st.builds(
    Remediation, TEXT, st.lists(TEXT, max_size=3).map(tuple), OPTIONAL_TEXT, OPTIONAL_TEXT, OPTIONAL_TEXT
)
WAIVERS = st.builds(WaiverRef, TEXT, TEXT, st.dates(min_value=dt.date(1, 1, 1)), OPTIONAL_TEXT)


@st.composite
def findings(draw: st.DrawFn) -> list[Finding]:
    """Findings drawn from small pools of shared objects, as a run shares them (one Remediation object
    for many findings, one references tuple per rule), and fresh objects equal to pooled ones."""
    locations = draw(st.lists(LOCATIONS, min_size=1, max_size=3))
    remediations = draw(st.lists(REMEDIATIONS, min_size=1, max_size=3))
    references = draw(st.lists(st.lists(TEXT, max_size=3).map(tuple), min_size=1, max_size=2))
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        location = draw(st.one_of(st.none(), st.sampled_from(locations), LOCATIONS))
        if location is not None and draw(st.booleans()):
            location = Location(location.path, location.line, location.column, location.cell)  # equal, new
        out.append(
            Finding(
                rule_id=draw(st.sampled_from(["R1-EP-001", "R1-S3-002"])),
                title=draw(st.sampled_from(["Title", 'Title "quoted" ×'])),
                severity=draw(st.sampled_from(list(Severity))),
                status=draw(st.sampled_from(list(Status))),
                enforcement=draw(st.sampled_from(list(Enforcement))),
                subject=Subject(draw(st.sampled_from(list(SubjectType))), draw(TEXT)),
                message=draw(TEXT),
                location=location,
                remediation=draw(st.one_of(st.none(), st.sampled_from(remediations), REMEDIATIONS)),
                references=draw(st.sampled_from(references)),
                waiver=draw(st.one_of(st.none(), WAIVERS)),
                expired_waiver=draw(st.one_of(st.none(), WAIVERS)),
                deployment=draw(OPTIONAL_TEXT),
            )
        )
    return out


@settings(max_examples=400, deadline=None)
@given(findings())
def test_each_line_is_the_c_encoding_of_the_finding(found: list[Finding]) -> None:
    parts = json_v1._Parts()
    for f in found * 2:  # the second time from the caches
        out: list[bytes] = []
        parts.add(f, out)
        assert b"".join(out).decode("utf-8") == _ENCODE(json_v1.finding_to_json(f))


def _reference(doc: dict[str, Any]) -> str:
    """The one-finding-per-line text as it was built before (every finding's dict through the encoder)."""
    fields = []
    for key, value in doc.items():
        if key == "findings":
            body = ",\n    ".join(map(_ENCODE, value))
            fields.append(f'  "findings": [\n    {body}\n  ]' if value else '  "findings": []')
        else:
            fields.append(f"  {_ENCODE(key)}: {_ENCODE(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


@settings(max_examples=15, deadline=None)
@given(findings(), st.lists(TEXT, max_size=2), st.booleans(), st.booleans())
def test_the_large_report_is_the_same_text_as_encoding_its_document(
    found: list[Finding], texts: list[str], show_passed: bool, compliance: bool
) -> None:
    report = Report(
        (found * (1 + json_v1.INDENTED_MAX_FINDINGS // len(found)))[: json_v1.INDENTED_MAX_FINDINGS + 1],
        notices=[Notice("note", t, Location(t, 1, None) if i else None) for i, t in enumerate(texts)],
        inputs=texts,
        skipped=[Skipped(t, "why") for t in texts],
    )
    if compliance:
        report.compliance = [{"id": "x", "controls": [{"id": t} for t in texts]}]
    options = RenderOptions(show_passed=show_passed)
    doc = json_v1.report_to_json(report, options)
    text = json_v1.render(report, options)
    if len(doc["findings"]) > json_v1.INDENTED_MAX_FINDINGS:
        # A lone surrogate that is not a finding's (redaction makes those printable) is written as its
        # JSON escape: the same document.
        assert text == _escaped(_reference(doc))
    else:
        assert text == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    assert b"".join(json_v1.render_encoded(report, options)) == _escaped(text).encode("utf-8")


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def test_a_report_without_findings_in_the_line_form() -> None:
    report = Report([], notices=[Notice("note", "n")], inputs=["a.yaml"])
    doc = json_v1._document(report, [])
    parts = json_v1._compact_parts(doc, json_v1._Parts())
    text = b"".join(parts).decode("utf-8")
    assert text == _reference(json_v1.report_to_json(report, RenderOptions()))


def _failing(count: int) -> list[Finding]:
    """`count` failing findings, each with its own subject, line and step; some messages non-ASCII."""
    return [
        Finding.create(
            rule_id="R1-EP-001",
            title="Title ×",
            severity=Severity.HIGH,
            status=Status.FAIL,
            enforcement=Enforcement.BLOCK,
            subject=Subject(SubjectType.ENDPOINT, f"e-{i}"),
            message=f"message ✓ {i}" if i % 7 else f"message {i}",
            location=Location(f"m-{i % 9}.yaml", i, 1),
            remediation=Remediation("Fix.", (f"step {i}",)),
        )
        for i in range(count)
    ]


def test_a_large_report_file_holds_the_rendered_text(tmp_path: Path) -> None:
    """The file is written from `render_encoded` (chunks encoded line by line): the same bytes as the
    text `render` gives, encoded; a text output beside it is written as before."""
    from r1policy.formats import Format
    from r1policy.formats.output import write_reports

    report = Report(_failing(json_v1.INDENTED_MAX_FINDINGS + 5), inputs=["é.yaml"])
    pairs = [(Format.JSON, tmp_path / "r.json"), (Format.MARKDOWN, tmp_path / "r.md")]
    write_reports(report, pairs, show_passed=False)
    text = json_v1.render(report, RenderOptions())
    assert (tmp_path / "r.json").read_bytes() == text.encode("utf-8")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == json_v1.report_to_json(
        report, RenderOptions()
    )
    assert "r1policy check: BLOCK" in (tmp_path / "r.md").read_text(encoding="utf-8")


def test_chunks_are_written_in_order_to_a_file_and_a_pipe(tmp_path: Path) -> None:
    import os
    import threading

    from r1policy.core.atomic import write_all

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    chunks = ["é×✓".encode(), b",\n    ", b"x" * 3_000_000]
    write_all([(tmp_path / "r.json", chunks), (tmp_path / "t.txt", "text ✓\n"), (fifo, chunks)])
    reader.join(timeout=30)
    assert (tmp_path / "r.json").read_bytes() == b"".join(chunks) == received[0]
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "text ✓\n"


def test_a_large_report_is_made_chunk_by_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """`render_encoded` hands each chunk over as soon as it is whole (a generator); the chunks, however
    small, join to the text `render` gives."""
    report = Report(_failing(json_v1.INDENTED_MAX_FINDINGS + 5), inputs=["a.yaml"])
    monkeypatch.setattr(json_v1, "_CHUNK_PARTS", 50)
    made = json_v1.render_encoded(report, RenderOptions())
    first = next(iter(made))
    assert first.startswith(b'{\n  "schema_version": 1,')
    chunks = [first, *made]
    assert len(chunks) > 100
    assert b"".join(chunks) == json_v1.render(report, RenderOptions()).encode("utf-8")
