"""`[for k, v in coll : expr if cond]` and `{for k, v in coll : key => value...}` over known collections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from r1policy.sources.cloudformation.values import Unknown

if TYPE_CHECKING:
    from r1policy.sources.terraform.source.evaluating import Evaluating


def for_expression(ev: Evaluating, node: Any) -> Any:
    kids = ev.parts(node)
    intro = kids[0]
    names = [str(c.children[0]) for c in ev.parts(intro) if c.data == "identifier"]
    source = ev.eval(ev.parts(intro)[-1])
    cond = next((c for c in kids if c.data == "for_cond"), None)
    body = [c for c in kids[1:] if c.data != "for_cond"]
    grouped = any(str(c) == "..." for c in node.children)
    if isinstance(source, Unknown):
        return Unknown("${" + ev.display(node) + "}", source.why, source.refs)
    if isinstance(source, dict):
        pairs: list[tuple[Any, Any]] = list(source.items())
    elif isinstance(source, list):
        pairs = list(enumerate(source))
    else:
        return ev.unknown(node, "iterates over a value that is not a collection")
    saved = dict(ev.loop)
    out_list: list[Any] = []
    out_map: dict[str, Any] = {}
    try:
        for key, value in pairs:
            if len(names) == 2:
                ev.loop[names[0]], ev.loop[names[1]] = key, value
            else:
                ev.loop[names[0]] = value
            if cond is not None:
                keep = ev.eval(ev.parts(cond)[0])
                if isinstance(keep, Unknown):
                    return Unknown("${" + ev.display(node) + "}", keep.why, keep.refs)
                if keep is not True:
                    continue
            if node.data == "for_tuple_expr":
                out_list.append(ev.eval(body[0]))
                continue
            k = ev.eval(body[0])
            if isinstance(k, Unknown):
                return Unknown("${" + ev.display(node) + "}", k.why, k.refs)
            v = ev.eval(body[1])
            if grouped:
                out_map.setdefault(str(k), []).append(v)
            else:
                out_map[str(k)] = v
    finally:
        ev.loop.clear()
        ev.loop.update(saved)
    return out_list if node.data == "for_tuple_expr" else out_map
