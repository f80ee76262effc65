"""Progress on stderr while the audit reads AWS (only when stderr is a terminal; never in CI logs)."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any


class Progress:
    """A callable `progress(phase, done, total)` (the `r1policy.aws` collector calls it from worker
    threads) that draws one rich progress bar per phase (done / total, elapsed, ETA; `audit
    --organization` counts accounts), or does nothing when stderr is not a TTY."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bars

            self._bars = Bars(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self._bars is None:
            return
        with self._lock:
            task = self._tasks.get(phase)
            if task is None:
                task = self._tasks[phase] = self._bars.add_task(phase, total=total)
            self._bars.update(task, completed=done, total=total)

    def note(self, message: str) -> None:
        """A phase without a count (evaluating, writing)."""
        if self._bars is not None:
            with self._lock:
                self._bars.console.print(message, style="dim", markup=False, highlight=False)
