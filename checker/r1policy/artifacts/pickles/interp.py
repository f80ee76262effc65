"""A static pickle interpreter: models the stack, the MARK stack and the memo; imports nothing.

Every opcode of protocols 0-5 is decoded from a `Reader` (forward-only `.read(n)`); globals are
judged against the allowlist as they are imported, whatever later happens to them (a call whose
result is POPped still ran). Problems that leave the stream decodable (an unsafe global, an operand
that cannot be resolved) are recorded and the run goes on, so every payload is named; problems that
make the rest undecodable (truncation, unknown opcode, bad frame) end the run with a StopAnalysis.
"""

from __future__ import annotations

import _compat_pickle
import struct
from collections.abc import Callable
from functools import cache

from r1policy.artifacts.pickles import opcodes_data as od
from r1policy.artifacts.pickles.allowlist import Allowlist
from r1policy.artifacts.pickles.fastpath import FAST, fast_run
from r1policy.artifacts.pickles.model import GlobalRef, Limits, PickleProblem, ProblemKind
from r1policy.artifacts.pickles.ops_data import DataOps
from r1policy.artifacts.pickles.reader import Reader, StopAnalysis
from r1policy.artifacts.pickles.values import (
    OPAQUE,
    PERSISTENT,
    Call,
    DictValue,
    LongText,
    describe,
    known_builtin,
)

_I4 = struct.Struct("<i")
_U4 = struct.Struct("<I")
_U8 = struct.Struct("<Q")
_H = struct.Struct("<H")
_D = struct.Struct(">d")
STOP = 0x2E
_CHECK_EVERY = 0xFFFF

Handler = Callable[["Interpreter"], None]
# Called after BUILD on a Call (joblib's NumpyArrayWrapper reads raw bytes at that point).
BuildHook = Callable[["Interpreter", Call], None]
# Called for BINPERSID/PERSID in a PyTorch context with the persistent id value.
PersidHook = Callable[["Interpreter", object, int], None]


class Interpreter(DataOps):
    """One pickle stream, from its first opcode to STOP."""

    def __init__(
        self,
        reader: Reader,
        allow: Allowlist,
        limits: Limits,
        problems: list[PickleProblem],
        imports: list[GlobalRef],
        *,
        on_persid: PersidHook | None = None,
        on_build: BuildHook | None = None,
    ) -> None:
        self.r = reader
        self.allow = allow
        self.limits = limits
        self.problems = problems
        self.imports = imports
        self.on_persid = on_persid
        self.on_build = on_build
        self.stack: list[object] = []
        self.marks: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.proto = 0
        self.ops = 0
        self.op_offset = reader.offset
        self._table = _table()

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> object:
        """Interpret up to and including STOP; return the value on top of the stack at STOP.

        `fast_run` handles the common opcodes inline while they lie wholly inside the buffer and the
        current frame; anything unusual (an error, a buffer or frame edge, a rare opcode) is left to
        `step`, which does the same work with every check and the exact error messages.
        """
        limit = self.limits.max_opcodes
        next_check = self.ops + _CHECK_EVERY
        r = self.r
        while True:
            pos = r._pos
            if pos < len(r._buf) and FAST[r._buf[pos]]:
                fast_run(self)
            if self.step():
                break
            if self.ops >= next_check:
                self._check_bounds(limit)
                next_check = self.ops + _CHECK_EVERY
        self.ops += 1
        if not self.stack:
            raise self.stop("STOP with an empty stack")
        return self.stack[-1]

    def step(self) -> bool:
        """One opcode through its handler; True at STOP."""
        r = self.r
        self.op_offset = r.op_start = r.base + r._pos  # hot path: no property call
        op = r.opcode()
        if op == STOP:
            return True
        self._last = op
        self._table[op](self)
        self.ops += 1
        if r.crossed:
            self.problem(ProblemKind.UNSUPPORTED, r.crossed)
            r.crossed = ""
        return False

    def _check_bounds(self, limit: int) -> None:
        if self.ops > limit:
            raise self.stop(f"more than {limit} opcodes: analysis stopped", "limit")
        depth = len(self.stack) + sum(len(frame) for frame in self.marks)
        if depth > self.limits.max_stack:
            raise self.stop(f"stack deeper than {self.limits.max_stack} values", "limit")

    # -- globals --------------------------------------------------------------------------------
    def import_global(self, module: str, name: str, offset: int, via: str) -> GlobalRef:
        shown = f"{module}.{name}"
        if self.proto < 3:  # what Unpickler.find_class does with fix_imports
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        ref = GlobalRef(module, name, offset, self.allow.is_safe(module, name))
        if len(self.imports) >= self.limits.max_imports:
            raise self.stop(f"more than {self.limits.max_imports} imports: analysis stopped", "limit")
        self.imports.append(ref)
        if not ref.safe:
            alias = f" (= {ref.dotted})" if shown != ref.dotted else ""
            chain = (
                f"; the dotted name resolves the attribute chain {name!r} on module {module!r}"
                if "." in name
                else ""
            )
            self.problem(
                ProblemKind.UNSAFE_GLOBAL,
                f"{via} imports {shown}{alias}, which is not on the safe-globals allowlist{chain}",
                offset,
            )
        return ref

    def _text_line(self, what: str) -> str:
        raw = self.r.read_line(self.limits.max_line, what)
        if not raw:
            raise self.stop(f"{what} is an empty line (the C unpickler reports truncated data)")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.stop(f"{what} is not UTF-8: {raw[:60]!r}") from None

    def callable_of(self, value: object, via: str) -> GlobalRef | None:
        if isinstance(value, GlobalRef):
            return value
        self.problem(
            ProblemKind.UNRESOLVABLE,
            f"{via} calls {describe(value)}, not an imported global: the callable cannot be resolved",
        )
        return None

    def call(self, func: object, args: object, via: str) -> None:
        ref = self.callable_of(func, via)
        if ref is None:
            self.push(OPAQUE)
            return
        if ref.safe and ref.dotted == "_codecs.encode":
            self._check_codecs(args)
        elif (
            ref.safe
            and ref.dotted in ("builtins.bytes", "builtins.bytearray")
            and isinstance(args, tuple)
            and any(type(arg) is int for arg in args)
        ):
            self.problem(
                ProblemKind.UNSAFE_GLOBAL,
                f"{ref.dotted} called with a size ({describe(args[0])}): allocates memory at load",
            )
        self.push(Call(ref, args, self.op_offset))

    def _check_codecs(self, args: object) -> None:
        ok = (
            isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[0], str | LongText)
            and isinstance(args[1], str)
            and args[1] in self.allow.codecs_encodings
        )
        if not ok:
            self.problem(
                ProblemKind.UNSAFE_GLOBAL,
                "_codecs.encode is allowed only as (text, 'latin1') for protocol-2 bytes; "
                f"called with {describe(args)}",
            )

    # -- imports and calls ----------------------------------------------------------------------
    def _names(self, what: str) -> tuple[str, str]:
        """GLOBAL/INST operands. pickle.py (joblib.load) reads a line cut by the end of the data as
        that line minus its last byte, and still imports the module: recorded before the refusal."""
        try:
            module = self._text_line(f"{what} module")
        except StopAnalysis as stop:
            if stop.truncation:
                self._cut_import(self.r.pending()[:-1], b"", what)
            raise
        try:
            name = self._text_line(f"{what} name")
        except StopAnalysis as stop:
            if stop.truncation:
                self._cut_import(module.encode(), self.r.pending()[:-1], what)
            raise
        return module, name

    def _cut_import(self, module: bytes, name: bytes, what: str) -> None:
        try:
            text_module, text_name = module.decode("utf-8"), name.decode("utf-8")
        except UnicodeDecodeError:
            return
        if text_module:
            self.import_global(text_module, text_name, self.op_offset, f"{what} cut by the end of the data")

    def _op_global(self) -> None:
        module, name = self._names("GLOBAL")
        self.push(self.import_global(module, name, self.op_offset, "GLOBAL"))

    def _op_stack_global(self) -> None:
        name = self.pop()
        module = self.pop()
        if isinstance(module, str) and isinstance(name, str):
            self.push(self.import_global(module, name, self.op_offset, "STACK_GLOBAL"))
            return
        self.problem(
            ProblemKind.UNRESOLVABLE,
            f"STACK_GLOBAL with operands that are not strings: module is {describe(module)}, "
            f"name is {describe(name)}",
        )
        self.push(OPAQUE)

    def _op_inst(self) -> None:
        module, name = self._names("INST")
        # pickle.py (joblib.load) imports before it looks for the MARK; the C unpickler after
        ref = self.import_global(module, name, self.op_offset, "INST")
        self.call(ref, tuple(self.pop_mark()), "INST")

    def _op_obj(self) -> None:
        items = self.pop_mark()
        if not items:
            raise self.stop("OBJ without a class")
        self.call(items[0], tuple(items[1:]), "OBJ")

    def _op_reduce(self) -> None:
        args = self.pop()
        self.call(self.pop(), args, "REDUCE")

    def _op_newobj(self) -> None:
        args = self.pop()
        self.call(self.pop(), args, "NEWOBJ")

    def _op_newobj_ex(self) -> None:
        kwargs = self.pop()
        args = self.pop()
        self.call(self.pop(), (args, kwargs), "NEWOBJ_EX")

    def _op_build(self) -> None:
        state = self.pop()
        target = self.top()
        if isinstance(target, GlobalRef):
            self.problem(
                ProblemKind.UNSAFE_GLOBAL,
                f"BUILD sets the state of the imported global {target.dotted} itself (module or class "
                "attributes would be overwritten)",
            )
        elif isinstance(target, Call):
            target.state = state
            if self.on_build is not None:
                self.on_build(self, target)
        elif known_builtin(target) and not _empty_state(state):
            raise self.stop(f"BUILD on {describe(target)} with state {describe(state)}: the unpickler raises")

    def _ext(self, code: int) -> None:
        self.problem(
            ProblemKind.UNRESOLVABLE,
            f"EXT code {code} names a global through the copyreg extension registry of the loading "
            "process, which cannot be resolved statically",
        )
        self.push(OPAQUE)

    def _op_ext1(self) -> None:
        self._ext(self.r.read(1)[0])

    def _op_ext2(self) -> None:
        self._ext(_H.unpack(self.r.read(2))[0])

    def _op_ext4(self) -> None:
        self._ext(_I4.unpack(self.r.read(4))[0])

    def _persid(self, pid: object) -> None:
        if self.on_persid is None:
            self.problem(
                ProblemKind.UNRESOLVABLE,
                f"persistent id {describe(pid)} outside a PyTorch checkpoint: what it loads is decided by "
                "the loader's persistent_load",
            )
        else:
            self.on_persid(self, pid, self.op_offset)
        self.push(PERSISTENT)

    def _op_persid(self) -> None:
        line = self.r.read_line(self.limits.max_line, "PERSID")
        try:
            self._persid(line.decode("ascii"))
        except UnicodeDecodeError:
            raise self.stop("PERSID argument is not ASCII") from None

    def _op_binpersid(self) -> None:
        self._persid(self.pop())

    # -- protocol 2+ framing and buffers --------------------------------------------------------
    def _op_proto(self) -> None:
        proto = self.r.read(1)[0]
        if proto > 5:
            raise self.stop(f"unsupported pickle protocol {proto}")
        self.proto = proto

    def _op_frame(self) -> None:
        r = self.r
        (size,) = _U8.unpack(r.read(8))
        if r.frame_end >= 0 and r.offset < r.frame_end:
            self.problem(
                ProblemKind.UNSUPPORTED,
                f"FRAME before the end of the frame that started at byte {r.frame_start}",
            )
        r.frame_end = r.offset + self._size(size, "FRAME")
        r.frame_start = self.op_offset

    def _op_next_buffer(self) -> None:
        self.push(OPAQUE)

    def _op_readonly_buffer(self) -> None:
        self.top()


def _empty_state(state: object) -> bool:
    """Whether a BUILD state may be accepted on any object: C takes None or (None, {}); pickle.py takes
    any falsy state and falsy slot state. A value the model does not know may be falsy."""
    slots: object = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    return not _truthy(state) and not _truthy(slots)


def _truthy(value: object) -> bool:
    if isinstance(value, DictValue):
        return bool(value.items)
    return isinstance(value, LongText) or (known_builtin(value) and bool(value))


@cache
def _table() -> list[Handler]:
    """Opcode byte -> unbound handler, built once; index 256 (the reader's -1) is the end of data."""
    table: list[Handler] = [Interpreter._unknown] * 257
    for code, name in od.NAMES.items():
        table[code] = getattr(Interpreter, "_op_" + name.lower())
    table[256] = Interpreter._eof
    return table
