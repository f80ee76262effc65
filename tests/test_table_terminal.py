"""The table on a real terminal (stdout on a pseudo-terminal): colour unless NO_COLOR (set and not
empty, as no-color.org defines it) or --no-color; the width is the terminal's, and COLUMNS (else 80)
when the terminal reports no width."""

from __future__ import annotations

import re

import pytest
from tests.support.terminal import run

from conftest import EXAMPLES

ARGS = (
    "check",
    EXAMPLES / "block" / "many-problems.yaml",
    "--config",
    EXAMPLES / "r1policy.yaml",
    "--state",
    EXAMPLES / "state.json",
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _lines(text: str) -> list[str]:
    return ANSI.sub("", text.replace("\r\n", "\n")).splitlines()


@pytest.mark.parametrize(
    ("env", "flags", "coloured"),
    [
        ({"NO_COLOR": None}, (), True),
        ({"NO_COLOR": "1"}, (), False),
        ({"NO_COLOR": ""}, (), True),  # present but empty: not a request (no-color.org)
        ({"NO_COLOR": None}, ("--no-color",), False),
    ],
    ids=["terminal", "NO_COLOR=1", "NO_COLOR-empty", "--no-color"],
)
def test_colour_on_a_terminal(env: dict[str, str | None], flags: tuple[str, ...], coloured: bool) -> None:
    result = run(*ARGS, *flags, terminal="stdout", env=env)
    assert result.code == 1, result.stderr
    assert ("\x1b[" in result.stdout) is coloured
    assert _lines(result.stdout)[-1] == "decision: BLOCK"


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_the_table_fills_the_terminal_width(columns: int) -> None:
    lines = _lines(run(*ARGS, terminal="stdout", columns=columns, env={"COLUMNS": "200"}).stdout)
    widest = max(len(line) for line in lines)
    assert columns - 15 <= widest <= columns  # the terminal's width wins over COLUMNS


@pytest.mark.parametrize(("columns_env", "expected"), [("100", 100), (None, 80)])
def test_a_terminal_without_a_width_falls_back_to_columns(columns_env: str | None, expected: int) -> None:
    """Some CI runners give a pseudo-terminal that reports 0 columns: COLUMNS, else 80, not 40."""
    result = run(*ARGS, terminal="stdout", columns=0, env={"COLUMNS": columns_env})
    widest = max(len(line) for line in _lines(result.stdout))
    assert expected - 15 <= widest <= expected
