"""Differential test: r1policy's safetensors header reader against the real `safetensors` library.

Hypothesis generates headers (valid ones and mutated ones: duplicate names or fields, booleans, floats,
negative or huge numbers in shapes and offsets, gaps, overlaps, wrong sizes, bad metadata, unknown
dtypes, padding, odd names) and data sections. Where r1policy accepts a file, the library must accept
it too and both must see the same tensors: names, dtypes, shapes, and the bytes at the offsets.
r1policy may refuse more than the library (that is fail-closed), never less.

Bounded in `make test`; `HYPOTHESIS_PROFILE=fuzz` runs many more examples."""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from r1policy.artifacts.hashing import HashingReader
from r1policy.artifacts.model import ScanLimits
from r1policy.artifacts.sniff import sniff
from r1policy.artifacts.tensors import check_safetensors

safetensors = pytest.importorskip("safetensors")

_FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
settings.register_profile("fuzz", max_examples=20_000, deadline=None)
_SETTINGS = settings(
    max_examples=20_000 if _FUZZ else 200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not _FUZZ,
)
_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2}
_BYTES |= {"BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8}
_DTYPES = [*_BYTES, "F4", "F6_E2M3", "F8_E8M0", "Q7", "f32", "F8", ""]
_HARMLESS = frozenset({"none", "pad_header", "extra_field", "meta_null"})
_MUTATIONS = [
    "none", "duplicate_name", "duplicate_field", "bool_dim", "float_dim", "negative_dim", "huge_dim",
    "bool_offset", "swap_offsets", "gap", "overlap", "short_data", "long_data", "meta_int", "meta_null",
    "meta_nested", "extra_field", "pad_header", "lead_space", "three_offsets", "drop_field", "nan",
    "dup_metadata", "string_dim",
]  # fmt: skip


def _dumps(pairs: list[tuple[str, Any]]) -> str:
    """A JSON object that may hold duplicate keys (json.dumps cannot write them)."""
    return "{" + ", ".join(f"{json.dumps(k)}: {_value(v)}" for k, v in pairs) + "}"


def _value(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return _dumps(value)
    if isinstance(value, float) and value != value:
        return "NaN"
    return json.dumps(value)


@st.composite
def _files(draw: st.DrawFn) -> tuple[bytes, str]:
    names = draw(st.lists(st.text(min_size=0, max_size=6), min_size=0, max_size=4, unique=True))
    mutation = draw(st.sampled_from(_MUTATIONS))
    entries: list[tuple[str, Any]] = []
    offset = 0
    for name in names:
        dtype = draw(st.sampled_from(_DTYPES))
        shape = draw(st.lists(st.integers(0, 4), max_size=3))
        size = _BYTES.get(dtype, 1)
        for dim in shape:
            size *= dim
        fields: list[tuple[str, Any]] = [
            ("dtype", dtype),
            ("shape", shape),
            ("data_offsets", [offset, offset + size]),
        ]
        entries.append((name, fields))
        offset += size
    data = draw(st.binary(min_size=offset, max_size=offset))
    meta: Any = [("format", "pt")] if draw(st.booleans()) else None
    entries, data, meta, lead = _mutate(draw, mutation, entries, data, meta)
    pairs = list(entries)
    if meta is not None or mutation == "meta_null":
        pairs.insert(draw(st.integers(0, len(pairs))), ("__metadata__", meta))
    if mutation == "dup_metadata":
        pairs.append(("__metadata__", [("a", "b")]))
    header = (lead + _dumps(pairs)).encode()
    if mutation == "pad_header":
        header += b" " * draw(st.integers(1, 8))
    return struct.pack("<Q", len(header)) + header + data, mutation


def _mutate(
    draw: st.DrawFn, mutation: str, entries: list[tuple[str, Any]], data: bytes, meta: Any
) -> tuple[list[tuple[str, Any]], bytes, Any, str]:
    lead = ""
    if not entries and mutation not in ("short_data", "long_data", "meta_int", "meta_nested", "lead_space"):
        return entries, data, meta, lead
    pick = draw(st.integers(0, max(len(entries) - 1, 0)))
    fields = entries[pick][1] if entries else []
    if mutation == "duplicate_name":
        entries.append((entries[pick][0], list(fields)))
    elif mutation == "duplicate_field":
        fields.append(("dtype", draw(st.sampled_from(_DTYPES))))
    elif mutation in ("bool_dim", "float_dim", "negative_dim", "huge_dim", "string_dim"):
        bad = {"bool_dim": True, "float_dim": 1.0, "negative_dim": -1, "huge_dim": 1 << 64, "string_dim": "1"}
        fields[1] = ("shape", [*fields[1][1], bad[mutation]])
    elif mutation == "bool_offset":
        fields[2] = ("data_offsets", [False, fields[2][1][1]])
    elif mutation == "swap_offsets":
        fields[2] = ("data_offsets", fields[2][1][::-1])
    elif mutation in ("gap", "overlap"):
        begin, end = fields[2][1]
        shift = 1 if mutation == "gap" else -1
        fields[2] = ("data_offsets", [max(begin + shift, 0), max(end + shift, 0)])
    elif mutation == "three_offsets":
        fields[2] = ("data_offsets", [*fields[2][1], 0])
    elif mutation == "drop_field":
        del fields[draw(st.integers(0, 2))]
    elif mutation == "extra_field":
        fields.append(("extra", draw(st.integers(0, 3))))
    elif mutation == "nan":
        fields[1] = ("shape", [float("nan")])
    elif mutation == "short_data":
        data = data[:-1]
    elif mutation == "long_data":
        data += b"\x00"
    elif mutation == "meta_int":
        meta = [("format", 1)]
    elif mutation == "meta_nested":
        meta = [("format", [("a", "b")])]
    elif mutation == "lead_space":
        lead = " "
    return entries, data, meta, lead


def _r1policy(blob: bytes) -> tuple[bool, dict[str, tuple[str, list[int], tuple[int, int]]]]:
    if sniff(blob[: 64 * 1024]).format != "safetensors":
        return False, {}
    report = check_safetensors(HashingReader(io.BytesIO(blob)), len(blob), ScanLimits())
    return not report.problems, report.table


def _library(path: Path) -> dict[str, tuple[str, list[int], bytes | None]] | None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "np") as handle:
            out: dict[str, tuple[str, list[int], bytes | None]] = {}
            for key in handle.keys():  # noqa: SIM118  (safe_open has no __iter__)
                piece = handle.get_slice(key)
                try:
                    raw: bytes | None = handle.get_tensor(key).tobytes()
                except (SafetensorError, TypeError, ValueError, AttributeError):
                    raw = None  # a dtype numpy cannot hold (BF16, F8): names, dtype and shape still compared
                out[key] = (piece.get_dtype(), list(piece.get_shape()), raw)
            return out
    except SafetensorError:
        return None


@_SETTINGS
@given(_files())
def test_r1policy_never_accepts_what_the_library_reads_differently(case: tuple[bytes, str]) -> None:
    blob, mutation = case
    accepted, table = _r1policy(blob)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.safetensors"
        path.write_bytes(blob)
        library = _library(path)
    if not accepted:
        # r1policy may refuse more than the library, but not well-formed files the library reads
        assert library is None or mutation not in _HARMLESS, f"r1policy refuses a valid file ({mutation})"
        return
    assert library is not None, f"r1policy accepts a file the library refuses ({mutation})"
    assert set(table) == set(library), mutation
    header_len = struct.unpack("<Q", blob[:8])[0]
    data = blob[8 + header_len :]
    for name, (dtype, shape, (begin, end)) in table.items():
        lib_dtype, lib_shape, lib_bytes = library[name]
        assert (dtype, shape) == (lib_dtype, lib_shape), (name, mutation)
        if lib_bytes is not None:
            assert data[begin:end] == lib_bytes, (name, mutation)


@pytest.mark.parametrize("mutation", ["duplicate_name", "bool_dim", "duplicate_field", "dup_metadata"])
def test_known_disagreements_are_refused(mutation: str) -> None:
    """The classes issue 13 names, pinned: each is refused by r1policy whatever the library does."""
    entries: list[tuple[str, Any]] = [
        ("w", [("dtype", "F32"), ("shape", [1]), ("data_offsets", [0, 4])]),
    ]
    if mutation == "duplicate_name":
        entries.append(("w", [("dtype", "F32"), ("shape", [1]), ("data_offsets", [4, 8])]))
    elif mutation == "bool_dim":
        entries[0][1][1] = ("shape", [True])
    elif mutation == "duplicate_field":
        entries[0][1].append(("dtype", "F16"))
    else:
        entries += [("__metadata__", [("a", "b")]), ("__metadata__", [("c", "d")])]
    header = _dumps(entries).encode()
    data = bytes(8 if mutation == "duplicate_name" else 4)
    accepted, _table = _r1policy(struct.pack("<Q", len(header)) + header + data)
    assert not accepted
