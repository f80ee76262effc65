"""Scan targets as lists of top-level files: local files and folders, `s3://bucket/prefix` (objects
streamed with boto3, S3 SHA-256 checksums used when present) and `hf://org/repo@rev` (metadata and
LFS SHA-256 through r1policy.hub, files streamed over HTTP). Nothing is downloaded to disk."""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1policy.artifacts import ArtifactError
from r1policy.artifacts.hashing import RawStream
from r1policy.artifacts.model import Expected
from r1policy.artifacts.scanner import ReadFailure, SourceFile

_SKIP_DIRS = {".git", ".hg", ".svn", "__MACOSX"}


@dataclass
class Target:
    text: str  # as given on the command line
    kind: str  # "file", "s3", "hf"
    files: list[SourceFile] = field(default_factory=list)
    local: Path | None = None
    revision: str | None = None  # Hub commit
    repo_id: str | None = None
    repo: str | None = None
    bucket: str | None = None
    prefix: str = ""


def resolve(text: str) -> Target:
    if text.startswith("s3://"):
        return _s3(text)
    if text.startswith("hf://"):
        return _hub(text)
    return _local(text)


# --- local ---------------------------------------------------------------------------------------


def _local(text: str) -> Target:
    root = Path(text)
    if not root.exists():
        raise ArtifactError(f"{text}: no such file or folder")
    target = Target(text, "file", local=root)
    if root.is_file():
        target.files.append(_local_file(root, root.name, str(root)))
        return target
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_file():
                continue  # dangling links, sockets
            rel = path.relative_to(root).as_posix()
            target.files.append(_local_file(path, rel, str(path)))
    return target


def _local_file(path: Path, rel: str, display: str) -> SourceFile:
    def opener() -> contextlib.AbstractContextManager[RawStream]:
        return path.open("rb", buffering=0)

    return SourceFile(
        path=display,
        rel=rel,
        size=path.stat().st_size,
        open=opener,
        reopen=lambda: path.open("rb", buffering=0),
        location=display,
    )


# --- S3 ------------------------------------------------------------------------------------------


def _s3_client() -> Any:
    import boto3

    return boto3.session.Session().client("s3")


def _s3(text: str) -> Target:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = text[len("s3://") :].partition("/")
    if not bucket:
        raise ArtifactError(f"{text}: no bucket name")
    target = Target(text, "s3", bucket=bucket, prefix=prefix)
    client = _s3_client()
    try:
        keys: list[dict[str, Any]] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(page.get("Contents", []))
    except (ClientError, BotoCoreError) as exc:
        raise ArtifactError(f"{text}: cannot list objects: {exc}") from exc
    exact = [k for k in keys if k["Key"] == prefix]
    if exact:
        keys = exact
    elif prefix and not prefix.endswith("/"):
        keys = [k for k in keys if k["Key"].startswith(prefix + "/")]
    if not keys:
        raise ArtifactError(f"{text}: no objects under this prefix")
    base = prefix if prefix.endswith("/") or not prefix or exact else prefix + "/"
    for obj in keys:
        key = obj["Key"]
        if key.endswith("/") and obj.get("Size", 0) == 0:
            continue  # a folder marker
        rel = key.rsplit("/", 1)[-1] if exact else key[len(base) :]
        target.files.append(_s3_file(client, bucket, key, rel, int(obj.get("Size", 0))))
    return target


def _s3_file(client: Any, bucket: str, key: str, rel: str, size: int) -> SourceFile:
    from botocore.exceptions import BotoCoreError, ClientError

    expected: list[Expected] = []
    version: str | None = None
    try:
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except (ClientError, BotoCoreError):
        head = {}
    version = head.get("VersionId") if head.get("VersionId") not in (None, "null") else None
    checksum = head.get("ChecksumSHA256")
    if checksum and "-" not in checksum and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        expected.append(Expected(base64.b64decode(checksum).hex(), "the S3 object's ChecksumSHA256"))
    source = s3_source(client, bucket, key, rel, size, version, expected)
    # a COMPOSITE checksum (`<base64>-<parts>`) is verified part by part (r1policy.artifacts.s3tasks)
    source.s3_composite = bool(checksum) and ("-" in checksum or head.get("ChecksumType") == "COMPOSITE")
    return source


def s3_source(
    client: Any, bucket: str, key: str, rel: str, size: int, version: str | None, expected: list[Expected]
) -> SourceFile:
    """An object as a SourceFile read by one GET of its whole body (at `version` when given)."""
    from botocore.exceptions import BotoCoreError, ClientError

    extra = {"VersionId": version} if version else {}

    @contextlib.contextmanager
    def opener() -> Iterator[RawStream]:
        try:
            body = client.get_object(Bucket=bucket, Key=key, **extra)["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise ReadFailure(str(exc)) from exc
        try:
            yield Translate(body)
        finally:
            body.close()

    return SourceFile(
        path=f"s3://{bucket}/{key}",
        rel=rel,
        size=size,
        open=opener,  # one GET: a zip is read forward and checked against its central directory
        expected=expected,
        version_id=version,
        s3=(bucket, key),
    )


class Translate:
    """A botocore streaming body whose read errors become ReadFailure."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def close(self) -> None:
        self._body.close()

    def read(self, n: int = -1, /) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            data: bytes = self._body.read(None if n < 0 else n)
        except (ClientError, BotoCoreError, OSError) as exc:
            raise ReadFailure(str(exc)) from exc
        return data


# --- Hugging Face Hub ------------------------------------------------------------------------------


def _hub(text: str) -> Target:
    from r1policy.hub.client import HubClient
    from r1policy.hub.errors import HubError

    spec = text[len("hf://") :]
    repo, _, revision = spec.partition("@")
    if repo.count("/") != 1:
        raise ArtifactError(f"{text}: expected hf://org/repo@revision")
    from r1policy.core.repoid import repo_id_problem

    problem = repo_id_problem(repo)
    if problem is not None:
        raise ArtifactError(f"{text}: {problem}")
    client = HubClient()
    try:
        record = client.lookup(repo, revision or None).record
    except HubError as exc:
        raise ArtifactError(f"{text}: {exc}") from exc
    if not record.files:
        raise ArtifactError(f"{text}: the Hub lists no files at commit {record.sha}: nothing to scan")
    target = Target(text, "hf", repo=repo, revision=record.sha, repo_id=record.repo_id)
    client.api()  # configures the shared HTTP session (timeouts)
    for hub_file in sorted(record.files, key=lambda f: f.path):
        expected = [Expected(hub_file.lfs_sha256, "the Hub's LFS sha256")] if hub_file.lfs_sha256 else []
        target.files.append(
            SourceFile(
                path=f"hf://{repo}@{record.sha}/{hub_file.path}",
                rel=hub_file.path,
                size=hub_file.size,
                open=_hub_opener(client, repo, record.sha, hub_file.path),
                expected=expected,
            )
        )
    return target


def _hub_opener(client: Any, repo: str, sha: str, path: str) -> Any:
    @contextlib.contextmanager
    def opener() -> Iterator[RawStream]:
        import httpx2
        from huggingface_hub import get_session, hf_hub_url
        from huggingface_hub.utils._headers import build_hf_headers

        if client.offline:
            raise ReadFailure(f"hf://{repo}@{sha}/{path}: HF_HUB_OFFLINE is set, the file cannot be streamed")
        url = hf_hub_url(repo, path, revision=sha, endpoint=client.endpoint)
        headers = build_hf_headers(token=client.token or None)
        with contextlib.ExitStack() as stack:
            try:
                response = stack.enter_context(
                    get_session().stream("GET", url, headers=headers, follow_redirects=True)
                )
            except httpx2.HTTPError as exc:
                raise ReadFailure(f"{url}: {exc}") from exc
            if response.status_code != 200:
                raise ReadFailure(f"HTTP {response.status_code} for {url}")
            yield _HttpStream(response.iter_bytes(1024 * 1024), httpx2.HTTPError)

    return opener


class _HttpStream:
    def __init__(self, chunks: Iterator[bytes], errors: type[Exception]) -> None:
        self._chunks = chunks
        self._errors = errors
        self._buffer = b""

    def read(self, n: int = -1, /) -> bytes:
        parts = [self._buffer]
        have = len(self._buffer)
        try:
            while n < 0 or have < n:
                chunk = next(self._chunks, b"")
                if not chunk:
                    break
                parts.append(chunk)
                have += len(chunk)
        except self._errors as exc:
            raise ReadFailure(f"download interrupted: {exc}") from exc
        self._buffer = b"".join(parts)
        if n < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data
