"""Robustness: mutated streams never raise out of the analyser, and the inline fast path decides
exactly as the per-opcode handlers do (same problems, same offsets, same imports)."""

from __future__ import annotations

import io
import pickle
import random
from collections import OrderedDict
from pathlib import Path

import pytest
from tests.fixtures.make_pickles import build_cases

from r1policy.artifacts.pickles import PickleAnalysis, PickleKind, analyse, interp, sniff

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "artifacts"


def _seeds() -> list[tuple[str, bytes, PickleKind]]:
    seeds = [(c.name, c.data, PickleKind(c.kind)) for c in build_cases()]
    data = {"a": [1, 2.5, "x" * 300, b"y"], "b": OrderedDict(k=(1, 2, 3)), "c": {frozenset([1])}}
    for protocol in range(6):
        seeds.append((f"plain{protocol}", pickle.dumps(data, protocol=protocol), PickleKind.PICKLE))
    for path in sorted(FIXTURES.glob("torch_legacy_*.bin")):
        seeds.append((path.name, path.read_bytes(), PickleKind.TORCH_LEGACY))
    return seeds


def _summary(result: PickleAnalysis) -> tuple[object, ...]:
    return (
        tuple((p.offset, p.kind, p.message) for p in result.problems),
        tuple((r.module, r.name, r.offset, r.safe) for r in result.imports),
        result.bytes_consumed,
        result.object_dtype,
    )


def _mutants(count: int) -> list[tuple[bytes, PickleKind]]:
    rng = random.Random(20261125)
    seeds = _seeds()
    out = []
    for _ in range(count):
        _, data, kind = rng.choice(seeds)
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            action = rng.random()
            at = rng.randrange(len(buf) + 1)
            if action < 0.5 and buf:
                buf[min(at, len(buf) - 1)] = rng.randrange(256)
            elif action < 0.75:
                buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            else:
                del buf[at : at + rng.randint(1, 8)]
        out.append((bytes(buf), kind))
    return out


def test_mutated_streams_never_raise_and_fast_path_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    mutants = _mutants(3000)
    fast = []
    for data, kind in mutants:
        sniff(data[:4096])
        fast.append(_summary(analyse(io.BytesIO(data), kind)))
    monkeypatch.setattr(interp, "fast_run", lambda it: None)  # handlers only
    slow = [_summary(analyse(io.BytesIO(data), kind)) for data, kind in mutants]
    assert fast == slow
    assert sum(1 for s in fast if s[0]) > 2000  # most mutants are refused


@pytest.mark.parametrize(("name", "data", "kind"), _seeds(), ids=[s[0] for s in _seeds()])
def test_fast_path_agrees_on_seeds(
    name: str, data: bytes, kind: PickleKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _summary(analyse(io.BytesIO(data), kind))
    monkeypatch.setattr(interp, "fast_run", lambda it: None)
    assert _summary(analyse(io.BytesIO(data), kind)) == fast


def test_one_byte_reads_give_the_same_answer() -> None:
    """A stream that returns one byte per read (a slow socket) changes nothing."""

    class Trickle:
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def read(self, n: int = -1, /) -> bytes:
            return self._data.read(1)

    for _, data, kind in _seeds():
        assert _summary(analyse(Trickle(data), kind)) == _summary(analyse(io.BytesIO(data), kind))
