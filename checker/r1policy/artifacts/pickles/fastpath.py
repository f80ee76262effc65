"""The interpreter's inner loop for the frequent opcodes, working on the reader's buffer directly.

An opcode is handled here only when it lies wholly inside the current buffer and frame and its
preconditions hold (a MARK for APPENDS, a memo entry for BINGET, ...); otherwise the loop returns and
`Interpreter.step` interprets that opcode with full checks and exact messages. Semantics are the
same as the handlers in ops_data.py; this only saves the per-opcode calls.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from r1policy.artifacts.pickles.values import DictValue

if TYPE_CHECKING:
    from r1policy.artifacts.pickles.interp import Interpreter

_I4 = struct.Struct("<i").unpack_from
_U4 = struct.Struct("<I").unpack_from
_H = struct.Struct("<H").unpack_from
_D = struct.Struct(">d").unpack_from
_MISSING = object()
_MARGIN = 9  # the longest fixed-size opcode handled here (BINFLOAT: 1 + 8 bytes)
# Opcodes handled inline (1) or always left to the handlers (0), indexed by opcode byte.
FAST = bytes(1 if op in b"JKG\x94qrhj\x8cXM(eut]})N\x88\x89\x85\x86\x870" else 0 for op in range(256))
_STRETCH = 1 << 16  # bytes per call, so that the caller checks the limits at least this often


def fast_run(it: Interpreter) -> None:
    """Run inline opcodes until one needs the slow path (or _STRETCH bytes are done)."""
    r = it.r
    buf = r._buf
    base = r.base
    pos = r._pos
    end = len(buf)
    if r.frame_end >= 0:
        end = min(end, r.frame_end - base)
    safe_end = min(end - _MARGIN, pos + _STRETCH)
    if pos >= safe_end:
        return
    stack = it.stack
    marks = it.marks
    memo = it.memo
    max_memo = it.limits.max_memo
    kept = it.limits.max_kept_items
    ops = it.ops
    try:
        while pos < safe_end:
            op = buf[pos]
            if op == 0x4A:  # BININT
                stack.append(_I4(buf, pos + 1)[0])
                pos += 5
            elif op == 0x4B:  # BININT1
                stack.append(buf[pos + 1])
                pos += 2
            elif op == 0x47:  # BINFLOAT
                stack.append(_D(buf, pos + 1)[0])
                pos += 9
            elif op == 0x94 or op == 0x71 or op == 0x72:  # MEMOIZE, BINPUT, LONG_BINPUT
                if not stack or len(memo) >= max_memo:
                    break
                if op == 0x94:
                    memo[len(memo)] = stack[-1]
                    pos += 1
                elif op == 0x71:
                    memo[buf[pos + 1]] = stack[-1]
                    pos += 2
                else:
                    memo[_U4(buf, pos + 1)[0]] = stack[-1]
                    pos += 5
            elif op == 0x68 or op == 0x6A:  # BINGET, LONG_BINGET
                if op == 0x68:
                    value = memo.get(buf[pos + 1], _MISSING)
                    size = 2
                else:
                    value = memo.get(_U4(buf, pos + 1)[0], _MISSING)
                    size = 5
                if value is _MISSING:
                    break
                stack.append(value)
                pos += size
            elif op == 0x8C or op == 0x58:  # SHORT_BINUNICODE, BINUNICODE
                if op == 0x8C:
                    n = buf[pos + 1]
                    start = pos + 2
                else:
                    n = _U4(buf, pos + 1)[0]
                    start = pos + 5
                if start + n > end or n > it.limits.keep_bytes:
                    break
                try:
                    stack.append(buf[start : start + n].decode("utf-8", "surrogatepass"))
                except UnicodeDecodeError:
                    break
                pos = start + n
            elif op == 0x4D:  # BININT2
                stack.append(_H(buf, pos + 1)[0])
                pos += 3
            elif op == 0x28:  # MARK
                if len(marks) >= it.limits.max_marks:
                    break
                marks.append(stack)
                stack = it.stack = []
                pos += 1
            elif op == 0x65 or op == 0x75 or op == 0x74:  # APPENDS, SETITEMS, TUPLE
                if not marks:
                    break
                items = stack
                if op == 0x74:
                    stack = it.stack = marks.pop()
                    stack.append(tuple(items))
                    pos += 1
                    ops += 1
                    continue
                if not marks[-1]:
                    break
                target = marks[-1][-1]
                if op == 0x65 and type(target) is list:
                    room = kept - len(target)
                    if room > 0:
                        target.extend(items[:room])
                elif op == 0x75 and type(target) is DictValue and not len(items) % 2:
                    room = kept - len(target.items)
                    if room > 0:
                        target.items.extend(zip(items[: 2 * room : 2], items[1 : 2 * room : 2], strict=True))
                else:
                    break
                stack = it.stack = marks.pop()
                pos += 1
            elif op == 0x5D:  # EMPTY_LIST
                stack.append([])
                pos += 1
            elif op == 0x7D:  # EMPTY_DICT
                stack.append(DictValue([]))
                pos += 1
            elif op == 0x29:  # EMPTY_TUPLE
                stack.append(())
                pos += 1
            elif op == 0x4E:  # NONE
                stack.append(None)
                pos += 1
            elif op == 0x88 or op == 0x89:  # NEWTRUE, NEWFALSE
                stack.append(op == 0x88)
                pos += 1
            elif op == 0x85 and stack:  # TUPLE1
                stack[-1] = (stack[-1],)
                pos += 1
            elif op == 0x86 and len(stack) >= 2:  # TUPLE2
                stack[-2:] = [(stack[-2], stack[-1])]
                pos += 1
            elif op == 0x87 and len(stack) >= 3:  # TUPLE3
                stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
                pos += 1
            elif op == 0x30 and stack:  # POP
                stack.pop()
                pos += 1
            else:
                break
            ops += 1
    finally:
        r._pos = pos
        it.ops = ops
        r.base = base
