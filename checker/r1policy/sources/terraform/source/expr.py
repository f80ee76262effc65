"""Terraform expressions (python-hcl2 syntax trees) evaluated from what the files decide.

Literals, templates and interpolation, lists and objects, references (resolved by the module's
`Scope`), index and attribute access, conditionals, `==` / `!=` / `&&` / `||` / `!` / arithmetic, `for`
expressions over known collections, and the common functions (`terraform.source.functions`). A value the files
do not decide is an `Unknown` (cfn_values) that names the file, line and expression and carries the
addresses of the resources it refers to; operations on it stay unknown. python-hcl2 nests a binary
operator's right operand without precedence (`a == "b" ? x : y` arrives as `a == ("b" ? x : y)`), so
chains are flattened and re-associated here with HCL's precedence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from r1policy.core.findings import Location
from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.terraform.source.functions import call_function

MAX_DEPTH = 150
_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    ">": 4,
    ">=": 4,
    "<": 4,
    "<=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}
_SKIP = {"new_line_or_comment"}
_TRAVERSALS = ("get_attr_expr_term", "index_expr_term", "identifier")


class Scope(Protocol):
    def resolve(self, root: str, steps: list[Any], ev: Evaluator, node: Any) -> Any: ...


class Evaluator:
    def __init__(
        self, scope: Scope, path: str, text: str, loop: dict[str, Any] | None = None, line: int | None = None
    ) -> None:
        self.scope = scope
        self.path = path
        self.text = text
        self.line = line  # .tf.json: every expression sits on its attribute's line
        self.loop: dict[str, Any] = dict(loop or {})  # for-expression and count/each variables
        self.refs: set[str] = set()  # resource addresses the evaluated expressions refer to
        self._depth = 0

    # -- helpers ---------------------------------------------------------------------------------
    def display(self, node: Any) -> str:
        meta = getattr(node, "meta", None)
        start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
        if isinstance(start, int) and isinstance(end, int):
            shown = " ".join(self.text[start:end].split())
            return shown if len(shown) <= 120 else shown[:119] + "…"
        return getattr(node, "data", "expression")

    def where(self, node: Any) -> str:
        line = self.line or getattr(getattr(node, "meta", None), "line", None)
        return f"{self.path}:{line}" if line else self.path

    def unknown(self, node: Any, what: str, refs: frozenset[str] = frozenset()) -> Unknown:
        shown = self.display(node)
        return Unknown("${" + shown + "}", f"{self.where(node)}: `{shown}` {what}", refs)

    def location(self, node: Any) -> Location:
        meta = getattr(node, "meta", None)
        return Location(self.path, getattr(meta, "line", None), getattr(meta, "column", None))

    # -- evaluation ------------------------------------------------------------------------------
    def eval(self, node: Any) -> Any:
        if self._depth >= MAX_DEPTH:
            return self.unknown(
                node, f"is nested more than {MAX_DEPTH} levels deep, which r1policy does not follow"
            )
        self._depth += 1
        try:
            return self._eval(node)
        finally:
            self._depth -= 1

    def _eval(self, node: Any) -> Any:
        kind = getattr(node, "data", None)
        handler = _HANDLERS.get(str(kind))
        if handler is None:
            return self.unknown(node, "is an expression r1policy does not evaluate")
        return handler(self, node)

    def parts(self, node: Any) -> list[Any]:
        from lark import Tree

        return [c for c in node.children if isinstance(c, Tree) and c.data not in _SKIP]

    def _term(self, node: Any) -> Any:
        from lark import Token

        kids = self.parts(node)
        if kids:
            return self.eval(kids[0])
        token = next(
            (c for c in node.children if isinstance(c, Token) and c.type not in ("LPAR", "RPAR")), None
        )
        return self.unknown(node, "is not understood") if token is None else str(token)

    def _number(self, node: Any) -> Any:
        text = "".join(str(c) for c in node.children)
        return float(text) if node.data == "float_lit" else int(text)

    def _string(self, node: Any) -> Any:
        out: list[Any] = []
        for part in node.children:
            if getattr(part, "data", "") != "string_part":
                continue
            inner = part.children[0]
            if getattr(inner, "data", "") == "interpolation":
                out.append(self.eval(self.parts(inner)[0]))
            else:
                raw = str(inner)
                if "%{" in raw.replace("%%{", ""):
                    return self.unknown(
                        node, "uses a template directive (%{ }), which r1policy does not evaluate"
                    )
                out.append(_unescape(raw))
        return concat(out, self, node)

    def _heredoc(self, node: Any) -> Any:
        raw = str(node.children[0])
        body = raw.split("\n", 1)[1] if "\n" in raw else ""
        body = body.rsplit("\n", 2)[0] + "\n" if body.count("\n") >= 1 else body
        if "${" in body.replace("$${", "") or "%{" in body.replace("%%{", ""):
            return self.unknown(node, "is a heredoc template, which r1policy does not evaluate")
        if node.data == "heredoc_template_trim":
            lines = body.splitlines()
            indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
            body = "\n".join(x[indent:] for x in lines) + "\n"
        return body.replace("$${", "${").replace("%%{", "%{")

    def _identifier(self, node: Any) -> Any:
        name = str(node.children[0])
        if name in ("true", "false"):
            return name == "true"
        if name == "null":
            return None
        return self.reference(name, [], node)

    def reference(self, root: str, steps: list[Any], node: Any) -> Any:
        if root in self.loop:
            return apply_steps(self.loop[root], steps, self, node)
        return self.scope.resolve(root, steps, self, node)

    def _traversal(self, node: Any) -> Any:
        """`a.b[0].c`: a reference when it starts at a name, else an access on a value."""
        steps: list[Any] = []
        current = node
        while getattr(current, "data", "") in ("get_attr_expr_term", "index_expr_term", "expr_term"):
            kids = self.parts(current)
            if current.data == "expr_term":
                if len(kids) != 1 or getattr(kids[0], "data", "") not in _TRAVERSALS:
                    return apply_steps(self._term(current), steps, self, node)
                current = kids[0]
                continue
            base, access = kids[0], kids[1]
            if access.data == "get_attr":
                steps.insert(0, str(self.parts(access)[0].children[0]))
            else:
                index_kids = self.parts(access)
                steps.insert(0, self.eval(index_kids[0]) if index_kids else int(str(access.children[-1])))
            current = base
        if getattr(current, "data", "") == "identifier":
            name = str(current.children[0])
            if name not in ("true", "false", "null"):
                return self.reference(name, steps, node)
        return apply_steps(self.eval(current), steps, self, node)

    def _tuple(self, node: Any) -> Any:
        return [self.eval(c) for c in self.parts(node)]

    def _object(self, node: Any) -> Any:
        out: dict[str, Any] = {}
        for elem in self.parts(node):
            key_node, value_node = self.parts(elem)[0], self.parts(elem)[-1]
            inner = self.parts(key_node)[0] if self.parts(key_node) else key_node
            if inner.data == "identifier":
                key: Any = str(inner.children[0])
            elif inner.data == "object_elem_key_dot_accessor":
                key = ".".join(str(c.children[0]) for c in self.parts(inner))
            else:
                key = self.eval(self.parts(inner)[0] if inner.data == "object_elem_key_expression" else inner)
            if isinstance(key, Unknown):
                return self.unknown(node, "has a key known only at apply time", key.refs)
            out[str(key)] = self.eval(value_node)
        return out

    def _function(self, node: Any) -> Any:
        kids = self.parts(node)
        name = str(kids[0].children[0])
        args = [self.eval(a) for a in self.parts(kids[1])] if len(kids) > 1 else []
        return call_function(name, args, self, node)

    def _conditional(self, node: Any) -> Any:
        test, yes, no = self.parts(node)
        return self.choose(self.eval(test), yes, no, node)

    def choose(self, test: Any, yes: Any, no: Any, node: Any) -> Any:
        if isinstance(test, Unknown):
            a, b = self.eval(yes), self.eval(no)
            if a == b and not isinstance(a, Unknown):
                return a
            return Unknown("${" + self.display(node) + "}", test.why, test.refs)
        if not isinstance(test, bool):
            return self.unknown(node, "has a condition that is not a boolean")
        return self.eval(yes if test else no)

    def _unary(self, node: Any) -> Any:
        op = str(node.children[0])
        value = self.eval(self.parts(node)[0])
        if isinstance(value, Unknown):
            return value
        if op == "!" and isinstance(value, bool):
            return not value
        if op == "-" and isinstance(value, int | float) and not isinstance(value, bool):
            return -value
        return self.unknown(node, f"applies {op} to a value of the wrong type")

    def _binary(self, node: Any) -> Any:
        items = self._flatten(node)
        last = items[-1]
        if getattr(last, "data", "") == "conditional":
            test, yes, no = self.parts(last)
            head = [*items[:-1], *self._flatten(test)]
            return self.choose(self._precedence(head, node), yes, no, node)
        return self._precedence(items, node)

    def _flatten(self, node: Any) -> list[Any]:
        if getattr(node, "data", "") != "binary_op":
            return [node]
        left, term = self.parts(node)[0], self.parts(node)[1]
        op_node, right = self.parts(term)[0], self.parts(term)[-1]
        return [left, str(op_node.children[0]), *self._flatten(right)]

    def _precedence(self, items: list[Any], node: Any) -> Any:
        values: list[Any] = [self.eval(items[0])]
        ops: list[str] = []
        for i in range(1, len(items), 2):
            op = items[i]
            while ops and _PRECEDENCE.get(ops[-1], 0) >= _PRECEDENCE.get(op, 0):
                right, left = values.pop(), values.pop()
                values.append(binary(ops.pop(), left, right, self, node))
            ops.append(op)
            values.append(self.eval(items[i + 1]))
        while ops:
            right, left = values.pop(), values.pop()
            values.append(binary(ops.pop(), left, right, self, node))
        return values[0]

    def _for(self, node: Any) -> Any:
        from r1policy.sources.terraform.source.forexpr import for_expression

        return for_expression(self, node)


def _unescape(raw: str) -> str:
    out, i = [], 0
    table = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] in table:
            out.append(table[raw[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out).replace("$${", "${").replace("%%{", "%{")


def concat(parts: list[Any], ev: Evaluator, node: Any) -> Any:
    if all(isinstance(p, str | int | float | bool) for p in parts):
        return "".join(_text(p) for p in parts)
    unknown = [p for p in parts if isinstance(p, Unknown)]
    if not unknown:
        return ev.unknown(node, "interpolates a value that is not a string")
    shown = "".join(p.display if isinstance(p, Unknown) else _text(p) for p in parts)
    refs: frozenset[str] = frozenset().union(*(u.refs for u in unknown))
    return Unknown(shown, "; ".join(dict.fromkeys(u.why for u in unknown)), refs)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def apply_steps(value: Any, steps: list[Any], ev: Evaluator, node: Any) -> Any:
    for step in steps:
        if isinstance(value, Unknown):
            return Unknown(value.display, value.why, value.refs)
        if isinstance(step, Unknown):
            return Unknown("${" + ev.display(node) + "}", step.why, step.refs)
        if isinstance(value, dict) and str(step) in value:
            value = value[str(step)]
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return ev.unknown(node, f"has no element {step!r} in the files")
    return value


def binary(op: str, left: Any, right: Any, ev: Evaluator, node: Any) -> Any:
    for side in (left, right):
        if isinstance(side, Unknown):
            if op == "&&" and (left is False or right is False):
                return False
            if op == "||" and (left is True or right is True):
                return True
            return Unknown("${" + ev.display(node) + "}", side.why, side.refs)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("&&", "||") and isinstance(left, bool) and isinstance(right, bool):
        return (left and right) if op == "&&" else (left or right)
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (left, right))
    if numbers:
        if op in ("+", "-", "*"):
            return left + right if op == "+" else left - right if op == "-" else left * right
        if op in ("/", "%") and right:
            return left / right if op == "/" else left % right
        if op in (">", ">=", "<", "<="):
            return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
    return ev.unknown(node, f"applies {op} to values r1policy cannot combine")


_HANDLERS: dict[str, Callable[[Evaluator, Any], Any]] = {
    "expr_term": Evaluator._traversal,
    "int_lit": Evaluator._number,
    "float_lit": Evaluator._number,
    "string": Evaluator._string,
    "heredoc_template": Evaluator._heredoc,
    "heredoc_template_trim": Evaluator._heredoc,
    "identifier": Evaluator._identifier,
    "get_attr_expr_term": Evaluator._traversal,
    "index_expr_term": Evaluator._traversal,
    "tuple": Evaluator._tuple,
    "object": Evaluator._object,
    "function_call": Evaluator._function,
    "conditional": Evaluator._conditional,
    "unary_op": Evaluator._unary,
    "binary_op": Evaluator._binary,
    "for_tuple_expr": Evaluator._for,
    "for_object_expr": Evaluator._for,
}
