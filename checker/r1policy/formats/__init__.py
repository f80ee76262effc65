"""Output formats, plugged in through one enum and one explicit registry (no if-chains over names).

A writer is a pure function `(Report, RenderOptions) -> str`; `output.write_reports` decides where the
text goes. A format that also feeds a side channel (the GitHub job summary) registers a second pure
function in `appendices()`, which returns the files and the text to append to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from r1policy.engine.report import Report


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    GITHUB = "github"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    CYCLONEDX = "cyclonedx"  # the AI bill of materials of the judged models (CycloneDX 1.6 JSON)
    ASFF = "asff"
    OCSF = "ocsf"


@dataclass(frozen=True)
class RenderOptions:
    show_passed: bool = False
    color: bool = False
    width: int = 120
    # Paths in SARIF and GitHub annotations are made relative to this directory (the git top level,
    # else the working directory: see formats.paths.repository_root); None means "find it".
    root: Path | None = None
    # Where GitHub Actions wants the job summary (the GITHUB_STEP_SUMMARY file), if anywhere.
    step_summary: Path | None = None


Writer = Callable[[Report, RenderOptions], str]
Appendix = Callable[[Report, RenderOptions], list[tuple[Path, str]]]


def writers() -> dict[Format, Writer]:
    """The registry: every Format maps to exactly one writer (a test checks exhaustiveness)."""
    from r1policy.formats import asff, cyclonedx, github, json_v1, junit, markdown, ocsf, sarif, table

    return {
        Format.TABLE: table.render,
        Format.JSON: json_v1.render,
        Format.SARIF: sarif.render,
        Format.GITHUB: github.render,
        Format.JUNIT: junit.render,
        Format.MARKDOWN: markdown.render,
        Format.CYCLONEDX: cyclonedx.render,
        Format.ASFF: asff.render,
        Format.OCSF: ocsf.render,
    }


def appendices() -> dict[Format, Appendix]:
    """Side outputs appended after the reports are written: only GitHub's job summary so far."""
    from r1policy.formats import github

    return {Format.GITHUB: github.step_summary}


def parse_format(name: str) -> Format:
    try:
        return Format(name)
    except ValueError:
        valid = ", ".join(f.value for f in Format)
        raise ValueError(f"unknown format {name!r} (valid: {valid})") from None
