"""GitHub workflow commands: parsed back the way the Actions runner parses them, and the job summary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, run_cli
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
from r1policy.formats.github import command, render, step_summary
from test_formats_registry import sample_report

_COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


@dataclass
class Command:
    name: str
    props: dict[str, str]
    data: str


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return _unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def parse(output: str) -> tuple[list[Command], list[str]]:
    """Commands and plain log lines, as the runner sees them (a command starts at the line's first
    non-blank character)."""
    commands: list[Command] = []
    plain: list[str] = []
    for line in output.splitlines():
        match = _COMMAND.match(line.lstrip())
        if match is None:
            assert not line.lstrip().startswith("::"), line
            plain.append(line)
            continue
        props = {}
        if match.group("props"):
            for pair in match.group("props").split(","):
                key, _, value = pair.partition("=")
                props[key] = _unescape_property(value)
        commands.append(Command(match.group("name"), props, _unescape_data(match.group("data"))))
    return commands, plain


def test_escaping_round_trips_through_the_runner_rules() -> None:
    nasty = "100% sure: a, b\r\nnext::line"
    line = command("error", nasty, file="dir, with: odd%name.yaml", line=3, title=nasty)
    assert "\n" not in line and "\r" not in line
    (parsed,), plain = parse(line)
    assert not plain
    assert parsed.name == "error"
    assert parsed.data == nasty
    assert parsed.props == {"file": "dir, with: odd%name.yaml", "line": "3", "title": nasty}


def test_annotations_per_status_and_enforcement(tmp_path: Path) -> None:
    manifest = tmp_path / "deploy" / "r1.yaml"
    output = render(sample_report(manifest), RenderOptions(root=tmp_path))
    commands, _plain = parse(output)
    annotations = {
        (c.name, c.props.get("title", "").split(" ")[0])
        for c in commands
        if c.name in ("error", "warning", "notice") and c.props.get("title", "").startswith("R1-")
    }
    assert annotations == {
        ("error", "R1-EP-001"),  # fail, block
        ("error", "R1-S3-001"),  # error, block
        ("warning", "R1-EP-004"),  # fail, warn
        ("notice", "R1-EP-003"),  # waived
        ("notice", "R1-HUB-001"),  # fail, enforcement off
    }
    (ep001,) = [c for c in commands if c.props.get("title", "").startswith("R1-EP-001")]
    assert ep001.props["file"] == "deploy/r1.yaml"
    assert (ep001.props["line"], ep001.props["col"]) == ("16", "20")
    assert "Fix: Set `instance_type`" in ep001.data
    (live,) = [c for c in commands if c.props.get("title", "").startswith("R1-EP-004")]
    assert "file" not in live.props
    assert any(c.name == "warning" and "expired" in c.data for c in commands)
    groups = [c.data for c in commands if c.name == "group"]
    assert len(groups) == len([c for c in commands if c.name == "endgroup"]) == 4
    assert output.rstrip().splitlines()[-1].startswith("r1policy decision: BLOCK")


def test_finding_text_cannot_inject_workflow_commands(tmp_path: Path) -> None:
    evil = "bad\n::add-mask::x\r\n::set-output name=a::b\n  ::error::fake"
    finding = Finding.create(
        rule_id="R1-EP-001",
        title="t::x\n::warning::y",
        severity=Severity.HIGH,
        status=Status.FAIL,
        enforcement=Enforcement.BLOCK,
        subject=Subject(SubjectType.DEPLOYMENT, "d\n::error::z"),
        message=evil,
        location=Location(str(tmp_path / "a,b:c.yaml"), 1, 1),
        remediation=Remediation("s", (evil,)),
    )
    commands, _plain = parse(render(Report([finding]), RenderOptions(root=tmp_path, show_passed=True)))
    assert {c.name for c in commands} == {"error", "group", "endgroup"}
    (error,) = [c for c in commands if c.name == "error"]
    assert error.data.startswith(evil)
    assert error.props["file"] == "a,b:c.yaml"


def test_step_summary_only_when_github_asks(tmp_path: Path) -> None:
    report = sample_report(tmp_path / "r1.yaml")
    assert step_summary(report, RenderOptions(root=tmp_path)) == []
    target = tmp_path / "summary.md"
    [(path, text)] = step_summary(report, RenderOptions(root=tmp_path, step_summary=target))
    assert path == target and "| blocking |" in text and "R1-EP-001" in text


def test_check_appends_the_job_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run_cli(
        "check",
        EXAMPLES / "block",
        "--config",
        EXAMPLES / "r1policy.yaml",
        "--static",  # offline: only the files decide
        "--format",
        "github",
        cwd=ROOT,
    )
    assert result.code == 1, result.stderr
    commands, _plain = parse(result.stdout)
    files = {c.props["file"] for c in commands if "file" in c.props}
    assert files and all(f.startswith("examples/block/") for f in files)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## earlier step\n")
    assert "r1policy check: BLOCK" in text and "| blocking | warnings |" in text


def test_no_summary_without_the_github_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run_cli("check", EXAMPLES / "allow", "--config", EXAMPLES / "r1policy.yaml", "--static")
    assert result.code == 0, result.stderr
    assert not summary.exists()
