"""Values of SageMaker Python SDK code, computed from its syntax tree; the code is never run or imported.

`Evaluator.expr(node)` returns a Python value (str, int, float, bool, None, dict, list) when the code
decides it from constants: literals, module-level and cell-level names, dicts and lists built from
them, f-strings, `+` on strings, `json.dumps(...)` and `str(...)` of constants, and the SageMaker image
helpers (`sdk.images`). Anything else is an `Unknown` whose `why` names the file (and notebook cell),
the line and the expression, so that every rule reading it is `error`. Where each dict entry and list
item was written is kept in `positions`, keyed by the container's id.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from r1policy.core.findings import Location
from r1policy.sources.cloudformation.values import Unknown, iter_unknowns

MAX_DEPTH = 100  # nested expressions deeper than this are not followed (an Unknown, never a crash)
_DISPLAY_CHARS = 120


class Where(NamedTuple):
    """A place in a .py file, or in one cell of a notebook (0-based cell index, line within the cell)."""

    path: str
    line: int
    column: int
    cell: int | None = None

    def location(self) -> Location:
        return Location(self.path, self.line, self.column, cell=self.cell)

    def __str__(self) -> str:
        if self.cell is None:
            return f"{self.path}:{self.line}"
        return f"{self.path} cell {self.cell} line {self.line}"


class Source:
    """One unit of code (a file, or a notebook cell): its text, for positions and displays."""

    def __init__(self, path: str, text: str, cell: int | None = None) -> None:
        self.path = path
        self.cell = cell
        self.lines = text.splitlines()

    def where(self, node: ast.AST) -> Where:
        return Where(self.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, self.cell)

    def display(self, node: ast.AST) -> str:
        """The expression as written (first line, shortened); no recursion over the tree."""
        line = getattr(node, "lineno", 0)
        if not 1 <= line <= len(self.lines):
            return type(node).__name__
        text = self.lines[line - 1]
        start = getattr(node, "col_offset", 0)
        end_line = getattr(node, "end_lineno", line)
        end = getattr(node, "end_col_offset", None) if end_line == line else None
        snippet = text.encode()[start:end].decode(errors="replace").strip()
        if end is None and end_line != line:
            snippet += " …"
        return snippet if len(snippet) <= _DISPLAY_CHARS else snippet[: _DISPLAY_CHARS - 1] + "…"


# (evaluator, call node, qualified name) -> value, or None when the call is not one the handler knows.
CallHandler = Callable[["Evaluator", ast.Call, str], Any]


class Evaluator:
    def __init__(self, source: Source, call_handler: CallHandler) -> None:
        self.source = source
        self.scope: dict[str, Any] = {}
        self.imports: dict[
            str, str
        ] = {}  # local name -> qualified name ("HuggingFaceModel" -> sagemaker....)
        self.positions: dict[int, dict[str | int, Where]] = {}
        self._keep: list[Any] = []  # containers whose ids key `positions`
        self.call_handler = call_handler
        self._depth = 0

    # -- helpers ---------------------------------------------------------------------------------
    def unknown(self, node: ast.AST, what: str = "is computed when the code runs") -> Unknown:
        shown = self.source.display(node)
        return Unknown(shown, f"{self.source.where(node)}: `{shown}` {what}")

    def remember(self, container: Any, key: str | int, node: ast.AST) -> None:
        if id(container) not in self.positions:
            self.positions[id(container)] = {}
            self._keep.append(container)
        self.positions[id(container)][key] = self.source.where(node)

    def qualified(self, node: ast.expr) -> str | None:
        """`sagemaker.huggingface.HuggingFaceModel` for a name or attribute chain rooted in an import."""
        if isinstance(node, ast.Name):
            if node.id in self.imports:
                return self.imports[node.id]
            return None if node.id in self.scope else node.id
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return f"{base}.{node.attr}" if base is not None else None
        return None

    # -- expressions -----------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> Any:
        if self._depth >= MAX_DEPTH:
            return self.unknown(
                node, f"is nested more than {MAX_DEPTH} levels deep, which r1policy does not follow"
            )
        self._depth += 1
        try:
            return self._expr(node)
        finally:
            self._depth -= 1

    def _expr(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.scope:
                return self.scope[node.id]
            return self.unknown(node, "is not a constant of this code")
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node)
        if isinstance(node, ast.Dict):
            return self._dict(node)
        if isinstance(node, ast.List | ast.Tuple):
            out: list[Any] = []
            for item in node.elts:
                if isinstance(item, ast.Starred):
                    return self.unknown(node)
                self.remember(out, len(out), item)
                out.append(self.expr(item))
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.expr(node.left), self.expr(node.right)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(left, list) and isinstance(right, list):
                return left + right
            if isinstance(left, str | Unknown) and isinstance(right, str | Unknown):
                return _merge([_braced(left), _braced(right)], self.unknown(node))
            return self.unknown(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        return self.unknown(node)

    def _fstring(self, node: ast.JoinedStr) -> Any:
        parts: list[Any] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
            elif isinstance(part, ast.FormattedValue):
                value = self.expr(part.value)
                if part.format_spec is not None or part.conversion not in (-1, ord("s")):
                    value = self.unknown(part.value, "is formatted in a way r1policy does not follow")
                if isinstance(value, Unknown):
                    parts.append(Unknown("${" + self.source.display(part.value) + "}", value.why))
                elif isinstance(value, str | int | float) and not isinstance(value, bool):
                    parts.append(str(value))
                else:
                    parts.append(self.unknown(part.value, "is not a string constant"))
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)
        return _merge(parts, self.unknown(node))

    def _dict(self, node: ast.Dict) -> Any:
        out: dict[str, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:  # {**other}
                merged = self.expr(value)
                if not isinstance(merged, dict):
                    return self.unknown(
                        node, f"merges `{self.source.display(value)}`, which is not a constant dict"
                    )
                for k, v in merged.items():
                    out[k] = v
                    where = self.positions.get(id(merged), {}).get(k)
                    if where is not None:
                        self.positions.setdefault(id(out), {})[k] = where
                self._keep.append(out)
                continue
            name = self.expr(key)
            if not isinstance(name, str):
                return self.unknown(node, "has a key that is not a string constant")
            self.remember(out, name, value)
            out[name] = self.expr(value)
        return out

    def _subscript(self, node: ast.Subscript) -> Any:
        container, index = self.expr(node.value), self.expr(node.slice)
        if isinstance(container, dict) and isinstance(index, str) and index in container:
            return container[index]
        if (
            isinstance(container, list)
            and isinstance(index, int)
            and -len(container) <= index < len(container)
        ):
            return container[index]
        return self.unknown(node)

    def call(self, node: ast.Call) -> Any:
        name = self.qualified(node.func) or ""
        handled = self.call_handler(self, node, name)
        if handled is not None:
            return handled
        if name in ("json.dumps", "str") and len(node.args) == 1 and not node.keywords:
            value = self.expr(node.args[0])
            if any(True for _ in iter_unknowns(value)) or isinstance(value, Unknown):
                return self.unknown(node, "converts a value that is computed when the code runs")
            if name == "str":
                return (
                    value
                    if isinstance(value, str)
                    else json.dumps(value)
                    if isinstance(value, bool)
                    else str(value)
                )
            try:
                return json.dumps(value)
            except TypeError:
                return self.unknown(node)
        if name == "dict" and not node.args:
            out: dict[str, Any] = {}
            for kw in node.keywords:
                if kw.arg is None:
                    return self.unknown(node)
                self.remember(out, kw.arg, kw.value)
                out[kw.arg] = self.expr(kw.value)
            return out
        return self.unknown(node)

    def kwargs(self, node: ast.Call) -> tuple[dict[str, Any], Unknown | None]:
        """Keyword arguments of a call (`**constant_dict` merged); an Unknown when `**` is not constant."""
        out: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                merged = self.expr(kw.value)
                if not isinstance(merged, dict):
                    return out, self.unknown(
                        kw.value, "passes keyword arguments that are computed when the code runs"
                    )
                for k, v in merged.items():
                    out[k] = v
                    where = self.positions.get(id(merged), {}).get(k)
                    if where is not None:
                        self.positions.setdefault(id(out), {})[k] = where
                self._keep.append(out)
                continue
            self.remember(out, kw.arg, kw.value)
            out[kw.arg] = self.expr(kw.value)
        return out, None


def _merge(parts: list[Any], whole: Unknown) -> Unknown:
    """A string partly unknown, displayed with its unknown parts as `${...}` (as CloudFormation's are), e.g.
    `s3://bucket/${prefix}/`: the rules then tell a known bucket or registry from an unknown one."""
    text = "".join(p.display if isinstance(p, Unknown) else str(p) for p in parts)
    whys = [p.why for p in parts if isinstance(p, Unknown)]
    return Unknown(text, "; ".join(dict.fromkeys(whys)) or whole.why)


def _braced(value: Any) -> Any:
    if isinstance(value, Unknown) and not value.display.startswith("${"):
        return Unknown("${" + value.display + "}", value.why)
    return value
