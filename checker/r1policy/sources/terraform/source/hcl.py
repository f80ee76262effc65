"""HCL files of one Terraform module, parsed with python-hcl2 (imported only when a .tf file is met) into
blocks and attributes that keep their file, line and column; expressions stay syntax trees, evaluated
by `terraform.source.expr` with the module's scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Location
from r1policy.core.yamldoc import read_text

# Larger .tf files (generated ones) are refused rather than parsed for minutes: python-hcl2's pure-Python
# parser reads roughly 0.1-0.5 MB per second.
MAX_TF_BYTES = 1024 * 1024


@dataclass
class Attr:
    name: str
    expr: Any  # a lark Tree
    where: Location
    text: str  # the file's text, for displaying expressions
    json: bool = False  # from a .tf.json file: `text` is the expression alone, its line is `where.line`

    def evaluator(self, scope: Any, loop: dict[str, Any] | None = None) -> Any:
        from r1policy.sources.terraform.source.expr import Evaluator

        return Evaluator(scope, self.where.path, self.text, loop, self.where.line if self.json else None)


@dataclass
class Block:
    type: str
    labels: list[str]
    attrs: dict[str, Attr]
    blocks: list[Block]
    where: Location
    file: str = ""

    def children(self, type_: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_]


@dataclass
class Files:
    blocks: list[Block] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def tf_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith((".tf", ".tf.json")))


def read_module(folder: Path) -> Files:
    out = Files()
    for path in tf_files(folder):
        shown = str(path)
        text = read_text(path, display=shown, limit=MAX_TF_BYTES)
        if path.name.endswith(".tf.json"):
            from r1policy.sources.terraform.source.jsonsyntax import parse_json_file

            out.blocks.extend(parse_json_file(text, shown).blocks)
        else:
            out.blocks.extend(parse_file(text, shown).blocks)
        out.paths.append(shown)
    return out


def parse_file(text: str, shown: str) -> Block:
    """The file's top-level body: its attributes (a .tfvars file) and blocks (a .tf file)."""
    from hcl2.parser import parser  # the LALR parser python-hcl2 caches on disk (hcl2.parses rebuilds it)
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        tree = parser().parse(text if text.endswith("\n") else text + "\n")
    except UnexpectedInput as exc:
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        line = line if isinstance(line, int) and line > 0 else None
        column = column if isinstance(column, int) and column > 0 else None
        raise InputError(Position(shown, line, column), "HCL syntax error: " + _first_line(exc)) from None
    except (LarkError, RecursionError) as exc:
        raise InputError(Position(shown), f"HCL cannot be read: {_first_line(exc)}") from None
    return _body(tree.children[0], shown, text)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _where(node: Any, shown: str) -> Location:
    meta = getattr(node, "meta", None)
    line = getattr(meta, "line", None) if meta is not None else None
    column = getattr(meta, "column", None) if meta is not None else None
    return Location(shown, line, column)


def _name(node: Any) -> str:
    """An identifier's name, or a string label's text."""
    from lark import Token

    if isinstance(node, Token):
        return str(node)
    if node.data == "identifier":
        return str(node.children[0])
    if node.data == "string":
        return "".join(str(c.children[0]) for c in node.children if getattr(c, "data", "") == "string_part")
    return ""


def _body(body: Any, shown: str, text: str) -> Block:
    attrs: dict[str, Attr] = {}
    blocks: list[Block] = []
    for child in body.children:
        kind = getattr(child, "data", "")
        if kind == "attribute":
            name = _name(child.children[0])
            expr = child.children[-1]
            if name in attrs:
                raise InputError(
                    Position(shown, _where(child, shown).line),
                    f"attribute {name!r} is set twice in this block",
                )
            attrs[name] = Attr(name, expr, _where(child, shown), text)
        elif kind == "block":
            parts = [c for c in child.children if getattr(c, "data", "") in ("identifier", "string")]
            inner = next(c for c in child.children if getattr(c, "data", "") == "body")
            sub = _body(inner, shown, text)
            sub.type, sub.labels, sub.where, sub.file = (
                _name(parts[0]),
                [_name(p) for p in parts[1:]],
                _where(child, shown),
                shown,
            )
            blocks.append(sub)
    return Block("", [], attrs, blocks, Location(shown), shown)
