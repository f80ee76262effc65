"""r1policy.lock on the artifact side: expected digests per scanned file, the file set compared with
the locked one, and the lock entries `scan --write-lock` records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from r1policy.artifacts.model import Expected, FileFacts
from r1policy.artifacts.scanner import FileResult
from r1policy.artifacts.targets import Target
from r1policy.core.findings import Finding, SubjectType
from r1policy.project.lockfile import LockedFile, LockedSource, ScanRecord, file_key, hub_key, s3_key


def source_key(target: Target, lock_path: Path) -> str:
    if target.kind == "s3":
        return s3_key(target.bucket or "", target.prefix)
    if target.kind == "hf":
        return hub_key(target.repo or "")
    assert target.local is not None
    return file_key(target.local, lock_path)


def expect_locked(target: Target, locked: LockedSource, lock_path: Path) -> None:
    for src in target.files:
        entry = locked.files.get(src.rel)
        if entry is None:
            continue
        if entry.sha256 is not None:
            src.expected.append(Expected(entry.sha256, f"{lock_path}"))
        if entry.parts:
            src.locked_parts = entry.parts
            src.locked_by = str(lock_path)


def set_problems(
    target: Target, results: list[FileResult], locked: LockedSource, lock_path: Path
) -> list[FileFacts]:
    """Files added since the lock get a digest problem; locked files that are gone become subjects."""
    extra: list[FileFacts] = []
    seen = set()
    for result in results:
        seen.add(result.source.rel)
        if result.source.rel not in locked.files:
            result.top.digest_problems.append(f"the file is not recorded in {lock_path}")
    if target.kind == "hf" and locked.revision and target.revision != locked.revision:
        facts = FileFacts(target.text, format="source")
        facts.digest_problems.append(
            f"{lock_path} locks commit {locked.revision}, the scan resolved {target.revision}"
        )
        extra.append(facts)
    base = target.text.rstrip("/")
    for rel in sorted(set(locked.files) - seen):
        facts = FileFacts(f"{base}/{rel}", format="missing")
        facts.digest_problems.append(
            f"{lock_path} records this file ({locked.files[rel].digest_text}) but it is gone"
        )
        extra.append(facts)
    return extra


def locked_source(
    target: Target, results: list[FileResult], signer: str | None = None
) -> LockedSource | None:
    """The lock entry for a fully read target (None when a file could not be read)."""
    files: dict[str, LockedFile] = {}
    for result in results:
        top = result.top
        if top.unreadable or (top.sha256 is None and not top.parts) or top.size is None:
            return None
        files[result.source.rel] = LockedFile(
            size=top.size, sha256=top.sha256, version_id=result.source.version_id, parts=top.parts
        )
    return LockedSource(revision=target.revision, repo_id=target.repo_id, files=files, signer=signer)


def with_verdicts(
    sources: Mapping[str, LockedSource], subjects: Mapping[str, set[str]], findings: list[Finding]
) -> dict[str, LockedSource]:
    """Each new lock entry with the scan's verdict on its files: `block` with the rules of the blocking
    (fail / error, not waived) findings whose subject is one of the source's artifacts, else `allow`."""
    from r1policy import __version__

    out: dict[str, LockedSource] = {}
    for key, source in sources.items():
        mine = subjects.get(key, set())
        blocking = tuple(
            sorted(
                {
                    f.rule_id
                    for f in findings
                    if f.blocks and f.subject.type is SubjectType.ARTIFACT and f.subject.id in mine
                }
            )
        )
        record = ScanRecord("block" if blocking else "allow", blocking, __version__)
        out[key] = replace(source, scan=record)
    return out
