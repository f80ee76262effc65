"""docs/rules/ is generated from the rule metadata (`python -m r1policy.ruledocs.markdown`) and must not be stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from r1policy.ruledocs.markdown import INDEX, generate, html_safe, main, placeholders, rule_markdown, stale
from r1policy.rules.registry import load_registry

DOCS = ROOT / "docs" / "rules"


def builtin_pages() -> dict[str, str]:
    return generate(r for r in load_registry().rules.values() if r.builtin)


def test_generated_rule_docs_are_up_to_date() -> None:
    problems = stale(builtin_pages(), DOCS)
    assert problems == [], (
        f"docs/rules is stale for {problems}: run `.venv/bin/python -m r1policy.ruledocs.markdown`"
    )


def test_every_rule_folder_has_a_page_with_every_section() -> None:
    folders = sorted(p.name for p in (ROOT / "policies").iterdir() if (p / "rule.yaml").is_file())
    pages = builtin_pages()
    assert sorted(pages) == sorted([f"{f}.md" for f in folders] + [INDEX])
    for folder in folders:
        text = pages[f"{folder}.md"]
        assert text.startswith(f"# {folder}: ")
        for heading in ("## What it checks", "## Why", "## How to fix", "## References"):
            assert heading in text, (folder, heading)
        assert "{{" not in text and "{%" not in text, folder
        # Outside code, `<` would start raw HTML on GitHub (and `<bucket>` would vanish).
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        prose = re.sub(r"(`+).+?\1", "", prose, flags=re.S)
        assert "<" not in prose and ">" not in prose, (folder, re.findall(r".{20}[<>].{20}", prose))
        assert f"[{folder}]({folder}.md)" in pages[INDEX]


def test_placeholders_read_as_names() -> None:
    assert placeholders("aws s3api --bucket {{ bucket }} # {{ bucket | tf_name }}") == (
        "aws s3api --bucket <bucket> # <bucket>"
    )
    assert placeholders("{{ approved_buckets or 'ask' }}{% if x %} y{% endif %}") == "<approved_buckets> y"
    assert (
        placeholders("a {% if sha %}pin {{ sha }}{% else %}resolve {{ rev }}{% endif %}.")
        == "a resolve <rev>."
    )
    assert html_safe("from {{ bucket }}: run `r1policy scan s3://{{ bucket }}/` (<SHA>)") == (
        "from &lt;bucket&gt;: run `r1policy scan s3://<bucket>/` (&lt;SHA&gt;)"
    )


def test_policies_show_prints_the_same_page() -> None:
    result = run_cli("policies", "show", "R1-S3-001")
    assert result.code == 0
    assert result.stdout == rule_markdown(load_registry().rules["R1-S3-001"])
    assert re.search(r"^### Terraform$", result.stdout, re.M)


def test_the_generator_writes_checks_and_removes_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rules"
    assert main(["--out", str(out), "--check"]) == 1
    assert main(["--out", str(out)]) == 0
    assert main(["--out", str(out), "--check"]) == 0
    (out / "R1-OLD-001.md").write_text("gone\n", encoding="utf-8")
    (out / "R1-S3-001.md").write_text("edited by hand\n", encoding="utf-8")
    assert main(["--out", str(out), "--check"]) == 1
    assert "R1-OLD-001.md: stale" in capsys.readouterr().err
    assert main(["--out", str(out)]) == 0
    assert not (out / "R1-OLD-001.md").exists()
    assert stale(builtin_pages(), out) == []
