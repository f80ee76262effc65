"""Messages and remediation rendered with jinja2 from the subject's real names."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from r1policy.core.findings import Remediation
from r1policy.rules.metadata import RuleMeta


def _tf_name(value: Any) -> str:
    return _tf_name_of(str(value))


@lru_cache(maxsize=4096)
def _tf_name_of(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_").lower()
    return name if name and not name[0].isdigit() else f"r_{name}"


@cache
def _environment() -> Any:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False, trim_blocks=True
    )
    env.filters["tf_name"] = _tf_name
    return env


@cache
def _template(source: str) -> Any:
    return _environment().from_string(source)


@cache
def _variables(source: str) -> tuple[str, ...]:
    """The names a template reads (filters are pure functions of them)."""
    pieces = _simple(source)
    if pieces is not None:  # no need to import Jinja for a plain template
        return tuple(sorted({n for _, field in pieces if field for n in field[0]}))
    from jinja2 import meta

    return tuple(sorted(meta.find_undeclared_variables(_environment().parse(source))))


_UNCACHEABLE = object()
_MISSING = ("<missing>",)
# (template, the values of the names it reads) -> its text: every distinct rendering is done once.
_RENDERED: dict[tuple[Any, ...], str] = {}
_RENDERED_MAX = 65_536


def _frozen(value: Any) -> Any:
    """A hashable stand-in for `value` that tells apart what renders differently (1, 1.0 and True)."""
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value), value)
    if isinstance(value, list | tuple):
        items = tuple(_frozen(v) for v in value)
        return _UNCACHEABLE if _UNCACHEABLE in items else (type(value), items)
    if isinstance(value, dict):
        pairs = tuple((_frozen(k), _frozen(v)) for k, v in value.items())
        return _UNCACHEABLE if any(_UNCACHEABLE in p for p in pairs) else (dict, pairs)
    return _UNCACHEABLE


# Most templates are text with `{{ name }}`, `{{ name | tf_name }}` or `{{ a or b or "text" }}` fields.
# Jinja renders those as str(value) (or the filter's result; `or` gives its first true operand, else its
# last, as Python's `or`); in this environment it also drops one trailing newline of the source.
# Jinja's constants and operators (`none`, `true`, `not`, ...) are not names. tests/test_render_fast.py
# renders every built-in template both ways, and generated ones.
# `self` is Jinja's reference to the template itself whatever the names hold: such a template goes to Jinja.
_NAME = r"(?!(?:and|or|not|if|else|in|is|true|false|none|True|False|None|self)\b)[A-Za-z_][A-Za-z0-9_]*"
_LITERAL = r"\"[^\"\\{}%#\r\n]*\"|'[^'\\{}%#\r\n]*'"
_OR_CHAIN = rf"(?P<names>{_NAME}(?: or {_NAME})*)(?: or (?P<text>{_LITERAL}))?"
_SIMPLE_FIELD = re.compile(rf"\{{\{{ (?:(?P<tf>{_NAME}) \| tf_name|{_OR_CHAIN}) \}}\}}")
_Field = tuple[tuple[str, ...], str | None, bool]  # the names `or`-ed, the literal that ends them, tf_name?
_Piece = tuple[str, _Field | None]  # literal text, then the field that follows it


def _plain_text(text: str) -> bool:
    return not any(mark in text for mark in ("{{", "{%", "{#", "\r"))


# Where Jinja's lexer may see a tag start (overlapping: `{{{` has two).
_TAG_START = re.compile(r"(?=\{[{%#])")


def _field(match: re.Match[str]) -> _Field:
    if match.group("tf"):
        return ((match.group("tf"),), None, True)
    text = match.group("text")
    return (tuple(match.group("names").split(" or ")), text[1:-1] if text else None, False)


def _text(source: str) -> str:
    """The template's text as Jinja renders it here: without one trailing newline (keep_trailing_newline
    is off)."""
    return source[:-1] if source.endswith("\n") else source


@cache
def _simple(source: str) -> tuple[_Piece, ...] | None:
    """The template as literal pieces and fields, or None when it needs Jinja."""
    return _pieces(_text(source))


def _pieces(text: str) -> tuple[_Piece, ...] | None:
    """Text (already without the template's trailing newline) as literal pieces and fields."""
    fields = list(_SIMPLE_FIELD.finditer(text))
    # Every place a tag could start must be one of our fields (`{{{ a }}` is Jinja's `{ a }`).
    if {m.start() for m in _TAG_START.finditer(text)} != {m.start() for m in fields}:
        return None
    pieces: list[_Piece] = []
    pos = 0
    for match in fields:
        literal = text[pos : match.start()]
        if not _plain_text(literal):
            return None
        pieces.append((literal, _field(match)))
        pos = match.end()
    if not _plain_text(text[pos:]):
        return None
    pieces.append((text[pos:], None))
    return tuple(pieces)


# The `%` format, its fields, and when every field is one name printed as it is, the getter of their
# values as a tuple.
_Compiled = tuple[str, tuple[_Field, ...], Callable[[dict[str, Any]], tuple[Any, ...]] | None]


def _fill(compiled: _Compiled, names: dict[str, Any]) -> str:
    """A plain template filled as Jinja fills it; KeyError when a name it reads is missing (Jinja then
    decides: `a or b` does not read `b` when `a` is true)."""
    fmt, fields, getter = compiled
    if not fields:
        return fmt
    if getter is not None:
        return fmt % getter(names)
    values = []
    for chain, fallback, tf in fields:
        for name in chain:
            value = names[name]
            if value:
                break
        else:
            if fallback is not None:
                value = fallback
        values.append(_tf_name(value) if tf else value)
    return fmt % tuple(values)  # `%s` is str(value), as Jinja prints it


@cache
def _compiled(source: str) -> _Compiled | None:
    """A plain template as one `%` format (each field a `%s`) and its fields (without fields, its
    text); None when it needs Jinja."""
    return _compiled_pieces(_simple(source))


def _compiled_pieces(pieces: tuple[_Piece, ...] | None) -> _Compiled | None:
    if pieces is None:
        return None
    fields = tuple(field for _, field in pieces if field is not None)
    if not fields:
        return "".join(literal for literal, _ in pieces), (), None
    fmt = "".join(literal.replace("%", "%%") + ("%s" if field else "") for literal, field in pieces)
    getter = None
    if all(len(chain) == 1 and fallback is None and not tf for chain, fallback, tf in fields):
        flat = [chain[0] for chain, _, _ in fields]
        getter = _getter(flat)
    return fmt, fields, getter


def _getter(keys: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The values of `keys` as a tuple (KeyError for a missing one), in one C call."""
    if len(keys) == 1:
        one = keys[0]
        return lambda names: (names[one],)
    get: Callable[[dict[str, Any]], tuple[Any, ...]] = operator.itemgetter(*keys)
    return get


# `{% if TEST %}A{% endif %}` and `{% if TEST %}A{% else %}B{% endif %}` among plain text (not nested),
# TEST one or more conditions joined by ` and `: a name (its truth), or a name `==` / `!=` a name or a
# quoted text. Jinja evaluates `and` from the left and stops at the first false condition (a name after
# it is not read), prints the branch the test chose, and, with trim_blocks, drops a newline right after
# a tag (such templates go to Jinja, as does any other tag, whitespace control or nesting).
_TAG = re.compile(r"\{%(.*?)%\}", re.DOTALL)
_CONDITION = re.compile(
    rf"(?P<left>{_NAME})(?: (?P<op>==|!=) (?:(?P<right>{_NAME})|'(?P<text>[^'\\{{}}%#\r\n]*)'))?"
)
_Condition = tuple[str, str | None, str | None, str | None]  # name, operator, other name, text
# (None, plain, None) for text with fields; (test, then, else) for an if-block (else None: no else)
_Part = tuple[tuple[_Condition, ...] | None, _Compiled, _Compiled | None]


def _test(body: str) -> tuple[_Condition, ...] | None:
    if not (body.startswith(" if ") and body.endswith(" ")):
        return None
    out = []
    for condition in body[4:-1].split(" and "):
        match = _CONDITION.fullmatch(condition)
        if match is None:
            return None
        out.append((match.group("left"), match.group("op"), match.group("right"), match.group("text")))
    return tuple(out)


@cache
def _blocks(source: str) -> tuple[_Part, ...] | None:
    """The template as plain parts and if-blocks, or None when it needs Jinja."""
    text = _text(source)
    tags = list(_TAG.finditer(text))
    if not tags:
        return None
    bounds = [0, *(x for tag in tags for x in (tag.start(), tag.end())), len(text)]
    cuts = [text[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2)]  # the text around the tags
    if any(piece.endswith("{") for piece in cuts[:-1]) or any(piece.startswith("\n") for piece in cuts[1:]):
        return None  # `{` + `{%` is `{{` to Jinja's lexer; trim_blocks drops a newline after a tag
    parts: list[_Part] = []
    plain = _compiled_pieces(_pieces(cuts[0]))
    at = 0
    while plain is not None:
        parts.append((None, plain, None))
        if at == len(tags):
            return tuple(parts)
        block = _block(tags, cuts, at)
        if block is None:
            return None
        parts.append(block[0])
        at = block[1]
        plain = _compiled_pieces(_pieces(cuts[at]))
    return None


def _block(tags: list[re.Match[str]], cuts: list[str], at: int) -> tuple[_Part, int] | None:
    """The if-block whose `if` is tag `at`, and the index of the tag after its `endif`."""
    test = _test(tags[at].group(1))
    then = _compiled_pieces(_pieces(cuts[at + 1]))
    if test is None or then is None or at + 1 >= len(tags):
        return None
    word = tags[at + 1].group(1)
    if word == " endif ":
        return (test, then, None), at + 2
    other = _compiled_pieces(_pieces(cuts[at + 2])) if at + 2 < len(tags) else None
    if word != " else " or other is None or tags[at + 2].group(1) != " endif ":
        return None
    return (test, then, other), at + 3


def _holds(test: tuple[_Condition, ...], names: dict[str, Any]) -> bool:
    """Jinja's truth of the test (KeyError for a name it would read that is missing)."""
    for left, op, right, text in test:
        value = names[left]
        if op is None:
            if not value:
                return False
            continue
        other = names[right] if right is not None else text
        if not (value == other if op == "==" else value != other):
            return False
    return True


def _fill_blocks(parts: tuple[_Part, ...], names: dict[str, Any]) -> str:
    out = []
    for test, then, other in parts:
        if test is None or _holds(test, names):
            out.append(_fill(then, names))
        elif other is not None:
            out.append(_fill(other, names))
    return "".join(out)


def _render_uncached(source: str, names: dict[str, Any]) -> str:
    compiled = _compiled(source)
    if compiled is None or any(n not in names for field in compiled[1] for n in field[0]):
        return str(_template(source).render(names))  # Jinja (and StrictUndefined's error)
    return _fill(compiled, names)


def render(source: str, names: dict[str, Any]) -> str:
    compiled = _compiled(source)
    if compiled is not None:  # filling a plain template costs less than building its cache key
        try:
            return _fill(compiled, names)
        except KeyError:
            return _render_uncached(source, names)  # Jinja's StrictUndefined error
    blocks = _blocks(source)
    if blocks is not None:
        try:
            return _fill_blocks(blocks, names)
        except KeyError:
            return _render_uncached(source, names)
    key = (source, *(_frozen(names[n]) if n in names else _MISSING for n in _variables(source)))
    if _UNCACHEABLE in key:
        return _render_uncached(source, names)
    text = _RENDERED.get(key)
    if text is None:
        text = _render_uncached(source, names)
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()
        _RENDERED[key] = text
    return text


def render_message(rule: RuleMeta, reason: str, names: dict[str, Any]) -> str:
    """The reason's message; `<reason>_<platform>` (e.g. `default_kubernetes`) when the rule words it
    for the platform the deployment runs on."""
    platform = names.get("platform")
    source = rule.messages.get(f"{reason}_{platform}") if platform and platform != "sagemaker" else None
    source = source or rule.messages.get(reason, rule.messages["default"])
    return " ".join(render(source, names).split())


def render_remediation(rule: RuleMeta, names: dict[str, Any]) -> Remediation:
    rem = rule.remediation
    return Remediation(
        summary=render(rem.summary, names),
        steps=tuple(render(step, names) for step in rem.steps),
        cli=render(rem.cli, names).rstrip() if rem.cli else None,
        terraform=render(rem.terraform, names).rstrip() if rem.terraform else None,
        cloudformation=render(rem.cloudformation, names).rstrip() if rem.cloudformation else None,
    )


def validate_templates(rule: RuleMeta, names: dict[str, Any]) -> list[str]:
    """Render every template of a rule once; return the errors (used by `policies test`)."""
    import jinja2

    problems = []
    sources = [*rule.messages.values(), rule.remediation.summary, *rule.remediation.steps]
    sources += [
        s for s in (rule.remediation.cli, rule.remediation.terraform, rule.remediation.cloudformation) if s
    ]
    for source in sources:
        try:
            render(source, names)
        except jinja2.TemplateError as exc:
            problems.append(f"{rule.id}: template {source[:40]!r}…: {exc}")
    return problems
