"""Position-aware, bounded YAML and JSON loading.

Every value keeps the line and column it came from, so that findings and errors can point at the
offending field. Alias expansion is bounded (billion-laughs documents are refused), duplicate keys
are refused, bytes must be UTF-8, and files over a size limit are refused before they are read.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from r1policy.core import yamlevents
from r1policy.core.errors import InputError, Position

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 250_000

JsonPath = tuple[str | int, ...]

_STANDARD = "tag:yaml.org,2002:"
_STR = _STANDARD + "str"
# The YAML core schema (and the implicit timestamps PyYAML resolves, and merge keys): every other
# standard tag (`!!python/object`, `!!set`, `!!omap`, `!!binary`, ...) is refused on any node.
CORE_TAGS = frozenset(
    _STANDARD + name for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp")
)


def shown_tag(tag: str) -> str:
    """A tag as it is written: `!!python/tuple` rather than `tag:yaml.org,2002:python/tuple`."""
    return "!!" + tag[len(_STANDARD) :] if tag.startswith(_STANDARD) else tag


# Hook for formats with custom tags (CloudFormation intrinsics): handler(builder, node, path).
TagHandler = Callable[["_Builder", yaml.Node, JsonPath], Any]

try:  # libyaml is much faster; the pure-Python loader behaves the same.
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Base = yaml.SafeLoader


# The tag of a plain scalar depends on its text alone (this loader has no path resolvers): manifests
# repeat the same keys and values, and libyaml calls the Python resolver for every scalar.
_RESOLVED: dict[str, str] = {}
_RESOLVED_MAX = 65_536


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """Safe loader that also reads YAML 1.2 floats such as `8.03e9` (PyYAML's 1.1 rules need `8.03e+9`)."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers or not implicit[0]:
            return super().resolve(kind, value, implicit)
        tag = _RESOLVED.get(value)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(_RESOLVED) >= _RESOLVED_MAX:
                _RESOLVED.clear()
            _RESOLVED[value] = tag
        return tag


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


@dataclass
class Document:
    """One YAML/JSON document: its plain value plus where each value and key sits in the file."""

    path: str
    value: Any
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    tags: dict[JsonPath, str] = field(default_factory=dict)
    # True when the reader that built `value` checked every key and string in it to be printable
    # (str.isprintable: no control, format or separator character but the space); False when unknown.
    printable: bool = field(default=False, compare=False)

    def position(self, path: JsonPath, *, key: bool = False) -> Position:
        """The position of `path`, or of its nearest ancestor that has one."""
        table = self.key_positions if key else self.positions
        probe = path
        while True:
            if probe in table:
                line, column = table[probe]
                return Position(self.path, line, column)
            if probe in self.positions:
                line, column = self.positions[probe]
                return Position(self.path, line, column)
            if not probe:
                return Position(self.path, 1, 1)
            probe = probe[:-1]


def read_text(path: Path, *, display: str | None = None, limit: int = MAX_FILE_BYTES) -> str:
    """Read a file as strict UTF-8 within a size limit; errors name the file and line."""
    shown = display or str(path)
    try:
        # One open, and the size from it (no second path look-up); the bytes read into one buffer
        # with no file object around them (a `check` reads thousands of files).
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            if size > limit:
                raise InputError(
                    Position(shown), f"file is {size:,} bytes, over the {limit:,}-byte limit for input files"
                )
            data = _read_to_end(fd, size, limit)
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError(Position(shown), f"cannot read file: {exc.strerror or exc}") from exc
    if data is None:
        raise InputError(
            Position(shown), f"file is over the {limit:,}-byte limit for input files (read past it)"
        )
    return decode_utf8(data, shown)


def _read_to_end(fd: int, size: int, limit: int) -> bytes | None:
    """Everything up to the end of the file, as a file object's `read()` gives it (a file that grew
    since its size was taken is read whole): one read of the whole, and one more to see the end. None
    when more than `limit` bytes come, which its size did not tell (a file that grew past the limit, a
    device or pipe that may never end: `/dev/zero` is 0 bytes by its size)."""
    first = os.read(fd, size + 1)
    parts, total = [first], len(first)
    while parts[-1] and total <= limit:
        parts.append(os.read(fd, 65536))
        total += len(parts[-1])
    if total > limit:
        return None
    return first if len(parts) == 2 else b"".join(parts)


def decode_utf8(data: bytes, shown: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            Position(shown, line, column), f"not valid UTF-8 (byte 0x{data[exc.start]:02x})"
        ) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


class _Builder:
    """Turns composed YAML nodes into plain values, counting every node visited."""

    def __init__(
        self, doc: Document, tag_handler: TagHandler | None, constructor: _Loader | None = None
    ) -> None:
        self.doc = doc
        self.visited = 0
        self._constructor = constructor
        self.tag_handler = tag_handler
        self.active: set[int] = set()  # collection nodes being built: an alias back to one is a cycle

    @property
    def constructor(self) -> _Loader:
        """PyYAML's constructor for non-string scalars: the stream's own loader, or one made when the
        document first needs it."""
        if self._constructor is None:
            self._constructor = _Loader("")
        return self._constructor

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise InputError(
                self._pos(node),
                f"document expands to more than {MAX_NODES:,} values (YAML alias bomb?)",
            )
        mark = node.start_mark
        self.doc.positions[path] = (mark.line + 1, mark.column + 1)
        tag = node.tag or ""
        if tag == _STR and type(node) is yaml.ScalarNode:  # the most common node: what build_plain returns
            return node.value
        if tag.startswith(_STANDARD):
            if tag not in CORE_TAGS:  # !!python/..., !!set, !!omap, !!binary: outside the core schema
                raise InputError(self._pos(node), f"unsupported YAML tag {shown_tag(tag)!r}")
            return self.build_plain(node, path)
        self.doc.tags[path] = tag
        if self.tag_handler is None:
            raise InputError(self._pos(node), f"unsupported YAML tag {shown_tag(tag)!r}")
        return self.tag_handler(self, node, path)

    def build_plain(self, node: yaml.Node, path: JsonPath) -> Any:
        if node.tag == _STR and type(node) is yaml.ScalarNode:  # what construct_yaml_str returns
            return node.value
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            self._enter(node)
            try:
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        if isinstance(node, yaml.ScalarNode) and not node.tag.startswith(_STANDARD):
            return node.value
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise InputError(self._pos(node), f"invalid value: {_problem(exc)}") from exc
        except (ValueError, OverflowError) as exc:  # an impossible unquoted date such as 2026-13-45
            raise InputError(self._pos(node), f"invalid value {node.value!r}: {exc}") from exc
        if isinstance(value, _dt.datetime | _dt.date) or value is None:
            return value
        if isinstance(value, bytes):
            raise InputError(self._pos(node), "binary values are not supported")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(
                self._pos(node), f"non-finite number {node.value!r}: numbers must be finite (no .nan, .inf)"
            )
        return value

    def _enter(self, node: yaml.Node) -> None:
        if id(node) in self.active:
            raise InputError(self._pos(node), "recursive YAML alias: this value contains itself")
        self.active.add(id(node))

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        self._enter(node)
        try:
            return self._mapping_items(node, path)
        finally:
            self.active.discard(id(node))

    def _mapping_items(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        key_positions = self.doc.key_positions
        for key_node, value_node in node.value:
            if key_node.tag == _STR and type(key_node) is yaml.ScalarNode:
                key = key_node.value  # what str(construct_object(key_node)) gives
            else:
                key = self._key(key_node, value_node, merged)
                if key is None:
                    continue
            if key in result:
                raise InputError(self._pos(key_node), f"duplicate key {key!r}")
            mark = key_node.start_mark
            key_positions[(*path, key)] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        for k, v in merged.items():
            result.setdefault(k, v)
        return result

    def _key(self, key_node: yaml.Node, value_node: yaml.Node, merged: dict[str, Any]) -> str | None:
        """A key other than a plain string; None for a merge key (its mappings go into `merged`)."""
        if key_node.tag == "tag:yaml.org,2002:merge":
            for source in _merge_sources(value_node, self):
                for k, v in source.items():
                    merged.setdefault(k, v)
            return None
        if not isinstance(key_node, yaml.ScalarNode):
            raise InputError(self._pos(key_node), "mapping keys must be plain scalars")
        if key_node.tag not in CORE_TAGS:
            raise InputError(self._pos(key_node), f"unsupported YAML tag {shown_tag(key_node.tag)!r}")
        try:
            return str(self.constructor.construct_object(key_node))
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise InputError(self._pos(key_node), f"invalid key {key_node.value!r}: {exc}") from exc

    def _pos(self, node: yaml.Node) -> Position:
        return Position(self.doc.path, node.start_mark.line + 1, node.start_mark.column + 1)


def _merge_sources(node: yaml.Node, builder: _Builder) -> list[dict[str, Any]]:
    nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
    sources: list[dict[str, Any]] = []
    for item in nodes:
        if not isinstance(item, yaml.MappingNode):
            raise InputError(builder._pos(item), "a merge key (<<) must refer to a mapping")
        if item.tag not in CORE_TAGS:
            raise InputError(builder._pos(item), f"unsupported YAML tag {shown_tag(item.tag)!r}")
        sources.append(builder._mapping(item, ("<<",)))
    return sources


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return str(problem)


def _tag_like(text: str) -> bool:
    """Whether a `!` starts a word or follows a flow indicator somewhere (a YAML tag would)."""
    at = text.find("!")
    while at != -1:
        if at == 0 or text[at - 1] in " \t\r\n[{,":
            return True
        at = text.find("!", at + 1)
    return False


def load_yaml_documents(
    text: str, display: str, *, tag_handler: TagHandler | None = None
) -> Iterator[Document]:
    """Compose every document of a YAML stream into `Document`s (JSON is YAML too)."""
    # A text that seems to hold a tag (CloudFormation's `!Ref`) goes straight to the composing path,
    # which the event path would hand it to at the tag: a guess about speed only, never about meaning.
    built = None if _tag_like(text) else event_documents(text, display)
    if built is not None:  # the common case, from libyaml's events (core/yamlevents.py)
        yield from built
        return
    yield from _composed(text, display, tag_handler)


def event_documents(text: str, display: str) -> list[Document] | None:
    """The stream's documents built from libyaml's events, or None when only composing reads it."""
    return yamlevents.documents(
        text,
        loader=_Loader,
        document=lambda: Document(path=display, value=None),
        resolved=_RESOLVED,
        max_nodes=MAX_NODES,
    )


def _composed(text: str, display: str, tag_handler: TagHandler | None) -> Iterator[Document]:
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node guarantees a node
                break
            doc = Document(path=display, value=None)
            doc.value = _Builder(doc, tag_handler, loader).build(node, ())
            # what PyYAML's construct_document resets after each document
            loader.constructed_objects, loader.recursive_objects = {}, {}
            yield doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise InputError(Position(display, line, column), f"invalid YAML: {_problem(exc)}") from exc
    except yaml.YAMLError as exc:
        raise InputError(Position(display), f"invalid YAML: {_problem(exc)}") from exc
    except RecursionError as exc:
        raise InputError(Position(display), "document is nested too deeply") from exc
    finally:
        loader.dispose()
