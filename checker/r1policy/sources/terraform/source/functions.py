"""The Terraform functions r1policy evaluates when their arguments are known; any other function is an
`Unknown` naming the file, line and call (the rules that need its value are `error`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from r1policy.sources.cloudformation.values import Unknown, iter_unknowns

if TYPE_CHECKING:
    from r1policy.sources.terraform.source.evaluating import Evaluating


def _format(fmt: Any, *args: Any) -> Any:
    out, i, n = [], 0, 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            verb = fmt[i + 1]
            if verb == "%":
                out.append("%")
            elif verb in "sdvq" and n < len(args):
                value = args[n]
                n += 1
                out.append(json.dumps(value) if verb == "q" else _str(value))
            else:
                raise ValueError(f"format verb %{verb} is not supported")
            i += 2
            continue
        out.append(fmt[i])
        i += 1
    return "".join(out)


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        raise ValueError("a collection is not a string")
    return str(value)


def _lookup(m: Any, key: Any, *default: Any) -> Any:
    if key in m:
        return m[key]
    if default:
        return default[0]
    raise ValueError(f"lookup: key {key!r} is not in the map")


def _merge(*maps: Any) -> Any:
    out: dict[str, Any] = {}
    for m in maps:
        if m is None:
            continue
        out.update(m)
    return out


def _coalesce(*values: Any) -> Any:
    return next(v for v in values if v not in (None, ""))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "format": _format,
    "join": lambda sep, items: sep.join(_str(x) for x in items),
    "lookup": _lookup,
    "merge": _merge,
    "tostring": _str,
    "tonumber": lambda v: float(v) if "." in str(v) else int(v),
    "tobool": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}[str(v)],
    "jsonencode": lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True),
    "concat": lambda *lists: [x for items in lists for x in items],
    "upper": lambda s: s.upper(),
    "lower": lambda s: s.lower(),
    "trimspace": lambda s: s.strip(),
    "replace": lambda s, old, new: s.replace(old, new),
    "split": lambda sep, s: s.split(sep),
    "length": len,
    "element": lambda items, i: items[i % len(items)],
    "tolist": list,
    "toset": lambda items: sorted(set(items), key=str),
    "tomap": dict,
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "coalesce": _coalesce,
    "compact": lambda items: [x for x in items if x not in (None, "")],
    "distinct": lambda items: list(dict.fromkeys(items)),
    "flatten": lambda items: [y for x in items for y in (x if isinstance(x, list) else [x])],
    "contains": lambda items, v: v in items,
    "min": min,
    "max": max,
}


def call_function(name: str, args: list[Any], ev: Evaluating, node: Any) -> Any:
    func = FUNCTIONS.get(name)
    if func is None:
        return ev.unknown(node, f"calls {name}(), which r1policy does not evaluate")
    unknown = [u for a in args for u in iter_unknowns(a)]
    if unknown:
        refs: frozenset[str] = frozenset().union(*(u.refs for u in unknown))
        if name == "lookup" and isinstance(args[0], dict) and isinstance(args[1], str) and args[1] in args[0]:
            return args[0][args[1]]
        return Unknown("${" + ev.display(node) + "}", "; ".join(dict.fromkeys(u.why for u in unknown)), refs)
    try:
        return func(*args)
    except (
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        AttributeError,
        ZeroDivisionError,
        StopIteration,
    ) as exc:
        return ev.unknown(node, f"cannot be evaluated from the files ({name}: {exc})")
