"""One Terraform module evaluated from its source: variables, locals, resources (with count / for_each),
local child modules (inputs and outputs), data sources and the AWS provider's region.

`Module(folder, prefix, inputs, notes)` is the module; `instances()` yields every resource instance of it
and its local child modules, each with its evaluated attributes (`after`, shaped like a plan's: nested
blocks as lists of objects), where each attribute was written, and which resources each refers to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Location
from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.terraform.source.expr import Evaluator, apply_steps
from r1policy.sources.terraform.source.hcl import Attr, Block, read_module

AttrPath = tuple[str | int, ...]
MAX_MODULE_DEPTH = 12
_META = {"count", "for_each", "provider", "depends_on"}
_SKIP_BLOCKS = {"lifecycle", "provisioner", "connection"}
# Attributes a resource has once created, derived from its arguments.
_DERIVED: dict[str, dict[str, str]] = {
    "aws_s3_bucket": {"id": "bucket", "bucket": "bucket"},
    "aws_sagemaker_model": {"id": "name", "name": "name"},
    "aws_sagemaker_endpoint_configuration": {"id": "name", "name": "name"},
    "aws_sagemaker_endpoint": {"id": "name", "name": "name"},
    "aws_iam_role": {"id": "name", "name": "name"},
}


@dataclass
class Instance:
    address: str
    type: str
    after: dict[str, Any]
    where: Location
    positions: dict[AttrPath, Location] = field(default_factory=dict)
    refs: dict[AttrPath, frozenset[str]] = field(default_factory=dict)


class Module:
    def __init__(
        self, folder: Path, prefix: str, inputs: dict[str, Any] | None, notes: list[str], depth: int = 0
    ) -> None:
        self.folder, self.prefix, self.inputs, self.notes, self.depth = (
            folder,
            prefix,
            inputs or {},
            notes,
            depth,
        )
        files = read_module(folder)
        self.paths = files.paths
        self.variables: dict[str, Block] = {}
        self.locals: dict[str, Attr] = {}
        self.resources: dict[str, Block] = {}
        self.data: set[str] = set()
        self.modules: dict[str, Block] = {}
        self.outputs: dict[str, Attr] = {}
        self.region: Any = None
        self._region_attr: Attr | None = None
        for block in files.blocks:
            self._index(block)
        self._cache: dict[str, Any] = {}
        self._busy: set[str] = set()
        self._children: dict[str, list[tuple[str, Module | None]]] = {}
        region_attr: Attr | None = getattr(self, "_region_attr", None)  # set by _index
        if region_attr is not None:
            self.region = self._evaluate(region_attr)

    def _index(self, block: Block) -> None:
        labels = block.labels
        if block.type == "variable" and labels:
            self.variables[labels[0]] = block
        elif block.type == "locals":
            self.locals.update(block.attrs)
        elif block.type == "resource" and len(labels) == 2:
            self.resources[f"{labels[0]}.{labels[1]}"] = block
        elif block.type == "data" and len(labels) == 2:
            self.data.add(f"{labels[0]}.{labels[1]}")
        elif block.type == "module" and labels:
            self.modules[labels[0]] = block
        elif block.type == "output" and labels and "value" in block.attrs:
            self.outputs[labels[0]] = block.attrs["value"]
        elif (
            block.type == "provider"
            and labels == ["aws"]
            and "alias" not in block.attrs
            and "region" in block.attrs
        ):
            self._region_attr = block.attrs["region"]

    def _evaluate(self, attr: Attr, loop: dict[str, Any] | None = None) -> Any:
        ev: Evaluator = attr.evaluator(self, loop)
        return ev.eval(attr.expr)

    # -- the Scope protocol ----------------------------------------------------------------------
    def resolve(self, root: str, steps: list[Any], ev: Evaluator, node: Any) -> Any:
        if root == "var" and steps:
            return apply_steps(self._variable(str(steps[0]), ev, node), steps[1:], ev, node)
        if root == "local" and steps:
            return apply_steps(self._local(str(steps[0]), ev, node), steps[1:], ev, node)
        if root == "module" and len(steps) >= 2:
            return self._module_output(str(steps[0]), steps[1:], ev, node)
        if root == "data" and len(steps) >= 2:
            if steps[0] == "aws_region" and steps[2:] in (["name"], ["region"], ["id"]):
                if isinstance(self.region, str):
                    return self.region
                # Like CloudFormation's AWS::Region: a registry pattern with `*` still decides.
                why = "is the region Terraform runs in (the aws provider block sets no region)"
                return Unknown("${AWS::Region}", f"{ev.where(node)}: `{ev.display(node)}` {why}")
            return ev.unknown(node, "is a data source, read when Terraform runs")
        if root in ("count", "each"):
            return ev.unknown(node, f"uses {root} outside a resource with {root}")
        if steps and f"{root}.{steps[0]}" in self.resources:
            return self._resource_attr(f"{root}.{steps[0]}", steps[1:], ev, node)
        if root in ("path", "terraform", "self"):
            return ev.unknown(node, "is known only when Terraform runs")
        return ev.unknown(node, "refers to something this module does not define")

    def _variable(self, name: str, ev: Evaluator, node: Any) -> Any:
        if name in self.inputs:
            return self.inputs[name]
        block = self.variables.get(name)
        if block is None:
            return ev.unknown(node, f"refers to variable {name!r}, which the module does not declare")
        if "default" in block.attrs:
            return self._evaluate(block.attrs["default"])
        where = f"{block.where.path}:{block.where.line}"
        return Unknown(
            f"${{var.{name}}}",
            f"variable {name!r} ({where}) has no value: set it in terraform.tfvars, *.auto.tfvars, "
            "--tf-var-file or the calling module",
        )

    def _local(self, name: str, ev: Evaluator, node: Any) -> Any:
        key = f"local.{name}"
        if key in self._cache:
            return self._cache[key]
        attr = self.locals.get(name)
        if attr is None:
            return ev.unknown(node, f"refers to local {name!r}, which the module does not define")
        if key in self._busy:
            return ev.unknown(node, "refers to itself (a cycle)")
        self._busy.add(key)
        try:
            inner: Evaluator = attr.evaluator(self)
            value = inner.eval(attr.expr)
            ev.refs |= inner.refs
        finally:
            self._busy.discard(key)
        self._cache[key] = value
        return value

    # -- resources -------------------------------------------------------------------------------
    def keys_of(self, block: Block) -> list[tuple[str, dict[str, Any]]]:
        """(address suffix, loop variables) per instance: `[0]`, `["key"]`, or "" without count/for_each."""
        if "count" in block.attrs:
            count = self._evaluate(block.attrs["count"])
            if isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= 10_000:
                return [(f"[{i}]", {"count": {"index": i}}) for i in range(count)]
            why = count.why if isinstance(count, Unknown) else "count is not a whole number"
            return [("[*]", {"count": {"index": Unknown("${count.index}", why)}})]
        if "for_each" in block.attrs:
            each = self._evaluate(block.attrs["for_each"])
            if isinstance(each, list) and all(isinstance(x, str) for x in each):
                each = {x: x for x in each}
            if isinstance(each, dict):
                return [(f'["{k}"]', {"each": {"key": k, "value": v}}) for k, v in sorted(each.items())]
            why = each.why if isinstance(each, Unknown) else "for_each is not a map or a set of strings"
            return [('["*"]', {"each": Unknown("${each}", why)})]
        return [("", {})]

    def instances_of(self, key: str) -> list[Instance]:
        cache_key = f"resource.{key}"
        if cache_key not in self._cache:
            if cache_key in self._busy:
                return []
            self._busy.add(cache_key)
            try:
                block = self.resources[key]
                self._cache[cache_key] = [
                    self._instance(block, key, suffix, loop) for suffix, loop in self.keys_of(block)
                ]
            finally:
                self._busy.discard(cache_key)
        instances: list[Instance] = self._cache[cache_key]
        return instances

    def _instance(self, block: Block, key: str, suffix: str, loop: dict[str, Any]) -> Instance:
        inst = Instance(f"{self.prefix}{key}{suffix}", block.labels[0], {}, block.where)
        self._body(block, inst, (), loop)
        return inst

    def _body(self, block: Block, inst: Instance, base: AttrPath, loop: dict[str, Any]) -> None:
        for name, attr in block.attrs.items():
            if not base and name in _META:
                continue
            ev: Evaluator = attr.evaluator(self, loop)
            inst.after[name] = ev.eval(attr.expr)
            inst.positions[(*base, name)] = attr.where
            inst.refs[(*base, name)] = frozenset(ev.refs)
        counts: dict[str, int] = {}
        for sub in block.blocks:
            if sub.type in _SKIP_BLOCKS:
                continue
            if sub.type == "dynamic" and sub.labels:
                name = sub.labels[0]
                inst.after[name] = Unknown(
                    f"${{dynamic {name}}}", f"{sub.where}: a dynamic block is expanded by Terraform"
                )
                inst.positions[(*base, name)] = sub.where
                continue
            index = counts.get(sub.type, 0)
            counts[sub.type] = index + 1
            child = Instance(inst.address, inst.type, {}, sub.where, inst.positions, inst.refs)
            inst.positions.setdefault((*base, sub.type), sub.where)
            inst.positions[(*base, sub.type, index)] = sub.where
            self._body(sub, child, (*base, sub.type, index), loop)
            inst.after.setdefault(sub.type, []).append(child.after)

    def _resource_attr(self, key: str, steps: list[Any], ev: Evaluator, node: Any) -> Any:
        block = self.resources[key]
        instances = self.instances_of(key)
        address = f"{self.prefix}{key}"
        keyed = "count" in block.attrs or "for_each" in block.attrs
        if keyed:
            if not steps:
                return ev.unknown(
                    node, "refers to all instances of a resource", frozenset(i.address for i in instances)
                )
            wanted = f'["{steps[0]}"]' if isinstance(steps[0], str) else f"[{steps[0]}]"
            match = [i for i in instances if i.address == address + wanted]
            steps = steps[1:]
        else:
            match = instances
        if len(match) != 1:
            return ev.unknown(
                node, "refers to a resource instance the files do not decide", frozenset({address})
            )
        inst = match[0]
        ev.refs.add(inst.address)
        if not steps:
            return ev.unknown(node, "is a whole resource", frozenset({inst.address}))
        attr = str(steps[0])
        source = _DERIVED.get(inst.type, {}).get(attr, attr if attr in ("bucket", "name") else "")
        if inst.type == "aws_s3_bucket" and attr == "arn" and isinstance(inst.after.get("bucket"), str):
            return apply_steps(f"arn:aws:s3:::{inst.after['bucket']}", steps[1:], ev, node)
        value = inst.after.get(source) if source else None
        if value is None:
            value = Unknown(
                "${" + f"{inst.address}.{attr}" + "}",
                f"{inst.address}.{attr} is known only after apply",
                frozenset({inst.address}),
            )
        return apply_steps(value, steps[1:], ev, node)

    # -- child modules ---------------------------------------------------------------------------
    def children(self, name: str) -> list[tuple[str, Module | None]]:
        if name in self._children:
            return self._children[name]
        block = self.modules[name]
        self._children[name] = []
        source = self._evaluate(block.attrs["source"]) if "source" in block.attrs else None
        local = isinstance(source, str) and source.startswith(("./", "../"))
        for suffix, loop in self.keys_of(block):
            prefix = f"{self.prefix}module.{name}{suffix}."
            if not local:
                shown = source if isinstance(source, str) else "(no source)"
                self.notes.append(
                    f"{block.where.path}:{block.where.line}: module {name!r} comes from {shown}, which "
                    "r1policy does not fetch: its resources are not judged and its outputs are unknown"
                )
                self._children[name].append((prefix, None))
                continue
            folder = (self.folder / str(source)).resolve()
            if not folder.is_dir() or self.depth >= MAX_MODULE_DEPTH:
                why = (
                    "is not a folder"
                    if not folder.is_dir()
                    else f"nests modules more than {MAX_MODULE_DEPTH} deep"
                )
                raise InputError(
                    Position(block.where.path, block.attrs["source"].where.line),
                    f"module source {source!r} {why}",
                )
            inputs = {
                k: self._evaluate(a, loop)
                for k, a in block.attrs.items()
                if k not in _META | {"source", "version", "providers"}
            }
            child = Module(folder, prefix, inputs, self.notes, self.depth + 1)
            if child.region is None:
                child.region = self.region
            self._children[name].append((prefix, child))
        return self._children[name]

    def _module_output(self, name: str, steps: list[Any], ev: Evaluator, node: Any) -> Any:
        if name not in self.modules:
            return ev.unknown(node, f"refers to module {name!r}, which this module does not call")
        found = self.children(name)
        if len(found) != 1 or found[0][1] is None:
            return ev.unknown(
                node, "is an output of a module r1policy does not read (remote, or with count/for_each)"
            )
        child = found[0][1]
        attr = child.outputs.get(str(steps[0]))
        if attr is None:
            return ev.unknown(node, f"refers to output {steps[0]!r}, which module {name!r} does not define")
        inner: Evaluator = attr.evaluator(child)
        value = inner.eval(attr.expr)
        ev.refs |= inner.refs
        return apply_steps(value, steps[1:], ev, node)

    def instances(self) -> list[Instance]:
        out: list[Instance] = []
        for key in sorted(self.resources):
            out.extend(self.instances_of(key))
        for name in sorted(self.modules):
            for _, child in self.children(name):
                if child is not None:
                    out.extend(child.instances())
        return out
