"""The input formats r1policy reads, as one explicit registry: the readers asked before the built-in
YAML/JSON reader (`READERS`: Terraform source, SageMaker Python SDK code), and the document detectors of
the YAML/JSON reader (`LOADERS`, `COLLECTORS`, `IGNORED`). `sources.discover` offers each file to them.

Extension point for new input formats (Terraform source, Python SDK code, notebooks, cdk.out):

    from r1policy.sources.discover import Reader, register_reader
    register_reader(Reader("terraform-source", claims=lambda path, text: ..., load=load_tf))

`load(path, text, context)` returns the file's deployments (a `Loaded` to add buckets and notes);
`context.collector(name, factory)` gives a run-wide object whose `finish()` is called once after every
file (for formats whose files only make sense together, like a Terraform root module). Bad input in a
claimed file is an `InputError` (exit 2) naming the file and line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from r1policy.core.model import Deployment, Loaded
from r1policy.core.record import frozen_record
from r1policy.core.yamldoc import Document
from r1policy.project.state import is_state
from r1policy.sources.native import is_native, load_native

# SageMaker Python SDK code (sources/sdk) and Terraform source (sources/terraform/source): their parsers are
# imported only when such a file is met.
SDK_SUFFIXES = {".py", ".ipynb"}
TF_SUFFIXES = (".tf", ".tf.json", ".tfvars")

# (detector, loader) pairs, tried in order on every YAML/JSON document.
Detector = Callable[[Any], bool]
Loader = Callable[[Document], list[Deployment]]


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """`module.name`, imported when first called: a run of native manifests never imports the
    CloudFormation, CDK, Terraform, Kubernetes or SageMaker API readers (cold start, issue 18)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = name
    return call


_CFN = "r1policy.sources.cloudformation.template"
_CDK = "r1policy.sources.cloudformation.cdk"
_TF_PLAN = "r1policy.sources.terraform.planfile"
_K8S = "r1policy.sources.kubernetes"
_API = "r1policy.sources.sagemaker.files"
is_cloudformation = _lazy(_CFN, "is_cloudformation")
LOADERS: tuple[tuple[str, Detector, Loader], ...] = (
    ("r1policy/v1", is_native, lambda doc: [load_native(doc)]),
    ("cloudformation", is_cloudformation, _lazy(_CFN, "load_cloudformation")),
    ("cdk", _lazy(_CDK, "is_cdk_manifest"), _lazy(_CDK, "load_cdk_manifest")),
    ("terraform-plan", _lazy(_TF_PLAN, "is_terraform_plan"), _lazy(_TF_PLAN, "load_terraform_plan")),
    ("kubernetes", _lazy(_K8S, "is_kubernetes"), _lazy(_K8S, "load_kubernetes")),
)
# Documents that are r1policy's own files rather than manifests.
IGNORED: tuple[Detector, ...] = (is_state,)


class Collector(Protocol):
    """Documents that only make sense together (linked by name across files): `add` each during the
    walk, `finish` turns them into deployments after every file is loaded."""

    def add(self, doc: Document) -> None: ...

    def finish(self) -> list[Deployment]: ...


class Finishing(Protocol):
    def finish(self) -> list[Deployment]: ...


COLLECTORS: tuple[tuple[str, Detector, Callable[[], Collector]], ...] = (
    ("sagemaker-api", _lazy(_API, "is_api_request"), _lazy(_API, "ApiRequests")),
)


@dataclass
class ReadContext:
    """What a reader may share across the files of one run."""

    shared: dict[str, Finishing] = field(default_factory=dict)
    # ids of the deployments read from native manifests (their names are unique across files)
    native: set[int] = field(default_factory=set)

    def collector(self, name: str, factory: Callable[[], Any]) -> Any:
        if name not in self.shared:
            self.shared[name] = factory()
        return self.shared[name]

    def finish(self) -> list[Deployment]:
        out: list[Deployment] = []
        for name, collector in self.shared.items():
            out.extend(marked(collector.finish(), name))
        return out


@frozen_record
class Reader:
    """An input format: `claims(path, text)` decides by content, `load` reads a claimed file."""

    name: str
    claims: Callable[[Path, str], bool]
    load: Callable[[Path, str, ReadContext], list[Deployment] | None]  # None: not a deployment


def _sdk_claims(path: Path, text: str) -> bool:
    return path.suffix.lower() in SDK_SUFFIXES


def _load_sdk(path: Path, text: str, context: ReadContext) -> list[Deployment] | None:
    """SageMaker Python SDK code and notebooks (sources/sdk, imported only when such a file is met);
    None when the code deploys nothing (it neither imports sagemaker nor calls boto3's SageMaker
    deployment operations)."""
    from r1policy.sources.sdk import load_notebook, load_sdk_python

    loader = load_notebook if path.suffix.lower() == ".ipynb" else load_sdk_python
    return loader(str(path), text)


class _Modules:
    """The Terraform module folders already judged in this run (one judgement per module)."""

    def __init__(self) -> None:
        self.done: set[Path] = set()

    def finish(self) -> list[Deployment]:
        return []


def _tf_claims(path: Path, text: str) -> bool:
    return path.name.endswith(TF_SUFFIXES)


def _load_tf(path: Path, text: str, context: ReadContext) -> list[Deployment]:
    """A folder of .tf files is one module, judged once (through its caller when it is a local
    module of another); its variable files are read with it (sources/terraform/source)."""
    modules: _Modules = context.collector("terraform-source", _Modules)
    folder = path.parent.resolve()
    if folder in modules.done or not any(p.name.endswith((".tf", ".tf.json")) for p in folder.iterdir()):
        return Loaded()
    modules.done.add(folder)
    from r1policy.sources.terraform.source import load_terraform_source

    return load_terraform_source(path.parent)


# The input formats read before the built-in YAML/JSON reader, in order (an explicit registry).
READERS: list[Reader] = [
    Reader("terraform-source", _tf_claims, _load_tf),
    Reader("sagemaker-sdk", _sdk_claims, _load_sdk),
]


def register_reader(reader: Reader) -> None:
    """Add a reader; it is asked before the built-in YAML/JSON reader, after earlier registrations."""
    if all(r.name != reader.name for r in READERS):
        READERS.append(reader)


def marked(deployments: list[Deployment], kind: str) -> Loaded:
    """The same deployments (buckets and notes kept), each marked with the input kind it came from
    unless its reader already set one."""
    out = Loaded()
    out.absorb(deployments)
    if kind != "r1policy/v1":  # (the default kind: nothing to mark)
        out[:] = [d if d.input_kind != "r1policy/v1" else replace(d, input_kind=kind) for d in out]
    return out
