"""The one JSON entry point of r1policy: every JSON text the tool reads goes through `loads`.

`json.loads` alone lets three kinds of input escape as something other than a decoding error:
numbers longer than CPython's integer-string limit (4,300 digits) raise `ValueError`, deep nesting
raises `RecursionError`, and `NaN` / `Infinity` / `1e999` decode to non-finite floats that no consumer
of a manifest, header or policy expects. Here each of them is a `JsonLimitError`, a subclass of
`json.JSONDecodeError` that carries the line and column of the offending value, so a caller that
already handles decoding errors handles these too (exit 2 for `check`, a located R1-ART-010 for `scan`).

A test (tests/test_jsonsafe.py) fails on any other `json.load` / `json.loads` under checker/.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from itertools import accumulate
from typing import IO, Any

from r1policy.core.lazyre import compile_on_use

MAX_DIGITS = 4_300  # CPython's default int_max_str_digits
MAX_DEPTH = 256  # nesting of arrays and objects; real manifests, headers and plans stay far below

# A string ends at its closing quote or (when invalid) at the end of its line: no backtracking over
# megabytes for an unterminated quote. Unrolled so that C does the work (headers hold 100,000 strings).
_STRING = r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
_STRINGS = compile_on_use(_STRING)
_NOT_BRACKETS = compile_on_use(r"[^\[\]{}]+")
_TOKENS = compile_on_use(_STRING + r"|[\[\]{}]")
_LONG_NUMBER = compile_on_use(rf"-?\d{{{MAX_DIGITS + 1},}}")
_CONSTANTS = compile_on_use(r"-?(?:NaN|Infinity)\b")


class JsonError(json.JSONDecodeError):
    """Invalid JSON (a `json.JSONDecodeError`, so existing handlers catch it)."""


class JsonLimitError(JsonError):
    """JSON that is well-formed but outside r1policy's bounds: too deep, too long a number, non-finite."""


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _constant(name: str) -> float:
    raise _Refused(f"non-finite number {name} is not allowed")


def _float_checked(text: str) -> float:
    if len(text) > MAX_DIGITS:
        raise _Refused(f"number with more than {MAX_DIGITS:,} characters")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text[:40]} is out of range (not finite)")
    return value


def _float_allowing(text: str) -> float:
    if len(text) > MAX_DIGITS:
        raise _Refused(f"number with more than {MAX_DIGITS:,} characters")
    return float(text)


def depth_offset(text: str, limit: int = MAX_DEPTH) -> int | None:
    """Index of the first bracket that nests deeper than `limit` (strings skipped), else None."""
    if text.count("[") + text.count("{") <= limit:
        return None
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    if max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0) <= limit:
        return None
    depth = 0  # rare: find where, for the message
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return match.start()
        elif token in "]}":
            depth -= 1
    return 0


def _located(message: str, text: str, pos: int) -> JsonLimitError:
    return JsonLimitError(message, text, max(0, pos))


def _find(pattern: re.Pattern[str], text: str) -> int:
    match = pattern.search(text)
    return match.start() if match else 0


Pairs = Callable[[list[tuple[str, Any]]], Any]


def _decoder(allow_nonfinite: bool, pairs: Pairs | None) -> json.JSONDecoder:
    # Integers stay with the C scanner (fast); past 4,300 digits `int()` raises ValueError, located below.
    return json.JSONDecoder(
        parse_float=_float_allowing if allow_nonfinite else _float_checked,
        parse_constant=float if allow_nonfinite else _constant,
        object_pairs_hook=pairs,
    )


def _decode(text: str, allow_nonfinite: bool, *, raw: bool, pairs: Pairs | None = None) -> tuple[Any, int]:
    deep = depth_offset(text)
    if deep is not None:
        raise _located(f"nested more than {MAX_DEPTH} levels deep", text, deep)
    return _decoded(text, _decoder(allow_nonfinite, pairs), raw=raw)


def _decoded(text: str, decoder: json.JSONDecoder, *, raw: bool) -> tuple[Any, int]:
    try:
        if raw:
            return decoder.raw_decode(text)
        return decoder.decode(text), len(text)
    except _Refused as exc:
        where = _find(_LONG_NUMBER, text) if "digits" in exc.message else _find(_CONSTANTS, text)
        raise _located(exc.message, text, where) from None
    except RecursionError:
        raise _located("nested too deeply", text, 0) from None
    except json.JSONDecodeError as exc:
        raise JsonError(exc.msg, exc.doc, exc.pos) from None
    except ValueError as exc:  # int() past CPython's digit limit, or a number refused otherwise
        long_number = _LONG_NUMBER.search(text)
        if long_number is not None:
            message = f"number with more than {MAX_DIGITS:,} digits"
            raise _located(message, text, long_number.start()) from None
        raise _located(str(exc), text, 0) from None


def loads(
    data: str | bytes | bytearray, *, allow_nonfinite: bool = False, object_pairs_hook: Pairs | None = None
) -> Any:
    """`json.loads` within bounds; raises `JsonError` (a `json.JSONDecodeError`) for every bad input.

    Bytes must be UTF-8 (a `UnicodeDecodeError` otherwise, as `json.loads` raises).
    `object_pairs_hook` sees every object's pairs in order (to refuse duplicate keys)."""
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    if text.startswith("\ufeff"):
        raise JsonError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _decode(text, allow_nonfinite, raw=False, pairs=object_pairs_hook)[0]


def loads_written(text: str) -> Any:
    """JSON that r1policy wrote itself and whose digest it has just checked (the derived-data cache):
    without `loads`' bracket scan (~3 ms on the 200 KB rule pack of every cold `check`), as the text is
    what r1policy wrote or what whoever can write the cache folder put there, and the caller rebuilds
    only payloads of the shape it writes. Still a `JsonError` for everything bad: non-finite numbers,
    numbers past CPython's digit limit, and nesting too deep for the C decoder (`RecursionError`)."""
    return _decoded(text, _decoder(False, None), raw=False)[0]


def load(handle: IO[str], *, allow_nonfinite: bool = False) -> Any:
    return loads(handle.read(), allow_nonfinite=allow_nonfinite)


def raw_decode(text: str, *, allow_nonfinite: bool = False) -> tuple[Any, int]:
    """The first JSON value at the start of `text` and where it ends (`JSONDecoder.raw_decode`)."""
    return _decode(text, allow_nonfinite, raw=True)


def describe(exc: json.JSONDecodeError) -> str:
    """`<what> at line L column C`, for messages that name the place."""
    return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
