"""NumPy .npy headers: parsed as data (a bounded Python literal), never with numpy."""

from __future__ import annotations

import ast
import re
import struct
import warnings
from dataclasses import dataclass

from r1policy.artifacts.pickles.reader import Reader, StopAnalysis

MAGIC = b"\x93NUMPY"
_TYPESTR = re.compile(r"^[<>|=]?([?bBhHiIlLqQpPefdgFDGbiufcmMOSUVa])(\d*)(\[[A-Za-z0-9]+\])?$")
_FIXED = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8, "p": 8,
          "P": 8, "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "O": 8}  # fmt: skip


@dataclass(frozen=True)
class NpyHeader:
    descr: object
    shape: tuple[int, ...]
    has_object: bool
    itemsize: int | None  # None when the dtype holds objects or cannot be sized
    data_offset: int

    @property
    def data_bytes(self) -> int | None:
        if self.itemsize is None:
            return None
        count = 1
        for dim in self.shape:
            count *= dim
        return count * self.itemsize


def typestr_info(typestr: str) -> tuple[bool, int | None]:
    """(holds objects, item size) of a NumPy type string such as '<f4', '|O', '<U10', '<M8[ns]'."""
    match = _TYPESTR.match(typestr)
    if match is None:
        return False, None
    code, digits = match.group(1), match.group(2)
    if code == "O":
        return True, None
    if digits:
        return False, int(digits) * (4 if code == "U" else 1)
    return False, _FIXED.get(code)


def descr_info(descr: object, depth: int = 0) -> tuple[bool, int | None]:
    """(holds objects, item size) of an .npy 'descr': a type string or a list of fields."""
    if depth > 32:
        return False, None
    if isinstance(descr, str):
        return typestr_info(descr)
    if not isinstance(descr, list) or not descr:
        return False, None
    total: int | None = 0
    has_object = False
    for field in descr:
        if not isinstance(field, tuple) or len(field) not in (2, 3):
            return False, None
        obj, size = descr_info(field[1], depth + 1)
        has_object = has_object or obj
        count = 1
        if len(field) == 3:
            shape = field[2] if isinstance(field[2], tuple) else (field[2],)
            if not all(isinstance(d, int) and d >= 0 for d in shape):
                return has_object, None
            for dim in shape:
                count *= dim
        total = None if size is None or total is None else total + size * count
    return has_object, total


def read_header(r: Reader, max_header: int) -> NpyHeader:
    start = r.offset
    if r.read(6, "the .npy magic") != MAGIC:
        raise StopAnalysis(start, "malformed", "not a .npy file (magic \\x93NUMPY missing)")
    major, minor = r.read(2, "the .npy version")
    if major == 1:
        (length,) = struct.unpack("<H", r.read(2, "the .npy header length"))
    elif major in (2, 3):
        (length,) = struct.unpack("<I", r.read(4, "the .npy header length"))
    else:
        raise StopAnalysis(start + 6, "malformed", f"unsupported .npy format version {major}.{minor}")
    if length > max_header:
        raise StopAnalysis(start + 8, "limit", f".npy header claims {length} bytes (limit {max_header})")
    raw = r.read(length, "the .npy header")
    try:
        text = raw.decode("utf-8" if major == 3 else "latin1")
        with warnings.catch_warnings():  # odd escapes in a hostile header only warn
            warnings.simplefilter("ignore")
            header = ast.literal_eval(text)
    except (UnicodeDecodeError, ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise StopAnalysis(start, "malformed", ".npy header is not a Python literal dict") from None
    where = start
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise StopAnalysis(where, "malformed", ".npy header must have exactly descr, fortran_order, shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise StopAnalysis(where, "malformed", f".npy shape {shape!r} is not a tuple of sizes")
    if not isinstance(header["fortran_order"], bool):
        raise StopAnalysis(where, "malformed", ".npy fortran_order is not a boolean")
    has_object, itemsize = descr_info(header["descr"])
    if not has_object and itemsize is None:
        raise StopAnalysis(where, "malformed", f".npy dtype {header['descr']!r} cannot be sized")
    return NpyHeader(header["descr"], shape, has_object, None if has_object else itemsize, r.offset)
