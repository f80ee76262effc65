"""LMI / DJL `serving.properties` inside a `model.tar.gz` (local file or S3 object).

The archive is read as a stream (`tarfile` stream mode, gzip/bzip2/xz/none), member by member, never
extracted to disk and nothing in it executed. Only `serving.properties` at the archive root (the
container unpacks the archive into /opt/ml/model and reads it from there) is read; when several
members have that name the last one wins, as on extraction, so the whole archive is read, within
`Limits`. The settings that name and pin a model (`option.model_id`, `option.revision`,
`option.trust_remote_code`) win over the container environment, as they do in the container.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from r1policy.errors import SourceError
from r1policy.findings import Location

FILENAME = "serving.properties"
_PAIR = re.compile(r"([^=:\s]*)\s*[=:]?\s*(.*)", re.DOTALL)
# serving.properties key -> the container environment variable it stands for (containerenv.py).
ENV_EQUIVALENT = {
    "option.model_id": "OPTION_MODEL_ID",
    "option.revision": "OPTION_REVISION",
    "option.trust_remote_code": "OPTION_TRUST_REMOTE_CODE",
}


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

    def env_overrides(self) -> tuple[dict[str, str], dict[str, Location]]:
        """The model-naming settings as the environment variables they override, with locations."""
        env: dict[str, str] = {}
        where: dict[str, Location] = {}
        for key, var in ENV_EQUIVALENT.items():
            if key in self.values:
                env[var] = self.values[key]
                where[var] = self.location(key)
        return env, where


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
    found: ServingProperties | None = None
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
                if member.name.removeprefix("./") != FILENAME:
                    continue
                if not member.isfile():
                    raise ServingPropertiesError(
                        f"{display}: {member.name} is a link or special file, not a regular file"
                    )
                if member.size > limits.max_properties_bytes:
                    raise ServingPropertiesError(
                        f"{display}: {member.name} is {member.size:,} bytes "
                        f"(limit {limits.max_properties_bytes:,})"
                    )
                handle = archive.extractfile(member)
                if handle is None:  # pragma: no cover - regular files always have data
                    continue
                data = handle.read(limits.max_properties_bytes + 1)
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ServingPropertiesError(f"{display}: {member.name} is not valid UTF-8") from exc
                found = parse_properties(text, f"{display}!/{FILENAME}")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ServingPropertiesError(f"{display}: not a readable tar archive ({exc})") from exc
    return found


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


def merged_env(
    env: Mapping[str, str], env_locations: Mapping[str, Location], props: ServingProperties
) -> tuple[dict[str, str], dict[str, Location]]:
    """The environment as the container sees it once serving.properties wins over env."""
    from r1policy.sources.containerenv import MODEL_ID_VARS, REVISION_VARS, TRUST_VARS

    groups = {
        "OPTION_MODEL_ID": MODEL_ID_VARS,
        "OPTION_REVISION": REVISION_VARS,
        "OPTION_TRUST_REMOTE_CODE": TRUST_VARS,
    }
    overrides, where = props.env_overrides()
    out = dict(env)
    locs = dict(env_locations)
    for var, value in overrides.items():
        for replaced in groups[var]:
            out.pop(replaced, None)
            locs.pop(replaced, None)
        out[var] = value
        locs[var] = where[var]
    return out, locs
