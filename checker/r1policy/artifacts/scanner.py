"""Walk every file and archive member once, sniff it, and compute its facts. Every byte of a top-level
file is read exactly once: sequentially, through a hashing reader, except for a seekable zip's central
directory, read first from the end and spliced into that reader (see zipwalk); files are scanned in a
thread pool."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO

from r1policy.artifacts import archives, content, hdf5, protobufs, scanpickle, tensors, zipwalk
from r1policy.artifacts import malware as malware_mod
from r1policy.artifacts.hashing import HashingReader, LimitExceeded, RawStream
from r1policy.artifacts.malware import MalwareScan
from r1policy.artifacts.model import DEFAULT_LIMITS, Expected, FileFacts, ScanLimits
from r1policy.artifacts.secrets import find_secrets
from r1policy.artifacts.sniff import HEAD_BYTES, Sniffed, sniff
from r1policy.artifacts.templates import check_template
from r1policy.core.progress import NO_PROGRESS, Progress, Tally

_STORAGE = re.compile(r"(?:^|/)data/\d+$")
_TORCH_PICKLE = re.compile(r"(?:^|/)data\.pkl$")


class ReadFailure(Exception):
    """Reading a file failed part-way (network error, access denied); the file is unreadable."""


@dataclass
class SourceFile:
    """One top-level file of a scan target."""

    path: str  # the finding subject id: a local path, s3://bucket/key or hf://org/repo@rev/file
    rel: str  # path relative to the target (the lock's file key)
    size: int | None
    open: Callable[[], AbstractContextManager[RawStream]]
    reopen: Callable[[], IO[bytes]] | None = None  # random access: a zip's central directory, read first
    expected: list[Expected] = field(default_factory=list)
    version_id: str | None = None
    location: str | None = None  # a local file path, for finding locations
    s3: tuple[str, str] | None = None  # (bucket, key): the object can be hashed in ranges (s3tasks)
    s3_composite: bool = False  # S3 holds a COMPOSITE SHA-256 checksum (per part) for the object
    locked_parts: tuple[tuple[int, str], ...] = ()  # the lock's part digests (lock schema 2)
    locked_by: str = ""  # the lock file that records them
    # called after the format analysis: True when the rest of the file is hashed elsewhere (its ranges),
    # then the stream ends early and the whole-file digest is not computed here
    split: Callable[[FileFacts], bool] | None = None


@dataclass
class FileResult:
    source: SourceFile
    facts: list[FileFacts]  # the file first, then its archive members

    @property
    def top(self) -> FileFacts:
        return self.facts[0]


@dataclass(frozen=True)
class _Item:
    """One stream to analyse: a top-level file or an archive member."""

    path: str
    size: int | None
    name: str  # its name in its archive (its relative path for a top-level file)
    depth: int = 0
    torch_zip: bool = False  # a member of a torch.save zip
    fetch: Callable[[int, int], bytes] | None = None  # random access to a top-level file's bytes

    def member(self, path: str, size: int | None, name: str, torch_zip: bool = False) -> _Item:
        return _Item(path, size, name, self.depth + 1, torch_zip)


@dataclass
class _Walk:
    """One top-level file's walk: its facts (file first, then members) and whether clamd sees it."""

    streaming: bool
    facts: list[FileFacts] = field(default_factory=list)


class Scanner:
    def __init__(
        self,
        limits: ScanLimits = DEFAULT_LIMITS,
        workers: int | None = None,
        malware: MalwareScan | None = None,
    ) -> None:
        self.limits = limits
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.malware = malware

    def scan_all(
        self, sources: list[SourceFile], progress: Progress = NO_PROGRESS, phase: str = "scan"
    ) -> list[FileResult]:
        """Every file's result, in the order of `sources`; `progress` hears of each file as it is
        finished (files and bytes of `phase`)."""
        tally = Tally(progress, phase, [src.size for src in sources])
        if len(sources) <= 1 or self.workers == 1:
            results = []
            for src in sources:
                results.append(self.scan_file(src))
                tally.finished(results[-1].top.size)
            return results
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="r1scan") as pool:
            futures = [pool.submit(self.scan_file, src) for src in sources]
            for future in as_completed(futures):
                tally.finished(future.result().top.size)
            return [future.result() for future in futures]

    def scan_file(self, src: SourceFile, *, use_cache: bool = True) -> FileResult:
        malware = self.malware
        hint = cached = None
        if malware is not None and use_cache:
            hint = malware.hint([e.sha256 for e in src.expected], src.location)
            cached = malware.cached(hint)
        out = _Walk(streaming=malware is not None and cached is None)
        ranges = _Ranges(src.reopen) if src.reopen is not None else None
        item = _Item(src.path, src.size, src.rel, fetch=ranges.fetch if ranges else None)
        try:
            with src.open() as raw:
                reader = HashingReader(raw)
                self._streamed(reader, item, out)
                split = src.split is not None and src.split(out.facts[0])
                reader.drain()
        except (OSError, ReadFailure) as exc:
            top = out.facts[0] if out.facts else FileFacts(src.path, src.size)
            if not out.facts:
                out.facts.append(top)
            top.unreadable = f"could not read {src.path}: {exc}"
            if malware is not None:
                top.malware_error = top.malware_error or top.unreadable
            return FileResult(src, out.facts)
        finally:
            if ranges is not None:
                ranges.close()
        if split:
            return FileResult(src, out.facts)  # the caller completes size and digests from the ranges
        _digests(src, out.facts[0], reader)
        if malware is not None:
            top = out.facts[0]
            known = cached is not None and top.sha256 == hint
            if cached is not None and not (known and malware.apply_cached(top, out.facts, cached)):
                return self.scan_file(src, use_cache=False)  # not the file the cache knows: stream it
            if out.streaming and not top.unreadable:
                malware_mod.dedupe(out.facts)
                malware.remember(top, out.facts, src.location)
        return FileResult(src, out.facts)

    def _streamed(self, reader: HashingReader, item: _Item, out: _Walk) -> None:
        """_scan, with the same bytes streamed to clamd when malware scanning is on (R1-ART-012)."""
        if not out.streaming or self.malware is None:
            self._scan(reader, item, out)
            return
        stream = self.malware.stream(item.size)
        reader.tap(stream.feed)
        index = len(out.facts)
        try:
            self._scan(reader, item, out)
            reader.drain()
        except BaseException:
            stream.abandon()
            if len(out.facts) > index:
                out.facts[index].malware_error = stream.error
            raise
        malware_mod.record(out.facts[index], stream, stream.finish())

    # -- one stream --------------------------------------------------------------------------
    def _scan(self, reader: HashingReader, item: _Item, out: _Walk) -> FileFacts:
        facts = FileFacts(item.path, item.size)
        out.facts.append(facts)
        head = reader.peek(HEAD_BYTES)
        sniffed = sniff(head, complete=len(head) < HEAD_BYTES)
        if item.torch_zip and _TORCH_PICKLE.search(item.name) and sniffed.format != "pickle":
            # torch.load unpickles <prefix>/data.pkl whatever it looks like
            sniffed = Sniffed("pickle", "torch-zip", "torch-zip")
        facts.format, facts.detail = sniffed.format, sniffed.detail
        if sniffed.suspicious:
            facts.unknown_format = sniffed.suspicious
        storage = item.torch_zip and _STORAGE.search(item.name)  # raw tensor bytes: never unpickled
        if sniffed.pickle_kind is None or sniffed.format == "pickle" or storage:
            self._dispatch(reader, facts, sniffed, item, out)
        elif sniffed.format in ("text", "unknown"):
            scanpickle.undecided(reader, facts, sniffed.pickle_kind, item.torch_zip)
        else:

            def other(replay: HashingReader) -> None:
                self._dispatch(replay, facts, sniffed, item, out)

            scanpickle.polyglot(reader, facts, sniffed.pickle_kind, self.limits, other)
        return facts

    def _dispatch(
        self, reader: HashingReader, facts: FileFacts, sniffed: Sniffed, item: _Item, out: _Walk
    ) -> None:
        fmt = sniffed.format
        if fmt in ("zip", "tar", "gzip", "compressed") and item.depth >= self.limits.max_depth:
            facts.archive_problems.append(
                f"archive nested {item.depth} levels deep, past the limit of {self.limits.max_depth}; "
                "not opened"
            )
        elif fmt == "pickle":
            scanpickle.pickle(reader, facts, sniffed.pickle_kind, item.torch_zip)
        elif fmt == "safetensors":
            _header(facts, tensors.check_safetensors(reader, facts.size, self.limits))
        elif fmt == "gguf":
            _header(facts, tensors.check_gguf(reader, facts.size, self.limits))
        elif fmt == "zip":
            zipwalk.walk_zip(
                reader, facts, self.limits, self._member(item, out), size=item.size, fetch=item.fetch
            )
        elif fmt == "tar":
            archives.walk_tar(reader, facts, self.limits, self._member(item, out))
        elif fmt in ("gzip", "compressed"):
            self._gzip(reader, facts, item, out, sniffed.detail if fmt == "compressed" else "gzip")
        elif fmt == "text":
            content.analyse_text(reader, facts, item.name, self.limits)
        elif fmt == "hdf5":
            hdf5.analyse_hdf5(reader, facts, self.limits)
        elif fmt == "onnx":
            protobufs.analyse_protobuf(reader, facts, item.name, self.limits)
        elif fmt == "unknown":
            if item.torch_zip and _STORAGE.search(item.name):
                facts.format, facts.detail = "tensor-storage", "raw tensor bytes of a PyTorch checkpoint"
            else:
                facts.unknown_format = facts.unknown_format or sniffed.detail or "unrecognised content"

    def _member(self, item: _Item, out: _Walk) -> archives.MemberScan:
        def scan(reader: HashingReader, path: str, size: int | None, name: str, torch_zip: bool) -> None:
            self._streamed(reader, item.member(path, size, name, torch_zip), out)

        return scan

    def _gzip(self, reader: HashingReader, facts: FileFacts, item: _Item, out: _Walk, algo: str) -> None:
        from r1policy.artifacts import compressed

        try:
            gz: archives.GzipReader | compressed.Decompressing = (
                archives.GzipReader(reader, self.limits)
                if algo == "gzip"
                else compressed.Decompressing(reader, algo, self.limits)
            )
            inner = HashingReader(gz, hash_it=False)
            inner_sniff = sniff(inner.peek(HEAD_BYTES))
            if inner_sniff.format == "tar":
                facts.detail = f"tar.{'gz' if algo == 'gzip' else algo}"
                archives.walk_tar(inner, facts, self.limits, self._member(item, out))
            else:
                stem = PurePosixPath(item.name).name
                suffix = ".gz" if algo == "gzip" else f".{algo}"
                stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem + ".un" + suffix[1:]
                self._streamed(inner, item.member(f"{facts.path}!/{stem}", None, stem), out)
            inner.drain()
        except LimitExceeded as exc:
            facts.archive_problems.append(str(exc))
            return
        except compressed.CORRUPT as exc:
            facts.archive_problems.append(f"{algo} stream is corrupt: {exc}")
            return
        if gz.trailing:
            facts.archive_problems.append(
                f"{gz.trailing:,}+ bytes of non-{algo} data after the compressed stream"
            )


class _Ranges:
    """Byte ranges of a seekable file through a second handle, opened on first use (a zip's central
    directory; the forward pass never reads these bytes again)."""

    def __init__(self, opener: Callable[[], IO[bytes]]) -> None:
        self._opener = opener
        self._handle: IO[bytes] | None = None

    def fetch(self, start: int, end: int) -> bytes:
        if self._handle is None:
            self._handle = self._opener()
        self._handle.seek(start)
        parts, left = [], end - start
        while left > 0:
            data = self._handle.read(left)
            if not data:
                break
            parts.append(data)
            left -= len(data)
        return b"".join(parts)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _digests(src: SourceFile, top: FileFacts, reader: HashingReader) -> None:
    """The file's size and SHA-256 from the one pass, against what the source and others expect."""
    top.size = reader.consumed
    top.sha256 = reader.hexdigest()
    if src.size is not None and reader.consumed != src.size:
        top.unreadable = f"read {reader.consumed:,} bytes of {src.path}, expected {src.size:,}"
    for exp in src.expected:
        if top.sha256 != exp.sha256:
            top.digest_problems.append(f"{exp.source} says sha256 {exp.sha256}, the file has {top.sha256}")


def _header(facts: FileFacts, report: tensors.HeaderReport) -> None:
    """A tensor header's problems, and the secrets and chat templates in its decoded metadata."""
    facts.header_problems.extend(report.problems)
    if report.strings:
        content.add_secrets(facts, find_secrets("\n".join(report.strings)), "in the header metadata")
    for key, template in report.templates.items():
        facts.template_problems.extend(check_template(template, f"GGUF {key}"))
