"""Write rendered reports: every output is rendered first, then written all-or-nothing.

Each file is first written to a temporary file beside its target; only when every temporary file has been
written are they renamed into place (a rename within one directory is atomic, so a reader sees the old
file or the new one, never a part). If a temporary file cannot be written, all of them are removed and no
target was touched. Standard output comes after the files; side outputs (the GitHub job summary) last.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from r1policy.core.atomic import Content, append_text, write_all
from r1policy.core.errors import UsageError
from r1policy.engine.report import Report
from r1policy.formats import Format, RenderOptions, appendices, encoded_writers, parse_format, writers


def pair_outputs(formats: list[str], outputs: list[Path]) -> list[tuple[Format, Path | None]]:
    """The i-th --output belongs to the i-th --format; formats without one go to stdout."""
    try:
        parsed = [parse_format(name) for name in formats] or [Format.TABLE]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if len(outputs) > len(parsed):
        raise UsageError("more --output files than --format options: give a --format for each --output")
    pairs: list[tuple[Format, Path | None]] = [
        (fmt, outputs[i] if i < len(outputs) else None) for i, fmt in enumerate(parsed)
    ]
    targets = [str(p.resolve()) if p is not None else "-" for _f, p in pairs]
    duplicates = {t for t in targets if targets.count(t) > 1}
    if duplicates:
        where = ", ".join("standard output" if t == "-" else t for t in sorted(duplicates))
        raise UsageError(
            f"two formats would be written to the same place: {where} (give each --format its own --output)"
        )
    return pairs


def refuse_inputs_as_outputs(
    pairs: list[tuple[Format, Path | None]],
    inputs: list[tuple[str, Path | str | None]],
    real_paths: Mapping[str, str] | None = None,
) -> None:
    """An --output that names one of the run's inputs (a manifest, the config, the state or lock
    file, a scanned file) would replace it with the report: refused (exit 2) before anything is written.
    `inputs` pairs a description ("input", "config file", ...) with a path (None: not used);
    `real_paths` gives the real path of inputs already resolved (a folder walk's files)."""
    known = real_paths or {}
    read: dict[str, str] = {}
    for what, path in inputs:
        if path is None or str(path).startswith(("(", "s3://", "hf://")):
            continue
        try:
            real = known.get(str(path)) or os.path.realpath(path)
            read.setdefault(real, f"{what} {path}")
        except (OSError, ValueError):
            continue
    for _fmt, target in pairs:
        if target is None:
            continue
        clash = read.get(os.path.realpath(target))
        if clash is not None:
            raise UsageError(f"--output {target} is the {clash}: the report would replace it")


def write_reports(
    report: Report, pairs: list[tuple[Format, Path | None]], *, show_passed: bool, no_color: bool = False
) -> None:
    registry, encoded = writers(), encoded_writers()
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    files: list[tuple[Path, Content]] = []
    printed: list[str] = []
    side: list[tuple[Path, str]] = []
    for fmt, target in pairs:
        color = target is None and not no_color and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        width = _width(target is None)
        options = RenderOptions(
            show_passed=show_passed,
            color=color,
            width=width,
            step_summary=Path(summary_file) if summary_file else None,
        )
        if target is None:
            printed.append(registry[fmt](report, options))
        elif fmt in encoded:  # a file, as the format encodes it
            files.append((target, encoded[fmt](report, options)))
        else:
            files.append((target, registry[fmt](report, options)))
        appendix = appendices().get(fmt)
        if appendix is not None:
            side += appendix(report, options)
    write_all(files)
    for text in printed:
        sys.stdout.write(text)
        sys.stdout.flush()
    for path, text in side:
        append_text(path, text)


def _width(stdout: bool) -> int:
    """The terminal's width on a terminal; else COLUMNS when set (CI logs, pipes, and terminals that
    report no size, as some CI runners' pseudo-terminals do); else 80."""
    if stdout and sys.stdout.isatty():
        try:
            size = os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            size = 0
        if size > 0:
            return size
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 80
