"""The scanner's pickle decisions: a stream that is a pickle, one that only starts like one, and a
polyglot that is a pickle and another format at once (analysed as both from one read)."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from r1policy.artifacts.hashing import HashingReader
from r1policy.artifacts.model import FileFacts, ScanLimits
from r1policy.artifacts.sniff import HEAD_BYTES

if TYPE_CHECKING:
    from r1policy.artifacts.pickles import PickleAnalysis


def pickle(reader: HashingReader, facts: FileFacts, kind: object, torch_zip: bool) -> None:
    from r1policy.artifacts import pickles

    if torch_zip:
        kind = pickles.PickleKind.TORCH_ZIP
    record(pickles.analyse(reader, kind, limits=sized(facts.size)), facts)  # type: ignore[arg-type]


def undecided(reader: HashingReader, facts: FileFacts, kind: object, torch_zip: bool) -> None:
    """A valid pickle prefix for the whole look-ahead window that is otherwise text or unknown:
    the whole stream decides. Never text: a stream the unpickler rejects only after the window
    (before importing anything) is unscannable (R1-ART-010)."""
    from r1policy.artifacts import pickles

    if torch_zip:
        kind = pickles.PickleKind.TORCH_ZIP
    analysis = pickles.analyse(reader, kind, limits=sized(facts.size))  # type: ignore[arg-type]
    if not pickles.is_pickle(analysis):
        facts.format, facts.detail = "unknown", "pickle-like"
        where = analysis.problems[-1] if analysis.problems else "its end"
        facts.unknown_format = (
            f"the first {HEAD_BYTES:,} bytes read as a pickle stream, which the unpickler rejects only "
            f"later ({where}); not judged as text"
        )
        return
    facts.format = "pickle"
    record(analysis, facts)
    limits = [p for p in analysis.problems if p.kind is pickles.ProblemKind.LIMIT]
    if limits:
        facts.unknown_format = (
            f"cannot decide whether this is a pickle: {limits[0]}; the first {HEAD_BYTES:,} bytes read as one"
        )


def polyglot(
    reader: HashingReader,
    facts: FileFacts,
    kind: object,
    limits: ScanLimits,
    other: Callable[[HashingReader], None],
) -> None:
    """A stream that is (or may be) a pickle and parses as another format too: the whole stream is
    analysed as a pickle through a tee that keeps what it read, then replayed for the other format
    (`other`). A stream that turns out not to be a pickle is judged by its other format."""
    from r1policy.artifacts import pickles

    with tempfile.SpooledTemporaryFile(max_size=limits.spool_memory_bytes) as spool:
        analysis = pickles.analyse(_Tee(reader, spool), kind, limits=sized(facts.size))  # type: ignore[arg-type]
        if pickles.is_pickle(analysis):
            was = facts.detail or facts.format
            record(analysis, facts)
            facts.detail = f"{was} that is also a {facts.detail} (polyglot)"
        spool.seek(0)
        replay = HashingReader(_Chain(spool, reader), hash_it=False)
        other(replay)
        replay.drain()


def record(analysis: PickleAnalysis, facts: FileFacts) -> None:
    from r1policy.artifacts import pickles

    facts.detail = str(getattr(analysis.kind, "value", analysis.kind))
    if facts.detail == "npy" and not analysis.pickle_based:
        facts.format, facts.detail = "npy", "numeric array"
    facts.pickle_based = analysis.pickle_based
    for ref in analysis.unsafe_imports:
        facts.unsafe_imports.append(f"{ref.dotted} at byte {ref.offset}")
        if ref.dotted not in facts.unsafe_import_names:
            facts.unsafe_import_names.append(ref.dotted)
    for problem in analysis.problems:
        if problem.kind is pickles.ProblemKind.UNSAFE_GLOBAL and facts.unsafe_imports:
            continue
        facts.pickle_problems.append(str(problem))


def sized(size: int | None) -> Any:
    """The pickle analysis limits for a stream of known length (None: unknown, e.g. a gzip member)."""
    from r1policy.artifacts.pickles.model import DEFAULT_LIMITS as PICKLE_LIMITS

    return dataclasses.replace(PICKLE_LIMITS, stream_size=size)


class _Tee:
    """Reads through a stream and keeps a copy of every byte read (for a replay)."""

    def __init__(self, raw: HashingReader, copy: IO[bytes]) -> None:
        self._raw = raw
        self._copy = copy

    def read(self, n: int = -1, /) -> bytes:
        data = self._raw.read(n)
        self._copy.write(data)
        return data


class _Chain:
    """The kept copy, then the rest of the stream."""

    def __init__(self, first: IO[bytes], rest: HashingReader) -> None:
        self._first: IO[bytes] | None = first
        self._rest = rest

    def read(self, n: int = -1, /) -> bytes:
        if self._first is not None:
            data = self._first.read(n)
            if data:
                return data
            self._first = None
        return self._rest.read(n)
