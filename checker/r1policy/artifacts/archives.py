"""Archives read as streams, every member checked before and while it is read: tar (names, links,
device files, sizes) and gzip (expansion ratio measured while decompressing); zip is in zipwalk.
Problems land on the archive's facts (R1-ART-007); members are handed to the scanner's callback."""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Callable
from pathlib import PurePosixPath

from r1policy.artifacts.hashing import HashingReader, LimitExceeded, RawStream
from r1policy.artifacts.model import FileFacts, ScanLimits

# scan_member(reader, path, size, name_in_archive, torch_zip) -> None
MemberScan = Callable[[HashingReader, str, "int | None", str, bool], None]
_GZIP_IN = 256 * 1024
MEMBER_CHUNK = 1024 * 1024  # a tar member is read and handed on in pieces of this size


def name_problems(name: str) -> list[str]:
    problems = []
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        problems.append(f"member {name!r} has an absolute path")
    if ".." in PurePosixPath(posix).parts:
        problems.append(f"member {name!r} escapes the extraction folder (path traversal)")
    return problems


class Names:
    """Member names seen so far: a second member with the same (normalised) name is a problem, and its
    subject is qualified (`name#2`) so that every member is still judged under a unique id."""

    def __init__(self, add: Callable[[str], None]) -> None:
        self._add = add
        self._count: dict[str, int] = {}

    def subject(self, archive: str, name: str) -> str:
        posix = name.replace("\\", "/")
        key = "/".join(p for p in posix.split("/") if p not in ("", "."))
        n = self._count[key] = self._count.get(key, 0) + 1
        if n == 2:
            self._add(f"member {name!r} appears more than once (tools disagree on which copy wins)")
        return f"{archive}!/{name}" + (f"#{n}" if n > 1 else "")


def walk_tar(stream: RawStream, facts: FileFacts, limits: ScanLimits, scan: MemberScan) -> None:
    add = facts.archive_problems.append
    total = count = 0
    seen = Names(add)
    forward = Forward(stream)
    try:
        # Random-access mode over a stream that only skips forward: tarfile reads headers and member
        # data straight from it (its stream mode copies every byte three times through its buffer).
        with tarfile.TarFile(fileobj=forward, mode="r") as archive:  # type: ignore[arg-type]
            while (info := archive.next()) is not None:
                archive.members.clear()  # type: ignore[attr-defined]  # no record of every member kept
                count += 1
                if count > limits.max_members:
                    add(f"more than {limits.max_members:,} members; the rest were not read")
                    return
                for problem in name_problems(info.name):
                    add(problem)
                if info.issym() or info.islnk():
                    kind = "symbolic link" if info.issym() else "hard link"
                    add(f"member {info.name!r} is a {kind} to {info.linkname!r}")
                    continue
                if info.ischr() or info.isblk() or info.isfifo():
                    add(f"member {info.name!r} is a device file or FIFO")
                    continue
                if info.isdir():
                    continue
                # A name that is not UTF-8 is shown with escapes (it must survive JSON output).
                shown = info.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                member = seen.subject(facts.path, shown)
                if not info.isfile():
                    add(f"member {info.name!r} has an unsupported tar type {info.type!r}")
                    continue
                if info.size > limits.max_member_bytes:
                    add(
                        f"member {info.name!r} claims {info.size:,} bytes, past the limit; "
                        "archive not read further"
                    )
                    return
                total += info.size
                if total > limits.max_expanded_bytes:
                    add(
                        f"members expand to more than {limits.max_expanded_bytes:,} bytes; "
                        "archive not read further"
                    )
                    return
                handle = archive.extractfile(info)
                if handle is None:
                    continue
                reader = HashingReader(handle, hash_it=False, chunk=MEMBER_CHUNK)
                scan(reader, member, info.size, shown, False)
                reader.drain()
            forward.after_end(add)
    except (tarfile.TarError, BackwardSeek) as exc:
        add(f"tar archive unreadable after {count} members: {exc}")


class BackwardSeek(Exception):
    """A tar reader asked to go back in a stream that is read once."""


class Forward:
    """A stream as tarfile's random-access mode sees it: `tell`, `seek` forward only (skipping bytes,
    which are still hashed by the reader beneath), and `read(n)` that returns n bytes unless the
    stream ends."""

    def __init__(self, raw: RawStream) -> None:
        self._raw = raw
        self._pos = 0
        self._last = b""  # the last read: where tarfile stopped, the block it took for the end

    def after_end(self, add: Callable[[str], None]) -> None:
        """Once tarfile sees the end: the block it stopped at and everything after it must be zeros.
        tarfile ends quietly at a header it cannot parse; GNU tar skips such a block and extracts
        what follows, which r1policy would otherwise never see."""
        end = self._pos - len(self._last)
        stray = len(self._last) - self._last.count(0)
        while chunk := self.read(MEMBER_CHUNK):
            stray += len(chunk) - chunk.count(0)
        if stray:
            add(
                f"{stray:,} non-zero bytes after the end of the tar archive (byte {end:,}): a header "
                "tarfile cannot read, or data after the end; GNU tar may extract members there that "
                "were not scanned"
            )

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        target = offset if whence == 0 else self._pos + offset
        if whence not in (0, 1) or target < self._pos:
            raise BackwardSeek(
                f"the tar reader seeks back to byte {target:,} (the stream is at {self._pos:,})"
            )
        while self._pos < target and self.read(min(target - self._pos, MEMBER_CHUNK)):
            pass
        return self._pos

    def read(self, n: int = -1, /) -> bytes:
        data = self._raw.read(n)
        if n is not None and n >= 0 and 0 < len(data) < n:
            parts = [data]
            got = len(data)
            while got < n and (more := self._raw.read(n - got)):
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        self._pos += len(data)
        self._last = data
        return data


class GzipReader:
    """Decompresses a (multi-member) gzip stream, refusing it once it expands past the limits."""

    def __init__(self, raw: RawStream, limits: ScanLimits) -> None:
        self._raw = raw
        self._limits = limits
        self._d = zlib.decompressobj(31)
        self._pending = b""
        self.compressed = 0
        self.expanded = 0
        self.eof = False
        self.trailing = 0  # bytes after the last gzip member that are not another member

    def read(self, n: int = -1, /) -> bytes:
        want = n if n is not None and n >= 0 else 1 << 62
        parts: list[bytes] = []
        got = 0
        while got < want and not self.eof:
            if not self._pending:
                self._pending = self._raw.read(_GZIP_IN)
                self.compressed += len(self._pending)
                if not self._pending:
                    if not self._d.eof:
                        raise zlib.error("gzip stream is truncated")
                    self.eof = True
                    break
            piece = self._d.decompress(self._pending, min(want - got, 4 * 1024 * 1024))
            self._pending = self._d.unconsumed_tail
            if self._d.eof:
                self._next_member(self._d.unused_data + self._pending)
            self.expanded += len(piece)
            self._check()
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def _next_member(self, rest: bytes) -> None:
        """After one gzip member: another member follows, or the stream ends (anything else is trailing)."""
        self._pending = b""
        while len(rest) < 2:
            more = self._raw.read(_GZIP_IN)
            if not more:
                break
            self.compressed += len(more)
            rest += more
        if not rest:
            self.eof = True
        elif rest[:2] == b"\x1f\x8b":
            self._d, self._pending = zlib.decompressobj(31), rest
        else:
            self.trailing, self.eof = len(rest), True

    def _check(self) -> None:
        lim = self._limits
        if self.expanded > lim.max_expanded_bytes:
            raise LimitExceeded(
                f"gzip stream expands past {lim.max_expanded_bytes:,} bytes "
                f"(stopped after {self.compressed:,} compressed bytes)"
            )
        if self.expanded > lim.ratio_grace_bytes and self.expanded > lim.max_ratio * max(self.compressed, 1):
            raise LimitExceeded(
                f"gzip stream expands more than {lim.max_ratio}:1 ({self.expanded:,} bytes from "
                f"{self.compressed:,} compressed bytes; decompression bomb); refused"
            )
