"""The common case of `yamldoc.load_yaml_documents`, built straight from libyaml's events.

Most manifests are plain block or flow YAML (or JSON): string keys, scalars of the core schema, no
anchors, aliases, tags or merge keys. For such a stream, the documents are built from the parser's
events without composing PyYAML nodes first: the same values, the same value and key positions (an
event's start mark is its node's), no tags. Whatever else the stream holds -- an anchor, an alias, any
tag, a merge key, a key that is not a plain string, a duplicate key, a value that does not construct
to a finite number, a boolean, a null or a date, more than `MAX_NODES` values, nesting deeper than
`_MAX_DEPTH`, a syntax error -- makes `documents` return None, and the composing path in yamldoc
reads the whole stream again and decides (its refusals, their order and their positions stay its
own). tests/test_yamlevents.py compares the two on generated documents.

yamldoc calls this module (`yamldoc.event_documents`) with its loader class, its document record, its
scalar-tag memo and its value limit: this module imports nothing of yamldoc.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import yaml

_STANDARD = "tag:yaml.org,2002:"
_STR = _STANDARD + "str"
# Plain scalars this path constructs (through PyYAML's own constructor, once per distinct text).
_CONSTRUCTED = frozenset(_STANDARD + name for name in ("int", "float", "bool", "null", "timestamp"))
_MAX_DEPTH = 64  # deeper documents go to the composing path, which decides on "nested too deeply"

_SCALAR, _MAPPING, _SEQUENCE = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NODE = yaml.ScalarNode

_OUTSIDE: tuple[Any, Any, Any, Any] = (None, (), None, ())  # no collection open yet
_VALUES: dict[tuple[str, str], Any] = {}
_VALUES_MAX = 65_536


class _Document(Protocol):
    value: Any
    printable: bool
    positions: dict[tuple[str | int, ...], tuple[int, int]]
    key_positions: dict[tuple[str | int, ...], tuple[int, int]]


D = TypeVar("D", bound=_Document)


class _Unsupported(Exception):
    """The stream holds something only the composing path decides on."""


def documents(
    text: str,
    *,
    loader: Callable[[str], Any],
    document: Callable[[], D],
    resolved: dict[str, str],
    max_nodes: int,
) -> list[D] | None:
    """Every document of the stream (`document()` makes each record, `resolved` memoises the tags of
    plain scalars by text), or None when the composing path must read it."""
    parser = loader(text)
    try:
        return _documents(parser, document, resolved, max_nodes)
    except (_Unsupported, yaml.YAMLError, RecursionError):
        return None
    finally:
        parser.dispose()


def _documents(loader: Any, document: Callable[[], D], resolved: dict[str, str], max_nodes: int) -> list[D]:
    out: list[D] = []
    get_event = loader.get_event
    event = get_event()
    if type(event) is not yaml.StreamStartEvent:  # pragma: no cover - the parser starts every stream so
        raise _Unsupported
    while True:
        event = get_event()
        kind = type(event)
        if kind is yaml.StreamEndEvent:
            return out
        if kind is not yaml.DocumentStartEvent:  # pragma: no cover - the parser's grammar
            raise _Unsupported
        doc = document()
        doc.value, doc.printable = _content(loader, get_event, doc, resolved, max_nodes)
        if type(get_event()) is not yaml.DocumentEndEvent:  # pragma: no cover - the parser's grammar
            raise _Unsupported
        out.append(doc)


def _content(
    loader: Any, get_event: Any, doc: _Document, resolved: dict[str, str], max_nodes: int
) -> tuple[Any, bool]:
    """One document's value (up to the end of its root node); whether all its scalars are printable."""
    positions, key_positions = doc.positions, doc.key_positions
    scalar, mapping, sequence, ends = _SCALAR, _MAPPING, _SEQUENCE, _ENDS
    # The open collection (`container` at `path`; in a mapping, `key` is None while a key comes next)
    stack: list[tuple[Any, Any, bool]] = []
    container, path, key, key_path = _OUTSIDE
    # `printable`: every scalar's text so far is str.isprintable() (see Document.printable)
    in_map, count, printable = False, 0, True
    while True:
        event = get_event()
        kind = type(event)
        if kind is scalar:
            text, implicit, mark = event.value, event.implicit, event.start_mark
            printable = printable and text.isprintable()
            if event.anchor is not None or event.tag is not None:
                raise _Unsupported
            tag = (resolved.get(text) or loader.resolve(_NODE, text, implicit)) if implicit[0] else _STR
            if in_map and key is None:  # a mapping key
                if tag != _STR or text in container:
                    raise _Unsupported
                key, key_path = text, path + (text,)  # noqa: RUF005 - faster than unpacking
                key_positions[key_path] = (mark.line + 1, mark.column + 1)
                continue
            value = text if tag == _STR else _construct(loader, tag, text, event)
        elif kind in ends:
            if not stack:
                return container, printable
            (container, path, in_map), key = stack.pop(), None  # back in the collection around it
            continue
        elif kind is mapping or kind is sequence:
            if event.anchor is not None or event.tag is not None or (in_map and key is None):
                raise _Unsupported  # an anchor, a tag, or a collection as a key
            value, mark = ({} if kind is mapping else []), event.start_mark
        else:  # an alias
            raise _Unsupported
        count += 1
        if count > max_nodes:
            raise _Unsupported
        if container is None:
            at: Any = ()
        elif in_map:
            at = key_path
            container[key] = value
            key = None
        else:
            at = path + (len(container),)  # noqa: RUF005
            container.append(value)
        positions[at] = (mark.line + 1, mark.column + 1)
        if kind is scalar:
            if container is None:
                return value, printable
            continue
        if container is not None:
            stack.append((container, path, in_map))
        if len(stack) >= _MAX_DEPTH:
            raise _Unsupported
        container, path, in_map = value, at, kind is mapping


def _construct(loader: Any, tag: str, text: str, event: Any) -> Any:
    """A plain scalar of the core schema other than a string, as PyYAML's constructor builds it."""
    key = (tag, text)
    if key in _VALUES:
        return _VALUES[key]
    if tag not in _CONSTRUCTED:
        raise _Unsupported
    node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style)
    try:
        value = loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:  # an impossible date: the composing path words it
        raise _Unsupported from exc
    finally:
        loader.constructed_objects = {}
    ok = value is None or isinstance(value, bool | int | _dt.date | _dt.datetime)
    if not ok and not (isinstance(value, float) and math.isfinite(value)):
        raise _Unsupported
    if len(_VALUES) >= _VALUES_MAX:
        _VALUES.clear()
    _VALUES[key] = value
    return value
