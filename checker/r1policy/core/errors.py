"""Error types, one per layer. Library exceptions are translated where the library is called."""

from __future__ import annotations

from r1policy.core.record import frozen_record


@frozen_record
class Position:
    """A place in an input file; line and column are 1-based."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


class R1PolicyError(Exception):
    """Base class: the tool could not do its job (exit code 2)."""


class InputError(R1PolicyError):
    """An input file (manifest, config, state, policy) is unreadable or invalid."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(f"{position}: {message}")
        self.position = position
        self.message = message


class SourceError(R1PolicyError):
    """A source (manifests, AWS, Hub, artifacts) failed as a whole."""


class PolicyLoadError(InputError):
    """A rule's metadata or Cedar policy is invalid."""


class EngineError(R1PolicyError):
    """The Cedar engine refused the request batch (a bug or a schema/entity mismatch)."""


class OutputError(R1PolicyError):
    """A report could not be written."""


class UsageError(R1PolicyError):
    """Bad command-line arguments."""
