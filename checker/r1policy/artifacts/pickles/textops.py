"""Protocol-0 text operands (INT, LONG, FLOAT, PUT, GET) parsed exactly as CPython's C unpickler
(Modules/_pickle.c) parses them, so that r1policy and `pickle.load` never disagree on where an
operand ends or whether it is valid.

- INT: C `strtol(s, &end, 0)` (glibc: leading whitespace, sign, `0x`/`0X` hex, a leading `0` means
  octal); accepted when `end` is the newline or a NUL byte. Otherwise (junk, overflow) Python's
  `int(s, 0)` on the line up to its first NUL (`0o`, `0b`, underscores, surrounding whitespace).
  A 2-character operand whose value is 0 or 1 is a bool (`I00`, `I01`, ` 1`, `+1`).
- LONG: one trailing `L` dropped, then Python's `int(s, 0)` on the line up to its first NUL.
- FLOAT: `PyOS_string_to_double`: no whitespace, no underscores, `inf`/`nan` words; the parse must
  end at the newline or a NUL; a finite literal that overflows is an error. pickle.py (which joblib
  uses) reads `float(line)` instead, which accepts more: an operand either reader accepts is read.
INT, LONG, PUT and GET: what pickle.py accepts (`int(line, 0)`, `int(line)`) the C reading accepts too.
- PUT/GET: Python's `int(s, 10)` on the line up to its first NUL.
Every operand line must hold at least one character besides its newline (else "truncated").
"""

from __future__ import annotations

import re

_SPACE = b" \t\n\v\f\r"
_LONG_MAX = (1 << 63) - 1
_FLOAT = re.compile(rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE)
_INF_WORD = re.compile(rb"[+-]?inf(?:inity)?", re.IGNORECASE)


class OperandError(ValueError):
    """The C unpickler rejects this operand."""


def _cstr(line: bytes) -> bytes:
    """The line as the C string PyLong_FromString sees: up to its first NUL byte."""
    nul = line.find(b"\0")
    return line if nul < 0 else line[:nul]


def _need(line: bytes, what: str) -> None:
    if not line:
        raise OperandError(f"{what} operand is empty (the C unpickler reports truncated data)")


def _strtol(s: bytes) -> tuple[int, int] | None:
    """glibc strtol with base 0: (value, index where parsing stopped), or None when no digits.
    Out-of-range values return None too (errno ERANGE): the caller falls back to Python's int."""
    i, n = 0, len(s)
    while i < n and s[i] in _SPACE:
        i += 1
    negative = i < n and s[i] == 0x2D
    if i < n and s[i] in b"+-":
        i += 1
    base, digits = 10, b"0123456789"
    if i < n and s[i] == 0x30:
        if i + 2 < n and s[i + 1] in b"xX" and s[i + 2] in b"0123456789abcdefABCDEF":
            base, digits, i = 16, b"0123456789abcdefABCDEF", i + 2
        else:
            base, digits = 8, b"01234567"
    start = i
    while i < n and s[i] in digits:
        i += 1
    if i == start:
        return None
    value = int(s[start:i], base)
    value = -value if negative else value
    if not -_LONG_MAX - 1 <= value <= _LONG_MAX:
        return None
    return value, i


def _py_int(s: bytes, base: int, what: str) -> int:
    try:
        return int(_cstr(s), base)
    except ValueError:
        raise OperandError(f"{what} argument {s[:40]!r} is not an integer") from None


def parse_int(line: bytes) -> int | bool:
    """The INT opcode's value (line without its newline)."""
    _need(line, "INT")
    digits = line[1:] if line[:1] == b"-" else line
    if digits.isdigit() and digits[0] != 0x30 and len(digits) < 19 and len(line) != 2:
        return int(line)  # plain decimal, not a two-character 0/1 (a bool): what strtol gives
    parsed = _strtol(line)
    # no conversion leaves strtol's end pointer at the start of the string
    value, end = parsed if parsed is not None else (0, 0)
    if (parsed is not None and end == len(line)) or line[end : end + 1] == b"\0":
        return bool(value) if len(line) == 2 and value in (0, 1) else value
    return _py_int(line, 0, "INT")


def parse_long(line: bytes) -> int:
    _need(line, "LONG")
    if line.endswith(b"L"):
        line = line[:-1]
    return _py_int(line, 0, "LONG")


def parse_float(line: bytes) -> float:
    """The C unpickler's reading, or else pickle.py's `float(line)` (joblib.load uses pickle.py, which
    also takes whitespace, underscores and overflow to inf): accepted when either reader accepts."""
    _need(line, "FLOAT")
    text = _cstr(line)
    if _FLOAT.fullmatch(text) is not None:
        value = float(text)
        if value not in (float("inf"), float("-inf")) or _INF_WORD.fullmatch(text) is not None:
            return value
    try:
        return float(line)
    except ValueError:
        raise OperandError(f"FLOAT argument {line[:40]!r} is not a number for either unpickler") from None


def parse_memo_key(line: bytes, what: str) -> int:
    if line.isdigit() and len(line) < 19:
        return int(line)  # plain decimal (the pickler writes these)
    _need(line, what)
    key = _py_int(line, 10, what)
    if not -_LONG_MAX - 1 <= key <= _LONG_MAX:
        raise OperandError(f"{what} argument {line[:40]!r} does not fit a Py_ssize_t")
    return key
