"""A small buffered, forward-only reader over `.read(n)` with byte offsets and pickle frame accounting.

It never seeks and never holds more than one chunk (plus one operand prefix): large operands are
consumed in chunks and dropped, so the caller can hash the very same bytes in one pass.
"""

from __future__ import annotations

from typing import Protocol

CHUNK = 1 << 20


class ByteStream(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class StopAnalysis(Exception):
    """Raised to end the analysis of one pickle; the interpreter turns it into a problem."""

    def __init__(self, offset: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.kind = kind
        self.message = message
        self.truncation = False  # the data ran out (a longer stream might have gone on)


def truncated(offset: int, what: str) -> StopAnalysis:
    stop = StopAnalysis(offset, "malformed", f"stream truncated: {what} runs past the end of the data")
    stop.truncation = True
    return stop


class Reader:
    """Forward-only reads with absolute offsets. `frame_end` >= 0 while inside a pickle FRAME."""

    __slots__ = ("_buf", "_eof", "_pos", "_read", "base", "crossed", "frame_end", "frame_start", "op_start")

    def __init__(self, stream: ByteStream, start_offset: int = 0) -> None:
        self._read = stream.read
        self._buf = b""
        self._pos = 0
        self.base = start_offset  # absolute offset of _buf[0]
        self._eof = False
        self.frame_end = -1
        self.frame_start = -1
        self.crossed = ""  # set when an operand crossed a frame's end (the C unpickler allows it)
        self.op_start = start_offset  # the interpreter sets it to the offset of the current opcode

    @property
    def offset(self) -> int:
        return self.base + self._pos

    def _fill(self, need: int) -> bool:
        """Make `need` bytes available at _pos if the stream has them; False at end of data."""
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have >= need:
            return True
        if self._eof:
            return False
        parts = [buf[pos:]] if have else []
        self.base += pos
        while have < need:
            chunk = self._read(max(CHUNK, need - have))
            if not chunk:
                self._eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self._buf = b"".join(parts)
        self._pos = 0
        return have >= need

    def _frame_check(self, n: int) -> None:
        end = self.frame_end
        if end >= 0 and self.base + self._pos + n > end:
            # CPython's C unpickler reads on across the frame's end (pickle.py would not): follow it
            self.crossed = (
                f"an operand crosses the end of the FRAME that started at byte {self.frame_start} "
                f"(frame ends at byte {end})"
            )
            self.frame_end = -1

    def opcode(self) -> int:
        """The next opcode byte, or -1 at the end of the data. Closes an exhausted frame first."""
        if self.frame_end >= 0 and self.base + self._pos == self.frame_end:
            self.frame_end = -1
        pos = self._pos
        if pos >= len(self._buf) and not self._fill(1):
            return -1
        pos = self._pos
        self._pos = pos + 1
        return self._buf[pos]

    def read(self, n: int, what: str = "an operand") -> bytes:
        if self.frame_end >= 0:
            self._frame_check(n)
        pos = self._pos
        if len(self._buf) - pos < n:
            if not self._fill(n):
                raise truncated(self.offset, what)
            pos = self._pos
        self._pos = pos + n
        return self._buf[pos : pos + n]

    def read_line(self, limit: int, what: str = "a text argument") -> bytes:
        """Bytes up to (not including) the next newline, which is consumed."""
        start = self.offset
        while True:
            idx = self._buf.find(b"\n", self._pos)
            if idx >= 0:
                n = idx - self._pos + 1
                if n - 1 > limit:
                    raise StopAnalysis(start, "limit", f"{what} is longer than {limit} bytes")
                return self.read(n, what)[:-1]
            have = len(self._buf) - self._pos
            if have > limit:
                raise StopAnalysis(start, "limit", f"{what} is longer than {limit} bytes")
            if not self._fill(have + 1):
                raise truncated(start, f"{what} (no newline)")

    def pending(self) -> bytes:
        """What is buffered and not yet consumed (after a truncation: the rest of the data)."""
        return self._buf[self._pos :]

    def skip(self, n: int, what: str = "an operand") -> None:
        """Consume n bytes in chunks without keeping them."""
        if self.frame_end >= 0:
            self._frame_check(n)
        start = self.offset
        while n > 0:
            have = len(self._buf) - self._pos
            if have == 0:
                if not self._fill(1):
                    raise truncated(start, what)
                have = len(self._buf) - self._pos
            step = min(have, n)
            self._pos += step
            n -= step
        if self._pos == len(self._buf):
            self.base += self._pos
            self._buf = b""
            self._pos = 0

    def read_prefix(self, n: int, keep: int, what: str = "an operand") -> bytes:
        """Consume n bytes, return at most the first `keep` of them."""
        if n <= keep:
            return self.read(n, what)
        if self.frame_end >= 0:
            self._frame_check(n)
        start = self.offset
        head = self.read(keep, what)
        try:
            self.skip(n - keep, what)
        except StopAnalysis:
            raise truncated(start, what) from None
        return head

    def at_end(self) -> bool:
        return len(self._buf) - self._pos == 0 and not self._fill(1)
