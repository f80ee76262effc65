"""CloudFormation templates (YAML with short-form intrinsics, or JSON) → deployments and file buckets.

`AWS::SageMaker::Model`, `EndpointConfig`, `Endpoint` and `InferenceComponent` have the property names
of the SageMaker API, so after resolving intrinsics (`cfn_resolve`) they go through the same
converter as API request files (`sagemaker_api.deployments_from_api`), with a `locate` callback that
points every finding at the template line of the property. Links follow the template: a variant's
`ModelName: !GetAtt Model.ModelName` links to that model even when CloudFormation generates its
name; a resource without its name property is named by its logical id. Model data in a bucket of the
same template links to that bucket, which is judged from the template (`cfn_buckets`).

A value the template does not decide (a parameter without a default, `AWS::Region`, an undecidable
condition, an import) is never guessed: the fields it feeds are recorded in `Deployment.unknown`, so
every rule that reads them is `error`. Resources whose `Condition` is false are left out. A variant
or endpoint that names a model or config the template does not define is an input error (exit 2),
because what it deploys cannot be judged.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError
from r1policy.core.findings import Location
from r1policy.core.model import Deployment, Loaded
from r1policy.core.yamldoc import Document
from r1policy.sources.cloudformation.buckets import file_buckets
from r1policy.sources.cloudformation.merge import merge_buckets
from r1policy.sources.cloudformation.resolve import Template
from r1policy.sources.cloudformation.shapes import ApiBridge, Locator
from r1policy.sources.cloudformation.stacks import (
    NESTED,
    StackContext,
    cdk_path,
    combinations,
    has_transform,
    location,
    nested_context,
    nested_template,
    opaque_resources,
    transform_errors,
)
from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.opaque import is_opaque, opaque
from r1policy.sources.sagemaker.api import COMPONENT, CONFIG, ENDPOINT, MODEL, KeyPath

KINDS = {
    "AWS::SageMaker::Model": MODEL,
    "AWS::SageMaker::EndpointConfig": CONFIG,
    "AWS::SageMaker::Endpoint": ENDPOINT,
    "AWS::SageMaker::InferenceComponent": COMPONENT,
}


def is_cloudformation(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if "AWSTemplateFormatVersion" in value:
        return True
    resources = value.get("Resources")
    return isinstance(resources, dict) and any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith(("AWS::", "Custom::"))
        for r in resources.values()
    )


def load_cloudformation(doc: Document, ctx: StackContext | None = None) -> Loaded:
    """A template's deployments and buckets, once per combination of the allowed parameter values."""
    if ctx is None:
        ctx = StackContext(chain=(str(Path(doc.path).resolve()),))
    probe = Template(doc, pseudo=ctx.pseudo, overrides=ctx.overrides)
    combos, too_many = combinations(probe, ctx)
    runs: list[tuple[dict[str, str], Loaded]] = []
    for combo in combos:
        t = probe
        if combo or too_many:
            t = Template(doc, pseudo=ctx.pseudo, overrides={**ctx.overrides, **too_many, **combo})
        runs.append((combo, _TemplateLoader(t, ctx).run()))
    loaded = Loaded()
    seen: set[str] = set()
    for dep in transform_errors(doc, ctx):
        seen.add(dep.name)
        loaded.append(dep)
    versions: dict[str, list[Deployment]] = {}
    for _, run in runs:
        for dep in run:
            versions.setdefault(dep.name, []).append(dep)
    for combo, run in runs:
        suffix = " [" + ", ".join(f"{k}={v}" for k, v in combo.items()) + "]"
        for dep in run:
            same = versions[dep.name]
            alike = len(same) == len(runs) and all(v == dep and v.unknown == dep.unknown for v in same)
            name = dep.name if is_opaque(dep) or alike else dep.name + suffix
            if name not in seen:  # a deployment no allowed value changes is judged once, by its name
                seen.add(name)
                loaded.append(dataclasses.replace(dep, name=name) if name != dep.name else dep)
        loaded.notes.extend(n for n in run.notes if n not in loaded.notes)
    loaded.buckets.extend(merge_buckets([run.buckets for _, run in runs], list(runs[0][0])))
    if not loaded:
        loaded.notes.append(
            f"{doc.path}: CloudFormation template without SageMaker resources: nothing to judge"
        )
    return loaded


class _TemplateLoader:
    def __init__(self, template: Template, ctx: StackContext) -> None:
        self.t = template
        self.ctx = ctx
        self.api_name: dict[str, str] = {}  # logical id -> API name

    def run(self) -> Loaded:
        t = self.t
        live = set()
        for logical in t.resources:
            exists = t.resource_condition(logical)
            if exists is not False:  # undecidable: judge it, it may be deployed
                live.add(logical)
        loaded = Loaded()
        # A resource rewritten by a macro is an error (below), not a bucket judged as written.
        loaded.buckets.extend(file_buckets(t, {lg for lg in live if not has_transform(t.resources[lg])}))
        loaded.extend(opaque_resources(t, self.ctx, live))
        for logical in sorted(lg for lg in live if t.type_of(lg) == NESTED):
            loaded.absorb(self._nested(logical))
        sagemaker = sorted(lg for lg in live if t.type_of(lg) in KINDS)
        if not sagemaker:
            return loaded
        for logical in sagemaker:
            name = t.name_of(logical, ("Resources", logical))
            api = name if isinstance(name, str) else logical
            self.api_name[logical] = api
        bridge = ApiBridge(t.doc.path)
        for logical in sagemaker:
            kind = KINDS[t.type_of(logical)]
            bridge.add(kind, logical, self._shape(logical, kind), self._locator(logical))
        for dep, involved in bridge.convert(region=self.ctx.region):
            loaded.append(self._named(dep, involved))
        return loaded

    def _nested(self, logical: str) -> Loaded:
        doc, why = nested_template(self.t, self.ctx, logical)
        if doc is None:
            loaded = Loaded()
            name = cdk_path(self.t, logical) or f"{self.ctx.prefix}{self.t.doc.path}#{logical}"
            loaded.append(opaque(name, location(self.t, ("Resources", logical)), why))
            return loaded
        return load_cloudformation(doc, nested_context(self.t, self.ctx, logical, doc))

    def _named(self, dep: Deployment, involved: set[str]) -> Deployment:
        """Named after its CDK construct (`aws:cdk:path` and logical id) when the template has them,
        else after its endpoint, prefixed by the nested stacks it sits in."""
        order = {ENDPOINT: 0, COMPONENT: 1, CONFIG: 2, MODEL: 3}
        keys = sorted(involved, key=lambda lg: (order[KINDS[self.t.type_of(lg)]], lg))
        path = cdk_path(self.t, keys[0]) if keys else None
        if path is None:
            return dataclasses.replace(dep, name=self.ctx.prefix + dep.name) if self.ctx.prefix else dep
        base = dep.endpoint.name if dep.endpoint is not None else ""
        suffix = dep.name[len(base) :] if base and dep.name.startswith(base) else ""
        return dataclasses.replace(dep, name=f"{path} ({keys[0]}){suffix}")

    # -- shapes ------------------------------------------------------------------------------
    def _shape(self, logical: str, kind: str) -> dict[str, Any]:
        base = ("Resources", logical, "Properties")
        props = self.t.resolve(self.t.properties(logical), base)
        if not isinstance(props, dict):
            raise InputError(self.t.pos(base), f"the Properties of {logical} are not decided by the template")
        shape: dict[str, Any] = dict(props)
        shape[f"{kind}Name"] = self.api_name[logical]
        self._link(kind, props, shape)
        return shape

    def _link(self, kind: str, props: dict[str, Any], shape: dict[str, Any]) -> None:
        """Replace references to resources of the template by the name the converter knows them by."""
        if kind == CONFIG:
            for key in ("ProductionVariants", "ShadowProductionVariants"):  # shadows are variants too
                variants = props.get(key)
                for i, variant in enumerate(variants if isinstance(variants, list) else []):
                    if isinstance(variant, dict) and "ModelName" in variant:
                        shape[key][i]["ModelName"] = self._target(variant["ModelName"], MODEL)
        elif kind == ENDPOINT and "EndpointConfigName" in props:
            shape["EndpointConfigName"] = self._target(props["EndpointConfigName"], CONFIG)
        elif kind == COMPONENT:
            if "EndpointName" in props:
                shape["EndpointName"] = self._target(props["EndpointName"], ENDPOINT)
            spec = props.get("Specification")
            if isinstance(spec, dict) and "ModelName" in spec:
                shape["Specification"]["ModelName"] = self._target(spec["ModelName"], MODEL)

    def _target(self, value: Any, kind: str) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, Unknown):
            for ref in sorted(value.refs):
                if ref in self.api_name and KINDS.get(self.t.type_of(ref)) == kind:
                    return self.api_name[ref]
            return value.display
        return value

    def _locator(self, logical: str) -> Locator:
        def locate(path: KeyPath) -> Location:
            full = ("Resources", logical, "Properties", *path) if path else ("Resources", logical)
            pos = self.t.doc.position(full, key=True)
            return Location(pos.path, pos.line, pos.column)

        return locate
