"""A reader that hashes every byte that passes through it, once, and can be peeked and drained.

The content analysers consume it sequentially with `.read(n)`; whatever they leave is drained with
large `readinto` calls so that the SHA-256 covers the whole file in a single pass. hashlib releases
the GIL for large updates, so files hashed in a thread pool run in parallel.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, Protocol

CHUNK = 8 * 1024 * 1024


class RawStream(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class LimitExceeded(Exception):
    """A size or ratio limit was hit while streaming; the stream is abandoned."""


class HashingReader:
    """`read(n)` / `peek(n)` / `drain()` over a raw stream, hashing (optionally) and counting."""

    def __init__(
        self, raw: RawStream, *, hash_it: bool = True, limit: int | None = None, chunk: int = CHUNK
    ) -> None:
        self._raw = raw
        self._chunk = chunk  # what drain() reads at a time
        self._hash: Any = hashlib.sha256() if hash_it else None
        self._buffer = b""
        self.consumed = 0  # bytes taken from the raw stream
        self.position = 0  # bytes handed to the consumer
        self._limit = limit
        self.eof = False
        self._tap: Callable[[bytes | memoryview], None] | None = None

    def tap(self, feed: Callable[[bytes | memoryview], None]) -> None:
        """Hand every byte taken from the raw stream to `feed` too (a clamd stream), in order."""
        assert self.position == 0 and len(self._buffer) == self.consumed, "the tap must see every byte"
        if self._buffer:
            feed(self._buffer)  # what a peek already took
        self._tap = feed

    def _pull(self, n: int) -> bytes:
        if n <= 0:
            return b""  # asking for nothing is not the end of the stream
        if self._limit is not None and self.consumed + n > self._limit:
            n = max(0, self._limit - self.consumed + 1)  # one byte past the limit proves excess
        data = self._raw.read(n) if n else b""
        if not data:
            self.eof = True
            return b""
        self.consumed += len(data)
        if self._limit is not None and self.consumed > self._limit:
            raise LimitExceeded(f"more than {self._limit:,} bytes")
        if self._hash is not None:
            self._hash.update(data)
        if self._tap is not None:
            self._tap(data)
        return data

    def peek(self, n: int) -> bytes:
        while len(self._buffer) < n and not self.eof:
            chunk = self._pull(n - len(self._buffer))
            if not chunk:
                break
            self._buffer += chunk
        return self._buffer[:n]

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            parts = [self._buffer]
            self._buffer = b""
            while chunk := self._pull(CHUNK):
                parts.append(chunk)
            data = b"".join(parts)
        elif self._buffer:
            data = self._buffer[:n]
            self._buffer = self._buffer[n:]
            if len(data) < n and not self.eof:
                data += self._pull(n - len(data))
        else:
            data = self._pull(n)
        self.position += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Straight from the raw stream into the caller's buffer when nothing is peeked (no copy)."""
        readinto = getattr(self._raw, "readinto", None)
        if self._buffer or readinto is None or self._limit is not None or not len(buffer):
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        got: int = readinto(buffer)
        if not got:
            self.eof = True
            return 0
        self.consumed += got
        self.position += got
        view = memoryview(buffer)[:got]
        if self._hash is not None:
            self._hash.update(view)
        if self._tap is not None:
            self._tap(view)
        return got

    def readable(self) -> bool:
        return True

    def drain(self) -> int:
        """Consume (and hash) the rest; returns the number of bytes skipped."""
        skipped = len(self._buffer)
        self._buffer = b""
        readinto = getattr(self._raw, "readinto", None)
        if readinto is None or self._limit is not None:
            while chunk := self._pull(self._chunk):
                skipped += len(chunk)
            self.position += skipped
            return skipped
        buf = _take_buffer(self._chunk)
        view = memoryview(buf)
        try:
            while True:
                got = readinto(view)
                if not got:
                    break
                self.consumed += got
                skipped += got
                if self._hash is not None:
                    self._hash.update(view[:got])
                if self._tap is not None:
                    self._tap(view[:got])
        finally:
            view.release()
            _give_back(buf)
        self.eof = True
        self.position += skipped
        return skipped

    def hexdigest(self) -> str | None:
        return self._hash.hexdigest() if self._hash is not None else None

    def splice(self, at: int, rest: bytes) -> None:
        """The raw stream's bytes from offset `at` on are `rest`, already read another way (a zip's
        central directory, read first from the end): take them from memory, never from the raw stream.
        Bytes the raw stream already gave past `at` are not taken again."""
        if at < self.consumed:
            rest = rest[self.consumed - at :]
            at = self.consumed
        self._raw = _Spliced(self._raw, at - self.consumed, rest)

    def push_back(self, data: bytes) -> None:
        """Return bytes read but not used (what a decompressor left after its stream's end)."""
        if data:
            self._buffer = data + self._buffer
            self.position -= len(data)


class _Spliced:
    """The first `left` bytes of a raw stream, then bytes held in memory."""

    def __init__(self, raw: RawStream, left: int, rest: bytes) -> None:
        self._raw = raw
        self._left = left
        self._rest = memoryview(rest)

    def read(self, n: int = -1, /) -> bytes:
        want = self._left + len(self._rest) if n is None or n < 0 else n
        data = b""
        if self._left:
            data = self._raw.read(min(want, self._left))
            if not data:  # the stream is shorter than the zip said: stop there
                self._left, self._rest = 0, memoryview(b"")
            self._left -= len(data)
            if self._left:
                return data
        size = min(want - len(data), len(self._rest))
        if size:
            data += self._rest[:size]
            self._rest = self._rest[size:]
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        if self._left:
            view = memoryview(buffer)[: min(len(buffer), self._left)]
            readinto = getattr(self._raw, "readinto", None)
            got = readinto(view) if readinto is not None else _copy(self._raw.read(len(view)), view)
            if not got:
                self._left, self._rest = 0, memoryview(b"")
            self._left -= got
            return int(got)
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


_SPARE = threading.local()


def _take_buffer(size: int) -> bytearray:
    """This thread's spare drain buffer of `size` bytes, or a new one. A new 8 MiB bytearray is
    zero-filled and page-faulted with the GIL held (about 3 ms); a torch zip drains one per member,
    which cost about 5 % of a sharded scan's time in threads waiting for the GIL."""
    spare: dict[int, bytearray] = _SPARE.__dict__.setdefault("buffers", {})
    return spare.pop(size, None) or bytearray(size)


def _give_back(buf: bytearray) -> None:
    _SPARE.__dict__.setdefault("buffers", {})[len(buf)] = buf


def _copy(data: bytes, view: memoryview) -> int:
    view[: len(data)] = data
    return len(data)
