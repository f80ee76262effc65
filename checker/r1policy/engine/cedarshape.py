"""What of a subject the policy set can see: the attribute paths its policies read from `resource`.

Two subjects of the same entity type and action whose values agree at every such path get the same
decision from Cedar, so one request answers for all of them (engine/cedarbatch.py). The paths are
read from the policies' JSON form (EST) exactly: a chain `resource.a.b` used by anything other than a
further attribute access or `has` reads the whole value at `a.b` (a record compared with `==`, a set
given to `contains`, a string to `like` ...); `resource.a has b` reads whether `a.b` exists.

Whenever a policy could tell two such subjects apart by anything else, the analysis gives up and
every subject is asked about on its own:
- the resource itself used as a value (`resource == ...`, `resource in ...`, a set holding it), which
  compares entity ids;
- an entity literal anywhere in a condition (it could name a subject and read that entity's
  attributes from the store, which would then hold only one subject of each group);
- a resource scope other than "any" or "is <type>";
- an operator this module does not know taking the resource itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str, ...]
# Operators whose operand is an attribute chain that continues (the chain is not "used" there).
_ACCESS = ".", "has"
_ENTITY = "__entity"


class Unshaped(Exception):
    """The policy set can distinguish subjects by more than their attribute values."""


@dataclass(frozen=True)
class Shape:
    """The attribute paths of `resource` whose whole value the policy set reads, and those of which
    it reads only whether they exist (`has`)."""

    paths: tuple[Path, ...]
    present: tuple[Path, ...] = ()
    _tree: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tree: dict[str, Any] = {}
        for path, mark in [(p, _PRESENT) for p in self.present] + [(p, _WHOLE) for p in self.paths]:
            node = tree
            for part in path[:-1]:
                child = node.get(part)
                if child is _WHOLE:
                    break
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
            else:
                if mark is _WHOLE or path[-1] not in node:
                    node[path[-1]] = mark
        self._tree.update(tree)

    def key(self, attrs: Mapping[str, Any]) -> str:
        """The values at every read path, as text: subjects with equal keys are decided alike. A path
        that reaches a reference to another entity (a deployment's `bucket`) gives that reference:
        the rest of the path is read from the referenced entity, the same for every subject naming it."""
        return json.dumps(_project(attrs, self._tree), sort_keys=True, separators=(",", ":"))


_WHOLE: Any = object()  # the value at this path is read whole
_PRESENT: Any = object()  # only whether the path exists is read


def _project(value: Any, tree: dict[str, Any]) -> Any:
    """`value` cut down to what `tree` reads: whole values, 1 for keys only tested for, references."""
    if not isinstance(value, dict) or _ENTITY in value:
        return value  # not a record (the policies cannot read into it) or a reference: as it is
    out: dict[str, Any] = {}
    for name, sub in tree.items():
        if name in value:
            if sub is _WHOLE:
                out[name] = value[name]
            elif sub is _PRESENT:
                out[name] = 1
            else:
                out[name] = _project(value[name], sub)
    return out


def shape_of(policies: Iterable[Mapping[str, Any]]) -> Shape | None:
    """The shape read by these EST policies, or None when subjects must be asked about one by one."""
    paths: set[Path] = set()
    present: set[Path] = set()
    try:
        for policy in policies:
            _scope(policy.get("resource"))
            for condition in policy.get("conditions") or ():
                _walk(condition.get("body"), paths, present, parent_is_access=False)
    except Unshaped:
        return None
    return Shape(tuple(sorted(paths)), tuple(sorted(present - paths)))


def _scope(scope: Any) -> None:
    if not isinstance(scope, Mapping) or scope.get("op") not in ("All", "is") or "in" in scope:
        raise Unshaped("resource scope names entities")


def _chain(node: Any) -> Path | None:
    """`resource.a.b` as ("a", "b"); () for `resource` itself; None for anything else."""
    parts: list[str] = []
    while isinstance(node, Mapping):
        if set(node) == {"Var"}:
            return tuple(reversed(parts)) if node["Var"] == "resource" else None
        access = node.get(".")
        if len(node) != 1 or not isinstance(access, Mapping) or not isinstance(access.get("attr"), str):
            return None
        parts.append(access["attr"])
        node = access.get("left")
    return None


def _walk(node: Any, paths: set[Path], present: set[Path], *, parent_is_access: bool) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, paths, present, parent_is_access=False)
        return
    if not isinstance(node, Mapping):
        return
    if "__entity" in node:
        raise Unshaped("an entity literal")
    chain = _chain(node)
    if chain is not None:
        if chain == ():
            if not parent_is_access:
                raise Unshaped("the resource used as a value")
            return
        if not parent_is_access:
            paths.add(chain)
            return
    for op, body in node.items():
        if op in _ACCESS and isinstance(body, Mapping):
            left = _chain(body.get("left"))
            if op == "has" and left is not None and isinstance(body.get("attr"), str):
                present.add((*left, body["attr"]))
            _walk(body.get("left"), paths, present, parent_is_access=True)
            continue
        if op == "is" and isinstance(body, Mapping) and _chain(body.get("left")) == ():
            _walk(body.get("in"), paths, present, parent_is_access=False)  # the type: part of the group
            continue
        _walk(body, paths, present, parent_is_access=False)


def references(value: Any) -> Iterable[tuple[str, str]]:
    """The (type, id) of every entity an attribute value refers to (`{"__entity": ...}`)."""
    if isinstance(value, Mapping):
        ref = value.get(_ENTITY)
        if isinstance(ref, Mapping):
            yield str(ref.get("type")), str(ref.get("id"))
            return
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)
