"""Per-range hashing of large S3 objects (docs/s3-hashing.md): the digest windows a scan must hash,
the disjoint byte ranges that cover them, one hasher that feeds every window from one pass over a
range, and the verdict on S3's stored SHA-256 checksums.

SHA-256 cannot be split: a range's digest says nothing about the whole object's. So a large object
read in parallel ranges is verified part by part: against S3's own part checksums when the object
was uploaded in parts with `ChecksumAlgorithm=SHA256` (a COMPOSITE checksum, `<base64>-<parts>`, is
the SHA-256 of the parts' digests), and against the lock's part digests when the lock records parts.
Each window lies inside exactly one range, and the ranges tile the object: every byte is fetched once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

GIB = 1024 * 1024 * 1024
DEFAULT_THRESHOLD = GIB  # objects larger than this are hashed in ranges
DEFAULT_PART_SIZE = 256 * 1024 * 1024  # the ranges of an object that S3 does not partition
MAX_PARTS = 10_000  # S3's own limit on a multipart upload
READ_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True, order=True)
class Window:
    """A byte range [start, end) whose SHA-256 is wanted (a part)."""

    start: int
    end: int


@dataclass(frozen=True)
class S3Layout:
    """What S3 says about an object's bytes: its size, and, for a COMPOSITE SHA-256 checksum, the
    checksum of the parts' digests (hex) and each part's window and SHA-256 (hex)."""

    size: int
    composite: str | None = None
    parts: tuple[tuple[Window, str], ...] = ()
    problem: str | None = None  # S3's answer could not be used (the parts do not tile the object...)


def parse_layout(size: int, pages: Iterable[dict[str, Any]]) -> S3Layout:
    """An S3Layout from GetObjectAttributes(Checksum, ObjectParts, ObjectSize) pages."""
    composite: str | None = None
    parts: list[tuple[int, int, str | None]] = []
    for page in pages:
        checksum = page.get("Checksum") or {}
        value = checksum.get("ChecksumSHA256")
        if value and checksum.get("ChecksumType", "COMPOSITE") == "COMPOSITE":
            composite = value.partition("-")[0]
        for part in (page.get("ObjectParts") or {}).get("Parts") or []:
            parts.append((int(part["PartNumber"]), int(part["Size"]), part.get("ChecksumSHA256")))
    if composite is None or not parts:
        return S3Layout(size)
    return _layout(size, composite, sorted(parts))


def _layout(size: int, composite: str, parts: list[tuple[int, int, str | None]]) -> S3Layout:
    try:
        composite_hex = _hex(composite)
        windows: list[tuple[Window, str]] = []
        offset = 0
        for expected_number, (number, part_size, digest) in enumerate(parts, 1):
            if number != expected_number or digest is None or part_size <= 0:
                return S3Layout(size, problem=f"S3 lists part {number} out of order or without a SHA-256")
            windows.append((Window(offset, offset + part_size), _hex(digest)))
            offset += part_size
    except (binascii.Error, ValueError) as exc:
        return S3Layout(size, problem=f"S3 returned a checksum that is not base64 SHA-256: {exc}")
    if offset != size:
        return S3Layout(size, problem=f"S3's parts add up to {offset:,} bytes, the object has {size:,}")
    return S3Layout(size, composite_hex, tuple(windows))


def _hex(value: str) -> str:
    raw = base64.b64decode(value, validate=True)
    if len(raw) != 32:
        raise ValueError(f"{len(raw)} bytes")
    return raw.hex()


def chunks(size: int, part_size: int) -> list[Window]:
    """[0, size) cut into windows of `part_size` (the last one shorter)."""
    part_size = max(part_size, -(-size // MAX_PARTS), 1)
    return [Window(start, min(start + part_size, size)) for start in range(0, size, part_size)] or [
        Window(0, 0)
    ]


def ranges(windows: Iterable[Window]) -> list[Window]:
    """The fewest disjoint ranges such that each window lies inside one of them (overlapping windows
    merge; windows that only touch stay apart). Windows that tile an object give ranges that tile it."""
    merged: list[Window] = []
    for window in sorted(windows):
        if merged and window.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Window(last.start, max(last.end, window.end))
        else:
            merged.append(window)
    return merged


class WindowHasher:
    """Feeds each byte, given with its object offset (in increasing order), to the SHA-256 of every
    window holding it; only the windows open at the current offset are visited."""

    def __init__(self, windows: Sequence[Window]) -> None:
        self._order = sorted(set(windows))
        self._hashes = {w: hashlib.sha256() for w in self._order}
        self._next = 0  # the first window of _order not yet opened
        self._open: list[Window] = []

    def feed(self, offset: int, data: bytes | memoryview) -> None:
        end = offset + len(data)
        while self._next < len(self._order) and self._order[self._next].start < end:
            self._open.append(self._order[self._next])
            self._next += 1
        view = memoryview(data)
        for window in self._open:
            lo, hi = max(window.start, offset), min(window.end, end)
            if lo < hi:
                self._hashes[window].update(view[lo - offset : hi - offset])
        self._open = [w for w in self._open if w.end > end]

    def digests(self) -> dict[Window, str]:
        return {window: digest.hexdigest() for window, digest in self._hashes.items()}


def s3_problems(layout: S3Layout, digests: dict[Window, str]) -> list[str]:
    """Each S3 part whose bytes differ from its stored checksum, and the composite checksum against
    the parts' digests as read."""
    if layout.composite is None:
        return []
    problems = []
    joined = b""
    for number, (window, stored) in enumerate(layout.parts, 1):
        have = digests[window]
        joined += bytes.fromhex(have)
        if have != stored:
            problems.append(
                f"the S3 object's part {number} (bytes {window.start:,}-{window.end - 1:,}) "
                f"ChecksumSHA256 says sha256 {stored}, the bytes have {have}"
            )
    composite = hashlib.sha256(joined).hexdigest()
    if composite != layout.composite:
        problems.append(
            f"the S3 object's composite ChecksumSHA256 says {layout.composite}, "
            f"the parts as read give {composite}"
        )
    return problems


def lock_problems(locked: Sequence[tuple[Window, str]], digests: dict[Window, str], where: str) -> list[str]:
    problems = []
    for number, (window, want) in enumerate(locked, 1):
        have = digests[window]
        if have != want:
            problems.append(
                f"{where} says part {number} (bytes {window.start:,}-{window.end - 1:,}) has sha256 "
                f"{want}, the bytes have {have}"
            )
    return problems
