"""Walk every file and archive member once, sniff it, and compute its facts. One top-level file is
read exactly once, sequentially, through a hashing reader (zip containers additionally get random
access through a second handle); files are scanned in a thread pool."""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from r1policy.artifacts import archives, content, hdf5, protobufs, tensors
from r1policy.artifacts import malware as malware_mod
from r1policy.artifacts.hashing import CHUNK, HashingReader, LimitExceeded, RawStream
from r1policy.artifacts.malware import MalwareScan
from r1policy.artifacts.model import DEFAULT_LIMITS, Expected, FileFacts, ScanLimits
from r1policy.artifacts.secrets import find_secrets
from r1policy.artifacts.sniff import HEAD_BYTES, Sniffed, sniff
from r1policy.artifacts.templates import check_template
from r1policy.core.progress import NO_PROGRESS, Progress, Tally

if TYPE_CHECKING:
    from r1policy.artifacts.pickles import PickleAnalysis

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
    reopen: Callable[[], IO[bytes]] | None = None  # random access (zip central directory)
    expected: list[Expected] = field(default_factory=list)
    version_id: str | None = None
    location: str | None = None  # a local file path, for finding locations


@dataclass
class FileResult:
    source: SourceFile
    facts: list[FileFacts]  # the file first, then its archive members

    @property
    def top(self) -> FileFacts:
        return self.facts[0]


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
        reader: HashingReader | None = None
        try:
            with src.open() as raw:
                reader = HashingReader(raw)
                self._streamed(reader, src.path, src.size, src.rel, src.reopen, 0, False, out)
                reader.drain()
        except (OSError, ReadFailure) as exc:
            top = out.facts[0] if out.facts else FileFacts(src.path, src.size)
            if not out.facts:
                out.facts.append(top)
            top.unreadable = f"could not read {src.path}: {exc}"
            if malware is not None:
                top.malware_error = top.malware_error or top.unreadable
            return FileResult(src, out.facts)
        top = out.facts[0]
        top.size = reader.consumed
        top.sha256 = reader.hexdigest()
        if src.size is not None and reader.consumed != src.size:
            top.unreadable = f"read {reader.consumed:,} bytes of {src.path}, expected {src.size:,}"
        for exp in src.expected:
            if top.sha256 != exp.sha256:
                top.digest_problems.append(
                    f"{exp.source} says sha256 {exp.sha256}, the file has {top.sha256}"
                )
        if malware is not None:
            known = cached is not None and top.sha256 == hint
            if cached is not None and not (known and malware.apply_cached(top, out.facts, cached)):
                return self.scan_file(src, use_cache=False)  # not the file the cache knows: stream it
            if out.streaming and not top.unreadable:
                malware_mod.dedupe(out.facts)
                malware.remember(top, out.facts, src.location)
        return FileResult(src, out.facts)

    def _streamed(
        self,
        reader: HashingReader,
        path: str,
        size: int | None,
        name: str,
        reopen: Callable[[], IO[bytes]] | None,
        depth: int,
        torch_zip: bool,
        out: _Walk,
    ) -> None:
        """_scan, with the same bytes streamed to clamd when malware scanning is on (R1-ART-012)."""
        if not out.streaming or self.malware is None:
            self._scan(reader, path, size, name, reopen, depth, torch_zip, out)
            return
        stream = self.malware.stream(size)
        reader.tap(stream.feed)
        index = len(out.facts)
        try:
            self._scan(reader, path, size, name, reopen, depth, torch_zip, out)
            reader.drain()
        except BaseException:
            stream.abandon()
            if len(out.facts) > index:
                out.facts[index].malware_error = stream.error
            raise
        malware_mod.record(out.facts[index], stream, stream.finish())

    # -- one stream --------------------------------------------------------------------------
    def _scan(
        self,
        reader: HashingReader,
        path: str,
        size: int | None,
        name: str,
        reopen: Callable[[], IO[bytes]] | None,
        depth: int,
        torch_zip: bool,
        out: _Walk,
    ) -> FileFacts:
        facts = FileFacts(path, size)
        out.facts.append(facts)
        head = reader.peek(HEAD_BYTES)
        sniffed = sniff(head, complete=len(head) < HEAD_BYTES)
        if torch_zip and _TORCH_PICKLE.search(name) and sniffed.format != "pickle":
            # torch.load unpickles <prefix>/data.pkl whatever it looks like
            sniffed = Sniffed("pickle", "torch-zip", "torch-zip")
        facts.format, facts.detail = sniffed.format, sniffed.detail
        if sniffed.suspicious:
            facts.unknown_format = sniffed.suspicious
        storage = torch_zip and _STORAGE.search(name)  # raw tensor bytes: torch.load never unpickles them
        if sniffed.pickle_kind is None or sniffed.format == "pickle" or storage:
            self._dispatch(reader, facts, sniffed, name, reopen, depth, torch_zip, out)
        elif sniffed.format in ("text", "unknown"):
            self._undecided(reader, facts, sniffed.pickle_kind, torch_zip)
        else:
            self._both(reader, facts, sniffed, name, reopen, depth, torch_zip, out)
        return facts

    def _dispatch(
        self,
        reader: HashingReader,
        facts: FileFacts,
        sniffed: Sniffed,
        name: str,
        reopen: Callable[[], IO[bytes]] | None,
        depth: int,
        torch_zip: bool,
        out: _Walk,
    ) -> None:
        fmt = sniffed.format
        if fmt in ("zip", "tar", "gzip", "compressed") and depth >= self.limits.max_depth:
            facts.archive_problems.append(
                f"archive nested {depth} levels deep, past the limit of {self.limits.max_depth}; not opened"
            )
        elif fmt == "pickle":
            self._pickle(reader, facts, sniffed.pickle_kind, torch_zip)
        elif fmt == "safetensors":
            _header(facts, tensors.check_safetensors(reader, facts.size, self.limits))
        elif fmt == "gguf":
            _header(facts, tensors.check_gguf(reader, facts.size, self.limits))
        elif fmt == "zip":
            self._zip(reader, facts, reopen, depth, out)
        elif fmt == "tar":
            archives.walk_tar(reader, facts, self.limits, self._member(depth, out))
        elif fmt in ("gzip", "compressed"):
            self._gzip(reader, facts, name, depth, out, sniffed.detail if fmt == "compressed" else "gzip")
        elif fmt == "text":
            content.analyse_text(reader, facts, name, self.limits)
        elif fmt == "hdf5":
            hdf5.analyse_hdf5(reader, facts, self.limits)
        elif fmt == "onnx":
            protobufs.analyse_protobuf(reader, facts, name, self.limits)
        elif fmt == "unknown":
            if torch_zip and _STORAGE.search(name):
                facts.format, facts.detail = "tensor-storage", "raw tensor bytes of a PyTorch checkpoint"
            else:
                facts.unknown_format = facts.unknown_format or sniffed.detail or "unrecognised content"

    def _undecided(self, reader: HashingReader, facts: FileFacts, kind: object, torch_zip: bool) -> None:
        """A valid pickle prefix for the whole look-ahead window that is otherwise text or unknown:
        the whole stream decides. Never text: a stream the unpickler rejects only after the window
        (before importing anything) is unscannable (R1-ART-010)."""
        from r1policy.artifacts import pickles

        if torch_zip:
            kind = pickles.PickleKind.TORCH_ZIP
        analysis = pickles.analyse(reader, kind, limits=_sized(facts.size))  # type: ignore[arg-type]
        if not pickles.is_pickle(analysis):
            facts.format, facts.detail = "unknown", "pickle-like"
            where = analysis.problems[-1] if analysis.problems else "its end"
            facts.unknown_format = (
                f"the first {HEAD_BYTES:,} bytes read as a pickle stream, which the unpickler rejects only "
                f"later ({where}); not judged as text"
            )
            return
        facts.format = "pickle"
        self._record(analysis, facts)
        limits = [p for p in analysis.problems if p.kind is pickles.ProblemKind.LIMIT]
        if limits:
            facts.unknown_format = (
                f"cannot decide whether this is a pickle: {limits[0]}; the first {HEAD_BYTES:,} bytes read "
                "as one"
            )

    def _both(
        self,
        reader: HashingReader,
        facts: FileFacts,
        sniffed: Sniffed,
        name: str,
        reopen: Callable[[], IO[bytes]] | None,
        depth: int,
        torch_zip: bool,
        out: _Walk,
    ) -> None:
        """A stream that is (or may be) a pickle and parses as another format too (a polyglot): the
        whole stream is analysed as a pickle through a tee that keeps what it read, then replayed for
        the other format. A stream that turns out not to be a pickle is judged by its other format."""
        from r1policy.artifacts import pickles

        with tempfile.SpooledTemporaryFile(max_size=self.limits.spool_memory_bytes) as spool:
            analysis = pickles.analyse(_Tee(reader, spool), sniffed.pickle_kind, limits=_sized(facts.size))  # type: ignore[arg-type]
            if pickles.is_pickle(analysis):
                other = facts.detail or facts.format
                self._record(analysis, facts)
                facts.detail = f"{other} that is also a {facts.detail} (polyglot)"
            spool.seek(0)
            replay = HashingReader(_Chain(spool, reader), hash_it=False)
            self._dispatch(replay, facts, sniffed, name, reopen, depth, torch_zip, out)
            replay.drain()

    def _member(self, depth: int, out: _Walk) -> archives.MemberScan:
        def scan(
            reader: HashingReader,
            path: str,
            size: int | None,
            name: str,
            reopen: Callable[[], IO[bytes]] | None,
            torch_zip: bool,
        ) -> None:
            self._streamed(reader, path, size, name, reopen, depth + 1, torch_zip, out)

        return scan

    def _pickle(self, reader: HashingReader, facts: FileFacts, kind: object, torch_zip: bool) -> None:
        from r1policy.artifacts import pickles

        if torch_zip:
            kind = pickles.PickleKind.TORCH_ZIP
        self._record(pickles.analyse(reader, kind, limits=_sized(facts.size)), facts)  # type: ignore[arg-type]

    def _record(self, analysis: PickleAnalysis, facts: FileFacts) -> None:
        from r1policy.artifacts import pickles

        facts.detail = str(getattr(analysis.kind, "value", analysis.kind))
        if facts.detail == "npy" and not analysis.pickle_based:
            facts.format, facts.detail = "npy", "numeric array"
        facts.pickle_based = analysis.pickle_based
        for ref in analysis.unsafe_imports:
            facts.unsafe_imports.append(f"{ref.dotted} at byte {ref.offset}")
            if ref.dotted not in facts.unsafe_import_names:
                facts.unsafe_import_names.append(ref.dotted)
        for problem in analysis.problems:
            if problem.kind is pickles.ProblemKind.UNSAFE_GLOBAL and facts.unsafe_imports:
                continue
            facts.pickle_problems.append(str(problem))

    def _zip(
        self,
        reader: HashingReader,
        facts: FileFacts,
        reopen: Callable[[], IO[bytes]] | None,
        depth: int,
        out: _Walk,
    ) -> None:
        if reopen is not None:
            with reopen() as handle:
                archives.walk_zip(handle, facts, self.limits, self._member(depth, out))
            return
        with tempfile.SpooledTemporaryFile(max_size=self.limits.spool_memory_bytes) as spool:
            for chunk in _chunks(reader):
                spool.write(chunk)
            spool.seek(0)
            archives.walk_zip(spool, facts, self.limits, self._member(depth, out))

    def _gzip(
        self, reader: HashingReader, facts: FileFacts, name: str, depth: int, out: _Walk, algo: str
    ) -> None:
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
                archives.walk_tar(inner, facts, self.limits, self._member(depth, out))
            else:
                stem = PurePosixPath(name).name
                suffix = ".gz" if algo == "gzip" else f".{algo}"
                stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem + ".un" + suffix[1:]
                self._streamed(inner, f"{facts.path}!/{stem}", None, stem, None, depth + 1, False, out)
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


class _Tee:
    """Reads through a stream and keeps a copy of every byte read (for a replay)."""

    def __init__(self, raw: HashingReader, copy: IO[bytes]) -> None:
        self._raw = raw
        self._copy = copy

    def read(self, n: int = -1, /) -> bytes:
        data = self._raw.read(n)
        self._copy.write(data)
        return data


class _Chain:
    """The kept copy, then the rest of the stream."""

    def __init__(self, first: IO[bytes], rest: HashingReader) -> None:
        self._first: IO[bytes] | None = first
        self._rest = rest

    def read(self, n: int = -1, /) -> bytes:
        if self._first is not None:
            data = self._first.read(n)
            if data:
                return data
            self._first = None
        return self._rest.read(n)


def _header(facts: FileFacts, report: tensors.HeaderReport) -> None:
    """A tensor header's problems, and the secrets and chat templates in its decoded metadata."""
    facts.header_problems.extend(report.problems)
    if report.strings:
        content.add_secrets(facts, find_secrets("\n".join(report.strings)), "in the header metadata")
    for key, template in report.templates.items():
        facts.template_problems.extend(check_template(template, f"GGUF {key}"))


def _sized(size: int | None) -> Any:
    """The pickle analysis limits for a stream of known length (None: unknown, e.g. a gzip member)."""
    from r1policy.artifacts.pickles.model import DEFAULT_LIMITS as PICKLE_LIMITS

    return dataclasses.replace(PICKLE_LIMITS, stream_size=size)


def _chunks(reader: HashingReader) -> Iterator[bytes]:
    while chunk := reader.read(CHUNK):
        yield chunk
