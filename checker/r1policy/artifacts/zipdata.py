"""A zip member's bytes as the forward pass reads them: the compressed bytes taken from the archive's
own reader (so the archive's SHA-256 sees them), expanded by one decompressor as the member's analysis
asks for them, and CRC'd on the way (zipfile's own CRC check would discard the data)."""

from __future__ import annotations

import bz2
import functools
import lzma
import struct
import zlib
from collections.abc import Callable
from typing import Any

from r1policy.artifacts.hashing import HashingReader, LimitExceeded, RawStream
from r1policy.artifacts.model import ScanLimits

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
_IN = 256 * 1024
_OUT = 4 * 1024 * 1024


class Corrupt(Exception):
    """The member's compressed data cannot be expanded."""


class Bounded:
    """The next `left` bytes of the archive's reader (a member's compressed data)."""

    def __init__(self, reader: HashingReader, left: int) -> None:
        self._reader = reader
        self.left = left
        self.short = False  # the archive ended inside the member's data

    def read(self, n: int = -1, /) -> bytes:
        want = self.left if n is None or n < 0 else min(n, self.left)
        data = self._reader.read(want) if want else b""
        while 0 < len(data) < want:  # a raw stream may return less than asked
            more = self._reader.read(want - len(data))
            if not more:
                break
            data += more
        self.left -= len(data)
        if len(data) < want:
            self.left = 0
            self.short = True
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        want = min(len(buffer), self.left)
        if not want:
            return 0
        got = self._reader.readinto(memoryview(buffer)[:want])
        if not got:
            self.left, self.short = 0, True
        self.left -= got
        return got

    def skip(self) -> None:
        while self.read(_OUT):
            pass


class CrcReader:
    """Counts and CRCs the bytes read through it (ISA-L's CRC-32 where installed: about 3x zlib's on
    x86-64 with carry-less multiply, a tenth of SHA-256's cost; else zlib's)."""

    def __init__(self, raw: RawStream) -> None:
        self._raw = raw
        self._crc32 = _crc32()
        self.crc = 0
        self.count = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._raw.read(n)
        self.count += len(data)
        self.crc = self._crc32(data, self.crc)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        readinto = getattr(self._raw, "readinto", None)
        if readinto is None:
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        got: int = readinto(buffer)
        self.count += got
        self.crc = self._crc32(memoryview(buffer)[:got], self.crc)
        return got


@functools.cache
def _crc32() -> Callable[[Any, int], int]:
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib.crc32
    crc: Callable[[Any, int], int] = isal_zlib.crc32
    return crc


class Expand:
    """Decompresses deflate, bzip2 or LZMA as it is read, refusing it past the limits. Input comes
    from `src`; with `reader` given (a member whose compressed size is not known in advance) what the
    decompressor leaves after its stream's end is pushed back to the archive's reader."""

    def __init__(
        self, src: RawStream, method: int, limits: ScanLimits, reader: HashingReader | None = None
    ) -> None:
        self._src, self._method, self._limits, self._reader = src, method, limits, reader
        self._d: Any = _decompressor(method, src)
        self._pending = b""
        self.compressed = 0
        self.expanded = 0
        self.eof = False

    def read(self, n: int = -1, /) -> bytes:
        want = _OUT if n is None or n < 0 else min(n, _OUT)
        while not self.eof:
            if not self._pending and getattr(self._d, "needs_input", True):
                self._pending = self._src.read(_IN)
                self.compressed += len(self._pending)
                if not self._pending:
                    raise Corrupt("its compressed data ends before the end of its stream")
            try:
                piece: bytes = self._d.decompress(self._pending, want)
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
                raise Corrupt(str(exc)) from exc
            self._pending = getattr(self._d, "unconsumed_tail", b"")
            if self._d.eof:
                self.eof = True
                if self._reader is not None:
                    self._reader.push_back(getattr(self._d, "unused_data", b"") + self._pending)
            self.expanded += len(piece)
            self._check()
            if piece:
                return piece
        return b""

    def _check(self) -> None:
        lim = self._limits
        if self.expanded > lim.max_member_bytes:
            raise LimitExceeded(f"expands past {lim.max_member_bytes:,} bytes, the member limit")
        if self.expanded > lim.ratio_grace_bytes and self.expanded > lim.max_ratio * max(self.compressed, 1):
            raise LimitExceeded(
                f"expands more than {lim.max_ratio}:1 ({self.expanded:,} bytes from "
                f"{self.compressed:,} compressed bytes; zip bomb); refused"
            )


def _decompressor(method: int, src: RawStream) -> Any:
    if method == DEFLATED:
        return zlib.decompressobj(-15)
    if method == BZIP2:
        return bz2.BZ2Decompressor()
    if method == LZMA:  # zip's LZMA: version (2 bytes), properties size (2), properties, raw LZMA1
        head = src.read(4)
        if len(head) < 4:
            raise Corrupt("its LZMA header is truncated")
        (psize,) = struct.unpack("<H", head[2:])
        props = src.read(psize)
        try:
            filters = [lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)]  # type: ignore[attr-defined]
            return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
        except (lzma.LZMAError, ValueError) as exc:
            raise Corrupt(f"its LZMA properties are invalid: {exc}") from exc
    raise Corrupt(f"it uses compression method {method}, which r1policy does not expand")


def supported(method: int) -> bool:
    return method in (STORED, DEFLATED, BZIP2, LZMA)
