"""`r1policy lock TARGET ...`: write or update r1policy.lock.

`hf://org/repo[@revision]` (no revision: the default branch) is resolved to its commit through the Hub;
every file's size and SHA-256 comes from the Hub's LFS metadata, small non-LFS files are downloaded and
hashed (at most `MAX_SMALL_FILE_BYTES` each). `s3://bucket/prefix` lists the objects under the prefix
(read-only) and records each object's version and SHA-256 (the object's full-object ChecksumSHA256 when
S3 has one, else the bytes read and hashed).

A source that is already locked with different content is replaced only with `--update`; what changes
is printed as a diff either way. The file is written atomically, deterministically.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import sys
from pathlib import Path
from typing import Any

from r1policy.core.errors import UsageError
from r1policy.core.repoid import repo_id_problem
from r1policy.hub.client import HubClient
from r1policy.project.lockfile import (
    Lock,
    LockedFile,
    LockedSource,
    Origin,
    diff_locks,
    hub_key,
    load_lock,
    merge,
    s3_key_from_uri,
    write_lock,
)

_HUB_TARGET = re.compile(r"^hf://(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<rev>[^\s@]+))?/?$")


def run_lock(args: argparse.Namespace) -> int:
    if not args.targets:
        raise UsageError("r1policy lock: name at least one TARGET (hf://org/repo@rev or s3://bucket/prefix)")
    path: Path = args.lock
    given = _parse_origin(args.origin, args.targets)
    old = load_lock(path) if path.is_file() else Lock(sources={})
    new_sources: dict[str, LockedSource] = {}
    client: HubClient | None = None
    for target in args.targets:
        if target.startswith("hf://"):
            client = client or HubClient()
            key, source = lock_hub(client, target)
        elif target.startswith("s3://"):
            key, source = lock_s3(target)
        else:
            raise UsageError(
                f"r1policy lock: {target!r} is not an hf://org/repo[@rev] or s3://bucket/prefix target"
            )
        new_sources[key] = source
    if client is not None:
        client.close()
    new_sources = _with_origins(new_sources, old, given)
    changed = [
        key for key, source in new_sources.items() if key in old.sources and old.sources[key] != source
    ]
    new = merge(old, Lock(sources=new_sources))
    lines = diff_locks(old, new)
    if changed and not args.update:
        print("\n".join(lines), file=sys.stderr)
        raise UsageError(
            f"{path}: {', '.join(changed)} is already locked with different content (shown above); "
            "review the change and re-run with --update to replace it"
        )
    if not lines:
        print(f"{path}: up to date ({len(new.sources)} sources)")
        return 0
    write_lock(path, new)
    print("\n".join(lines))
    print(f"{path}: written ({len(new.sources)} sources)")
    return 0


def lock_hub(client: HubClient, target: str) -> tuple[str, LockedSource]:
    match = _HUB_TARGET.match(target)
    if not match:
        raise UsageError(f"r1policy lock: {target!r} is not hf://org/repo[@revision]")
    repo, revision = match.group("repo"), match.group("rev")
    problem = repo_id_problem(repo)
    if problem is not None:
        raise UsageError(f"r1policy lock: {target!r}: {problem}")
    found = client.lookup(repo, revision)
    record = found.record
    files: dict[str, LockedFile] = {}
    for hub_file in record.files:
        if hub_file.lfs_sha256 and hub_file.size is not None:
            files[hub_file.path] = LockedFile(size=hub_file.size, sha256=hub_file.lfs_sha256)
        else:
            digest, size = client.file_digest(repo, record.sha, hub_file)
            files[hub_file.path] = LockedFile(size=size, sha256=digest)
    return hub_key(repo), LockedSource(revision=record.sha, repo_id=record.repo_id, files=files)


def lock_s3(target: str) -> tuple[str, LockedSource]:
    """Every object under the prefix: size, version and SHA-256 (read-only: List, Head, Get)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from r1policy.aws.errors import CollectorError
    from r1policy.aws.session import open_accounts

    key = s3_key_from_uri(target)
    bucket, _, prefix = key[len("s3://") :].partition("/")
    account = open_accounts()[0]
    s3 = account.client("s3")
    files: dict[str, LockedFile] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = str(obj["Key"])[len(prefix) :]
                if not name or name.endswith("/"):
                    continue
                files[name] = _s3_object(s3, bucket, str(obj["Key"]))
    except (ClientError, BotoCoreError) as exc:
        raise CollectorError(f"{target}: cannot list and read the objects: {exc}") from exc
    if not files:
        raise UsageError(f"r1policy lock: {target}: no objects under this prefix")
    return key, LockedSource(files=files)


def _s3_object(s3: Any, bucket: str, key: str) -> LockedFile:
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    version = head.get("VersionId")
    version = None if version in (None, "null") else str(version)
    checksum = head.get("ChecksumSHA256")
    if checksum and "-" not in checksum and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        digest = base64.b64decode(checksum).hex()
    else:
        extra = {"VersionId": version} if version else {}
        body = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]
        hasher = hashlib.sha256()
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            hasher.update(chunk)
        digest = hasher.hexdigest()
    return LockedFile(size=int(head["ContentLength"]), sha256=digest, version_id=version)


_ORIGIN = re.compile(r"^hf://(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)@(?P<commit>[0-9a-f]{40})$")


def _parse_origin(origin: str | None, targets: list[str]) -> Origin | None:
    """`--origin hf://org/repo@<commit>`, checked before anything is read."""
    if origin is None:
        return None
    match = _ORIGIN.match(origin)
    if match is None or repo_id_problem(match.group("repo")) is not None:
        raise UsageError(f"--origin {origin!r}: expected hf://org/repo@<40-hex commit SHA>")
    if not any(t.startswith("s3://") for t in targets):
        raise UsageError("--origin records where an s3:// copy came from: name an s3:// TARGET")
    return Origin(match.group("repo"), match.group("commit"))


def _with_origins(
    sources: dict[str, LockedSource], old: Lock, given: Origin | None
) -> dict[str, LockedSource]:
    """The Hub repository the S3 targets were copied from (their lineage, R1-LIC-001 and `bom`); without
    --origin, an origin already recorded for a source is kept."""
    from dataclasses import replace

    out = {}
    for key, source in sources.items():
        before = old.sources.get(key)
        if given is not None and key.startswith("s3://"):
            source = replace(source, origin=given)
        elif source.origin is None and before is not None and before.origin is not None:
            source = replace(source, origin=before.origin)
        out[key] = source
    return out
