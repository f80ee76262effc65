"""Protocol-buffer model files read structurally with a minimal wire-format reader (no onnx or
tensorflow import): ONNX `ModelProto` and TensorFlow `SavedModel` (`saved_model.pb`), which share
their first bytes and are told apart by their fields.

- ONNX: every `TensorProto` (initializers, sparse initializers, node attributes, subgraphs, functions,
  training graphs) is found; `external_data` locations that are absolute, leave the model folder
  (`..` after decoding %-escapes and backslashes), name a URL scheme or hold a NUL are
  `reference_problems` (R1-ART-007), as is external data without a location.
- SavedModel: every `NodeDef` of every graph and function is read; ops that reach the file system or
  run Python (`WriteFile`, `ReadFile`, `PyFunc`, `Save`, `Restore`, …) are executable code
  (R1-ART-006). A file that parses as neither is unscannable (R1-ART-010)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import unquote

from r1policy.artifacts.hashing import HashingReader
from r1policy.artifacts.model import FileFacts, ScanLimits
from r1policy.artifacts.tfops import SAVEDMODEL_SCHEMA, TF_DANGEROUS_OPS

MAX_DEPTH = 64
MAX_PROBLEMS = 20
_STRING_LIMIT = 1 << 20  # names and locations; larger strings are skipped, never parsed
_READ_CHUNK = 1 << 20

# message -> {field number: sub-message kind}; fields not listed are skipped.
ONNX_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "function": {7: "node", 11: "attribute"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {13: "entry"},
    "entry": {},
}
# message -> field numbers whose (short) string value is kept
_STRINGS = {"tensor": {8}, "entry": {1, 2}, "nodedef": {1, 2}, "opdef": {1}}
_ONNX_TOP = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25, 26})
_KEEP = frozenset({"entry"})  # small sub-messages handed to their parent's visit
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class ProtoError(Exception):
    """The bytes are not a well-formed protocol buffer of the expected shape."""


class _Wire:
    """Reads one message tree from a stream, keeping only what the visitor asks for."""

    def __init__(self, reader: HashingReader, visit: Callable[[str, dict[int, list[object]]], None]) -> None:
        self.reader = reader
        self.visit = visit
        self.pos = 0  # bytes of the message consumed
        self._buf = b""  # read ahead from the reader, in chunks (never byte by byte)
        self._at = 0

    def _fill(self) -> bool:
        if self._at < len(self._buf):
            return True
        self._buf, self._at = self.reader.read(_READ_CHUNK), 0
        return bool(self._buf)

    def at_end(self) -> bool:
        return not self._fill()

    def _byte(self) -> int:
        if not self._fill():
            raise ProtoError(f"file ends inside a field at byte {self.pos:,}")
        self._at += 1
        self.pos += 1
        return self._buf[self._at - 1]

    def varint(self) -> int:
        value = shift = 0
        while shift < 70:
            byte = self._byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise ProtoError(f"varint longer than 10 bytes at byte {self.pos:,}")

    def _consume(self, n: int, keep: bool) -> bytes:
        parts: list[bytes] = []
        while n > 0:
            if not self._fill():
                raise ProtoError(f"file ends inside a field at byte {self.pos:,}")
            piece = self._buf[self._at : self._at + n]
            self._at += len(piece)
            self.pos += len(piece)
            n -= len(piece)
            if keep:
                parts.append(piece)
        return b"".join(parts)

    def take(self, n: int) -> bytes:
        return self._consume(n, True)

    def skip(self, n: int) -> None:
        self._consume(n, False)

    def message(
        self, kind: str, end: int | None, schema: dict[str, dict[int, str]], depth: int
    ) -> dict[int, list[object]]:
        if depth > MAX_DEPTH:
            raise ProtoError(f"messages nested deeper than {MAX_DEPTH} levels")
        fields: dict[int, list[object]] = {}
        subs, strings = schema.get(kind, {}), _STRINGS.get(kind, set())
        while end is None or self.pos < end:
            if end is None and self.at_end():
                break
            key = self.varint()
            number, wire = key >> 3, key & 7
            if number == 0:
                raise ProtoError(f"field number 0 at byte {self.pos:,}")
            fields.setdefault(number, [])
            if wire == 0:
                fields[number].append(self.varint())
            elif wire == 1:
                self.take(8)
            elif wire == 5:
                self.take(4)
            elif wire == 2:
                self._length_delimited(number, fields, subs, strings, schema, depth)
            else:
                raise ProtoError(f"unsupported wire type {wire} at byte {self.pos:,}")
        if end is not None and self.pos != end:
            raise ProtoError(f"a field runs past the end of its message at byte {self.pos:,}")
        self.visit(kind, fields)
        return fields

    def _length_delimited(
        self,
        number: int,
        fields: dict[int, list[object]],
        subs: dict[int, str],
        strings: set[int],
        schema: dict[str, dict[int, str]],
        depth: int,
    ) -> None:
        length = self.varint()
        if number in subs:
            child = self.message(subs[number], self.pos + length, schema, depth + 1)
            if subs[number] in _KEEP:
                fields[number].append(child)
        elif number in strings and length <= _STRING_LIMIT:
            fields[number].append(self.take(length))
        else:
            self.skip(length)


def _text(value: object) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def location_problem(location: str) -> str | None:
    """Why an ONNX external-data location is unsafe, as onnxruntime would join it to the model folder."""
    if not location:
        return "is empty"
    forms = [location]
    for _ in range(3):  # %2e%2e, %252e%252e
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    for form in forms:
        posix = form.replace("\\", "/")
        if "\x00" in posix:
            return "holds a NUL byte"
        if posix.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", posix):
            return "is an absolute path"
        if _SCHEME.match(posix):
            return "names a URL scheme"
        if ".." in PurePosixPath(posix).parts:
            return "leaves the model folder (..)"
    return None


def analyse_protobuf(reader: HashingReader, facts: FileFacts, name: str, limits: ScanLimits) -> None:
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    top: dict[int, list[object]] = {}
    found: dict[str, str] = {}  # op -> first place it was seen
    problems: list[str] = []
    saved_model = base.endswith("saved_model.pb")

    def visit(kind: str, fields: dict[int, list[object]]) -> None:
        if kind in ("model", "savedmodel"):
            top.update(fields)
        elif kind == "tensor":
            _tensor(fields, problems)
        elif kind in ("nodedef", "opdef"):
            op = _text(fields.get(2 if kind == "nodedef" else 1, [b"?"])[-1])
            where = f"node {_text(fields.get(1, [b'?'])[-1])!r}" if kind == "nodedef" else "the op list"
            if op in TF_DANGEROUS_OPS and (op not in found or found[op].endswith("op list")):
                found[op] = where

    wire = _Wire(reader, visit)
    try:
        if saved_model:
            wire.message("savedmodel", None, SAVEDMODEL_SCHEMA, 0)
        else:
            wire.message("model", None, ONNX_SCHEMA, 0)
    except ProtoError as exc:
        what = "TensorFlow SavedModel" if saved_model else "ONNX model"
        facts.unknown_format = f"not a readable {what} protocol buffer: {exc}"
        return
    if saved_model:
        _saved_model(facts, top, found)
    else:
        _onnx(facts, top, problems)


def _saved_model(facts: FileFacts, top: dict[int, list[object]], found: dict[str, str]) -> None:
    facts.format, facts.detail = "savedmodel", "TensorFlow SavedModel"
    if set(top) - {1, 2} or 2 not in top:
        facts.unknown_format = "saved_model.pb has fields a SavedModel does not have, or no meta graph"
        return
    facts.code.extend(
        f"TensorFlow SavedModel op {op} ({where}) {TF_DANGEROUS_OPS[op]}"
        for op, where in list(found.items())[:MAX_PROBLEMS]
    )


def _onnx(facts: FileFacts, top: dict[int, list[object]], problems: list[str]) -> None:
    facts.format = "onnx"
    if 7 not in top or set(top) - _ONNX_TOP:
        extra = sorted(set(top) - _ONNX_TOP)
        facts.unknown_format = (
            "protocol buffer that is not an ONNX model "
            + (f"(fields {extra} are not ModelProto's)" if extra else "(no graph)")
            + "; a TensorFlow SavedModel must be named saved_model.pb"
        )
        return
    facts.reference_problems.extend(problems[:MAX_PROBLEMS])


def _tensor(fields: dict[int, list[object]], problems: list[str]) -> None:
    """One TensorProto: its external_data entries arrive as visited 'entry' messages before it."""
    name = _text(fields.get(8, [b""])[-1])
    entries = [
        (_text(entry.get(1, [b""])[-1]), _text(entry.get(2, [b""])[-1]))
        for entry in fields.get(13, [])
        if isinstance(entry, dict)
    ]
    external = fields.get(14, [0])[-1] == 1
    locations = [value for key, value in entries if key == "location"]
    if (external or entries) and len(locations) != 1:
        problems.append(f"tensor {name!r}: external data with {len(locations)} locations")
        return
    for location in locations:
        why = location_problem(location)
        if why is not None:
            problems.append(f"tensor {name!r}: external data location {location!r} {why}")
