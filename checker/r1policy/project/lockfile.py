"""The lock file `r1policy.lock` (schemas/lock-v1.schema.json): exact bytes per model source.

```json
{"kind": "r1policy-lock", "schema_version": 1,
 "sources": {"hf://org/repo": {"revision": "<40-hex sha>", "repo_id": "<hub _id>",
                               "files": {"config.json": {"sha256": "<hex>", "size": 1234,
                                                         "version_id": null}}}}}
```

Source keys: `hf://org/repo` (the revision is a field, so a deployment at another revision is
detectable), `s3://bucket/prefix/` (trailing slash; `revision` and `repo_id` are null, files may carry
the S3 `version_id`), or `file:<path relative to the lock file>` for local scans.

Schema version 2 (written only when a file needs it; version 1 locks stay readable): a file hashed in
parallel ranges (a large S3 object, docs/s3-hashing.md) records `parts`, the SHA-256 of each
consecutive byte range, and `sha256: null` when the whole file's digest was not computed.

Optional per source, written only when known: `signer` (R1-ART-011), `origin` (the Hub repository an
S3 copy came from) and `scan` (`scan --write-lock`'s verdict on exactly these files: decision, blocking
rules, r1policy version; a re-lock of the same bytes keeps it, other bytes drop it).

The file is deterministic: sorted keys, 2-space indent, trailing newline; every field is written,
`null` included. `write_lock` writes atomically (temp file + rename). `load_lock` validates against
the schema and raises `InputError` naming file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from r1policy.core.errors import InputError, OutputError, Position
from r1policy.core.repoid import repo_id_problem
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import load_yaml_documents, read_text
from r1policy.project import DEFAULT_LOCK_NAME as DEFAULT_LOCK_NAME  # re-exported

SCHEMA = "lock-v1.schema.json"
SCHEMA_VERSIONS = (1, 2)
LOCK_KIND = "r1policy-lock"
MAX_LOCK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class LockedFile:
    size: int
    sha256: str | None  # None only when `parts` is recorded (schema version 2)
    version_id: str | None = None
    parts: tuple[tuple[int, str], ...] = ()  # (size, sha256) of each consecutive byte range

    @property
    def digest_text(self) -> str:
        """The whole-file digest, or the part digests' when only those are known."""
        if self.sha256 is not None:
            return f"sha256 {self.sha256}"
        return f"{len(self.parts)} part sha256s, first {self.parts[0][1]}"


@dataclass(frozen=True)
class Origin:
    """Where an S3 or local copy of a model came from on the Hub (its lineage is that repository's)."""

    repo: str
    commit: str


@dataclass(frozen=True)
class ScanRecord:
    """The verdict of `r1policy scan` on exactly the locked files (`scan --write-lock`)."""

    decision: str  # allow / block
    blocking: tuple[str, ...] = ()  # rule ids of the blocking (fail / error) findings, sorted
    r1policy: str = ""  # the version that scanned


@dataclass(frozen=True)
class LockedSource:
    revision: str | None = None
    repo_id: str | None = None
    files: Mapping[str, LockedFile] = field(default_factory=dict)
    signer: str | None = None  # the verified model signer (R1-ART-011); written only when known
    origin: Origin | None = None  # the Hub repository and commit an S3 copy came from (R1-LIC-001)
    scan: ScanRecord | None = None  # the scan verdict on these files; written only by scan --write-lock


@dataclass(frozen=True)
class Lock:
    sources: Mapping[str, LockedSource] = field(default_factory=dict)

    def get(self, key: str) -> LockedSource | None:
        return self.sources.get(key)


# --- source keys -------------------------------------------------------------------------------


def hub_key(repo: str) -> str:
    """`hf://org/repo` for a Hub repository id `org/repo`."""
    return f"hf://{repo.strip('/')}"


def s3_key(bucket: str, prefix: str = "") -> str:
    """`s3://bucket/prefix/` (always one trailing slash; `s3://bucket/` for the whole bucket)."""
    cleaned = prefix.strip("/")
    return f"s3://{bucket}/{cleaned}/" if cleaned else f"s3://{bucket}/"


def s3_key_from_uri(uri: str) -> str:
    """Normalise an `s3://bucket/prefix` URI to its lock key."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return s3_key(bucket, prefix)


def file_key(path: Path, lock_path: Path) -> str:
    """`file:<path relative to the lock file's folder>`, POSIX separators."""
    base = lock_path.resolve().parent
    rel = os.path.relpath(path.resolve(), base)
    return "file:" + PurePosixPath(*Path(rel).parts).as_posix()


# --- reading ------------------------------------------------------------------------------------


def is_lock(value: Any) -> bool:
    return isinstance(value, dict) and value.get("kind") == LOCK_KIND


def load_lock(path: Path) -> Lock:
    """Read and validate a lock file; InputError (file:line) on anything wrong."""
    text = read_text(path, limit=MAX_LOCK_BYTES)
    display = str(path)
    docs = list(load_yaml_documents(text, display))
    if len(docs) != 1 or not is_lock(docs[0].value):
        raise InputError(Position(display, 1, 1), f"not an r1policy lock file (kind: {LOCK_KIND})")
    doc = docs[0]
    version = doc.value.get("schema_version")
    if version not in SCHEMA_VERSIONS:
        raise InputError(
            doc.position(("schema_version",)),
            f"lock schema_version {version!r} is not supported (this r1policy reads versions 1 and 2)",
        )
    validate_document(doc, SCHEMA)
    for key, src in doc.value.get("sources", {}).items():
        for name, entry in src.get("files", {}).items():
            problem = _parts_problem(entry, version)
            if problem is not None:
                raise InputError(doc.position(("sources", key, "files", name)), f"{key} {name}: {problem}")
    for key in doc.value.get("sources", {}):
        problem = repo_id_problem(key[len("hf://") :]) if key.startswith("hf://") else None
        if problem is not None:
            raise InputError(doc.position(("sources", key), key=True), f"source {key!r}: {problem}")
    return from_value(doc.value)


def _parts_problem(entry: Mapping[str, Any], version: int) -> str | None:
    parts = entry.get("parts")
    if parts is None:
        return None
    if version < 2:
        return "`parts` needs lock schema_version 2"
    total = sum(int(p["size"]) for p in parts)
    if total != entry["size"]:
        return f"the parts add up to {total:,} bytes, the file has {entry['size']:,}"
    return None


def from_value(value: Mapping[str, Any]) -> Lock:
    """Build a Lock from an already validated plain value."""
    sources: dict[str, LockedSource] = {}
    for key, src in value.get("sources", {}).items():
        files = {
            name: LockedFile(
                size=int(f["size"]),
                sha256=f["sha256"],
                version_id=f.get("version_id"),
                parts=tuple((int(p["size"]), str(p["sha256"])) for p in f.get("parts") or ()),
            )
            for name, f in src.get("files", {}).items()
        }
        origin = src.get("origin")
        scan = src.get("scan")
        sources[key] = LockedSource(
            revision=src.get("revision"),
            repo_id=src.get("repo_id"),
            files=files,
            signer=src.get("signer"),
            origin=Origin(origin["repo"], origin["commit"]) if origin else None,
            scan=ScanRecord(scan["decision"], tuple(scan["blocking"]), scan["r1policy"]) if scan else None,
        )
    return Lock(sources=sources)


# --- writing ------------------------------------------------------------------------------------


def to_value(lock: Lock) -> dict[str, Any]:
    parts = any(f.parts for src in lock.sources.values() for f in src.files.values())
    return {
        "schema_version": 2 if parts else 1,
        "kind": LOCK_KIND,
        "sources": {key: _source_value(src) for key, src in sorted(lock.sources.items())},
    }


def _source_value(src: LockedSource) -> dict[str, Any]:
    value: dict[str, Any] = {
        "revision": src.revision,
        "repo_id": src.repo_id,
        "files": {name: _file_value(f) for name, f in sorted(src.files.items())},
    }
    if src.signer is not None:
        value["signer"] = src.signer
    if src.origin is not None:
        value["origin"] = {"repo": src.origin.repo, "commit": src.origin.commit}
    if src.scan is not None:
        scan = src.scan
        value["scan"] = {
            "decision": scan.decision,
            "blocking": list(scan.blocking),
            "r1policy": scan.r1policy,
        }
    return value


def _file_value(f: LockedFile) -> dict[str, Any]:
    value: dict[str, Any] = {"size": f.size, "sha256": f.sha256, "version_id": f.version_id}
    if f.parts:
        value["parts"] = [{"size": size, "sha256": digest} for size, digest in f.parts]
    return value


def dumps(lock: Lock) -> str:
    """The deterministic text of a lock file (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(to_value(lock), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_lock(path: Path, lock: Lock) -> None:
    """Write atomically: a temp file in the same folder, then rename over the target."""
    text = dumps(lock)
    import tempfile  # only when a lock is written: not on the cold check path

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc


# --- combining ----------------------------------------------------------------------------------


def merge(old: Lock, new: Lock) -> Lock:
    """`old` with every source of `new` replacing the entry of the same key (sources are atomic units)."""
    sources = dict(old.sources)
    for key, src in new.sources.items():
        before = old.sources.get(key)
        if src.origin is None and before is not None and before.origin is not None:
            # the Hub origin of a copy is recorded by hand, not derived from its bytes: re-locking keeps it
            src = replace(src, origin=before.origin)
        if src.scan is None and before is not None and _same_bytes(before, src):
            # a re-lock without scanning (`r1policy lock`) of the same bytes keeps their scan verdict
            src = replace(src, scan=before.scan)
        sources[key] = src
    return Lock(sources=dict(sorted(sources.items())))


def _same_bytes(a: LockedSource, b: LockedSource) -> bool:
    return a.revision == b.revision and a.files == b.files


def _short(value: str | None) -> str:
    if value is None:
        return "none"
    return value[:12] if len(value) > 12 else value


def _scan_text(scan: ScanRecord | None) -> str:
    if scan is None:
        return "none"
    return scan.decision + (f" ({', '.join(scan.blocking)})" if scan.blocking else "")


def _file_text(f: LockedFile) -> str:
    version = f", version {f.version_id}" if f.version_id else ""
    digest = f"sha256 {f.sha256[:12]}" if f.sha256 is not None else f"{len(f.parts)} part sha256s"
    return f"{f.size:,} bytes, {digest}{version}"


def diff_locks(old: Lock, new: Lock) -> list[str]:
    """Human-readable lines: `+` added, `-` removed, `~` changed; empty when equal."""
    lines: list[str] = []
    for key in sorted(set(old.sources) | set(new.sources)):
        before, after = old.sources.get(key), new.sources.get(key)
        if before is None and after is not None:
            lines.append(f"+ {key} @ {_short(after.revision)} ({len(after.files)} files)")
            continue
        if after is None and before is not None:
            lines.append(f"- {key} @ {_short(before.revision)} ({len(before.files)} files)")
            continue
        assert before is not None and after is not None
        if before == after:
            continue
        lines.append(f"~ {key}")
        if before.revision != after.revision:
            lines.append(f"    revision: {before.revision or 'none'} -> {after.revision or 'none'}")
        if before.repo_id != after.repo_id:
            lines.append(f"    repo_id: {before.repo_id or 'none'} -> {after.repo_id or 'none'}")
        if before.signer != after.signer:
            lines.append(f"    signer: {before.signer or 'none'} -> {after.signer or 'none'}")
        if before.scan != after.scan:
            was, now = (_scan_text(s) for s in (before.scan, after.scan))
            lines.append(f"    scan: {was} -> {now}")
        if before.origin != after.origin:
            was, now = (f"{o.repo}@{o.commit[:12]}" if o else "none" for o in (before.origin, after.origin))
            lines.append(f"    origin: {was} -> {now}")
        for name in sorted(set(before.files) | set(after.files)):
            fb, fa = before.files.get(name), after.files.get(name)
            if fb is None and fa is not None:
                lines.append(f"    + {name} ({_file_text(fa)})")
            elif fa is None and fb is not None:
                lines.append(f"    - {name} ({_file_text(fb)})")
            elif fa != fb and fa is not None and fb is not None:
                lines.append(f"    ~ {name}: {_file_text(fb)} -> {_file_text(fa)}")
    return lines
