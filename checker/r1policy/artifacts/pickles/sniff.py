"""Is a stream (also) a pickle? Decided by the same interpreter that analyses pickles, with the error
semantics of CPython's C unpickler, never by heuristics about text: this is the only pickle sniffer.

A stream is a pickle when the unpickler would accept it up to STOP, when it imports a global with
importable names before it goes bad (an import alone runs module code), or when it stops on
something the unpickler accepts but the analyser does not model. It is *not* a pickle only when the
unpickler would raise before importing anything. When the data runs out before either happens and
more data follows (the look-ahead window ended), the window cannot decide: `Probe.undecided`, and
the caller analyses the whole stream as a pickle as well (`is_pickle` on the full analysis).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace

from r1policy.artifacts.pickles import opcodes_data as od
from r1policy.artifacts.pickles.allowlist import default_allowlist
from r1policy.artifacts.pickles.analyse import TORCH_MAGIC
from r1policy.artifacts.pickles.interp import Interpreter
from r1policy.artifacts.pickles.model import GlobalRef, Limits, PickleAnalysis, PickleKind
from r1policy.artifacts.pickles.npy import MAGIC as NPY_MAGIC
from r1policy.artifacts.pickles.reader import Reader, StopAnalysis

WINDOW = 64 * 1024  # what `sniff(head)` assumes the caller peeked when it does not say
_MAGIC_LONG1 = b"\x8a\x0a" + TORCH_MAGIC.to_bytes(10, "little")  # LONG1 of the magic number
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PROBE_LIMITS = Limits(max_opcodes=100_000, max_item_bytes=1 << 62, max_line=1 << 62)
_STARTS = frozenset(od.NAMES) | {0x2E}


@dataclass(frozen=True)
class Probe:
    kind: PickleKind | None  # the pickle kind when the stream is, or may be, a pickle
    undecided: bool = False  # still a valid pickle prefix where the window ended


def could_start(first: int) -> bool:
    """Whether a stream starting with this byte could be read by the unpickler at all."""
    return first in _STARTS


def importable(module: str, name: str) -> bool:
    """Names `find_class` could resolve: dotted identifiers (importing a module runs its code)."""
    return bool(_NAME.match(module) and _NAME.match(name))


def _runs_code(imports: list[GlobalRef] | tuple[GlobalRef, ...]) -> bool:
    """The unpickler imported something before the stream went bad: that already ran code."""
    return any(importable(ref.module, ref.name) for ref in imports)


def is_pickle(analysis: PickleAnalysis) -> bool:
    """Whether a full analysis (of a stream that also parses as something else) found a pickle."""
    return not analysis.rejected or _runs_code(analysis.imports)


def probe(head: bytes, *, complete: bool) -> Probe:
    """Judge the first bytes of a stream; `complete` says `head` is the whole stream."""
    if head.startswith(NPY_MAGIC):
        return Probe(PickleKind.NPY)
    if not head or not could_start(head[0]):
        return Probe(None)
    if head[0] == 0x80 and len(head) > 1 and head[1] <= 5 and _MAGIC_LONG1 not in head[:64]:
        return Probe(_pickle_or_joblib(head))  # claimed by PROTO; only the magic pickle needs a decode
    imports: list[GlobalRef] = []
    limits = replace(_PROBE_LIMITS, stream_size=len(head)) if complete else _PROBE_LIMITS
    interp = Interpreter(Reader(io.BytesIO(head)), default_allowlist(), limits, [], imports)
    try:
        value: object = interp.run()
    except StopAnalysis as stop:
        if _runs_code(imports) or stop.kind != "malformed":
            return Probe(_pickle_or_joblib(head))
        if stop.truncation and not complete:
            return Probe(_pickle_or_joblib(head), undecided=True)
        return Probe(None)
    if type(value) is int and value == TORCH_MAGIC:
        return Probe(PickleKind.TORCH_LEGACY)
    return Probe(_pickle_or_joblib(head))


def sniff(head: bytes, *, complete: bool | None = None) -> PickleKind | None:
    """PickleKind of a stream starting with `head`, or None when it is not pickle-based. A stream the
    window cannot decide is reported as a pickle (the analysis then decides). `complete` defaults
    to "head is shorter than the 64 KiB window"."""
    return probe(head, complete=len(head) < WINDOW if complete is None else complete).kind


def _pickle_or_joblib(head: bytes) -> PickleKind:
    if b"joblib.numpy_pickle" in head or b"NumpyArrayWrapper" in head:
        return PickleKind.JOBLIB
    return PickleKind.PICKLE
