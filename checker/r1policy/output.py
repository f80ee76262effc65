"""Write rendered reports: every output is rendered first, then written atomically (temp file + rename)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from r1policy.errors import OutputError, UsageError
from r1policy.formats import Format, RenderOptions, parse_format, writers
from r1policy.report import Report


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
        raise UsageError(f"two formats would be written to the same place: {', '.join(sorted(duplicates))}")
    return pairs


def write_reports(report: Report, pairs: list[tuple[Format, Path | None]], *, show_passed: bool) -> None:
    registry = writers()
    rendered: list[tuple[str, Path | None]] = []
    for fmt, target in pairs:
        color = target is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        width = _width() if target is None else 160
        rendered.append(
            (registry[fmt](report, RenderOptions(show_passed=show_passed, color=color, width=width)), target)
        )
    for text, target in rendered:
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_atomic(target, text)


def _width() -> int:
    try:
        return max(100, os.get_terminal_size().columns)
    except OSError:
        return 140


def write_atomic(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
