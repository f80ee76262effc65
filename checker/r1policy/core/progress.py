"""Progress of long work, reported by the code doing it: a tiny interface and its silent implementation.

The scanner (`r1policy.artifacts`), the AWS collector (`r1policy.aws`) and `lock` report what they have
finished through `Progress`; they never decide whether or how it is shown and never import a terminal
library. The command line passes either `NO_PROGRESS` or a terminal implementation
(`r1policy.commands.progress`: rich bars on stderr, only when stderr is a terminal and not `--quiet`).
This module imports nothing from r1policy, so every layer may use it (it belongs with the core types).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called from worker threads, so an implementation must be thread-safe and cheap.

    Also a `Callable[[str, int, int], None]`, the shape the AWS collector calls."""

    def __call__(
        self,
        phase: str,
        done: int,
        total: int | None,
        *,
        done_bytes: int | None = None,
        total_bytes: int | None = None,
    ) -> None:
        """`done` of `total` items of `phase` are finished (`total` None: not known yet), and
        `done_bytes` of `total_bytes` bytes when the work is reading bytes. Counts are absolute (not
        increments) and a phase's counts only grow; a new phase name starts a new bar."""

    def note(self, message: str) -> None:
        """A step without a count ("evaluating 12 deployments")."""


class NoProgress:
    """Shows nothing: the default wherever progress is optional."""

    def __call__(
        self,
        phase: str,
        done: int,
        total: int | None,
        *,
        done_bytes: int | None = None,
        total_bytes: int | None = None,
    ) -> None:
        return None

    def note(self, message: str) -> None:
        return None


NO_PROGRESS: Progress = NoProgress()


class Tally:
    """Files and bytes finished so far in one `phase` (one scan or lock target) of files with these
    sizes (None: not known), reported as each file finishes; used from one thread only."""

    def __init__(self, progress: Progress, phase: str, sizes: list[int | None]) -> None:
        self.progress, self.phase, self.total = progress, phase, len(sizes)
        self.total_bytes = None if None in sizes else sum(size or 0 for size in sizes)
        self.done = self.done_bytes = 0
        progress(phase, 0, self.total, done_bytes=0, total_bytes=self.total_bytes)

    def finished(self, size: int | None) -> None:
        self.done += 1
        self.done_bytes += size or 0
        self.progress(
            self.phase, self.done, self.total, done_bytes=self.done_bytes, total_bytes=self.total_bytes
        )
