"""The pickle analyser's public value types and resource limits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PickleKind(StrEnum):
    """What kind of pickle-based file a stream is; `sniff` tells all but TORCH_ZIP."""

    PICKLE = "pickle"  # one pickle (protocols 0-5, with or without PROTO)
    TORCH_LEGACY = "torch-legacy"  # torch.save(..., _use_new_zipfile_serialization=False)
    TORCH_ZIP = "torch-zip"  # the data.pkl member of a PyTorch zip checkpoint (storages allowed)
    NPY = "npy"  # NumPy .npy (a pickle follows the header only for object dtype)
    JOBLIB = "joblib"  # joblib.dump: a pickle with raw array bytes after each NumpyArrayWrapper


class ProblemKind(StrEnum):
    UNSAFE_GLOBAL = "unsafe-global"  # imports something outside the safe-globals allowlist
    UNRESOLVABLE = "unresolvable"  # an operand whose value cannot be known statically
    MALFORMED = "malformed"  # parse error, truncation, bad frame, bad header
    TRAILING_DATA = "trailing-data"  # bytes after the last STOP the format does not allow
    LIMIT = "limit"  # a resource limit was reached: analysis stopped (fail closed)
    UNSUPPORTED = "unsupported"  # valid for CPython's unpickler, but not modelled here (fail closed)


@dataclass(frozen=True)
class GlobalRef:
    """A global the stream imports (GLOBAL, STACK_GLOBAL, INST); `offset` is the opcode's byte."""

    module: str
    name: str
    offset: int
    safe: bool

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class PickleProblem:
    offset: int
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        return f"byte {self.offset}: {self.message}"


@dataclass(frozen=True)
class PickleAnalysis:
    kind: PickleKind
    imports: tuple[GlobalRef, ...]
    problems: tuple[PickleProblem, ...]
    pickle_based: bool  # the file (or its payload) is a pickle: R1-ART-002 applies
    object_dtype: bool  # .npy/.npz member or joblib array whose dtype holds Python objects
    bytes_consumed: int  # bytes read from the stream (the caller drains the rest for hashing)
    pickles: int  # how many pickle streams were analysed (legacy torch: 5, joblib object arrays: more)
    rejected: bool = False  # the first pickle hit an error CPython's unpickler raises too, before STOP

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsafe_imports(self) -> tuple[GlobalRef, ...]:
        return tuple(ref for ref in self.imports if not ref.safe)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep the analysis finite; reaching one is a LIMIT problem, never a pass."""

    max_opcodes: int = 200_000_000
    max_memo: int = 20_000_000  # memo entries
    max_stack: int = 1_000_000  # values on the stack plus all MARK frames
    max_marks: int = 100_000  # nested MARKs
    max_item_bytes: int = 64 * 1024**3  # one string/bytes operand, one frame, one raw array
    keep_bytes: int = 4096  # prefix of a string operand kept for names and messages
    max_line: int = 1 << 20  # a protocol-0 text argument (read up to the newline)
    max_kept_items: int = 65_536  # items modelled per list/dict/tuple (more are counted only)
    max_npy_header: int = 1 << 20
    max_pickles: int = 100_000  # pickles in one file (legacy torch: 5; joblib: 1 + one per object array)
    max_imports: int = 100_000  # GLOBAL/STACK_GLOBAL/INST executed (real pickles memoize them)
    max_problems: int = 1000  # the file is refused long before; more would only flood the report
    # The stream's length when known: an operand claiming more bytes than remain is the truncation
    # the unpickler meets (it fails there, importing nothing), not an undecidable size.
    stream_size: int | None = None


DEFAULT_LIMITS = Limits()
