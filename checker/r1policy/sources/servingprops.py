"""LMI / DJL `serving.properties` inside a `model.tar.gz` (local file or S3 object).

The archive is read as a stream (`tarfile` stream mode, gzip/bzip2/xz/none), member by member, never
extracted to disk and nothing in it executed. The container unpacks the archive into /opt/ml/model
and DJL reads `serving.properties` from its model folder: the archive root, or — when the root holds
exactly one entry whose name does not start with a dot and that entry is a folder (`mymodel/`, as
notebooks and CDK apps build archives) — that folder (DJL's `Utils.getNestedModelDir`, one level).
When several members have the chosen name the last one wins, as on extraction, so the whole archive
is read, within `Limits`. The settings that name and pin a model (`option.model_id`,
`option.revision`, `option.trust_remote_code`) win over the container environment, as they do in the
container (`sources.servers`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from r1policy.core.errors import SourceError
from r1policy.core.findings import Location

if TYPE_CHECKING:
    import tarfile

FILENAME = "serving.properties"
_PAIR = re.compile(r"([^=:\s]*)\s*[=:]?\s*(.*)", re.DOTALL)


class ServingPropertiesError(SourceError):
    """A model.tar.gz could not be read, or its serving.properties cannot be trusted."""


@dataclass(frozen=True)
class Limits:
    max_archive_bytes: int = 4 * 1024**3  # decompressed bytes streamed through before giving up
    max_members: int = 100_000
    max_properties_bytes: int = 64 * 1024


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ServingProperties:
    source: str  # e.g. "s3://bucket/model.tar.gz!/serving.properties"
    values: dict[str, str]
    lines: dict[str, int] = field(default_factory=dict)

    def location(self, key: str) -> Location:
        return Location(self.source, self.lines.get(key))


def parse_properties(text: str, source: str) -> ServingProperties:
    """Java .properties: `key=value`, `key: value` or `key value`; `#`/`!` comments; `\\` continues."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip()
        if not pending and (not line or line[0] in "#!"):
            continue
        if not pending:
            start = number
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending += line[:-1]
            continue
        logical, pending = pending + line, ""
        key, value = _split(logical)
        values[key] = value
        lines[key] = start
    if pending:
        key, value = _split(pending)
        values[key] = value
        lines[key] = start
    return ServingProperties(source, values, lines)


def _split(logical: str) -> tuple[str, str]:
    """Key up to the first `=`, `:` or blank; then blanks, at most one `=`/`:`, blanks, the value."""
    found = _PAIR.match(logical)
    assert found is not None  # the pattern matches every string
    return found.group(1), found.group(2).strip()


def read_from_archive(
    stream: IO[bytes], display: str, *, limits: Limits = DEFAULT_LIMITS
) -> ServingProperties | None:
    """serving.properties of a tar archive read from `stream` (sequential reads only), or None."""
    import tarfile  # only when an archive is read: it imports shutil, bz2 and lzma (cold start)

    layout = _Layout()
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for count, member in enumerate(archive, start=1):
                if count > limits.max_members:
                    raise ServingPropertiesError(f"{display}: more than {limits.max_members:,} members")
                if member.offset_data + member.size > limits.max_archive_bytes:
                    raise ServingPropertiesError(
                        f"{display}: archive is larger than {limits.max_archive_bytes:,} bytes unpacked; "
                        "a later member could still replace serving.properties"
                    )
                name = layout.add(member)
                if name is None or posixpath.basename(name) != FILENAME or name.count("/") > 1:
                    continue
                layout.found[name] = _read_member(archive, member, name, display, limits)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ServingPropertiesError(f"{display}: not a readable tar archive ({exc})") from exc
    return layout.chosen(display)


class _Layout:
    """The archive's top-level entries, to find the folder DJL takes as the model folder."""

    def __init__(self) -> None:
        self.top: dict[str, str] = {}  # visible top-level name -> "dir", "file" or "link"
        self.found: dict[str, ServingProperties] = {}

    def add(self, member: tarfile.TarInfo) -> str | None:
        name = posixpath.normpath(member.name.lstrip("/"))
        if name in (".", "") or name.startswith(".."):
            return None
        head, sep, _ = name.partition("/")
        if not head.startswith("."):
            kind = "dir" if sep or member.isdir() else "link" if member.issym() or member.islnk() else "file"
            if self.top.get(head) != "dir":
                self.top[head] = kind
        return name

    def chosen(self, display: str) -> ServingProperties | None:
        folder = ""
        if len(self.top) == 1:
            ((only, kind),) = self.top.items()
            if kind == "link":
                raise ServingPropertiesError(
                    f"{display}: the archive's only entry {only} is a link; DJL would take the folder it "
                    "points to as the model folder, which r1policy cannot follow"
                )
            folder = only + "/" if kind == "dir" else ""
        return self.found.get(folder + FILENAME)


def _read_member(
    archive: tarfile.TarFile, member: tarfile.TarInfo, name: str, display: str, limits: Limits
) -> ServingProperties:
    if not member.isfile():
        raise ServingPropertiesError(
            f"{display}: {member.name} is a link or special file, not a regular file"
        )
    if member.size > limits.max_properties_bytes:
        raise ServingPropertiesError(
            f"{display}: {member.name} is {member.size:,} bytes (limit {limits.max_properties_bytes:,})"
        )
    handle = archive.extractfile(member)
    data = handle.read(limits.max_properties_bytes + 1) if handle is not None else b""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServingPropertiesError(f"{display}: {member.name} is not valid UTF-8") from exc
    return parse_properties(text, f"{display}!/{name}")


def read_local_serving_properties(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> ServingProperties | None:
    try:
        with path.open("rb") as handle:
            return read_from_archive(handle, str(path), limits=limits)
    except FileNotFoundError as exc:
        raise ServingPropertiesError(f"{path}: model archive not found") from exc


def read_s3_serving_properties(
    s3_client: Any, uri: str, *, limits: Limits = DEFAULT_LIMITS
) -> ServingProperties | None:
    """Stream s3://bucket/key through the tar reader with a read-only GetObject."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ServingPropertiesError(f"{uri}: not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return read_from_archive(body, uri, limits=limits)
        finally:
            body.close()
    except (ClientError, BotoCoreError) as exc:
        raise ServingPropertiesError(f"{uri}: cannot read the model archive: {exc}") from exc
