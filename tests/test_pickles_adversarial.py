"""The pickle analyser against hand-assembled attacks: exact problems at exact byte offsets."""

from __future__ import annotations

import io
import struct
import tracemalloc

import pytest
from tests.fixtures.make_pickles import Case, build_cases

from r1policy.artifacts.pickles import Limits, PickleKind, ProblemKind, analyse, sniff

CASES = build_cases()


class ReadOnlyStream:
    """Offers nothing but read(n): no seek, no tell, no readline, no peek; records the calls."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.calls: list[int] = []

    def read(self, n: int = -1, /) -> bytes:
        assert n > 0, "the analyser must never read 'everything'"
        self.calls.append(n)
        return self._data.read(n)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_exact_problems(case: Case) -> None:
    result = analyse(ReadOnlyStream(case.data), PickleKind(case.kind))
    got = [(p.kind.value, p.offset) for p in result.problems]
    assert got == [(kind, offset) for kind, offset, _ in case.expect], [str(p) for p in result.problems]
    for (_, _, text), problem in zip(case.expect, result.problems, strict=True):
        assert text in problem.message
    assert result.pickle_based or case.kind == "npy"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sniffed_by_content(case: Case) -> None:
    expected = case.kind if case.sniff == "same" else case.sniff
    kind = sniff(case.data[:65536])
    assert (kind.value if kind else None) == expected


def test_every_unsafe_global_is_named_with_its_offset() -> None:
    case = next(c for c in CASES if c.name == "getattr_import_chain")
    result = analyse(io.BytesIO(case.data), PickleKind.PICKLE)
    assert [(r.dotted, r.offset, r.safe) for r in result.unsafe_imports] == [
        ("builtins.getattr", 2, False),
        ("builtins.__import__", 20, False),
    ]
    assert "byte 2: GLOBAL imports builtins.getattr" in str(result.problems[0])


def test_one_terabyte_string_is_refused_without_allocation() -> None:
    data = b"\x80\x04\x8d" + struct.pack("<Q", 1 << 40) + b"x" * 100
    tracemalloc.start()
    try:
        result = analyse(io.BytesIO(data), PickleKind.PICKLE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.kind for p in result.problems] == [ProblemKind.LIMIT]
    assert peak < 8 * 1024 * 1024


def test_large_operand_is_streamed_not_kept() -> None:
    payload = b"\x00" * (8 * 1024 * 1024)
    data = b"\x80\x04\x8e" + struct.pack("<Q", len(payload)) + payload + b"."
    stream = ReadOnlyStream(data)
    tracemalloc.start()
    try:
        result = analyse(stream, PickleKind.PICKLE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.problems == ()
    assert result.bytes_consumed == len(data)
    assert max(stream.calls) <= 1 << 20
    assert peak < 4 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (b"\x80\x04" + b"N\x94" * 50 + b".", Limits(max_memo=10), "more than 10 memo entries"),
        (b"(" * 50 + b"N.", Limits(max_marks=20), "more than 20 nested MARKs"),
        (b"N" * 70_000 + b".", Limits(max_stack=1000), "stack deeper than 1000"),
        (b"N0" * 70_000 + b"N.", Limits(max_opcodes=100_000), "more than 100000 opcodes"),
        (
            b"\x80\x04X" + struct.pack("<I", 5000) + b"a" * 5000 + b".",
            Limits(max_item_bytes=4096),
            "claims 5000",
        ),
        (b"S'" + b"a" * 3000 + b"'\n.", Limits(max_line=1024), "longer than 1024 bytes"),
        (b"cbuiltins\nset\n0" * 20 + b"N.", Limits(max_imports=10), "more than 10 imports"),
    ],
    ids=["memo", "marks", "stack", "opcodes", "item", "line", "imports"],
)
def test_limits_fail_closed(data: bytes, limits: Limits, message: str) -> None:
    result = analyse(io.BytesIO(data), PickleKind.PICKLE, limits=limits)
    assert [p.kind for p in result.problems] == [ProblemKind.LIMIT]
    assert message in result.problems[0].message


@pytest.mark.parametrize(
    "head",
    [
        b"Hello world\nThis is a README.\n",
        b'{"model_type": "llama"}\n',
        b"None of these lines is a pickle\n",
        b"Introduction\n",
        b"(This starts with a parenthesis)\n",
        b"class Foo:\n    pass\n",
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"cmod\n\xf8\n",
        b"cat dog\nfish\n",  # module "at dog": find_class cannot import it
    ],
)
def test_text_and_other_files_are_not_claimed(head: bytes) -> None:
    assert sniff(head) is None


@pytest.mark.parametrize(
    "head",
    [
        b"(lp0\nI1\naI2\na.",
        b"}q\x00.",
        b"]q\x00(K\x01K\x02e.",
        b"I42\n.",
        b"N.",
        b"\x80\x02}q\x00.",
        b"\x80\x05N.",
        b"cat\ndog\nfish\n",  # the unpickler imports module "at" before it fails: code may run
        b"ctorch._utils\n_rebuild_tensor_v2\n",  # truncated after an import
    ],
)
def test_real_pickle_heads_are_claimed(head: bytes) -> None:
    assert sniff(head) is PickleKind.PICKLE


def test_problem_flood_is_cut_short() -> None:
    data = b"cos\nsystem\n0" * 50 + b"N."
    result = analyse(io.BytesIO(data), PickleKind.PICKLE, limits=Limits(max_problems=5))
    assert [p.kind for p in result.problems] == [ProblemKind.UNSAFE_GLOBAL] * 5 + [ProblemKind.LIMIT]
    assert [p.offset for p in result.problems] == [0, 12, 24, 36, 48, 60]


@pytest.mark.parametrize(
    "head",
    [
        b"L119547037146038801333356L\n.I1001\n.",  # protocol 0, no PROTO
        b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b".",
        b"\x80\x04\x95\x0e" + bytes(7) + b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b".",
    ],
    ids=["proto0", "proto2", "proto4-framed"],
)
def test_legacy_torch_is_recognised_by_its_magic_pickle(head: bytes) -> None:
    assert sniff(head) is PickleKind.TORCH_LEGACY
