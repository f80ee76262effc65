"""The command line's --help, for the program and every subcommand, equals the recorded text.

The parser is defined in several modules (one per command group); this pins what users see, so a
refactoring cannot drop or change an option silently. After an intended change, regenerate with
`R1POLICY_RECORD_HELP=1 .venv/bin/python -m pytest -q tests/test_cli_help.py` and review the diff.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from r1policy.cli import build_parser

RECORDED = Path(__file__).parent / "fixtures" / "cli-help"


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def _parser_for(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = action.choices[name]
    return parser


def _file(path: tuple[str, ...]) -> Path:
    return RECORDED / ("_".join(("r1policy", *path)) + ".txt")


ALL = list(_commands(build_parser()))


@pytest.fixture(autouse=True)
def _fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")


def test_every_command_has_recorded_help() -> None:
    assert {_file(p).name for p in ALL} == {f.name for f in RECORDED.glob("*.txt")}


@pytest.mark.parametrize("path", ALL, ids=lambda p: " ".join(("r1policy", *p)))
def test_help_is_unchanged(path: tuple[str, ...]) -> None:
    text = _parser_for(path).format_help()
    if os.environ.get("R1POLICY_RECORD_HELP"):
        _file(path).write_text(text)
    assert text == _file(path).read_text()
