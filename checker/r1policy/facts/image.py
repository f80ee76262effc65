"""Container image references: registry, tag and digest (R1-EP-007)."""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

from r1policy.core.record import frozen_record

_VERSION_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)?([.-][0-9A-Za-z.-]+)?$")
_FLOATING = {"latest", "stable", "main", "master", "nightly", "edge", "dev"}


@frozen_record
class ImageRef:
    """A container image URI split into registry, repository, tag and digest."""

    uri: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def tag_kind(self) -> str:
        if self.tag is None:
            return "missing"
        if self.tag.lower() in _FLOATING:
            return "latest"
        if _VERSION_TAG.match(self.tag):
            return "version"
        return "other"


@lru_cache(maxsize=4096)  # a pure function of the text; deployments share a few images
def parse_image(uri: str) -> ImageRef:
    rest = uri.strip()
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    tag = None
    name, sep, maybe_tag = path.rpartition(":")
    if sep and "/" not in maybe_tag:
        path, tag = name, maybe_tag
    return ImageRef(uri=uri, registry=registry, repository=path, tag=tag, digest=digest)


def registry_approved(registry: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(registry, p) for p in patterns)
