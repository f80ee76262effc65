"""The data half of the static pickle interpreter: scalars, strings, containers and the memo.

Values are modelled, not built: strings keep a bounded prefix, containers keep a bounded number of
items, and nothing is ever imported or called (see interp.py for globals and calls).
"""

from __future__ import annotations

import codecs
import struct
import warnings
from collections.abc import Callable
from typing import TypeVar

from r1policy.artifacts.pickles import opcodes_data as od
from r1policy.artifacts.pickles.model import GlobalRef, Limits, PickleProblem, ProblemKind
from r1policy.artifacts.pickles.reader import Reader, StopAnalysis, truncated
from r1policy.artifacts.pickles.textops import (
    OperandError,
    parse_float,
    parse_int,
    parse_long,
    parse_memo_key,
)
from r1policy.artifacts.pickles.values import OPAQUE, DictValue, LongText, describe, known_builtin

_I4 = struct.Struct("<i")
_U4 = struct.Struct("<I")
_U8 = struct.Struct("<Q")
_H = struct.Struct("<H")
_D = struct.Struct(">d")
_T = TypeVar("_T")


def _put_key(line: bytes) -> int:
    return parse_memo_key(line, "PUT")


def _get_key(line: bytes) -> int:
    return parse_memo_key(line, "GET")


class DataOps:
    """State, stack helpers and the opcodes that only move data."""

    r: Reader
    limits: Limits
    problems: list[PickleProblem]
    stack: list[object]
    marks: list[list[object]]
    memo: dict[int, object]
    op_offset: int
    _last: int

    # -- problems -------------------------------------------------------------------------------
    def problem(self, kind: ProblemKind, message: str, offset: int | None = None) -> None:
        where = self.op_offset if offset is None else offset
        if len(self.problems) >= self.limits.max_problems:
            raise StopAnalysis(
                where, "limit", f"more than {self.limits.max_problems} problems: analysis stopped"
            )
        self.problems.append(PickleProblem(where, kind, message))

    def stop(self, message: str, kind: str = "malformed") -> StopAnalysis:
        return StopAnalysis(self.op_offset, kind, message)

    def _unknown(self) -> None:
        raise self.stop(f"unknown opcode 0x{self._last:02x}: not a pickle from here on")

    def _eof(self) -> None:
        stop = self.stop("stream ends before STOP (truncated pickle)")
        stop.truncation = True
        raise stop

    # -- stack helpers --------------------------------------------------------------------------
    def pop(self) -> object:
        if not self.stack:
            raise self.stop(f"{od.NAMES.get(self._last, '?')} on an empty stack")
        return self.stack.pop()

    def top(self) -> object:
        if not self.stack:
            raise self.stop(f"{od.NAMES.get(self._last, '?')} on an empty stack")
        return self.stack[-1]

    def pop_mark(self) -> list[object]:
        if not self.marks:
            raise self.stop(f"{od.NAMES.get(self._last, '?')} without a MARK")
        items = self.stack
        self.stack = self.marks.pop()
        return items

    def push(self, value: object) -> None:
        self.stack.append(value)

    def mutate_check(self, target: object, what: str) -> None:
        if isinstance(target, GlobalRef):
            self.problem(ProblemKind.UNSAFE_GLOBAL, f"{what} modifies the imported global {target.dotted}")

    # -- strings --------------------------------------------------------------------------------
    def _size(self, n: int, what: str) -> int:
        size = self.limits.stream_size
        # A FRAME may claim more than remains (pickle.py reads what is there); a data operand may not.
        if size is not None and what != "FRAME" and n > size - self.r.offset:
            raise truncated(self.r.offset, f"{what} of {n:,} bytes")
        if n > self.limits.max_item_bytes:
            raise self.stop(f"{what} claims {n} bytes (limit {self.limits.max_item_bytes}): refused", "limit")
        return n

    def _unicode(self, n: int) -> object:
        keep = self.limits.keep_bytes
        data = self.r.read_prefix(self._size(n, "a string"), keep, "a string")
        if n > keep:
            return LongText(data.decode("utf-8", "replace"), n)
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise self.stop(f"string operand is not UTF-8: {data[:40]!r}") from None

    def _bytes(self, n: int) -> object:
        data = self.r.read_prefix(self._size(n, "a bytes operand"), self.limits.keep_bytes)
        return data if n <= self.limits.keep_bytes else OPAQUE

    def _binstring(self, n: int) -> object:
        data = self._bytes(n)
        if isinstance(data, bytes):
            try:
                return data.decode("ascii")
            except UnicodeDecodeError:
                return data
        return data

    # -- opcodes: protocol 0/1 ------------------------------------------------------------------
    def _op_mark(self) -> None:
        if len(self.marks) >= self.limits.max_marks:
            raise self.stop(f"more than {self.limits.max_marks} nested MARKs", "limit")
        self.marks.append(self.stack)
        self.stack = []

    def _op_pop(self) -> None:
        if self.stack:
            self.stack.pop()
        else:
            self.pop_mark()

    def _op_pop_mark(self) -> None:
        self.pop_mark()

    def _op_dup(self) -> None:
        self.push(self.top())

    def _text_operand(self, parse: Callable[[bytes], _T], what: str) -> _T:
        """A protocol-0 numeric operand, parsed as the C unpickler parses it (textops.py)."""
        line = self.r.read_line(self.limits.max_line, what)
        try:
            return parse(line)
        except OperandError as exc:
            raise self.stop(str(exc)) from None

    def _op_float(self) -> None:
        self.push(self._text_operand(parse_float, "FLOAT"))

    def _op_int(self) -> None:
        self.push(self._text_operand(parse_int, "INT"))

    def _op_long(self) -> None:
        self.push(self._text_operand(parse_long, "LONG"))

    def _op_string(self) -> None:
        line = self.r.read_line(self.limits.max_line, "STRING")
        if len(line) < 2 or line[0] != line[-1] or line[:1] not in (b"'", b'"'):
            raise self.stop(f"STRING argument {line[:40]!r} is not quoted")
        try:
            with warnings.catch_warnings():  # an unknown escape (backslash-i) is kept, with a warning
                warnings.simplefilter("ignore", DeprecationWarning)
                raw = codecs.escape_decode(line[1:-1])[0]
        except ValueError:
            raise self.stop("STRING argument has a bad escape") from None
        try:
            self.push(raw.decode("ascii"))
        except UnicodeDecodeError:
            self.push(raw)

    def _op_unicode(self) -> None:
        line = self.r.read_line(self.limits.max_line, "UNICODE")
        try:
            self.push(line.decode("raw-unicode-escape"))
        except UnicodeDecodeError:
            raise self.stop("UNICODE argument is not raw-unicode-escape text") from None

    def _op_binstring(self) -> None:
        (n,) = _I4.unpack(self.r.read(4))
        if n < 0:
            raise self.stop("BINSTRING with a negative length")
        self.push(self._binstring(n))

    def _op_short_binstring(self) -> None:
        self.push(self._binstring(self.r.read(1)[0]))

    def _op_binunicode(self) -> None:
        self.push(self._unicode(_U4.unpack(self.r.read(4))[0]))

    def _op_short_binunicode(self) -> None:
        self.push(self._unicode(self.r.read(1)[0]))

    def _op_binunicode8(self) -> None:
        self.push(self._unicode(_U8.unpack(self.r.read(8))[0]))

    def _op_binbytes(self) -> None:
        self.push(self._bytes(_U4.unpack(self.r.read(4))[0]))

    def _op_short_binbytes(self) -> None:
        self.push(self._bytes(self.r.read(1)[0]))

    def _op_binbytes8(self) -> None:
        self.push(self._bytes(_U8.unpack(self.r.read(8))[0]))

    def _op_bytearray8(self) -> None:
        self._bytes(_U8.unpack(self.r.read(8))[0])
        self.push(OPAQUE)

    def _op_none(self) -> None:
        self.stack.append(None)

    def _op_newtrue(self) -> None:
        self.stack.append(True)

    def _op_newfalse(self) -> None:
        self.stack.append(False)

    def _op_binint(self) -> None:
        self.stack.append(_I4.unpack(self.r.read(4))[0])

    def _op_binint1(self) -> None:
        self.stack.append(self.r.read(1)[0])

    def _op_binint2(self) -> None:
        self.stack.append(_H.unpack(self.r.read(2))[0])

    def _op_long1(self) -> None:
        n = self.r.read(1)[0]
        self.stack.append(int.from_bytes(self.r.read(n), "little", signed=True))

    def _op_long4(self) -> None:
        (n,) = _I4.unpack(self.r.read(4))
        if n < 0:
            raise self.stop("LONG4 with a negative length")
        data = self._bytes(n)
        self.push(int.from_bytes(data, "little", signed=True) if isinstance(data, bytes) else OPAQUE)

    def _op_binfloat(self) -> None:
        self.stack.append(_D.unpack(self.r.read(8))[0])

    # -- containers -----------------------------------------------------------------------------
    def _op_empty_list(self) -> None:
        self.stack.append([])

    def _op_empty_tuple(self) -> None:
        self.stack.append(())

    def _op_empty_dict(self) -> None:
        self.stack.append(DictValue([]))

    def _op_empty_set(self) -> None:
        self.stack.append(OPAQUE)

    def _op_list(self) -> None:
        self.push(self.pop_mark()[: self.limits.max_kept_items])

    def _op_tuple(self) -> None:
        self.push(tuple(self.pop_mark()))

    def _op_tuple1(self) -> None:
        self.push((self.pop(),))

    def _op_tuple2(self) -> None:
        b = self.pop()
        self.push((self.pop(), b))

    def _op_tuple3(self) -> None:
        c = self.pop()
        b = self.pop()
        self.push((self.pop(), b, c))

    def _op_dict(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            raise self.stop("DICT with an odd number of items")
        self.push(DictValue(list(zip(items[::2], items[1::2], strict=True))[: self.limits.max_kept_items]))

    def _op_frozenset(self) -> None:
        self.pop_mark()
        self.push(OPAQUE)

    def _op_append(self) -> None:
        value = self.pop()
        self._extend(self.top(), [value], "APPEND")

    def _op_appends(self) -> None:
        items = self.pop_mark()
        self._extend(self.top(), items, "APPENDS")

    def _refused_by(self, target: object, what: str, why: str) -> StopAnalysis:
        return self.stop(f"{what} on {describe(target)}: {why} (the unpickler raises)")

    def _extend(self, target: object, items: list[object], what: str) -> None:
        if not items:
            return  # the C unpickler does nothing, whatever the target
        if type(target) is list:
            room = self.limits.max_kept_items - len(target)
            if room > 0:
                target.extend(items[:room])
        elif known_builtin(target):
            raise self._refused_by(target, what, "it has no append or extend")
        else:
            self.mutate_check(target, what)

    def _op_additems(self) -> None:
        items = self.pop_mark()
        target = self.top()
        if not items:
            return
        if known_builtin(target):
            raise self._refused_by(target, "ADDITEMS", "it has no add")
        self.mutate_check(target, "ADDITEMS")

    def _op_setitem(self) -> None:
        value = self.pop()
        key = self.pop()
        self._set_items(self.top(), [key, value], "SETITEM")

    def _op_setitems(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            raise self.stop("SETITEMS with an odd number of items")
        self._set_items(self.top(), items, "SETITEMS")

    def _set_items(self, target: object, items: list[object], what: str) -> None:
        if not items:
            return
        if isinstance(target, DictValue):
            room = self.limits.max_kept_items - len(target.items)
            if room > 0:
                target.items.extend(zip(items[: 2 * room : 2], items[1 : 2 * room : 2], strict=True))
        elif type(target) is list:
            for key, value in zip(items[::2], items[1::2], strict=True):
                if not isinstance(key, int) or not -len(target) <= key < len(target):
                    raise self._refused_by(target, what, f"index {describe(key)} is not in the list")
                target[key] = value
        elif known_builtin(target):
            raise self._refused_by(target, what, "it does not support item assignment")
        else:
            self.mutate_check(target, what)

    # -- memo -----------------------------------------------------------------------------------
    def _put(self, key: int) -> None:
        memo = self.memo
        if key not in memo and len(memo) >= self.limits.max_memo:
            raise self.stop(f"more than {self.limits.max_memo} memo entries", "limit")
        memo[key] = self.top()

    def _get(self, key: int) -> None:
        try:
            self.stack.append(self.memo[key])
        except KeyError:
            raise self.stop(f"memo key {key} was never stored (GET of an unset memo slot)") from None

    def _op_put(self) -> None:
        key = self._text_operand(_put_key, "PUT")
        if key < 0:
            raise self.stop("negative PUT argument")
        self._put(key)

    def _op_binput(self) -> None:
        self._put(self.r.read(1)[0])

    def _op_long_binput(self) -> None:
        self._put(_U4.unpack(self.r.read(4))[0])

    def _op_memoize(self) -> None:
        self._put(len(self.memo))

    def _op_get(self) -> None:
        self._get(self._text_operand(_get_key, "GET"))

    def _op_binget(self) -> None:
        self._get(self.r.read(1)[0])

    def _op_long_binget(self) -> None:
        self._get(_U4.unpack(self.r.read(4))[0])
