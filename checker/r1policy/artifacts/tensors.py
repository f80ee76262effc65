"""Header validation for safetensors and GGUF files, streaming: only the header is read into memory,
every length is checked against the limits and the file size before anything is allocated."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from r1policy.artifacts.hashing import HashingReader
from r1policy.artifacts.model import ScanLimits
from r1policy.core import jsonsafe

MAX_PROBLEMS = 20
# safetensors dtype -> bits per element
_ST_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip
# ggml type id -> (block size in elements, bytes per block); the gguf package's GGML_QUANT_SIZES.
GGML_TYPES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 40),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110),
    22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
    29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17), 40: (64, 36), 41: (128, 18),
}  # fmt: skip
# GGUF metadata value types: id -> struct format (None: string / array)
_GGUF_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_MAX_TENSORS = 10_000_000


class HeaderError(Exception):
    """The header cannot be parsed any further (the message says where)."""


@dataclass
class HeaderReport:
    problems: list[str] = field(default_factory=list)
    tensors: int = 0
    parameters: int = 0
    data_bytes: int = 0
    # safetensors: name -> (dtype, shape, (begin, end)) as read
    table: dict[str, tuple[str, list[int], tuple[int, int]]] = field(default_factory=dict)
    strings: list[str] = field(default_factory=list)  # decoded metadata text, searched for secrets
    templates: dict[str, str] = field(default_factory=dict)  # GGUF chat templates by metadata key

    def add(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


def _exact(reader: HashingReader, n: int, what: str) -> bytes:
    data = reader.read(n)
    if len(data) != n:
        raise HeaderError(
            f"file ends inside the {what} (wanted {n:,} bytes at byte {reader.position - len(data):,})"
        )
    return data


def _checked(
    check: Callable[[HashingReader, int | None, ScanLimits, HeaderReport], None],
    reader: HashingReader,
    size: int | None,
    limits: ScanLimits,
) -> HeaderReport:
    """Run one header check; the problem that stopped it is the report's last entry."""
    report = HeaderReport()
    try:
        check(reader, size, limits, report)
    except HeaderError as exc:
        report.add(str(exc))
    return report


# --- safetensors --------------------------------------------------------------------------------


def check_safetensors(reader: HashingReader, size: int | None, limits: ScanLimits) -> HeaderReport:
    return _checked(_safetensors, reader, size, limits)


def _safetensors(reader: HashingReader, size: int | None, limits: ScanLimits, report: HeaderReport) -> None:
    (length,) = struct.unpack("<Q", _exact(reader, 8, "header length"))
    if length > limits.max_header_bytes:
        raise HeaderError(
            f"header length {length:,} bytes exceeds the limit of {limits.max_header_bytes:,}; not read"
        )
    if size is not None and length > size - 8:
        raise HeaderError(f"header length {length:,} bytes is past the end of the {size:,}-byte file")
    raw = _exact(reader, length, "JSON header")
    header = _header_json(raw, report)
    meta = header.pop("__metadata__", None)
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        report.add("__metadata__ must map strings to strings")
    if isinstance(meta, dict):
        report.strings.extend(f'"{k}": "{v}"' for k, v in meta.items())
    report.strings.extend(header)
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        span = _tensor_span(name, info, report)
        if span is not None:
            spans.append(span)
            report.table[name] = (info["dtype"], list(info["shape"]), (span[0], span[1]))
    report.tensors = len(header)
    spans.sort()
    expected = 0
    for begin, end, name in spans:
        if begin < expected:
            report.add(f"tensor {name!r} at bytes {begin:,}-{end:,} overlaps the previous tensor")
        elif begin > expected:
            report.add(f"gap of {begin - expected:,} bytes before tensor {name!r} (offsets not contiguous)")
        expected = max(expected, end)
    report.data_bytes = expected
    if size is not None and 8 + length + expected != size:
        report.add(
            f"tensors end at byte {8 + length + expected:,} but the file has {size:,} bytes"
            + (" (data past the end)" if 8 + length + expected > size else " (trailing bytes)")
        )


def _header_json(raw: bytes, report: HeaderReport) -> dict[str, Any]:
    """The header as the safetensors library reads it (serde): duplicate keys, NaN/Infinity and lone
    surrogates are problems, not "last one wins"."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _value in items:
            if key in seen:
                report.add(f"key {key!r} appears twice in one object (readers disagree on which counts)")
            seen.add(key)
        return dict(items)

    try:
        text = raw.decode("utf-8")
        # NaN / Infinity, numbers past the digit limit and deep nesting are refused by jsonsafe.
        header = jsonsafe.loads(text, object_pairs_hook=pairs)
        json.dumps(header, ensure_ascii=False).encode("utf-8")
    except jsonsafe.JsonLimitError as exc:
        raise HeaderError(f"header is not valid JSON: {jsonsafe.describe(exc)}") from None
    except (UnicodeDecodeError, UnicodeEncodeError, ValueError) as exc:  # JSONDecodeError
        raise HeaderError(f"header is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(header, dict):
        raise HeaderError("header is not a JSON object")
    return header


def _u64(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 64


def _tensor_span(name: str, info: Any, report: HeaderReport) -> tuple[int, int, str] | None:
    if not isinstance(info, dict):
        report.add(f"tensor {name!r}: entry is not an object")
        return None
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    bits = _ST_BITS.get(dtype) if isinstance(dtype, str) else None
    if bits is None:
        report.add(f"tensor {name!r}: unknown dtype {dtype!r}")
        return None
    if not isinstance(shape, list) or not all(_u64(d) for d in shape):
        report.add(f"tensor {name!r}: shape {shape!r} is not a list of non-negative integers")
        return None
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(_u64(o) for o in offsets)
        and offsets[0] <= offsets[1]
    ):
        report.add(f"tensor {name!r}: data_offsets {offsets!r} is not [begin, end] with begin <= end")
        return None
    numel = math.prod(shape)
    report.parameters += numel
    need_bits = numel * bits
    begin, end = offsets
    if need_bits % 8 or need_bits // 8 != end - begin:
        report.add(
            f"tensor {name!r}: {dtype} x {shape} needs {need_bits / 8:,.0f} bytes "
            f"but data_offsets span {end - begin:,}"
        )
    return begin, end, name


# --- GGUF ---------------------------------------------------------------------------------------


class _GgufReader:
    def __init__(self, reader: HashingReader, budget: int) -> None:
        self.reader = reader
        self.budget = budget

    def take(self, n: int, what: str) -> bytes:
        if n > self.budget:
            raise HeaderError(
                f"{what} at byte {self.reader.position:,} claims {n:,} bytes, past the header limit"
            )
        self.budget -= n
        return _exact(self.reader, n, what)

    def scalar(self, fmt: str, what: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what: str) -> str:
        n = self.scalar("<Q", what)
        return self.take(n, what).decode("utf-8", errors="replace")

    def value(self, vtype: int, what: str, depth: int = 0) -> Any:
        if vtype in _GGUF_SCALARS:
            return self.scalar(_GGUF_SCALARS[vtype], what)
        if vtype == 8:
            return self.string(what)
        if vtype == 9 and depth < 4:
            etype = self.scalar("<I", what)
            count = self.scalar("<Q", what)
            if etype in _GGUF_SCALARS:
                self.take(count * struct.calcsize(_GGUF_SCALARS[etype]), what)
                return None
            if count > self.budget:
                raise HeaderError(f"{what}: array of {count:,} entries is past the header limit")
            items = [self.value(etype, what, depth + 1) for _ in range(count)]
            return [item for item in items if isinstance(item, str)]
        raise HeaderError(f"{what}: unknown metadata value type {vtype} at byte {self.reader.position:,}")


def check_gguf(reader: HashingReader, size: int | None, limits: ScanLimits) -> HeaderReport:
    return _checked(_gguf, reader, size, limits)


def _gguf(reader: HashingReader, size: int | None, limits: ScanLimits, report: HeaderReport) -> None:
    g = _GgufReader(reader, limits.max_header_bytes)
    g.take(4, "magic")
    version = g.scalar("<I", "version")
    if version not in (2, 3):
        raise HeaderError(f"GGUF version {version} is not supported (2 and 3 are)")
    n_tensors = g.scalar("<Q", "tensor count")
    n_kv = g.scalar("<Q", "metadata count")
    if n_tensors > _MAX_TENSORS or n_kv > _MAX_TENSORS:
        raise HeaderError(f"header claims {n_tensors:,} tensors and {n_kv:,} metadata entries")
    alignment = 32
    for _ in range(n_kv):
        key = g.string("metadata key")
        vtype = g.scalar("<I", f"type of {key!r}")
        value = g.value(vtype, f"metadata {key!r}")
        if isinstance(value, str):
            report.strings.append(f'"{key}": "{value}"')
            if key == "tokenizer.chat_template" or key.startswith("tokenizer.chat_template."):
                report.templates[key] = value
        elif isinstance(value, list):
            report.strings.extend(value)
        if key == "general.alignment":
            if not isinstance(value, int) or value <= 0 or value & (value - 1):
                raise HeaderError(f"general.alignment {value!r} is not a power of two")
            alignment = value
    infos: list[tuple[int, int, str]] = []
    for _ in range(n_tensors):
        name = g.string("tensor name")
        n_dims = g.scalar("<I", f"dimensions of {name!r}")
        if n_dims > 8:
            raise HeaderError(f"tensor {name!r} claims {n_dims} dimensions")
        dims = [g.scalar("<Q", f"shape of {name!r}") for _ in range(n_dims)]
        ttype = g.scalar("<I", f"type of {name!r}")
        offset = g.scalar("<Q", f"offset of {name!r}")
        numel = math.prod(dims)
        report.parameters += numel
        block = GGML_TYPES.get(ttype)
        if block is None:
            report.add(f"tensor {name!r}: unknown ggml type {ttype}")
            continue
        if dims and dims[0] % block[0]:
            report.add(
                f"tensor {name!r}: first dimension {dims[0]} is not a multiple of the block size {block[0]}"
            )
            continue
        if offset % alignment:
            report.add(f"tensor {name!r}: offset {offset:,} is not aligned to {alignment}")
        infos.append((offset, offset + numel // block[0] * block[1], name))
    report.tensors = n_tensors
    data_start = -(-reader.position // alignment) * alignment
    infos.sort()
    end_prev, prev = 0, ""
    for begin, end, name in infos:
        if begin < end_prev:
            report.add(f"tensor {name!r} at offset {begin:,} overlaps tensor {prev!r}")
        end_prev, prev = max(end_prev, end), name
    report.data_bytes = end_prev
    if size is not None and data_start + end_prev > size:
        report.add(
            f"tensor data ends at byte {data_start + end_prev:,}, past the end of the {size:,}-byte file"
        )
