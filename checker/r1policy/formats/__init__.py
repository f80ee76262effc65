"""Output formats, plugged in through one enum and one explicit registry (no if-chains over names)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from r1policy.report import Report


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


@dataclass(frozen=True)
class RenderOptions:
    show_passed: bool = False
    color: bool = False
    width: int = 120


Writer = Callable[[Report, RenderOptions], str]


def writers() -> dict[Format, Writer]:
    """The registry: every Format maps to exactly one writer (a test checks exhaustiveness)."""
    from r1policy.formats import json_v1, table

    return {Format.TABLE: table.render, Format.JSON: json_v1.render}


def parse_format(name: str) -> Format:
    try:
        return Format(name)
    except ValueError:
        valid = ", ".join(f.value for f in Format)
        raise ValueError(f"unknown format {name!r} (valid: {valid})") from None
