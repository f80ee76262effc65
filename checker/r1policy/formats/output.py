"""Write rendered reports: every output is rendered first, then written all-or-nothing.

Each file is first written to a temporary file beside its target; only when every temporary file has been
written are they renamed into place (a rename within one directory is atomic, so a reader sees the old
file or the new one, never a part). If a temporary file cannot be written, all of them are removed and no
target was touched. Standard output comes after the files; side outputs (the GitHub job summary) last.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from r1policy.core.errors import OutputError, UsageError
from r1policy.engine.report import Report
from r1policy.formats import Format, RenderOptions, appendices, parse_format, writers


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
    pairs: list[tuple[Format, Path | None]], inputs: list[tuple[str, Path | str | None]]
) -> None:
    """An --output that names one of the run's inputs (a manifest, the config, the state or lock
    file, a scanned file) would replace it with the report: refused (exit 2) before anything is written.
    `inputs` pairs a description ("input", "config file", ...) with a path (None: not used)."""
    read: dict[str, str] = {}
    for what, path in inputs:
        if path is None or str(path).startswith(("(", "s3://", "hf://")):
            continue
        try:
            read.setdefault(os.path.realpath(path), f"{what} {path}")
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
    registry = writers()
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    rendered: list[tuple[str, Path | None]] = []
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
        rendered.append((registry[fmt](report, options), target))
        appendix = appendices().get(fmt)
        if appendix is not None:
            side += appendix(report, options)
    write_all([(target, text) for text, target in rendered if target is not None])
    for text, target in rendered:
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
    for path, text in side:
        append_text(path, text)


def _width(stdout: bool) -> int:
    """The terminal's width on a terminal; else COLUMNS when set (CI logs, pipes); else 80."""
    if stdout and sys.stdout.isatty():
        try:
            return os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            pass
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 80


def _temporary(target: Path, text: str) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    return Path(tmp)


def _is_special(target: Path) -> bool:
    """A device, FIFO or socket (`/dev/null`, `/dev/stdout`): written in place, never replaced."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _write_special(target: Path, text: str) -> None:
    try:
        with target.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc


def write_all(files: list[tuple[Path, str]]) -> None:
    """Write every file or none: all temporary files first, then the renames. A device or pipe
    target (`--output /dev/null`) is written in place after the regular files: renaming a temporary
    file onto it would replace the device with a regular file."""
    special = [(target, text) for target, text in files if _is_special(target)]
    files = [(target, text) for target, text in files if not _is_special(target)]
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in files:
            staged.append((_temporary(target, text), target))
        for tmp, target in staged:
            try:
                tmp.replace(target)
            except OSError as exc:
                raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    finally:
        for tmp, _target in staged:
            tmp.unlink(missing_ok=True)
    for target, text in special:
        _write_special(target, text)


def write_atomic(target: Path, text: str) -> None:
    write_all([(target, text)])


def append_text(path: Path, text: str) -> None:
    """Append to a file another program owns (GITHUB_STEP_SUMMARY); a failure is an OutputError."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"{path}: cannot append the job summary: {exc.strerror or exc}") from exc
