"""A Terraform plan's resources: planned values, what is known only after apply, configuration references."""

from __future__ import annotations

import re
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.yamldoc import Document, JsonPath
from r1policy.sources.cloudformation.values import Unknown

_INDEX = re.compile(r"\[[^\]]*\]")
AttrPath = tuple[str | int, ...]


class Resource:
    """One entry of `resource_changes`."""

    def __init__(self, plan: Plan, index: int, raw: dict[str, Any]) -> None:
        self.plan = plan
        self.address = str(raw.get("address", ""))
        self.type = str(raw.get("type", ""))
        self.module = str(raw.get("module_address", ""))
        change = raw.get("change") or {}
        self.actions = tuple(change.get("actions") or ())
        after = change.get("after")
        self.after: dict[str, Any] = after if isinstance(after, dict) else {}
        unknown = change.get("after_unknown")
        self.after_unknown: Any = unknown if isinstance(unknown, dict | bool) else {}
        self.base: JsonPath = ("resource_changes", index, "change", "after")
        self.config = plan.config_of(self.module, f"{self.type}.{raw.get('name', '')}")

    @property
    def created(self) -> bool:
        return "create" in self.actions

    def position(self, path: AttrPath) -> Position:
        return self.plan.doc.position((*self.base, *path), key=True)

    def get(self, *path: str | int) -> Any:
        value: Any = self.after
        for key in path:
            if isinstance(key, int):
                value = value[key] if isinstance(value, list) and key < len(value) else None
            else:
                value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                return None
        return value

    def has(self, *path: str | int) -> bool:
        return self.get(*path) is not None or self.is_unknown(*path)

    def is_unknown(self, *path: str | int) -> bool:
        marker: Any = self.after_unknown
        for key in path:
            if marker is True:
                return True
            if isinstance(key, int):
                marker = marker[key] if isinstance(marker, list) and key < len(marker) else None
            else:
                marker = marker.get(key) if isinstance(marker, dict) else None
            if marker is None:
                return False
        return marker is True

    def value(self, *path: str | int) -> Any:
        """The planned value, `Unknown` where it is known only after apply (also inside maps and lists)."""
        if self.is_unknown(*path) and self.get(*path) is None:
            return self._unknown(path)
        value = self.get(*path)
        if isinstance(value, dict):
            keys = set(value)
            marker = self._marker(path)
            if isinstance(marker, dict):
                keys |= {k for k, v in marker.items() if v is True}
            return {k: self.value(*path, k) for k in sorted(keys)}
        if isinstance(value, list):
            return [self.value(*path, i) for i in range(len(value))]
        return value

    def _marker(self, path: AttrPath) -> Any:
        marker: Any = self.after_unknown
        for key in path:
            if isinstance(marker, dict) and isinstance(key, str):
                marker = marker.get(key)
            elif isinstance(marker, list) and isinstance(key, int) and key < len(marker):
                marker = marker[key]
            else:
                return None
        return marker

    def _unknown(self, path: AttrPath) -> Unknown:
        attr = ".".join(str(p) for p in path if isinstance(p, str))
        refs = frozenset(self.references(path))
        buckets = sorted(
            r for r in refs if self.plan.by_address.get(r) and self.plan.by_address[r].type == "aws_s3_bucket"
        )
        why = f"{self.address}.{attr} is known only after apply"
        if path and path[-1] in ("s3_uri", "model_data_url", "bucket") and len(buckets) == 1:
            name = self.plan.bucket_name(self.plan.by_address[buckets[0]])
            shown = name if path[-1] == "bucket" else f"s3://{name}/…"
            return Unknown(shown, why, refs)
        return Unknown(f"${{{self.address}.{attr}}}", why, refs)

    def references(self, path: AttrPath) -> list[str]:
        """Addresses of the resources that the configuration expression at `path` refers to."""
        expr: Any = self.config.get("expressions", {}) if self.config else {}
        for key in path:
            if isinstance(key, int):
                expr = (
                    expr[key]
                    if isinstance(expr, list) and key < len(expr)
                    else (expr if isinstance(expr, dict) else None)
                )
            else:
                expr = expr.get(key) if isinstance(expr, dict) else None
            if expr is None:
                return []
        found: list[str] = []
        for ref in expr.get("references", []) if isinstance(expr, dict) else []:
            parts = _INDEX.sub("", str(ref)).split(".")
            if len(parts) >= 2:
                found.extend(self.plan.instances(self.module, f"{parts[0]}.{parts[1]}"))
        return sorted(set(found))


class Plan:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        config = doc.value.get("configuration")
        self.configuration: dict[str, Any] = config if isinstance(config, dict) else {}
        changes = doc.value.get("resource_changes", [])
        if not isinstance(changes, list):
            raise InputError(doc.position(("resource_changes",)), "resource_changes must be a list")
        self.resources: list[Resource] = []
        self.by_address: dict[str, Resource] = {}
        for i, raw in enumerate(changes):
            if not isinstance(raw, dict):
                raise InputError(doc.position(("resource_changes", i)), "a resource change must be an object")
            if raw.get("mode", "managed") != "managed":
                continue
            res = Resource(self, i, raw)
            if res.actions == ("delete",):
                continue
            self.resources.append(res)
            self.by_address[res.address] = res

    def config_of(self, module: str, address: str) -> dict[str, Any] | None:
        node: Any = self.configuration.get("root_module", {})
        for name in re.findall(r"module\.([^.\[]+)", module):
            node = (
                (node.get("module_calls", {}).get(name) or {}).get("module", {})
                if isinstance(node, dict)
                else {}
            )
        for res in node.get("resources", []) if isinstance(node, dict) else []:
            if isinstance(res, dict) and res.get("address") == address:
                return res
        return None

    def instances(self, module: str, address: str) -> list[str]:
        prefix = f"{module}." if module else ""
        full = prefix + address
        return [
            a
            for a in self.by_address
            if a == full or (a.startswith(full + "[") and a.count(".") == full.count("."))
        ]

    def link(
        self, res: Resource, path: AttrPath, target: str | tuple[str, ...], names: dict[str, str]
    ) -> Any:
        """The API name of the resource that the attribute names: its value, or else its reference."""
        value = res.value(*path)
        if isinstance(value, str):
            return value
        types = (target,) if isinstance(target, str) else target
        targets = [a for a in res.references(path) if self.by_address[a].type in types]
        if len(targets) == 1 and targets[0] in names:
            return names[targets[0]]
        return value.display if isinstance(value, Unknown) else value

    def bucket_name(self, bucket: Resource) -> str:
        name = bucket.get("bucket")
        return name if isinstance(name, str) and name else f"${{{bucket.address}.bucket}}"

    def region(self, res: Resource) -> str | None:
        own = res.get("region")
        if isinstance(own, str) and own:
            return own
        providers = self.configuration.get("provider_config", {})
        key = (res.config or {}).get("provider_config_key", "aws")
        provider = providers.get(key) or providers.get(str(key).split(":")[-1])
        if provider is None and len(providers) == 1:
            provider = next(iter(providers.values()))
        region = ((provider or {}).get("expressions", {}).get("region") or {}).get("constant_value")
        return region if isinstance(region, str) and region else None
