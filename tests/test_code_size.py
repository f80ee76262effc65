"""Size limits on checker/: no module over 400 lines, no function over 60 lines (issue 18).

A long module or function is split by responsibility; the limits keep the code reviewable and each
piece testable on its own. Counted on the source text: a module's lines, a function's lines from its
`def` (decorators excluded) to its last line, nested functions counted inside their parent too.
"""

from __future__ import annotations

import ast
from pathlib import Path

CHECKER = Path(__file__).resolve().parent.parent / "checker" / "r1policy"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(CHECKER.rglob("*.py"))


def test_the_checker_has_modules_to_measure() -> None:
    assert len(_modules()) > 100


def test_no_module_is_over_400_lines() -> None:
    over = {
        str(p.relative_to(CHECKER)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert over == {}


def test_no_function_is_over_60_lines() -> None:
    over = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    over[f"{path.relative_to(CHECKER)}:{node.lineno} {node.name}"] = length
    assert over == {}
