"""Zip archives read in one forward pass, every byte once (R1-ART-007 for what the pass finds).

A seekable zip (a local file): the central directory is read first, from the end (a small read,
spliced into the file's reader so the pass does not read it again); the pass then walks the members
in the order of their offsets: each local header is compared with the directory, and the member's
bytes feed the file's SHA-256 (the reader), the member's CRC and its analysis together; a stored
member is analysed from the same buffer, a compressed one through one decompressor. Bytes that belong
to no member, members that overlap, a local header that differs: each is a problem.

A zip in a stream that cannot seek (an S3 or Hub download, a zip inside a gzip, tar or zip): the pass
walks the local headers as they come, then reads the central directory at the end and checks every
member against it; any disagreement is a problem, as above.
"""

from __future__ import annotations

import itertools
import struct
import zipfile
from collections.abc import Callable

from r1policy.artifacts.archives import MemberScan, Names, name_problems
from r1policy.artifacts.hashing import HashingReader, LimitExceeded
from r1policy.artifacts.model import FileFacts, ScanLimits
from r1policy.artifacts.zipdata import STORED, Bounded, Corrupt, CrcReader, Expand, supported
from r1policy.artifacts.zipdir import (
    FLAG_DESCRIPTOR,
    LOCAL_SIG,
    Entry,
    View,
    directory_first,
    flag_problems,
    mode_problem,
    parse_directory,
    read_local,
    skip_descriptor,
)

_UNREADABLE = (zipfile.BadZipFile, OSError, ValueError, EOFError, LimitExceeded, struct.error)


def walk_zip(
    reader: HashingReader,
    facts: FileFacts,
    limits: ScanLimits,
    scan: MemberScan,
    *,
    size: int | None = None,
    fetch: Callable[[int, int], bytes] | None = None,
) -> None:
    """Walk a zip from the reader's position 0; `fetch(start, end)` reads a seekable file's bytes."""
    walk = _ZipWalk(reader, facts, limits, scan)
    if fetch is not None and size is not None and reader.position == 0:
        walk.directory_first(size, fetch)
    else:
        walk.forward()


class _ZipWalk:
    def __init__(self, reader: HashingReader, facts: FileFacts, limits: ScanLimits, scan: MemberScan) -> None:
        self.reader, self.facts, self.limits, self.scan = reader, facts, limits, scan
        self.add = facts.archive_problems.append
        self.names = Names(self.add)
        self.total = 0
        self.torch_zip = False

    # -- the two orders ---------------------------------------------------------------------------
    def directory_first(self, size: int, fetch: Callable[[int, int], bytes]) -> None:
        try:
            infos, cd_start = directory_first(self.reader, size, fetch, self.limits.max_directory_bytes)
        except _UNREADABLE as exc:
            self.add(f"not a readable zip archive: {exc}")
            return
        if not self._plan(infos, size):
            return
        for entry in sorted((Entry.of(i) for i in infos), key=lambda e: e.offset):
            if not self._advance_to(entry.offset, f"member {entry.name!r}"):
                continue
            local = read_local(self.reader)
            if local is None:
                self.add(f"member {entry.name!r}: no local file header at byte {entry.offset:,}")
                return
            for problem in name_problems(entry.name) + flag_problems(entry.name, entry.flags | local.flags):
                self.add(problem)
            if local.name != entry.name:
                self.add(f"member {entry.name!r}: local header names it {local.name!r} (name mismatch)")
            if not self._member(entry, local, check=True):
                return
        self._advance_to(cd_start, "the central directory")

    def forward(self) -> None:
        seen: dict[int, Entry] = {}
        while self.reader.peek(4) == LOCAL_SIG:
            if len(seen) >= self.limits.max_members:
                self.add(f"more than {self.limits.max_members:,} members; the rest were not read")
                return
            local = read_local(self.reader)
            if local is None:
                self.add(f"a truncated local file header at byte {self.reader.position:,}")
                return
            seen[local.offset] = local
            if local.name == "data.pkl" or local.name.endswith("/data.pkl"):
                self.torch_zip = True
            if not self._member(local, local, check=False):
                return
        end = self.reader.position
        limit = self.limits.max_directory_bytes
        rest = self.reader.read(limit + 1)
        if len(rest) > limit:
            self.add(f"more than {limit:,} bytes after the last member; the central directory was not read")
            return
        try:
            infos, cd_start = parse_directory(View(end + len(rest), b"", rest, None, limit))
        except _UNREADABLE as exc:
            self.add(f"not a readable zip archive: {exc}")
            return
        if cd_start != end:
            self.add(f"the central directory starts at byte {cd_start:,}, the members end at byte {end:,}")
        self._plan(infos, end + len(rest))
        self._compare(infos, seen)

    # -- checks -----------------------------------------------------------------------------------
    def _plan(self, infos: list[zipfile.ZipInfo], size: int) -> bool:
        """Archive-wide checks from the central directory, and what kind of zip it is."""
        if len(infos) > self.limits.max_members:
            self.add(f"{len(infos):,} members, more than the limit of {self.limits.max_members:,}; not read")
            return False
        if not _sizes_ok(size, infos, self.limits, self.add):
            return False
        names = [i.filename for i in infos]
        if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            self.torch_zip = True
            self.facts.detail = "pytorch-zip"
        elif "config.json" in names and any(n.endswith(".h5") or n == "metadata.json" for n in names):
            self.facts.detail = "keras-v3"
        elif names and all(n.endswith(".npy") for n in names):
            self.facts.detail = "npz"
        return True

    def _advance_to(self, offset: int, what: str) -> bool:
        pos = self.reader.position
        if offset < pos:
            self.add(f"{what} starts at byte {offset:,}, inside the data before it (overlap)")
            return False
        if offset > pos:
            self.add(f"{offset - pos:,} bytes at byte {pos:,}, before {what}, belong to no member")
            Bounded(self.reader, offset - pos).skip()
        return True

    def _compare(self, infos: list[zipfile.ZipInfo], seen: dict[int, Entry]) -> None:
        """A streamed zip's members against its central directory (what zip readers go by)."""
        for info in infos:
            entry = Entry.of(info)
            local = seen.pop(entry.offset, None)
            for problem in name_problems(entry.name):
                self.add(problem)
            shape = mode_problem(entry)
            if shape:
                self.add(shape)
            if local is None:
                self.add(f"member {entry.name!r}: no local file header at byte {entry.offset:,}")
                continue
            for problem in flag_problems(entry.name, entry.flags | local.flags):
                self.add(problem)
            if local.name != entry.name:
                self.add(f"member {entry.name!r}: local header names it {local.name!r} (name mismatch)")
            if local.actual_crc is not None:
                self._check_crc(entry, local)
        for local in seen.values():
            self.add(
                f"member {local.name!r} at byte {local.offset:,} is not in the central directory "
                "(zip readers do not see it)"
            )

    def _check_crc(self, entry: Entry, local: Entry) -> None:
        if local.actual_size != entry.usize:
            self.add(
                f"member {entry.name!r} has {local.actual_size:,} bytes, the directory says {entry.usize:,}"
            )
        if local.actual_crc != entry.crc:
            self.add(
                f"member {entry.name!r} fails its CRC check "
                f"(stored {entry.crc:08x}, actual {local.actual_crc:08x})"
            )

    def _refusal(self, entry: Entry) -> tuple[str | None, bool]:
        """Why a member is not analysed (a message, or None for silently), and whether to stop there."""
        problem = mode_problem(entry)
        if problem or entry.is_dir or entry.name.endswith("/"):
            return problem, False
        usize, lim = entry.usize, self.limits
        if usize is None:
            return None, False
        if usize > lim.max_member_bytes:
            return f"member {entry.name!r} expands to {usize:,} bytes, past the limit; not read", False
        self.total += usize
        if self.total > lim.max_expanded_bytes:
            return (
                f"members expand to more than {lim.max_expanded_bytes:,} bytes; the rest were not read",
                True,
            )
        ratio = usize / max(entry.csize or 0, 1)
        if usize > lim.ratio_grace_bytes and ratio > lim.max_ratio:
            return (
                f"member {entry.name!r} expands {ratio:,.0f}:1 ({usize:,} bytes; zip bomb); not read",
                False,
            )
        return None, False

    # -- one member -------------------------------------------------------------------------------
    def _member(self, entry: Entry, local: Entry, *, check: bool) -> bool:
        """Read one member's data (analysing it unless refused); False: the pass cannot go on."""
        problem, stop = self._refusal(entry)
        refused = problem is not None or entry.is_dir or entry.name.endswith("/") or stop
        if problem:
            self.add(problem)
        if stop:
            return False
        if refused or not supported(local.method):
            if not refused:
                self.add(f"member {entry.name!r} uses compression method {local.method}; not read")
            if entry.csize is None:
                self.add(f"member {entry.name!r}: its size follows its data; the archive cannot be read on")
                return False
            Bounded(self.reader, entry.csize).skip()
            if local.flags & FLAG_DESCRIPTOR:
                skip_descriptor(self.reader, local)
            return True
        return self._read(entry, local, check)

    def _read(self, entry: Entry, local: Entry, check: bool) -> bool:
        bounded = Bounded(self.reader, entry.csize) if entry.csize is not None else None
        if local.method == STORED and bounded is None:
            self.add(
                f"member {entry.name!r} is stored with its size after its data: not readable as a stream"
            )
            return False
        source: Bounded | Expand
        if local.method == STORED and bounded is not None:
            source = bounded
        else:
            source = Expand(
                bounded or self.reader, local.method, self.limits, None if bounded else self.reader
            )
        counter = CrcReader(source)
        member = self.names.subject(self.facts.path, entry.name)
        try:
            member_reader = HashingReader(counter, hash_it=False)
            self.scan(member_reader, member, entry.usize, entry.name, self.torch_zip)
            member_reader.drain()
        except (Corrupt, LimitExceeded) as exc:
            self.add(f"member {entry.name!r} cannot be read: {exc}")
            if bounded is None:
                return False
            bounded.skip()
            return self._descriptor(local)
        if bounded is not None:
            bounded.skip()
            if bounded.short:
                self.add(f"member {entry.name!r}: the archive ends inside its data")
                return False
        local.actual_crc, local.actual_size = counter.crc, counter.count
        if check:
            self._check_crc(entry, local)
        return self._descriptor(local)

    def _descriptor(self, local: Entry) -> bool:
        if local.flags & FLAG_DESCRIPTOR:
            skip_descriptor(self.reader, local)
        return True


def _sizes_ok(
    size: int, infos: list[zipfile.ZipInfo], limits: ScanLimits, add: Callable[[str], None]
) -> bool:
    """Archive-wide bomb checks before any member is read: the declared total against the archive's
    size, and members whose data overlap (the non-recursive zip bomb reuses one compressed stream)."""
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
