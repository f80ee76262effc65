"""The default table output: one block per finding, readable at 80 columns, nothing cut off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import EXAMPLES, run_cli

ARGS = ("--config", EXAMPLES / "r1policy.yaml", "--state", EXAMPLES / "state.json")
TARGETS = ["allow", "block", "hub", "cloudformation", "kubernetes", "sagemaker-api", "terraform"]


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("target", TARGETS)
def test_examples_cut_no_message(monkeypatch: pytest.MonkeyPatch, target: str, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(EXAMPLES / "hub-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    table = run_cli("check", EXAMPLES / target, *ARGS, "--show-passed")
    doc = run_cli("check", EXAMPLES / target, *ARGS, "--show-passed", "--format", "json").json
    assert table.code == (1 if doc["decision"] == "block" else 0)
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "\x1b[" not in table.stdout  # not a terminal: no colour
    # Every message, first fix step and location is there in full (wrapping only joins on spaces;
    # a word longer than a line is broken, so compare with all whitespace removed as a fallback).
    flat = _words(table.stdout)
    squeezed = re.sub(r"\s+", "", table.stdout)
    for f in doc["findings"]:
        if f["status"] == "skipped":
            continue
        for text in (f["message"], (f.get("location") or {}).get("path", "")):
            assert _words(text) in flat or re.sub(r"\s+", "", text) in squeezed, text
    assert lines[-1] in ("decision: BLOCK", "decision: allow")


def test_blocks_start_with_status_severity_rule_and_location(monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = EXAMPLES / "block" / "many-problems.yaml"
    # wide enough for the header and this checkout's absolute path (a longer path moves to its own line,
    # the next test); a fixed width made the result depend on where the repository was cloned
    monkeypatch.setenv("COLUMNS", str(60 + len(str(manifest))))
    out = run_cli("check", manifest, *ARGS).stdout
    assert re.search(r"^  fail \(BLOCK\)  critical  R1-HUB-003  \S*many-problems\.yaml:13:13$", out, re.M)
    assert re.search(r"^    fix: Do not deploy deepseek-al/DeepSeek-R1\.", out, re.M)


def test_a_long_path_moves_to_its_own_line_and_is_broken_not_cut(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deep = tmp_path.joinpath(*(["a-very-long-folder-name-for-deployments"] * 4))
    deep.mkdir(parents=True)
    (deep / "many-problems.yaml").write_text((EXAMPLES / "block" / "many-problems.yaml").read_text())
    monkeypatch.setenv("COLUMNS", "60")
    out = run_cli("check", deep, *ARGS).stdout
    assert max(len(line) for line in out.splitlines()) <= 60
    assert re.search(r"^  fail \(BLOCK\)  critical  R1-HUB-003$", out, re.M)
    assert str(deep / "many-problems.yaml") in re.sub(r"\n\s*", "", out)


def test_colour_only_when_asked() -> None:
    from r1policy.engine.report import Report
    from r1policy.formats import RenderOptions
    from r1policy.formats.table import render

    assert "\x1b[" not in render(Report(findings=[]), RenderOptions(color=False, width=80))
    assert "\x1b[" in render(Report(findings=[]), RenderOptions(color=True, width=80))


def test_no_color_flag_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli("check", EXAMPLES / "block" / "many-problems.yaml", *ARGS, "--no-color")
    assert result.code == 1
    assert "\x1b[" not in result.stdout
