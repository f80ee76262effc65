"""Progress bars on a terminal's stderr (rich), or nothing.

Shown only when stderr is a terminal and the command was not given `--quiet`: a pipe, a file or a CI
log gets no progress at all (no carriage returns in logs), and stdout is never touched, so a report
written there is byte-for-byte the same either way. rich is imported only when bars are really drawn
(it costs tens of milliseconds of start-up). The bars are transient: erased when the work is done.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import Any, TextIO

_DESCRIPTION_WIDTH = 32


def stderr_is_terminal(stream: TextIO | None = None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class TerminalProgress:
    """A `r1policy.core.progress.Progress` drawing one rich bar per phase on stderr; use as a context
    manager (the bars stop and are erased on exit, also on an error). Thread-safe."""

    def __init__(self, *, quiet: bool = False, no_color: bool = False) -> None:
        self.enabled = not quiet and stderr_is_terminal()
        self.no_color = no_color  # --no-color; rich itself honours NO_COLOR
        self._lock = threading.Lock()
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}
        self._started: dict[str, float] = {}

    def __enter__(self) -> TerminalProgress:
        if self.enabled:
            self._bars = _bars(self.no_color)
            self._bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def __call__(
        self,
        phase: str,
        done: int,
        total: int | None,
        *,
        done_bytes: int | None = None,
        total_bytes: int | None = None,
    ) -> None:
        if self._bars is None:
            return
        with self._lock:
            task = self._tasks.get(phase)
            if task is None:
                task = self._tasks[phase] = self._bars.add_task(_short(phase), total=total, size="")
                self._started[phase] = time.monotonic()
            size = _size(done_bytes, total_bytes, time.monotonic() - self._started[phase])
            self._bars.update(task, completed=done, total=total, size=size)

    def note(self, message: str) -> None:
        if self._bars is not None:
            with self._lock:
                self._bars.console.print(message, style="dim", markup=False, highlight=False)


def _bars(no_color: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(f"{{task.description:<{_DESCRIPTION_WIDTH}}}", markup=False),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("{task.fields[size]}", markup=False),
        TimeElapsedColumn(),
        TimeRemainingColumn(),  # the ETA (accounts x regions of an organization audit)
        console=Console(stderr=True, no_color=no_color or None),
        transient=True,
        redirect_stdout=False,  # stdout carries reports: never rerouted, never interleaved
        redirect_stderr=True,  # a warning printed meanwhile appears above the bars
    )


def _short(phase: str) -> str:
    """A phase name fits its column: a long target keeps its end (the file or repository name)."""
    if len(phase) <= _DESCRIPTION_WIDTH:
        return phase
    return "…" + phase[-(_DESCRIPTION_WIDTH - 1) :]


def _size(done: int | None, total: int | None, elapsed: float) -> str:
    if done is None:
        return ""
    from rich.filesize import decimal

    text = decimal(done) if total is None else f"{decimal(done)}/{decimal(total)}"
    if elapsed > 0.5:
        text += f" {decimal(int(done / elapsed))}/s"
    return text
