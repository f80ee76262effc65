"""What a CloudFormation template hands to something else: nested stacks, custom resources, macros, and
parameters with several allowed values.

- A nested stack (`AWS::CloudFormation::Stack`) whose template is a local file (a relative
  `TemplateURL`, or a CDK asset named by `aws:asset:path` metadata) is followed: loaded with the
  `Parameters` the parent passes, the parent's pseudo-parameters, up to `MAX_NESTING` levels, and a
  template that includes itself is refused (exit 2). Any other nested stack is an `error` naming it.
- Custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`), registry extensions (types
  outside `AWS::`, modules), stack sets and Service Catalog products, serverless applications from
  the Serverless Application Repository, `Fn::Transform` snippets and template `Transform`s other than
  AWS::Serverless and AWS::LanguageExtensions are an `error` naming the resource or macro: what they
  create is decided by code or documents that are not in the files.
- A SageMaker, S3 or KMS resource type that r1policy does not read (`AWS::SageMaker::InferenceExperiment`,
  `AWS::S3::AccessPoint`, ...) is an `error` naming it: it may deploy a model or open the model data.
- A parameter with `AllowedValues` that the template uses and nobody passes in is judged for each of
  its values (every combination, up to `MAX_COMBINATIONS`; more is an `error`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError
from r1policy.core.findings import Location
from r1policy.core.model import Deployment
from r1policy.core.yamldoc import Document, JsonPath
from r1policy.sources.cloudformation.resolve import Template
from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.opaque import opaque

MAX_NESTING = 8
MAX_COMBINATIONS = 64
JUDGED_TRANSFORMS = ("AWS::Serverless-2016-10-31", "AWS::LanguageExtensions")
CUSTOM = "AWS::CloudFormation::CustomResource"
NESTED = "AWS::CloudFormation::Stack"
SAR_APP = "AWS::Serverless::Application"
INDIRECT = frozenset(
    {
        "AWS::CloudFormation::StackSet",
        "AWS::ServiceCatalog::CloudFormationProvisionedProduct",
    }
)
RELEVANT = ("AWS::SageMaker::", "AWS::S3::", "AWS::S3Express::", "AWS::S3Outposts::", "AWS::KMS::")
# Types of those services that are read (cloudformation.py, cfn_buckets.py) or known to change no verdict.
READ = frozenset(
    {
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
        "AWS::SageMaker::InferenceComponent",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
    }
)


@dataclass(frozen=True)
class StackContext:
    """Where a template is loaded: its deploying stack's known pseudo-parameters, the parameters a
    parent passes, the chain of templates that include it, and how its deployments are named."""

    pseudo: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    chain: tuple[str, ...] = ()
    prefix: str = ""  # "Parent/" for the deployments of a nested stack
    stack: str | None = None  # the stack name (from a CDK manifest)

    @property
    def region(self) -> str | None:
        return self.pseudo.get("AWS::Region")


def location(t: Template, path: JsonPath) -> Location:
    pos = t.doc.position(path, key=True)
    return Location(pos.path, pos.line, pos.column)


def cdk_path(t: Template, logical: str) -> str | None:
    meta = t.resources[logical].get("Metadata")
    found = meta.get("aws:cdk:path") if isinstance(meta, dict) else None
    return found if isinstance(found, str) and found else None


def _opaque_name(t: Template, ctx: StackContext, logical: str) -> str:
    path = cdk_path(t, logical)
    return f"{path} ({logical})" if path else f"{ctx.prefix}{t.doc.path}#{logical}"


def transform_errors(doc: Document, ctx: StackContext) -> list[Deployment]:
    """The template's `Transform` section: macros other than the two judged here are an `error` each."""
    raw = doc.value.get("Transform")
    names = raw if isinstance(raw, list) else [raw] if raw is not None else []
    out: list[Deployment] = []
    for i, name in enumerate(names):
        shown = name if isinstance(name, str) else repr(name)
        if shown in JUDGED_TRANSFORMS:
            continue
        pos = doc.position(("Transform", i) if isinstance(raw, list) else ("Transform",))
        why = (
            f"the template's Transform {shown} is a macro: CloudFormation runs it at deploy time and "
            "what it deploys is not in the files (expand it, or check the processed template)"
        )
        where = Location(pos.path, pos.line, pos.column)
        out.append(opaque(f"{ctx.prefix}{doc.path}#Transform:{shown}", where, why))
    return out


def opaque_resources(t: Template, ctx: StackContext, live: set[str]) -> list[Deployment]:
    """An `error` deployment for each custom resource, macro snippet, remote nested stack or loop
    whose collection the template does not decide."""
    out: list[Deployment] = []
    for key in sorted(t.transforms):
        snippet = f"{key} in Resources is a macro snippet that CloudFormation expands at deploy time"
        out.append(opaque(f"{ctx.prefix}{t.doc.path}#{key}", location(t, ("Resources", key)), snippet))
    for path, reason in t.undecided:
        out.append(opaque(f"{ctx.prefix}{t.doc.path}#{path[-1]}", location(t, path), reason))
    for logical in sorted(live):
        why = _unread(t, logical)
        if why is not None:
            out.append(opaque(_opaque_name(t, ctx, logical), location(t, ("Resources", logical)), why))
    return out


def _unread(t: Template, logical: str) -> str | None:
    """Why r1policy cannot judge what this resource deploys, or None when it can (or it deploys nothing
    the rules are about)."""
    kind = t.type_of(logical)
    path = cdk_path(t, logical)
    shown = f"{kind} {logical}" + (f" ({path})" if path else "")
    if kind.startswith("Custom::") or kind == CUSTOM:
        return f"{shown} is a custom resource: what its provider creates is not in the files"
    if kind == SAR_APP:
        return f"{shown} is an application from the Serverless Application Repository, not in the files"
    if kind in INDIRECT:
        return f"{shown} deploys a template or product that is not in the files"
    if not kind.startswith(("AWS::", "Alexa::")) or kind.endswith("::MODULE"):
        return (
            f"{shown} is a registry extension (a private type or module): its handler decides what it creates"
        )
    if kind.startswith(RELEVANT) and kind not in READ:
        return f"r1policy does not read {shown}, which may deploy a model or open the model data"
    if has_transform(t.resources[logical]):
        return f"{shown} uses Fn::Transform: a macro rewrites it at deploy time"
    return None


def has_transform(value: Any) -> bool:
    if isinstance(value, dict):
        return "Fn::Transform" in value or any(has_transform(v) for v in value.values())
    if isinstance(value, list):
        return any(has_transform(v) for v in value)
    return False


def nested_template(t: Template, ctx: StackContext, logical: str) -> tuple[Document | None, str]:
    """The local template of a nested stack, or None and why it cannot be followed."""
    from r1policy.core.yamldoc import load_yaml_documents, read_text
    from r1policy.sources.cloudformation.intrinsics import cfn_tag_handler

    meta = t.resources[logical].get("Metadata")
    asset = meta.get("aws:asset:path") if isinstance(meta, dict) else None
    url = t.properties(logical).get("TemplateURL")
    where = ("Resources", logical, "Properties", "TemplateURL")
    if isinstance(asset, str) and asset:
        relative, where = asset, ("Resources", logical, "Metadata", "aws:asset:path")
    elif isinstance(url, str) and url and "://" not in url and not url.startswith("/"):
        relative = url
    else:
        shown = url if isinstance(url, str) else "a value computed at deploy time"
        return None, f"nested stack {logical} loads its template from {shown}, which is not in the files"
    if len(ctx.chain) >= MAX_NESTING:
        return None, f"nested stack {logical} is nested deeper than {MAX_NESTING} levels: not followed"
    path = Path(t.doc.path).parent / relative
    real = str(path.resolve())
    if real in ctx.chain:
        raise InputError(t.pos(where), f"nested stack {logical} includes {relative}, which includes itself")
    if not path.is_file():
        raise InputError(t.pos(where), f"nested stack {logical}: template {relative} is not there")
    text = read_text(path)
    docs = [d for d in load_yaml_documents(text, str(path), tag_handler=cfn_tag_handler) if d.value]
    if len(docs) != 1 or not isinstance(docs[0].value, dict):
        raise InputError(t.pos(where), f"nested stack {logical}: {relative} is not a CloudFormation template")
    return docs[0], ""


def nested_context(t: Template, ctx: StackContext, logical: str, doc: Document) -> StackContext:
    base = ("Resources", logical, "Properties", "Parameters")
    given = t.resolve(t.properties(logical).get("Parameters") or {}, base)
    if not isinstance(given, dict):
        given = {}
    label = cdk_path(t, logical) or logical
    return StackContext(
        pseudo=ctx.pseudo,
        overrides=given,
        chain=(*ctx.chain, str(Path(doc.path).resolve())),
        prefix=f"{ctx.prefix}{label}/" if not cdk_path(t, logical) else "",
        stack=ctx.stack,
    )


def combinations(t: Template, ctx: StackContext) -> tuple[list[dict[str, str]], dict[str, Unknown]]:
    """Each combination of the allowed values of the parameters the template uses and nobody passes;
    when there are too many, those parameters become unknown instead."""
    used: list[tuple[str, JsonPath]] = []
    t._references({"r": t.resources, "c": t.conditions}, (), used)
    names = {n for n, _ in used}
    varied: dict[str, list[str]] = {}
    lists: dict[str, Unknown] = {}
    for name, spec in sorted(t.parameters.items()):
        if name not in names or name in ctx.overrides or not isinstance(spec, dict):
            continue
        allowed = spec.get("AllowedValues")
        kind = str(spec.get("Type", "String"))
        if (
            kind.startswith(("List<", "CommaDelimitedList"))
            and isinstance(allowed, list)
            and len(allowed) > 1
        ):
            why = f"list parameter {name} may hold any of its AllowedValues, in any number and order"
            lists[name] = Unknown(f"${{{name}}}", why)
            continue
        if kind.startswith(("AWS::SSM::", "List<", "CommaDelimitedList")) or not isinstance(allowed, list):
            continue
        values = [str(v).lower() if isinstance(v, bool) else str(v) for v in allowed]
        if len(values) > 1 or (values and "Default" not in spec):
            varied[name] = list(dict.fromkeys(values))
    total = 1
    for values in varied.values():
        total *= len(values)
    if total > MAX_COMBINATIONS:
        why = (
            f"the AllowedValues of parameters {', '.join(varied)} make {total} combinations, over the "
            f"{MAX_COMBINATIONS} judged one by one"
        )
        return [{}], {**lists, **{n: Unknown(f"${{{n}}}", why) for n in varied}}
    keys = list(varied)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*varied.values())], lists
