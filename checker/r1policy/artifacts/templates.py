"""Chat templates (Jinja) judged from jinja2's own syntax tree — never rendered.

The allowed shape of a lookup is a constant: `message['role']`, `ns.is_first`, `tool.function.name`.
Every way a template could look up a name it computed is refused, whatever the name turns out to be:
a subscript by anything that is not a constant or a number (`lipsum[g]`), `attr`/`map`/`selectattr`/
`sort(attribute=…)` with a non-constant name, keyword-argument names of calls (`dict(__globals__=1)`),
dunder or private names anywhere, frame/code objects, `str.format`, `self`, and `{% include %}`,
`{% import %}`, `{% from %}`, `{% extends %}` (they load other templates)."""

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
# Filters that look attributes up by name: the positional index of the name (after the value).
_ATTRIBUTE_ARG = {
    "attr": 0, "selectattr": 0, "rejectattr": 0, "groupby": 0, "sum": 0, "sort": 2, "unique": 1,
    "min": 1, "max": 1, "join": 1,
}  # fmt: skip
# Filters that apply another filter or test named by their first argument.
_NAMED_FILTER_ARG = frozenset({"map", "select", "reject", "selectattr", "rejectattr"})
# Expressions whose value is a number whatever their operands are (never a string used as a name).
_NUMERIC_FILTERS = frozenset({"length", "count", "int", "float", "abs", "round", "wordcount"})
_LOOP_NUMBERS = frozenset({"index", "index0", "revindex", "revindex0", "length", "depth", "depth0"})
_LOADERS = {"Include": "include", "Import": "import", "FromImport": "from … import", "Extends": "extends"}
MAX_PROBLEMS = 20


def _bad_name(name: str) -> bool:
    return name.startswith("_") or name in _INTERNAL_ATTRS


def _environment() -> Any:
    """The parser HF transformers uses (loop controls, the `{% generation %}` block), never rendering."""
    import jinja2
    from jinja2 import nodes
    from jinja2.ext import Extension

    class Generation(Extension):
        tags = {"generation"}  # noqa: RUF012  (jinja2's own class attribute)

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    return jinja2.Environment(extensions=["jinja2.ext.loopcontrols", Generation])


def check_template(source: str, where: str) -> list[str]:
    """Problems of one template; `where` names it in messages (e.g. "chat_template 'tool_use'")."""
    import jinja2

    try:
        tree = _environment().parse(source)
        return _walk(tree, where)
    except jinja2.TemplateSyntaxError as exc:
        return [f"{where} does not parse as Jinja (line {exc.lineno}: {exc.message}); it cannot be judged"]
    except RecursionError:
        return [f"{where} is nested too deeply to be analysed; it cannot be judged"]


def _walk(tree: Any, where: str) -> list[str]:
    from jinja2 import nodes

    problems: list[str] = []
    # `loop.index` is a number only while nothing in the template rebinds `loop`
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    loop_numbers = "loop" not in stored

    def add(node: Any, text: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"{where} line {getattr(node, 'lineno', '?')}: {text}")

    for node in tree.find_all(nodes.Node):
        kind = type(node).__name__
        if kind in _LOADERS:
            add(node, f"uses {{% {_LOADERS[kind]} %}}, which loads another template")
        elif isinstance(node, nodes.Getattr | nodes.NSRef) and _bad_name(node.attr):
            add(node, f"reaches attribute {node.attr!r}")
        elif isinstance(node, nodes.Getitem):
            _subscript(node, add, loop_numbers)
        elif isinstance(node, nodes.Filter | nodes.Test):
            _filter(node, add)
        elif isinstance(node, nodes.Name) and (node.name in _INTERNAL_NAMES or node.name.startswith("_")):
            add(node, f"uses {node.name!r}")
        elif isinstance(node, nodes.Const) and isinstance(node.value, str) and _DUNDER.search(node.value):
            add(node, f"holds the string {node.value[:40]!r}, a Python internal name")
        elif isinstance(node, nodes.Keyword) and _bad_name(node.key):
            add(node, f"passes the keyword argument {node.key!r}, a Python internal name")
    return problems


def _subscript(node: Any, add: Any, loop_numbers: bool) -> None:
    from jinja2 import nodes

    arg = node.arg
    if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
        if _bad_name(arg.value):
            add(node, f"reaches item {arg.value!r}")
    elif isinstance(arg, nodes.Slice) or _numeric(arg, loop_numbers):
        return  # a slice or a number is never looked up as an attribute name
    else:
        add(node, "subscripts with a computed name (cannot be checked statically)")


def _numeric(node: Any, loop_numbers: bool) -> bool:
    """True for expressions that evaluate to a number (or fail) whatever their operands hold."""
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        return not isinstance(node.value, str)
    if isinstance(node, nodes.Sub | nodes.Div | nodes.FloorDiv | nodes.Neg | nodes.Pow):
        return True  # no builtin type gives a string for these
    if isinstance(node, nodes.Add | nodes.Mul):
        return _numeric(node.left, loop_numbers) and _numeric(node.right, loop_numbers)
    if isinstance(node, nodes.Pos):
        return _numeric(node.node, loop_numbers)
    if isinstance(node, nodes.CondExpr):
        return (
            _numeric(node.expr1, loop_numbers)
            and node.expr2 is not None
            and _numeric(node.expr2, loop_numbers)
        )
    if isinstance(node, nodes.Filter):
        return node.name in _NUMERIC_FILTERS and node.node is not None
    if isinstance(node, nodes.Getattr):
        loop = isinstance(node.node, nodes.Name) and node.node.name == "loop"
        return loop_numbers and loop and node.attr in _LOOP_NUMBERS
    return False


def _constant_name(value: Any) -> str | None:
    from jinja2 import nodes

    if isinstance(value, nodes.Const) and isinstance(value.value, str):
        return value.value
    return None


def _filter(node: Any, add: Any) -> None:
    """Filters and tests that look attributes up by a name given as an argument."""
    name = node.name
    names: list[Any] = [kw.value for kw in node.kwargs if kw.key == "attribute"]
    if name in _ATTRIBUTE_ARG and len(node.args) > _ATTRIBUTE_ARG[name]:
        names.append(node.args[_ATTRIBUTE_ARG[name]])
    if name in _NAMED_FILTER_ARG and name not in ("selectattr", "rejectattr") and node.args:
        inner = _constant_name(node.args[0])
        if inner is None:
            add(node, f"uses {name!r} with a computed filter or test name (cannot be checked)")
        elif inner == "attr" and len(node.args) > 1:
            names.append(node.args[1])
    if (name in _ATTRIBUTE_ARG or name in _NAMED_FILTER_ARG) and (node.dyn_args or node.dyn_kwargs):
        add(node, f"uses {name!r} with unpacked arguments (cannot be checked)")
    for value in names:
        text = _constant_name(value)
        if text is None:
            add(node, f"uses {name!r} with a computed attribute name (cannot be checked)")
        elif any(_bad_name(part) for part in text.split(".")):
            add(node, f"uses {name!r} on attribute {text!r}")
