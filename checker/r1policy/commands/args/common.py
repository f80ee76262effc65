"""The parser class and the options several commands share."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from r1policy.core.errors import UsageError


def _columns() -> int:
    """The width `shutil.get_terminal_size()` gives (COLUMNS, else the terminal, else 80), without
    importing shutil: argparse builds a help formatter for every `add_argument`, and each would."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=_columns() - 2)  # HelpFormatter's own `width - 2`


class Parser(argparse.ArgumentParser):
    """An argument error is a `UsageError` (one line on stderr, exit 2), not argparse's own exit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def add_config_options(p: argparse.ArgumentParser) -> None:
    """--config and --policies: where the configuration and the extra rules come from."""
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="configuration file (default: ./r1policy.yaml, else [tool.r1policy] in ./pyproject.toml)",
    )
    p.add_argument(
        "--policies",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra Cedar policies (rule folders or annotated .cedar files); repeatable",
    )


def add_formats(p: argparse.ArgumentParser) -> None:
    """--format and --output, paired in order."""
    p.add_argument(
        "--format",
        action="append",
        default=[],
        metavar="FORMAT",
        help="output format: table (default), json, sarif, github, junit, markdown, cyclonedx (the AI "
        "bill of materials; check only), asff (AWS Security Finding Format) or ocsf (OCSF events; the "
        "`ocsf` extra); repeatable, "
        "paired in order with --output",
    )
    p.add_argument(
        "--output",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="write the matching --format here instead of stdout; repeatable",
    )


def add_result_options(p: argparse.ArgumentParser) -> None:
    """Options of every command that reports findings (check, audit, scan)."""
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when a finding blocks")
    p.add_argument("--show-passed", action="store_true", help="list passed rules too")
    p.add_argument(
        "--no-color", action="store_true", help="no colour in the table output (also: NO_COLOR set)"
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or summary lines on stderr (findings only)"
    )


def add_compliance_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--compliance",
        action="append",
        default=[],
        metavar="FRAMEWORK",
        help="add a compliance section for this framework (see `r1policy compliance list`); repeatable",
    )
