"""`cdk synth` output: a cloud assembly folder (`cdk.out`), recognised by its `manifest.json`.

The manifest lists the artifacts: each `aws:cloudformation:stack` names its template file and its
environment `aws://ACCOUNT/REGION` (`unknown-account` / `unknown-region` for an environment-agnostic
stack), and a `cdk:cloud-assembly` (a CDK Stage) names a folder holding a manifest of its own. Each stack
template is judged as a CloudFormation template in which the pseudo-parameters the environment names
are known (`AWS::Region`, and from it `AWS::Partition` and `AWS::URLSuffix`; `AWS::AccountId`;
`AWS::StackName`), and so are the parameter values the artifact's `properties.parameters` pass;
nested stacks (`*.nested.template.json`, found by their `aws:asset:path`) and
`Fn::ForEach` are followed by the CloudFormation reader. CDK's own files (`tree.json`,
`*.assets.json`, `cdk.out`, asset folders, metadata) are not deployments and are not read; an
artifact type that CDK documents but that deploys nothing is skipped, an unknown one is an `error`.
Deployments are named after their construct: `aws:cdk:path (LogicalId)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1policy.core import jsonsafe
from r1policy.core.errors import InputError
from r1policy.core.findings import Location
from r1policy.core.model import Loaded
from r1policy.core.yamldoc import Document, load_yaml_documents, read_text
from r1policy.sources.cloudformation.intrinsics import cfn_tag_handler
from r1policy.sources.cloudformation.stacks import StackContext
from r1policy.sources.cloudformation.template import is_cloudformation, load_cloudformation
from r1policy.sources.opaque import opaque

STACK = "aws:cloudformation:stack"
ASSEMBLY = "cdk:cloud-assembly"
# Artifact types that deploy nothing themselves: asset manifests (what `cdk deploy` uploads), the
# construct tree, feature-flag reports.
NOT_DEPLOYED = ("cdk:asset-manifest", "cdk:tree", "cdk:feature-flag-report")
MAX_ASSEMBLY_DEPTH = 8


def is_cdk_manifest(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("version"), str):
        return False
    artifacts = value.get("artifacts")
    return isinstance(artifacts, dict) and any(
        isinstance(a, dict) and str(a.get("type", "")).startswith(("aws:cloudformation:", "cdk:"))
        for a in artifacts.values()
    )


def is_cdk_out(folder: Path) -> bool:
    """A folder holding a cloud assembly (judged through its manifest, not file by file)."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        return is_cdk_manifest(jsonsafe.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return False  # not an assembly manifest: the folder walk reads it like any other file


def load_cdk_manifest(doc: Document, depth: int = 0) -> Loaded:
    loaded = Loaded()
    folder = Path(doc.path).parent
    artifacts: dict[str, Any] = doc.value["artifacts"]
    for name in sorted(artifacts):
        artifact = artifacts[name]
        where = doc.position(("artifacts", name), key=True)
        at = Location(where.path, where.line, where.column)
        kind = str(artifact.get("type", "")) if isinstance(artifact, dict) else ""
        props = artifact.get("properties") if isinstance(artifact, dict) else None
        props = props if isinstance(props, dict) else {}
        if kind == STACK:
            loaded.absorb(_stack(doc, name, artifact, props, folder))
        elif kind == ASSEMBLY:
            if depth >= MAX_ASSEMBLY_DEPTH:
                raise InputError(where, f"cloud assemblies nest deeper than {MAX_ASSEMBLY_DEPTH} levels")
            inner = _file(doc, name, folder / str(props.get("directoryName", "")) / "manifest.json")
            if not is_cdk_manifest(inner.value):
                raise InputError(where, f"{inner.path} is not a CDK cloud assembly manifest")
            loaded.absorb(load_cdk_manifest(inner, depth + 1))
        elif kind not in NOT_DEPLOYED:
            why = f"cloud assembly artifact {name} has type {kind or '(none)'}, which r1policy does not read"
            loaded.append(opaque(f"{doc.path}#{name}", at, why))
    return loaded


def _stack(doc: Document, name: str, artifact: dict[str, Any], props: dict[str, Any], folder: Path) -> Loaded:
    template_file = props.get("templateFile")
    if not isinstance(template_file, str) or not template_file:
        raise InputError(doc.position(("artifacts", name)), f"stack artifact {name} names no templateFile")
    template = _file(doc, name, folder / template_file)
    if not is_cloudformation(template.value) and template.value.get("Resources") is None:
        raise InputError(
            doc.position(("artifacts", name)), f"{template.path} is not a CloudFormation template"
        )
    stack_name = props.get("stackName") if isinstance(props.get("stackName"), str) else name
    pseudo = environment(str(artifact.get("environment", "")))
    pseudo["AWS::StackName"] = str(stack_name)
    given = props.get("parameters")  # values `cdk deploy` passes to the stack's parameters
    overrides = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
    chain = (str(Path(template.path).resolve()),)
    ctx = StackContext(pseudo=pseudo, overrides=overrides, chain=chain, stack=str(stack_name))
    return load_cloudformation(template, ctx)


def environment(env: str) -> dict[str, str]:
    """Pseudo-parameters an `aws://ACCOUNT/REGION` environment decides."""
    from r1policy.facts.pseudo import partition_of, url_suffix

    account, _, region = env.removeprefix("aws://").partition("/")
    out: dict[str, str] = {}
    if account and account != "unknown-account" and account.isdigit():
        out["AWS::AccountId"] = account
    if region and region != "unknown-region":
        out.update(
            {
                "AWS::Region": region,
                "AWS::Partition": partition_of(region),
                "AWS::URLSuffix": url_suffix(region),
            }
        )
    return out


def _file(doc: Document, name: str, path: Path) -> Document:
    where = doc.position(("artifacts", name))
    if not path.is_file():
        raise InputError(where, f"artifact {name}: {path} is not there (run `cdk synth` again)")
    docs = [
        d for d in load_yaml_documents(read_text(path), str(path), tag_handler=cfn_tag_handler) if d.value
    ]
    if len(docs) != 1 or not isinstance(docs[0].value, dict):
        raise InputError(where, f"artifact {name}: {path} is not one JSON document")
    return docs[0]
