"""`Fn::ForEach` (the AWS::LanguageExtensions transform), expanded as CloudFormation expands it.

`"Fn::ForEach::Name": [Identifier, Collection, {OutputKey: OutputValue}]` repeats the fragment once per
item of the collection (a literal list, or a list the template decides: a `CommaDelimitedList`
parameter's default, a mapping, ...): `${Identifier}` and `&{Identifier}` (the item with its
non-alphanumeric characters dropped) in keys and strings, and `{"Ref": Identifier}`, become the item.
Loops nest (up to 5 levels, as CloudFormation allows). The expanded copies keep the file positions of
the fragment they come from, so findings point at the loop's lines. A collection the template does not
decide cannot be expanded: the loop is recorded in `Template.undecided` (an `error` naming it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from r1policy.core.errors import InputError
from r1policy.core.yamldoc import JsonPath
from r1policy.sources.cloudformation.values import Unknown

if TYPE_CHECKING:
    from r1policy.sources.cloudformation.resolve import Template

PREFIX = "Fn::ForEach::"
MAX_DEPTH = 5
MAX_COPIES = 2000
_ALNUM = re.compile(r"[^A-Za-z0-9]")


def expand_foreach(t: Template, resources: dict[str, Any]) -> dict[str, Any]:
    """The Resources section with every top-level loop expanded into resources."""
    out: dict[str, Any] = {}
    for key, value in resources.items():
        looped = key.startswith(PREFIX)
        pairs = _loop(t, ("Resources",), key, value, {}, 0) if looped else [(key, value, None)]
        for name, fragment, source in pairs:
            if name in out or (name != key and name in resources):
                raise InputError(t.pos(("Resources", key)), f"Fn::ForEach makes a second resource {name!r}")
            out[name] = fragment
            if source is not None:
                _copy_positions(t, source, ("Resources", name))
    return out


def expand_inline(t: Template, mapping: dict[str, Any], path: JsonPath) -> Iterator[tuple[str, Any]]:
    """The items of a mapping, with loops inside it (in a resource's Properties) expanded."""
    for key, value in mapping.items():
        if not key.startswith(PREFIX):
            yield key, value
            continue
        for name, fragment, source in _loop(t, path, key, value, {}, 0):
            if source is not None:
                _copy_positions(t, source, (*path, name))
            yield name, fragment


def _loop(
    t: Template, base: JsonPath, key: str, arg: Any, bindings: dict[str, str], depth: int
) -> list[tuple[str, Any, JsonPath | None]]:
    path: JsonPath = (*base, key)
    if depth >= MAX_DEPTH:
        raise InputError(t.pos(path), f"Fn::ForEach loops nest deeper than {MAX_DEPTH} levels")
    if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str) and isinstance(arg[2], dict)):
        raise InputError(t.pos(path), f"{key} takes [Identifier, Collection, {{OutputKey: OutputValue}}]")
    ident, collection, fragment = arg
    items = t.resolve(_bind(collection, bindings), (*path, 1))
    if isinstance(items, Unknown):
        t.undecided.append((path, f"the collection of {key} is not decided by the template: {items.why}"))
        return []
    if not isinstance(items, list) or not all(isinstance(i, str | int | float) for i in items):
        raise InputError(t.pos((*path, 1)), f"the collection of {key} must be a list of strings")
    out: list[tuple[str, Any, JsonPath | None]] = []
    for item in items:
        bound = {**bindings, ident: str(item)}
        for out_key, value in fragment.items():
            source: JsonPath = (*path, 2, out_key)
            if out_key.startswith(PREFIX):
                nested = _loop(t, (*path, 2), out_key, value, bound, depth + 1)
                out.extend((n, v, s) for n, v, s in nested)
            else:
                out.append((_text(out_key, bound), _bind(value, bound), source))
            if len(out) > MAX_COPIES:
                raise InputError(t.pos(path), f"Fn::ForEach makes more than {MAX_COPIES} copies")
    return out


def _text(text: str, bindings: dict[str, str]) -> str:
    for ident, value in bindings.items():
        text = text.replace("${" + ident + "}", value).replace("&{" + ident + "}", _ALNUM.sub("", value))
    return text


def _bind(value: Any, bindings: dict[str, str]) -> Any:
    if not bindings:
        return value
    if isinstance(value, str):
        return _text(value, bindings)
    if isinstance(value, list):
        return [_bind(v, bindings) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and "Ref" in value and value["Ref"] in bindings:
            return bindings[value["Ref"]]
        return {_text(k, bindings): _bind(v, bindings) for k, v in value.items()}
    return value


def _copy_positions(t: Template, source: JsonPath, target: JsonPath) -> None:
    size = len(source)
    for table in (t.doc.positions, t.doc.key_positions):
        for path, where in list(table.items()):
            if path[:size] == source:
                table.setdefault((*target, *path[size:]), where)
