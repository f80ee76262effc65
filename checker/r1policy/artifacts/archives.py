"""Archives read as streams, every member checked before and while it is read: zip (central
directory against local headers, flags, CRC, declared sizes and ratios), tar (names, links, device
files, sizes) and gzip (expansion ratio measured while decompressing). Problems land on the
archive's facts (R1-ART-007); members are handed to the scanner's callback."""

from __future__ import annotations

import copy
import itertools
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import IO, Any

from r1policy.artifacts.hashing import HashingReader, LimitExceeded, RawStream
from r1policy.artifacts.model import FileFacts, ScanLimits

# scan_member(reader, path, size, name_in_archive, reopen, torch_zip) -> None
MemberScan = Callable[[HashingReader, str, "int | None", str, "Callable[[], IO[bytes]] | None", bool], None]
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_FLAG_ENCRYPTED, _FLAG_PATCHED, _FLAG_STRONG = 0x1, 0x20, 0x40
_GZIP_IN = 256 * 1024


def name_problems(name: str) -> list[str]:
    problems = []
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        problems.append(f"member {name!r} has an absolute path")
    if ".." in PurePosixPath(posix).parts:
        problems.append(f"member {name!r} escapes the extraction folder (path traversal)")
    return problems


class _Names:
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


class _CrcReader:
    """Counts and CRCs a zip member's bytes (zipfile's own CRC check would discard the data)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.crc = 0
        self.count = 0

    def read(self, n: int = -1, /) -> bytes:
        data: bytes = self._raw.read(n)
        self.crc = zlib.crc32(data, self.crc)
        self.count += len(data)
        return data


def walk_zip(fp: IO[bytes], facts: FileFacts, limits: ScanLimits, scan: MemberScan) -> None:
    add = facts.archive_problems.append
    try:
        archive = zipfile.ZipFile(fp)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        add(f"not a readable zip archive: {exc}")
        return
    if len(infos) > limits.max_members:
        add(f"{len(infos):,} members, more than the limit of {limits.max_members:,}; the rest were not read")
        infos = infos[: limits.max_members]
    if not _zip_sizes_ok(fp, infos, limits, add):
        return
    names = [i.filename for i in infos]
    torch_zip = any(n == "data.pkl" or n.endswith("/data.pkl") for n in names)
    if torch_zip:
        facts.detail = "pytorch-zip"
    elif "config.json" in names and any(n.endswith(".h5") or n == "metadata.json" for n in names):
        facts.detail = "keras-v3"
    elif names and all(n.endswith(".npy") for n in names):
        facts.detail = "npz"
    total = 0
    seen = _Names(add)
    for info in infos:
        for problem in name_problems(info.filename):
            add(problem)
        local_name, local_flags = _local_header(fp, info, add)
        if local_name is not None and local_name != info.filename:
            add(f"member {info.filename!r}: local header names it {local_name!r} (name mismatch)")
        flags = info.flag_bits | (local_flags or 0)
        if flags & _FLAG_ENCRYPTED:
            add(f"member {info.filename!r} is flagged as encrypted")
        if flags & (_FLAG_PATCHED | _FLAG_STRONG):
            add(f"member {info.filename!r} uses unsupported flag bits 0x{flags & 0x60:02x}")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            add(f"member {info.filename!r} is a symbolic link")
            continue
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            add(f"member {info.filename!r} is a device file or FIFO")
            continue
        if info.is_dir():
            continue
        member = seen.subject(facts.path, info.filename)
        if info.file_size > limits.max_member_bytes:
            add(f"member {info.filename!r} expands to {info.file_size:,} bytes, past the limit; not read")
            continue
        total += info.file_size
        if total > limits.max_expanded_bytes:
            add(f"members expand to more than {limits.max_expanded_bytes:,} bytes; the rest were not read")
            return
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_grace_bytes and ratio > limits.max_ratio:
            add(
                f"member {info.filename!r} expands {ratio:,.0f}:1 ({info.file_size:,} bytes; zip bomb); "
                "not read"
            )
            continue
        patched = copy.copy(info)
        patched.flag_bits &= ~(_FLAG_ENCRYPTED | _FLAG_PATCHED | _FLAG_STRONG)
        if local_name is not None:
            patched.orig_filename = local_name

        def reopen(archive: zipfile.ZipFile = archive, patched: zipfile.ZipInfo = patched) -> IO[bytes]:
            handle = archive.open(patched)
            handle._expected_crc = None  # type: ignore[attr-defined]  # we check the CRC ourselves
            return handle

        try:
            with reopen() as handle:
                counter = _CrcReader(handle)
                reader = HashingReader(counter, hash_it=False)
                scan(reader, member, info.file_size, info.filename, reopen, torch_zip)
                reader.drain()
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError, RuntimeError) as exc:
            add(f"member {info.filename!r} cannot be read: {exc}")
            continue
        if counter.count != info.file_size:
            add(
                f"member {info.filename!r} has {counter.count:,} bytes, the directory says {info.file_size:,}"
            )
        if counter.crc != info.CRC:
            add(
                f"member {info.filename!r} fails its CRC check "
                f"(stored {info.CRC:08x}, actual {counter.crc:08x})"
            )


def _zip_sizes_ok(
    fp: IO[bytes], infos: list[zipfile.ZipInfo], limits: ScanLimits, add: Callable[[str], None]
) -> bool:
    """Archive-wide bomb checks before any member is read: the declared total against the archive's
    size, and members whose data overlap (the non-recursive zip bomb reuses one compressed stream)."""
    size = fp.seek(0, 2)
    declared = sum(i.file_size for i in infos)
    if declared > limits.ratio_grace_bytes and declared > limits.max_ratio * max(size, 1):
        add(
            f"members declare {declared:,} bytes from a {size:,}-byte archive "
            f"(more than {limits.max_ratio}:1; zip bomb); not read"
        )
        return False
    ordered = sorted((i for i in infos if not i.is_dir()), key=lambda i: i.header_offset)
    for before, after in itertools.pairwise(ordered):
        if before.header_offset + 30 + len(before.orig_filename) + before.compress_size > after.header_offset:
            add(
                f"members {before.filename!r} and {after.filename!r} overlap in the archive "
                "(zip bomb); not read"
            )
            return False
    return True


def _local_header(fp: IO[bytes], info: zipfile.ZipInfo, add: Callable[[str], None]) -> tuple[str | None, int]:
    try:
        fp.seek(info.header_offset)
        raw = fp.read(_LOCAL.size)
        fields = _LOCAL.unpack(raw) if len(raw) == _LOCAL.size else None
        if fields is None or fields[0] != b"PK\x03\x04":
            add(f"member {info.filename!r}: no local file header at byte {info.header_offset:,}")
            return None, 0
        name = fp.read(fields[9])
    except OSError as exc:
        add(f"member {info.filename!r}: local header unreadable: {exc}")
        return None, 0
    flags = fields[2]
    text = name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
    return text, flags


def walk_tar(stream: RawStream, facts: FileFacts, limits: ScanLimits, scan: MemberScan) -> None:
    add = facts.archive_problems.append
    total = count = 0
    seen = _Names(add)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[call-overload]
            for info in archive:
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
                reader = HashingReader(handle, hash_it=False)
                scan(reader, member, info.size, shown, None, False)
                reader.drain()
    except tarfile.TarError as exc:
        add(f"tar archive unreadable after {count} members: {exc}")


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
