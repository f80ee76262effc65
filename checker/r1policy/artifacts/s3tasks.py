"""`scan s3://…` as executor tasks (docs/s3-hashing.md): one task per object, and for an object over
the range threshold, per-range tasks that fetch disjoint byte ranges (each byte once).

Phase 1, one task per object: small objects are scanned as before (one GET of the whole body). A large
object's task reads S3's part layout (GetObjectAttributes), then GETs its first range and runs the
format analysis on it. When the format is decided by its head (safetensors, GGUF: the header is read,
the rest are tensor bytes) and the analysis ended inside that range, the object is *split*: phase 2
hashes its other ranges as tasks of their own. Any other format (pickles, zips, tars, text...) needs
every byte in order: the same task GETs the rest of the object (from where the first range ended)
and the whole-object SHA-256 is computed as usual. The tasks are plain picklable values and module
functions, so that `dask://` workers run them next to the data.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from r1policy.artifacts import s3parts
from r1policy.artifacts.model import Expected, FileFacts, ScanLimits
from r1policy.artifacts.s3parts import S3Layout, Window, WindowHasher
from r1policy.artifacts.scanner import FileResult, ReadFailure, Scanner, SourceFile
from r1policy.core.progress import NO_PROGRESS, Progress, Tally

if TYPE_CHECKING:
    from r1policy.artifacts.targets import Target
    from r1policy.aws.executors import ExecutorSpec

SPLITTABLE = ("safetensors", "gguf")  # formats whose analysis needs only the head of the file


@dataclass(frozen=True)
class Ranging:
    threshold: int = s3parts.DEFAULT_THRESHOLD  # objects larger than this are hashed in ranges
    part_size: int = s3parts.DEFAULT_PART_SIZE  # range size where neither S3 nor the lock has parts
    enabled: bool = True  # False when something needs every whole-object digest (model signing)

    @classmethod
    def default(cls, *, enabled: bool = True) -> Ranging:
        """The module defaults as they are now (tests lower them to exercise ranges on small objects)."""
        return cls(s3parts.DEFAULT_THRESHOLD, s3parts.DEFAULT_PART_SIZE, enabled)


@dataclass(frozen=True)
class ObjectTask:
    index: int
    bucket: str
    key: str
    rel: str
    size: int
    version: str | None
    expected: tuple[Expected, ...]
    locked_parts: tuple[tuple[int, str], ...]
    locked_by: str
    limits: ScanLimits
    ranged: bool  # read through the range machinery (over the threshold, or the lock records parts)
    may_split: bool  # nothing needs the whole-object digest: the ranges may be hashed in parallel
    part_size: int


@dataclass
class ObjectOutcome:
    index: int
    facts: list[FileFacts]
    split: bool = False
    layout: S3Layout | None = None
    record: list[Window] = field(default_factory=list)  # the partition recorded in the lock
    rest: list[Window] = field(default_factory=list)  # ranges still to hash (split objects)
    digests: dict[Window, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RangeTask:
    index: int
    bucket: str
    key: str
    version: str | None
    span: Window
    windows: tuple[Window, ...]


@dataclass
class RangeOutcome:
    index: int
    span: Window
    digests: dict[Window, str]
    error: str | None = None


# --- the caller's side ---------------------------------------------------------------------------


def scan_target(
    target: Target,
    scanner: Scanner,
    spec: ExecutorSpec,
    ranging: Ranging | None = None,
    progress: Progress = NO_PROGRESS,
    phase: str = "scan",
) -> list[FileResult]:
    """Every object of an s3:// target scanned as executor tasks; results in the target's order."""
    from r1policy.aws.executors import run_tasks

    sources = target.files
    ranging = ranging or Ranging.default()
    tally = Tally(progress, phase, [src.size for src in sources])
    tasks = [_object_task(i, src, scanner, ranging) for i, src in enumerate(sources)]
    local = spec.kind == "local"
    outcomes: dict[int, ObjectOutcome] = {}
    run = functools.partial(scan_object, scanner=scanner if local else None)
    for outcome in run_tasks(spec, run, tasks):
        outcomes[outcome.index] = outcome
        if not outcome.split:
            tally.finished(outcome.facts[0].size)
    ranges = [
        RangeTask(o.index, t.bucket, t.key, t.version, span, _inside(span, o))
        for o, t in ((outcomes[i], tasks[i]) for i in sorted(outcomes))
        for span in o.rest
    ]
    errors: dict[int, list[str]] = {}
    for piece in run_tasks(spec, hash_range, ranges):
        outcomes[piece.index].digests.update(piece.digests)
        if piece.error is not None:
            errors.setdefault(piece.index, []).append(piece.error)
    results = []
    for i, src in enumerate(sources):
        outcome = outcomes[i]
        if outcome.split:
            _complete(src, outcome, errors.get(i, []))
            tally.finished(outcome.facts[0].size)
        results.append(FileResult(src, outcome.facts))
    return results


def _object_task(index: int, src: SourceFile, scanner: Scanner, ranging: Ranging) -> ObjectTask:
    assert src.s3 is not None and src.size is not None
    # split only where no whole-object digest is needed; parts the lock records are always verified
    may_split = ranging.enabled and not src.expected and scanner.malware is None
    ranged = (may_split and src.size > ranging.threshold) or bool(src.locked_parts) or src.s3_composite
    return ObjectTask(
        index=index,
        bucket=src.s3[0],
        key=src.s3[1],
        rel=src.rel,
        size=src.size,
        version=src.version_id,
        expected=tuple(src.expected),
        locked_parts=src.locked_parts,
        locked_by=src.locked_by,
        limits=scanner.limits,
        ranged=ranged,
        may_split=may_split and src.size > ranging.threshold,
        part_size=ranging.part_size,
    )


def _inside(span: Window, outcome: ObjectOutcome) -> tuple[Window, ...]:
    wanted = {w for w, _ in outcome.layout.parts} if outcome.layout else set()
    wanted.update(outcome.record)
    return tuple(sorted(w for w in wanted if span.start <= w.start and w.end <= span.end))


def _complete(src: SourceFile, outcome: ObjectOutcome, errors: list[str]) -> None:
    """A split object's size, part digests and digest problems, from all of its ranges."""
    top = outcome.facts[0]
    top.size = src.size
    if errors:
        top.unreadable = f"could not read {src.path}: " + "; ".join(errors)
        return
    _verdict(top, outcome, src.locked_parts, src.locked_by)


def _verdict(
    top: FileFacts, outcome: ObjectOutcome, locked: tuple[tuple[int, str], ...], locked_by: str
) -> None:
    digests = outcome.digests
    top.parts = tuple((w.end - w.start, digests[w]) for w in outcome.record)
    if outcome.layout is not None:
        top.digest_problems.extend(s3parts.s3_problems(outcome.layout, digests))
    if locked:
        top.digest_problems.extend(s3parts.lock_problems(_windows(locked), digests, locked_by))


def _windows(parts: tuple[tuple[int, str], ...]) -> list[tuple[Window, str]]:
    out, offset = [], 0
    for size, digest in parts:
        out.append((Window(offset, offset + size), digest))
        offset += size
    return out


# --- the workers' side ---------------------------------------------------------------------------

_CLIENT_ENV = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_DEFAULT_REGION")
_CLIENTS: dict[tuple[int, Callable[[], Any], tuple[str | None, ...]], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _client() -> Any:
    """One S3 client per process (boto3 clients are thread-safe; creating them is not)."""
    from r1policy.artifacts import targets

    env = tuple(os.environ.get(name) for name in _CLIENT_ENV)
    key = (os.getpid(), targets._s3_client, env)
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = targets._s3_client()
        return _CLIENTS[key]


def scan_object(task: ObjectTask, scanner: Scanner | None = None) -> ObjectOutcome:
    """Phase 1 for one object (see the module docstring)."""
    from botocore.exceptions import BotoCoreError

    from r1policy.artifacts.targets import s3_source

    scanner = scanner or Scanner(task.limits, workers=1)
    try:
        client = _client()
    except BotoCoreError as exc:  # e.g. a Dask worker without credentials or region
        failed = FileFacts(f"s3://{task.bucket}/{task.key}", task.size)
        failed.unreadable = f"could not read s3://{task.bucket}/{task.key}: {exc}"
        return ObjectOutcome(task.index, [failed])
    src = s3_source(client, task.bucket, task.key, task.rel, task.size, task.version, list(task.expected))
    locked_size = sum(size for size, _ in task.locked_parts)
    if task.locked_parts and locked_size != task.size:
        facts = scanner.scan_file(src).facts
        facts[0].digest_problems.append(
            f"{task.locked_by} records {locked_size:,} bytes in parts, the object has {task.size:,}"
        )
        return ObjectOutcome(task.index, facts)
    if not task.ranged:
        return ObjectOutcome(task.index, scanner.scan_file(src).facts)
    layout = _layout(client, task)
    if layout is None:  # S3's part layout cannot be read: one sequential pass, whole-object digest
        return ObjectOutcome(task.index, scanner.scan_file(src).facts)
    record = (
        [w for w, _ in _windows(task.locked_parts)]
        if task.locked_parts
        else [w for w, _ in layout.parts] or s3parts.chunks(task.size, task.part_size)
    )
    spans = s3parts.ranges(record + [w for w, _ in layout.parts])
    hasher = WindowHasher(record + [w for w, _ in layout.parts])
    # one GET of the whole object unless it may be split after its first range
    stream = _RangedStream(client, task, spans[0].end if task.may_split else task.size, hasher)
    src.open = stream.opener
    src.split = functools.partial(stream.decide, more=len(spans) > 1 and task.may_split)
    facts = scanner.scan_file(src).facts
    outcome = ObjectOutcome(
        task.index, facts, stream.split, layout, record, spans[1:] if stream.split else []
    )
    outcome.digests = hasher.digests()
    if layout.problem is not None:
        facts[0].digest_problems.append(layout.problem)
    if not stream.split and not facts[0].unreadable:
        _verdict(facts[0], outcome, task.locked_parts, task.locked_by)
        if not task.locked_parts:
            facts[0].parts = ()  # the whole-object SHA-256 is known: the lock records it alone
    elif stream.split:
        outcome.digests = {w: d for w, d in outcome.digests.items() if w.end <= spans[0].end}
    return outcome


def _layout(client: Any, task: ObjectTask) -> S3Layout | None:
    from botocore.exceptions import BotoCoreError, ClientError

    extra = {"VersionId": task.version} if task.version else {}
    pages, marker = [], 0
    try:
        while True:
            page = client.get_object_attributes(
                Bucket=task.bucket,
                Key=task.key,
                ObjectAttributes=["Checksum", "ObjectParts", "ObjectSize"],
                MaxParts=1000,
                PartNumberMarker=marker,
                **extra,
            )
            pages.append(page)
            parts = page.get("ObjectParts") or {}
            if not parts.get("IsTruncated"):
                break
            marker = int(parts["NextPartNumberMarker"])
    except (ClientError, BotoCoreError) as exc:
        del exc  # e.g. no s3:GetObjectAttributes: the object is read in one pass instead
        return None
    return s3parts.parse_layout(task.size, pages)


class _RangedStream:
    """The object's first range, then (unless the object is split) the rest of it, each fetched by
    one GET; every byte is fed with its offset to the window hasher."""

    def __init__(self, client: Any, task: ObjectTask, first_end: int, hasher: WindowHasher) -> None:
        self._client, self._task, self._first_end, self._hasher = client, task, first_end, hasher
        self._body: Any = None
        self.offset = 0
        self.split = False

    def decide(self, top: FileFacts, *, more: bool) -> bool:
        self.split = more and top.format in SPLITTABLE and self.offset <= self._first_end
        return self.split

    @property
    def opener(self) -> Callable[[], Any]:
        import contextlib

        @contextlib.contextmanager
        def opened() -> Iterator[_RangedStream]:
            try:
                yield self
            finally:
                if self._body is not None:
                    self._body.close()

        return opened

    def _get(self, start: int, end: int) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from r1policy.artifacts.targets import Translate

        task = self._task
        extra = {"VersionId": task.version} if task.version else {}
        if (start, end) != (0, task.size):  # the whole object: a plain GET
            extra["Range"] = f"bytes={start}-{end - 1}"
        try:
            body = self._client.get_object(Bucket=task.bucket, Key=task.key, **extra)["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise ReadFailure(str(exc)) from exc
        if self._body is not None:
            self._body.close()
        self._body = Translate(body)

    def read(self, n: int = -1, /) -> bytes:
        limit = self._first_end if self.split else self._task.size
        if self.offset >= limit:
            return b""
        if self._body is None:
            self._get(0, self._first_end)
        elif self.offset == self._first_end:
            self._get(self._first_end, self._task.size)
        want = limit - self.offset if n is None or n < 0 else min(n, limit - self.offset)
        want = min(want, self._first_end - self.offset) if self.offset < self._first_end else want
        data = self._body.read(want)
        if not data:
            raise ReadFailure(f"the object ended at byte {self.offset:,} of {self._task.size:,}")
        self._hasher.feed(self.offset, data)
        self.offset += len(data)
        return bytes(data)


def hash_range(task: RangeTask) -> RangeOutcome:
    """Phase 2: one GET of a byte range, each window inside it hashed; errors are returned."""
    from botocore.exceptions import BotoCoreError, ClientError

    hasher = WindowHasher(task.windows)
    extra = {"VersionId": task.version} if task.version else {}
    span = task.span
    try:
        body = _client().get_object(
            Bucket=task.bucket, Key=task.key, Range=f"bytes={span.start}-{span.end - 1}", **extra
        )["Body"]
        offset = span.start
        try:
            while offset < span.end:
                data = body.read(min(s3parts.READ_CHUNK, span.end - offset))
                if not data:
                    break
                hasher.feed(offset, data)
                offset += len(data)
        finally:
            body.close()
    except (ClientError, BotoCoreError, OSError) as exc:
        return RangeOutcome(task.index, span, {}, f"bytes {span.start:,}-{span.end - 1:,}: {exc}")
    if offset != span.end:
        return RangeOutcome(
            task.index, span, {}, f"bytes {span.start:,}-{span.end - 1:,} ended at {offset:,}"
        )
    return RangeOutcome(task.index, span, hasher.digests())
