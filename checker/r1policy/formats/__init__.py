"""Output formats, plugged in through one enum and one explicit registry (no if-chains over names).

A writer is a pure function `(Report, RenderOptions) -> str`; `output.write_reports` decides where the
text goes. A format that also feeds a side channel (the GitHub job summary) registers a second pure
function in `appendices()`, which returns the files and the text to append to them.

Layer 4 (beside `attest`). May import: artifacts, ruledocs, engine, licences, aws, sources, hub,
compliance, facts, rules, project, core.
(enforced by import-linter: `make layers`; see docs/architecture.md)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path

from r1policy.core.record import frozen_record
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


@frozen_record
class RenderOptions:
    """How a report is written: passed findings shown, colour, width, path root, job summary file."""

    show_passed: bool = False
    color: bool = False
    width: int = 120
    # Paths in SARIF and GitHub annotations are made relative to this directory (the git top level,
    # else the working directory: see formats.paths.repository_root); None means "find it".
    root: Path | None = None
    # Where GitHub Actions wants the job summary (the GITHUB_STEP_SUMMARY file), if anywhere.
    step_summary: Path | None = None


Writer = Callable[[Report, RenderOptions], str]
EncodedWriter = Callable[[Report, RenderOptions], Iterable[bytes]]
Appendix = Callable[[Report, RenderOptions], list[tuple[Path, str]]]


# The module of each format's writer (its `render`), imported only when that format is written.
_WRITER_MODULES: dict[Format, str] = {
    Format.TABLE: "table",
    Format.JSON: "json_v1",
    Format.SARIF: "sarif",
    Format.GITHUB: "github",
    Format.JUNIT: "junit",
    Format.MARKDOWN: "markdown",
    Format.CYCLONEDX: "cyclonedx",
    Format.ASFF: "asff",
    Format.OCSF: "ocsf",
}


def _writer(module: str) -> Writer:
    def render(report: Report, options: RenderOptions) -> str:
        loaded = importlib.import_module(f"r1policy.formats.{module}")
        text: str = loaded.render(report, options)
        return text

    return render


def writers() -> dict[Format, Writer]:
    """The registry: every Format maps to exactly one writer (a test checks exhaustiveness)."""
    return {fmt: _writer(module) for fmt, module in _WRITER_MODULES.items()}


# Formats whose module also gives a file's content as UTF-8 chunks (`render_encoded`): `render`'s text,
# encoded. A large JSON report is assembled from parts encoded once each (a finding's rule, message,
# location, remediation), where the whole text, made non-ASCII by one character anywhere, would be
# encoded character by character; and the file is written from the chunks as they are made, with no
# copy of the whole.
_ENCODED_WRITER_MODULES: dict[Format, str] = {Format.JSON: "json_v1"}


def encoded_writers() -> dict[Format, EncodedWriter]:
    def encoded(module: str) -> EncodedWriter:
        def render(report: Report, options: RenderOptions) -> Iterable[bytes]:
            loaded = importlib.import_module(f"r1policy.formats.{module}")
            content: Iterable[bytes] = loaded.render_encoded(report, options)
            return content

        return render

    return {fmt: encoded(module) for fmt, module in _ENCODED_WRITER_MODULES.items()}


def appendices() -> dict[Format, Appendix]:
    """Side outputs appended after the reports are written: only GitHub's job summary so far."""
    return {Format.GITHUB: _github_step_summary}


def _github_step_summary(report: Report, options: RenderOptions) -> list[tuple[Path, str]]:
    """`formats.github.step_summary`, imported only when a GitHub report is written."""
    from r1policy.formats import github

    return github.step_summary(report, options)


def parse_format(name: str) -> Format:
    try:
        return Format(name)
    except ValueError:
        valid = ", ".join(f.value for f in Format)
        raise ValueError(f"unknown format {name!r} (valid: {valid})") from None
