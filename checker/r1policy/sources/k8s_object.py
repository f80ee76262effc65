"""What the Kubernetes readers need of one object of a manifest: its value, positions for findings,
errors naming file and line, values at a path, its name and its containers' environment. The object
type lives with the reader (`kubernetes._Object`); this protocol keeps the readers free of it."""

from __future__ import annotations

from typing import Any, Protocol

from r1policy.core.errors import InputError
from r1policy.core.findings import Location
from r1policy.core.yamldoc import Document, JsonPath


class Manifest(Protocol):
    """One Kubernetes object as the pod readers see it (`kubernetes._Object` is one)."""

    value: dict[str, Any]
    doc: Document

    def loc(self, *path: str | int) -> Location: ...

    def fail(self, path: JsonPath, message: str) -> InputError: ...

    def at(self, path: JsonPath) -> Any: ...

    def name(self) -> str: ...

    def read_env(self, path: JsonPath, listed: Any) -> tuple[dict[str, str], dict[str, Location]]: ...
