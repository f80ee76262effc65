"""A zip's central directory and local headers, read without reading any byte twice.

The central directory is parsed by CPython's own `zipfile` (what `torch.load`'s and Keras's readers
agree with), over a view of the archive in which only the bytes that were actually read exist: a
prefix the scanner already holds, and a tail read once from the end (a seekable file) or taken from
the forward pass (a stream). Local headers are parsed here, field by field, as the forward pass meets
them; `Entry` is what a member claims, from either place, so that the two can be compared.
"""

from __future__ import annotations

import contextlib
import io
import stat
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from r1policy.artifacts.hashing import HashingReader, LimitExceeded

LOCAL_SIG = b"PK\x03\x04"
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_DESCRIPTOR_SIG = b"PK\x07\x08"
FLAG_ENCRYPTED, FLAG_DESCRIPTOR, FLAG_UTF8 = 0x1, 0x8, 0x800
_FLAG_PATCHED, _FLAG_STRONG = 0x20, 0x40
_MAX32 = 0xFFFFFFFF
_EOCD_WINDOW = 22 + 65535  # the end record and the longest comment


@dataclass
class Entry:
    """One member as the central directory or a local header declares it."""

    name: str
    offset: int  # of its local header
    flags: int
    method: int
    csize: int | None  # None: not known before the data is read (a data descriptor follows)
    usize: int | None
    crc: int
    mode: int = 0  # unix mode from the central directory's external attributes
    is_dir: bool = False
    zip64: bool = False
    # what the forward pass saw (local headers only)
    actual_crc: int | None = None
    actual_size: int | None = None

    @classmethod
    def of(cls, info: zipfile.ZipInfo) -> Entry:
        return cls(
            name=info.filename,
            offset=info.header_offset,
            flags=info.flag_bits,
            method=info.compress_type,
            csize=info.compress_size,
            usize=info.file_size,
            crc=info.CRC,
            mode=info.external_attr >> 16,
            is_dir=info.is_dir(),
        )


def flag_problems(name: str, flags: int) -> list[str]:
    out = []
    if flags & FLAG_ENCRYPTED:
        out.append(f"member {name!r} is flagged as encrypted")
    if flags & (_FLAG_PATCHED | _FLAG_STRONG):
        out.append(f"member {name!r} uses unsupported flag bits 0x{flags & 0x60:02x}")
    return out


def mode_problem(entry: Entry) -> str | None:
    if stat.S_ISLNK(entry.mode):
        return f"member {entry.name!r} is a symbolic link"
    if stat.S_ISCHR(entry.mode) or stat.S_ISBLK(entry.mode) or stat.S_ISFIFO(entry.mode):
        return f"member {entry.name!r} is a device file or FIFO"
    return None


def read_local(reader: HashingReader) -> Entry | None:
    """The local file header at the reader's position (None: there is none)."""
    offset = reader.position
    raw = reader.read(_LOCAL.size)
    if len(raw) < _LOCAL.size or raw[:4] != LOCAL_SIG:
        return None
    _sig, _ver, flags, method, _t, _d, crc, csize, usize, name_len, extra_len = _LOCAL.unpack(raw)
    name = reader.read(name_len)
    extra = reader.read(extra_len)
    if len(name) < name_len or len(extra) < extra_len:
        return None
    entry = Entry(
        name=name.decode("utf-8" if flags & FLAG_UTF8 else "cp437", errors="replace"),
        offset=offset,
        flags=flags,
        method=method,
        csize=csize,
        usize=usize,
        crc=crc,
    )
    _zip64(entry, extra)
    if flags & FLAG_DESCRIPTOR and not entry.zip64:
        entry.csize = entry.usize = None  # the sizes follow the data
    return entry


def _zip64(entry: Entry, extra: bytes) -> None:
    """The zip64 extra field's 8-byte sizes, for those the header marks 0xFFFFFFFF."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            entry.zip64 = True
            values = [v for (v,) in struct.iter_unpack("<Q", extra[pos + 4 : pos + 4 + size - size % 8])]
            if entry.usize == _MAX32 and values:
                entry.usize = values.pop(0)
            if entry.csize == _MAX32 and values:
                entry.csize = values.pop(0)
            return
        pos += 4 + size


def skip_descriptor(reader: HashingReader, entry: Entry) -> None:
    """The data descriptor after a member's data (its CRC and sizes, checked against the directory)."""
    if reader.peek(4) == _DESCRIPTOR_SIG:
        reader.read(4)
    reader.read(20 if entry.zip64 else 12)


class View(io.RawIOBase):
    """An archive of `size` bytes of which only a prefix [0, len(head)) and a tail [base, size) are
    known; reading the gap fetches it once through `fetch` (a seekable file) and keeps it, or reads
    zeros (a stream, whose bytes before the tail were not kept)."""

    def __init__(
        self, size: int, head: bytes, tail: bytes, fetch: Callable[[int, int], bytes] | None, limit: int
    ) -> None:
        self._size, self._head, self.tail = size, head, tail
        self.base = size - len(tail)
        self._fetch, self._limit = fetch, limit
        self._pos = 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int | None = -1, /) -> bytes:
        start = min(self._pos, self._size)
        end = self._size if n is None or n < 0 else min(self._size, start + n)
        head = len(self._head)
        if self._fetch is not None and start < self.base and end > head:
            self._extend(max(start, head))
        parts, pos = [], start
        while pos < end:
            if pos < head:
                stop = min(end, head)
                parts.append(self._head[pos:stop])
            elif pos < self.base:
                stop = min(end, self.base)
                parts.append(bytes(stop - pos))
            else:
                stop = end
                parts.append(self.tail[pos - self.base : stop - self.base])
            pos = stop
        self._pos = end
        return b"".join(parts)

    def _extend(self, start: int) -> None:
        if self._size - start > self._limit:
            raise LimitExceeded(
                f"the central directory would need {self._size - start:,} bytes read from the end, "
                f"more than {self._limit:,}"
            )
        assert self._fetch is not None
        more = self._fetch(start, self.base)
        if len(more) != self.base - start:
            raise OSError(f"read {len(more):,} bytes at byte {start:,}, expected {self.base - start:,}")
        self.tail, self.base = more + self.tail, start


def parse_directory(view: View) -> tuple[list[zipfile.ZipInfo], int]:
    """The central directory's entries and the offset where it starts, parsed by zipfile."""
    with contextlib.closing(zipfile.ZipFile(view)) as archive:
        return archive.infolist(), int(archive.start_dir)


def directory_first(
    reader: HashingReader, size: int, fetch: Callable[[int, int], bytes], limit: int
) -> tuple[list[zipfile.ZipInfo], int]:
    """Read a seekable zip's central directory from the end, once, before the forward pass; the bytes
    read are spliced into `reader` so that the pass takes them from memory."""
    head = reader.peek(reader.consumed) if reader.position == 0 else b""
    start = max(len(head), size - _EOCD_WINDOW)
    view = View(size, head, fetch(start, size) if start < size else b"", fetch, limit)
    try:
        return parse_directory(view)
    finally:
        if reader.position == 0 and view.base >= len(head):
            reader.splice(view.base, view.tail)
