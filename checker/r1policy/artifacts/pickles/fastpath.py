"""The interpreter's inner loop for the frequent opcodes, working on the reader's buffer directly.

An opcode is handled here only when it lies wholly inside the current buffer and frame and its
preconditions hold (a MARK for APPENDS, a memo entry for BINGET, ...); otherwise the loop returns and
`Interpreter.step` interprets that opcode with full checks and exact messages. Semantics are the
same as the handlers in ops_data.py; this only saves the per-opcode calls.
"""

from __future__ import annotations

import struct
from typing import Protocol

from r1policy.artifacts.pickles.model import Limits
from r1policy.artifacts.pickles.reader import Reader
from r1policy.artifacts.pickles.values import DictValue


class Machine(Protocol):
    """The interpreter state the inline loop works on (`Interpreter` has it)."""

    r: Reader
    limits: Limits
    stack: list[object]
    marks: list[list[object]]
    memo: dict[int, object]
    ops: int


_I4 = struct.Struct("<i").unpack_from
_U4 = struct.Struct("<I").unpack_from
_H = struct.Struct("<H").unpack_from
_D = struct.Struct(">d").unpack_from
_MISSING = object()
_MARGIN = 9  # the longest fixed-size opcode handled here (BINFLOAT: 1 + 8 bytes)
# Opcodes handled inline (1) or always left to the handlers (0), indexed by opcode byte.
FAST = bytes(1 if op in b"JKG\x94qrhj\x8cXM(eut]})N\x88\x89\x85\x86\x870" else 0 for op in range(256))
_STRETCH = 1 << 16  # bytes per call, so that the caller checks the limits at least this often


def fast_run(it: Machine) -> None:
    """Run inline opcodes until one needs the slow path (or _STRETCH bytes are done)."""
    r = it.r
    end = len(r._buf)
    if r.frame_end >= 0:
        end = min(end, r.frame_end - r.base)
    pos = r._pos
    if pos >= min(end - _MARGIN, pos + _STRETCH):
        return
    try:
        pos = _loop(it, r._buf, pos, end)
    finally:
        r._pos = pos


def _loop(it: Machine, buf: bytes, pos: int, end: int) -> int:
    """The inline loop: constants, strings and the memo here, structure in `_structure`; -1 from a
    helper means "leave this opcode to the slow path"."""
    safe_end = min(end - _MARGIN, pos + _STRETCH)
    stack, memo, ops = it.stack, it.memo, it.ops
    max_memo, keep_bytes = it.limits.max_memo, it.limits.keep_bytes
    try:
        while pos < safe_end:
            op = buf[pos]
            if op == 0x8C or op == 0x58:  # SHORT_BINUNICODE, BINUNICODE
                n, start = (buf[pos + 1], pos + 2) if op == 0x8C else (_U4(buf, pos + 1)[0], pos + 5)
                if start + n > end or n > keep_bytes:
                    break
                try:
                    stack.append(buf[start : start + n].decode("utf-8", "surrogatepass"))
                except UnicodeDecodeError:
                    break
                pos = start + n
            elif op == 0x94 or op == 0x71 or op == 0x72:  # MEMOIZE, BINPUT, LONG_BINPUT
                if not stack or len(memo) >= max_memo:
                    break
                key, size = (len(memo), 1) if op == 0x94 else _memo_key(buf, pos, op)
                memo[key] = stack[-1]
                pos += size
            elif op == 0x68 or op == 0x6A:  # BINGET, LONG_BINGET
                key, size = _memo_key(buf, pos, op)
                value = memo.get(key, _MISSING)
                if value is _MISSING:
                    break
                stack.append(value)
                pos += size
            elif op == 0x4B:  # BININT1
                stack.append(buf[pos + 1])
                pos += 2
            elif op in _NUMBER:  # BININT, BININT2, BINFLOAT
                unpack, size = _NUMBER[op]
                stack.append(unpack(buf, pos + 1)[0])
                pos += size
            elif op in _CONSTANT:  # EMPTY_TUPLE, NONE, NEWTRUE, NEWFALSE (immutable)
                stack.append(_CONSTANT[op])
                pos += 1
            elif op == 0x5D or op == 0x7D:  # EMPTY_LIST, EMPTY_DICT
                stack.append([] if op == 0x5D else DictValue([]))
                pos += 1
            elif op in _TUPLE_ARITY and len(stack) >= _TUPLE_ARITY[op]:  # TUPLE1, TUPLE2, TUPLE3
                arity = _TUPLE_ARITY[op]
                stack[-arity:] = [tuple(stack[-arity:])]
                pos += 1
            else:
                new = _structure(it, pos, op)
                if new < 0:
                    break
                pos = new
                stack = it.stack  # MARK and the mark-closing opcodes switch the stack
            ops += 1
    finally:
        it.ops = ops
    return pos


def _memo_key(buf: bytes, pos: int, op: int) -> tuple[int, int]:
    """The memo index and opcode size of BINPUT / BINGET (1-byte index) or LONG_* (4-byte index)."""
    if op == 0x71 or op == 0x68:
        return buf[pos + 1], 2
    return _U4(buf, pos + 1)[0], 5


def _structure(it: Machine, pos: int, op: int) -> int:
    """MARK, POP and the mark-closing opcodes; the new position, or -1."""
    stack = it.stack
    if op == 0x28:  # MARK
        if len(it.marks) >= it.limits.max_marks:
            return -1
        it.marks.append(stack)
        it.stack = []
        return pos + 1
    if op == 0x65 or op == 0x75 or op == 0x74:  # APPENDS, SETITEMS, TUPLE
        return _close_mark(it, pos, op)
    if op == 0x30 and stack:  # POP
        stack.pop()
        return pos + 1
    return -1


def _close_mark(it: Machine, pos: int, op: int) -> int:
    """APPENDS / SETITEMS into the list or dict below the mark, or TUPLE of the items since it."""
    marks, items = it.marks, it.stack
    if not marks:
        return -1
    if op == 0x74:
        it.stack = marks.pop()
        it.stack.append(tuple(items))
        return pos + 1
    if not marks[-1]:
        return -1
    target = marks[-1][-1]
    kept = it.limits.max_kept_items
    if op == 0x65 and type(target) is list:
        room = kept - len(target)
        if room > 0:
            target.extend(items[:room])
    elif op == 0x75 and type(target) is DictValue and not len(items) % 2:
        room = kept - len(target.items)
        if room > 0:
            target.items.extend(zip(items[: 2 * room : 2], items[1 : 2 * room : 2], strict=True))
    else:
        return -1
    it.stack = marks.pop()
    return pos + 1


_CONSTANT: dict[int, object] = {0x29: (), 0x4E: None, 0x88: True, 0x89: False}
_TUPLE_ARITY = {0x85: 1, 0x86: 2, 0x87: 3}
_NUMBER = {0x4A: (_I4, 5), 0x4D: (_H, 3), 0x47: (_D, 9)}
