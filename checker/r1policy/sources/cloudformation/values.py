"""Values of a resolved template: `Unknown` (what the template does not decide, and why) and AWS::NoValue."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unknown:
    """A value the template does not decide."""

    display: str  # how the template writes it, e.g. "s3://${WeightsBucket}/r1/"
    why: str
    refs: frozenset[str] = frozenset()  # logical ids of the resources the value names
    maybe_absent: bool = False  # an undecidable Fn::If with AWS::NoValue on one side


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NOVALUE: Any = _NoValue()


def iter_unknowns(value: Any) -> Iterator[Unknown]:
    if isinstance(value, Unknown):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_unknowns(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_unknowns(item)


def display(value: Any) -> str:
    if isinstance(value, Unknown):
        return value.display
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def with_displays(value: Any) -> Any:
    """`value` with every Unknown inside it replaced by how the template writes it (for a state record
    that shows the undecided parts as written)."""
    if isinstance(value, Unknown):
        return value.display
    if isinstance(value, dict):
        return {k: with_displays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_displays(v) for v in value]
    return value


def merge(parts: list[Any], text: str, *, maybe_absent: bool = False) -> Unknown:
    unknown = [p for p in parts if isinstance(p, Unknown)]
    refs: frozenset[str] = frozenset().union(*(u.refs for u in unknown))
    why = "; ".join(dict.fromkeys(u.why for u in unknown))
    return Unknown(text, why, refs, maybe_absent)
