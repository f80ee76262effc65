"""Single-file compressed containers, recognised as joblib.load recognises them (by prefix) and
decompressed while streaming: zlib (0x78), bzip2 ("BZ"), xz, lzma-alone (0x5d 0x00) and joblib's
old "ZF" container (hex length, then zlib). Concatenated streams are followed as the readers of
joblib, bz2 and lzma follow them; anything else after the end is trailing data. lz4 and zstd have no
decompressor in the standard library: such files are unscannable, never text."""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from typing import Protocol

from r1policy.artifacts.hashing import LimitExceeded, RawStream
from r1policy.artifacts.model import ScanLimits

_IN = 256 * 1024
_OUT = 4 * 1024 * 1024
ZF_HEADER = 2 + 19  # "ZF" + the hex length padded to len(hex(2**64))
CORRUPT = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError)


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    @property
    def needs_input(self) -> bool: ...
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


class _Zlib:
    """zlib.decompressobj with the needs_input interface of bz2/lzma decompressors."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(15)
        self._tail = b""

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    @property
    def needs_input(self) -> bool:
        return not self._tail

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes:
        out = self._d.decompress(self._tail + data, max(max_length, 0))
        self._tail = self._d.unconsumed_tail
        return out


_MAKERS: dict[str, Callable[[], _Decompressor]] = {
    "zlib": _Zlib,
    "zf": _Zlib,
    "bz2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
    "lzma": lzma.LZMADecompressor,
}


def _zlib_ok(head: bytes) -> bool:
    """A zlib header (RFC 1950) whose deflate data decompresses without error as far as it goes."""
    if len(head) < 2 or head[0] & 0x0F != 8 or head[0] >> 4 > 7 or ((head[0] << 8) | head[1]) % 31:
        return False
    try:
        zlib.decompressobj(15).decompress(head[:4096], 1 << 16)
    except zlib.error:
        return False
    return True


def detect(head: bytes) -> tuple[str, str] | None:
    """(format, what) for a compressed container joblib.load would open, else None."""
    if head.startswith(b"ZF"):
        return "compressed", "zf"
    if head[:1] == b"\x78" and _zlib_ok(head):
        return "compressed", "zlib"
    if head.startswith(b"BZh"):
        return "compressed", "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "compressed", "xz"
    if head.startswith(b"\x5d\x00\x00"):
        return "compressed", "lzma"
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "unknown", "lz4 frame (joblib compress='lz4'): no decompressor available, not analysed"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "unknown", "zstd stream: no decompressor available, not analysed"
    return None


class Decompressing:
    """`read(n)` of the decompressed bytes, refusing past the expansion limits."""

    def __init__(self, raw: RawStream, algo: str, limits: ScanLimits) -> None:
        self._raw = raw
        self._algo = algo
        self._make = _MAKERS[algo]
        self._d = self._make()
        self._limits = limits
        self._pending = b""
        self.compressed = 0
        self.expanded = 0
        self.eof = False
        self.trailing = 0
        if algo == "zf":
            header = raw.read(ZF_HEADER)
            self.compressed += len(header)
            if len(header) < ZF_HEADER:
                raise zlib.error("joblib ZF header is truncated")
            try:
                int(header[2:], 16)
            except ValueError:
                raise zlib.error(f"joblib ZF header has no hex length: {header[2:]!r}") from None
            first = raw.read(1)
            self.compressed += len(first)
            self._pending = b"" if first == b" " else first

    def _input(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        data = self._raw.read(_IN)
        self.compressed += len(data)
        return data

    def read(self, n: int = -1, /) -> bytes:
        want = n if n is not None and n >= 0 else 1 << 62
        parts: list[bytes] = []
        got = 0
        while got < want and not self.eof:
            data = b""
            if self._d.needs_input:
                data = self._input()
                if not data:
                    raise EOFError(f"{self._algo} stream is truncated")
            piece = self._d.decompress(data, min(want - got, _OUT))
            if self._d.eof:
                self._next_stream(self._d.unused_data)
            self.expanded += len(piece)
            self._check()
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def _next_stream(self, rest: bytes) -> None:
        if not rest:
            rest = self._input()
        if not rest:
            self.eof = True
            return
        probe = self._make()
        try:
            probe.decompress(rest[:64], 1)
        except CORRUPT:
            self.trailing, self.eof = len(rest), True
            return
        self._d, self._pending = self._make(), rest

    def _check(self) -> None:
        lim = self._limits
        if self.expanded > lim.max_expanded_bytes:
            raise LimitExceeded(f"{self._algo} stream expands past {lim.max_expanded_bytes:,} bytes")
        if self.expanded > lim.ratio_grace_bytes and self.expanded > lim.max_ratio * max(self.compressed, 1):
            raise LimitExceeded(
                f"{self._algo} stream expands more than {lim.max_ratio}:1 ({self.expanded:,} bytes from "
                f"{self.compressed:,} compressed bytes; decompression bomb); refused"
            )
