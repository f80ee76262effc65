"""Recognise pickle-based content from a file's first bytes (never from its name)."""

from __future__ import annotations

import io
import re

from r1policy.artifacts.pickles import opcodes_data as od
from r1policy.artifacts.pickles.allowlist import default_allowlist
from r1policy.artifacts.pickles.interp import Interpreter
from r1policy.artifacts.pickles.model import GlobalRef, Limits, PickleKind
from r1policy.artifacts.pickles.npy import MAGIC as NPY_MAGIC
from r1policy.artifacts.pickles.reader import Reader, StopAnalysis

TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_MAGIC_LONG1 = b"\x8a\x0a" + TORCH_MAGIC.to_bytes(10, "little")  # LONG1 of the magic number
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_MIN_OPS = 3  # a protocol-0/1 stream must decode at least this many opcodes (or reach STOP)
_SNIFF_LIMITS = Limits(max_opcodes=100_000, max_item_bytes=1 << 40)
_DECODE_BYTES = 1024  # enough to tell text from a protocol-0 pickle; 64 bytes find the PyTorch magic


def sniff(head: bytes) -> PickleKind | None:
    """PickleKind of a stream starting with `head`, or None when it is not pickle-based.

    A stream led by PROTO (0x80 0x02..0x05) is claimed at once; a protocol-0/1 stream only when its
    first opcodes decode cleanly (at least three, or up to STOP) or it imports a global before it goes
    bad, and every imported name is a dotted identifier, so that text files are not claimed.
    PyTorch zip checkpoints are zips: the caller passes PickleKind.TORCH_ZIP for their data.pkl member.
    """
    if head.startswith(NPY_MAGIC):
        return PickleKind.NPY
    if not head or (head[0] not in od.NAMES and head[0] != 0x2E):
        return None
    with_proto = head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5
    if with_proto and _MAGIC_LONG1 not in head[:64]:
        return _pickle_or_joblib(head)  # claimed by PROTO; only the magic pickle needs a decode
    imports: list[GlobalRef] = []
    interp = Interpreter(
        Reader(io.BytesIO(head[: 64 if with_proto else _DECODE_BYTES])),
        default_allowlist(),
        _SNIFF_LIMITS,
        [],
        imports,
    )
    try:
        value: object = interp.run()
        stopped = True
    except StopAnalysis as stop:
        value, stopped = None, False
        cut = "truncated" in stop.message or "ends before STOP" in stop.message
        named = bool(imports) and interp.ops >= 2  # imported a global, then decoded on, before it went bad
        if not with_proto and not ((cut and interp.ops >= _MIN_OPS) or named):
            return None
    if not with_proto and not all(_NAME.match(ref.module) and _NAME.match(ref.name) for ref in imports):
        return None
    if stopped and type(value) is int and value == TORCH_MAGIC:
        return PickleKind.TORCH_LEGACY
    return _pickle_or_joblib(head)


def _pickle_or_joblib(head: bytes) -> PickleKind:
    if b"joblib.numpy_pickle" in head or b"NumpyArrayWrapper" in head:
        return PickleKind.JOBLIB
    return PickleKind.PICKLE
