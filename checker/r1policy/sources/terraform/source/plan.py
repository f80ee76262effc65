"""A Terraform module evaluated from source, shaped like a plan (`tf_plan.Plan` / `Resource`), so that the
plan reader's SageMaker shapes (`terraform.loaded_from_plan`) and bucket facts (`tf_buckets`) apply
unchanged. Every resource counts as created; a value the files do not decide is an `Unknown` in place."""

from __future__ import annotations

from typing import Any

from r1policy.core.errors import Position
from r1policy.core.findings import Location
from r1policy.sources.cloudformation.values import Unknown, iter_unknowns
from r1policy.sources.terraform.plan import AttrPath, Plan, Resource
from r1policy.sources.terraform.source.module import Instance


class SourceResource(Resource):
    def __init__(self, plan: SourcePlan, inst: Instance) -> None:  # no plan JSON to read: no super().__init__
        self.plan = plan
        self.inst = inst
        self.address = inst.address
        self.type = inst.type
        self.module = inst.address.rsplit(".", 2)[0] if inst.address.startswith("module.") else ""
        self.actions = ("create",)
        self.after = inst.after
        self.after_unknown = {}
        self.base = ()
        self.config = None

    def location(self, path: AttrPath) -> Location:
        for end in range(len(path), 0, -1):
            where = self.inst.positions.get(path[:end])
            if where is not None:
                return where
        return self.inst.where

    def position(self, path: AttrPath) -> Position:
        where = self.location(path)
        return Position(where.path, where.line, where.column)

    def _walk(self, path: tuple[str | int, ...]) -> Any:
        value: Any = self.after
        for key in path:
            if isinstance(value, Unknown):
                return value
            if isinstance(key, int):
                value = value[key] if isinstance(value, list) and -len(value) <= key < len(value) else None
            else:
                value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                return None
        return value

    def get(self, *path: str | int) -> Any:
        value = self._walk(path)
        return None if isinstance(value, Unknown) else value

    def is_unknown(self, *path: str | int) -> bool:
        return isinstance(self._walk(path), Unknown)

    def value(self, *path: str | int) -> Any:
        return self._walk(path)

    def references(self, path: AttrPath) -> list[str]:
        found: set[str] = set(self.inst.refs.get(path, frozenset()))
        for unknown in iter_unknowns(self._walk(path)):
            found |= unknown.refs
        return sorted(a for a in found if a in self.plan.by_address and a != self.address)


class SourcePlan(Plan):
    def __init__(self, instances: list[Instance], region: str | None) -> None:
        self.configuration = {}
        self.provider_region = region
        self.resources: list[Resource] = []
        self.by_address: dict[str, Resource] = {}
        for inst in instances:
            res = SourceResource(self, inst)
            self.resources.append(res)
            self.by_address[res.address] = res

    def region(self, res: Resource) -> str | None:
        own = res.get("region")
        return own if isinstance(own, str) and own else self.provider_region
