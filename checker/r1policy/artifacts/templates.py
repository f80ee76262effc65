"""Chat templates (Jinja) parsed with jinja2's parser — never rendered — and refused when they can
reach Python internals: dunder or private attributes, frame/code objects, computed attribute names,
`str.format`, the `self` template reference."""

from __future__ import annotations

import re
from typing import Any

_INTERNAL_ATTRS = frozenset(
    {
        "mro", "f_globals", "f_locals", "f_back", "f_builtins", "f_code", "gi_frame", "gi_code",
        "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next", "co_code", "co_consts",
        "func_globals", "func_code", "im_func", "im_self", "format", "format_map",
    }
)  # fmt: skip
_INTERNAL_NAMES = frozenset(
    {"self", "__builtins__", "builtins", "__import__", "globals", "locals", "eval", "exec"}
)
_DUNDER = re.compile(r"__\w+__")
MAX_PROBLEMS = 20


def _bad_name(name: str) -> bool:
    return name.startswith("_") or name in _INTERNAL_ATTRS


def check_template(source: str, where: str) -> list[str]:
    """Problems of one template; `where` names it in messages (e.g. "chat_template 'tool_use'")."""
    import jinja2

    try:
        tree = jinja2.Environment(extensions=["jinja2.ext.loopcontrols"]).parse(source)
        return _walk(tree, where)
    except jinja2.TemplateSyntaxError as exc:
        return [f"{where} does not parse as Jinja (line {exc.lineno}: {exc.message}); it cannot be judged"]
    except RecursionError:
        return [f"{where} is nested too deeply to be analysed; it cannot be judged"]


def _walk(tree: Any, where: str) -> list[str]:
    from jinja2 import nodes

    problems: list[str] = []

    def add(node: Any, text: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"{where} line {getattr(node, 'lineno', '?')}: {text}")

    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Getattr) and _bad_name(node.attr):
            add(node, f"reaches attribute {node.attr!r}")
        elif isinstance(node, nodes.Getitem):
            arg = node.arg
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and _bad_name(arg.value):
                add(node, f"reaches item {arg.value!r}")
            elif isinstance(arg, nodes.Concat | nodes.Add | nodes.Mod | nodes.Filter | nodes.Call):
                add(node, "subscripts with a computed name (cannot be checked statically)")
        elif isinstance(node, nodes.Filter | nodes.Test):
            for value in _attribute_operands(node):
                if not (isinstance(value, nodes.Const) and isinstance(value.value, str)):
                    add(node, f"uses {node.name!r} with a computed attribute name (cannot be checked)")
                elif _bad_name(value.value):
                    add(node, f"uses {node.name!r} on attribute {value.value!r}")
        elif isinstance(node, nodes.Name) and (node.name in _INTERNAL_NAMES or node.name.startswith("_")):
            add(node, f"uses {node.name!r}")
        elif isinstance(node, nodes.Const) and isinstance(node.value, str) and _DUNDER.search(node.value):
            add(node, f"holds the string {node.value[:40]!r}, a Python internal name")
    return problems


def _attribute_operands(node: Any) -> list[Any]:
    """The operands of a filter or test that name attributes (`attr('x')`, `map(attribute='x')`)."""
    values = [kw.value for kw in node.kwargs if kw.key == "attribute"]
    if node.name == "attr" or node.name in ("selectattr", "rejectattr"):
        values += list(node.args[:1])
    return values
