"""A run's result: findings, notices, summary and decision, independent of any output format.

Nothing in a Report holds a secret whole: findings redact every string they carry when they are built
(core.findings), and the report's notices, inputs and skipped paths are redacted as they enter its lists
(`Redacting`), whichever way they enter. The formats print what they are given."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self, SupportsIndex, TypeVar, overload

from r1policy import __version__
from r1policy.core.findings import Enforcement, Finding, Status, redact
from r1policy.engine.evaluate import Notice
from r1policy.rules.metadata import RuleMeta
from r1policy.sources.walk import Skipped

if TYPE_CHECKING:
    from r1policy.engine.bom import BomModel


_T = TypeVar("_T")


class Redacting(list[_T]):
    """A list whose items are redacted as they enter it (construction, append, extend, insert, `+=`,
    item and slice assignment)."""

    def __init__(self, fix: Callable[[_T], _T], items: Iterable[_T] = ()) -> None:
        super().__init__(map(fix, items))
        self._fix = fix

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle rebuild it with its redaction
        return (type(self), (self._fix, list(self)))

    def append(self, item: _T) -> None:
        super().append(self._fix(item))

    def extend(self, items: Iterable[_T]) -> None:
        super().extend(map(self._fix, items))

    def insert(self, index: SupportsIndex, item: _T) -> None:
        super().insert(index, self._fix(item))

    # list's own `+=` would bypass `extend`. (mypy compares it with the inherited `__add__`, whose
    # overloads accept any list: the same signature as list's own `__iadd__`.)
    def __iadd__(self, items: Iterable[_T]) -> Self:  # type: ignore[override,misc]
        self.extend(items)
        return self

    @overload
    def __setitem__(self, index: SupportsIndex, item: _T) -> None: ...

    @overload
    def __setitem__(self, index: slice, item: Iterable[_T]) -> None: ...

    def __setitem__(self, index: SupportsIndex | slice, item: Any) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, [self._fix(i) for i in item])
        else:
            super().__setitem__(index, self._fix(item))


def _notice(notice: Notice) -> Notice:
    kind, message = redact(notice.kind), redact(notice.message)  # the location redacts its own path
    if kind == notice.kind and message == notice.message:
        return notice
    return dataclasses.replace(notice, kind=kind, message=message)


def _skipped(item: Skipped) -> Skipped:
    path, reason = redact(item.path), redact(item.reason)
    if path == item.path and reason == item.reason:
        return item
    return dataclasses.replace(item, path=path, reason=reason)


_REDACTED_LISTS: dict[str, Callable[[Any], Any]] = {"notices": _notice, "inputs": redact, "skipped": _skipped}


@dataclass(frozen=True)
class Summary:
    """The counts and the decision a report states."""

    blocking: int
    warnings: int
    errors: int
    skipped: int
    waived: int
    passed: int
    subjects: int


@dataclass
class Report:
    """A run's result, independent of any output format."""

    findings: list[Finding]
    notices: list[Notice] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    command: str = "check"
    tool_name: str = "r1policy"
    tool_version: str = __version__
    # The rule catalogue of the run (registry.rules), for formats that describe every rule (SARIF).
    # Optional: a rule missing here is described from its findings alone.
    rules: dict[str, RuleMeta] = field(default_factory=dict)
    # What `check` did not read, and why (sources/walk.py): dependency folders, binary files, ...
    skipped: list[Skipped] = field(default_factory=list)
    # The judged models for `--format cyclonedx` (filled only when that format is asked for).
    models: list[BomModel] = field(default_factory=list)
    # Where an audit placed its subjects: "deployment:<name>" / "bucket:<name>" -> (account, region).
    # The formats that name an AWS account (asff, ocsf) use it first.
    places: dict[str, tuple[str, str]] = field(default_factory=dict)
    # --compliance: one entry per framework (compliance/section.py); None when none was asked for
    compliance: list[dict[str, Any]] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        fix = _REDACTED_LISTS.get(name)
        if fix is not None:
            value = Redacting(fix, value)
        object.__setattr__(self, name, value)

    @property
    def blocked(self) -> bool:
        return any(f.blocks for f in self.findings)

    @property
    def decision(self) -> str:
        return "block" if self.blocked else "allow"

    @property
    def summary(self) -> Summary:
        """The counts, in one pass over the findings."""
        fail, error, skipped_, waived_, pass_ = _STATUSES
        block, warn, off = _ENFORCEMENTS
        blocking = warnings = errors = skipped = waived = passed = 0
        subjects: set[tuple[str, str]] = set()
        for f in self.findings:
            status, enforcement, subject = f.status, f.enforcement, f.subject
            subjects.add((subject.type, subject.id))
            if status is fail or status is error:
                blocking += enforcement is block
                warnings += enforcement is warn
                errors += status is error and enforcement is not off
            elif status is skipped_:
                skipped += 1
            elif status is waived_:
                waived += 1
            elif status is pass_:
                passed += 1
        return Summary(blocking, warnings, errors, skipped, waived, passed, len(subjects))


# Enum members read once (from their class, each read is a lookup).
_STATUSES = (Status.FAIL, Status.ERROR, Status.SKIPPED, Status.WAIVED, Status.PASS)
_ENFORCEMENTS = (Enforcement.BLOCK, Enforcement.WARN, Enforcement.OFF)
