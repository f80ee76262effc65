"""Find manifests under the given paths and load each by its content, never by its name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from r1policy.errors import InputError, Position
from r1policy.model import Deployment, FileBucket, Loaded
from r1policy.sources.cfn_intrinsics import cfn_tag_handler
from r1policy.sources.cloudformation import is_cloudformation, load_cloudformation
from r1policy.sources.kubernetes import is_kubernetes, load_kubernetes
from r1policy.sources.native import is_native, load_native
from r1policy.sources.sagemaker_files import ApiRequests, is_api_request
from r1policy.sources.state import is_state
from r1policy.sources.terraform import is_terraform_plan, load_terraform_plan
from r1policy.yamldoc import Document, load_yaml_documents, read_text

MANIFEST_SUFFIXES = {".yaml", ".yml", ".json"}
# SageMaker Python SDK code (sources/sdk), read only when such a file is met.
SDK_SUFFIXES = {".py", ".ipynb"}
_SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".terraform",
    "reports",
    "site-packages",  # installed packages (the SageMaker SDK's own code is not a deployment)
    "dist-packages",
    ".ipynb_checkpoints",  # Jupyter's autosaved copies of the notebooks next to them
}

# (detector, loader) pairs, tried in order on every YAML/JSON document. Later issues add
# CloudFormation, Terraform plans, SageMaker API requests and Kubernetes here.
Detector = Callable[[Any], bool]
Loader = Callable[[Document], list[Deployment]]
LOADERS: tuple[tuple[str, Detector, Loader], ...] = (
    ("r1policy/v1", is_native, lambda doc: [load_native(doc)]),
    ("cloudformation", is_cloudformation, load_cloudformation),
    ("terraform-plan", is_terraform_plan, load_terraform_plan),
    ("kubernetes", is_kubernetes, load_kubernetes),
)
# Documents that are r1policy's own files rather than manifests.
IGNORED: tuple[Detector, ...] = (is_state,)


class Collector(Protocol):
    """Documents that only make sense together (linked by name across files): `add` each during the
    walk, `finish` turns them into deployments after every file is loaded."""

    def add(self, doc: Document) -> None: ...

    def finish(self) -> list[Deployment]: ...


COLLECTORS: tuple[tuple[str, Detector, Callable[[], Collector]], ...] = (
    ("sagemaker-api", is_api_request, ApiRequests),
)


@dataclass
class Inputs:
    deployments: list[Deployment] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    # Buckets defined in the files (CloudFormation, Terraform), by name: judged even with --static.
    buckets: dict[str, FileBucket] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def absorb(self, loaded: list[Deployment]) -> None:
        if not isinstance(loaded, Loaded):
            return
        self.notes.extend(loaded.notes)
        for bucket in loaded.buckets:
            first = self.buckets.setdefault(bucket.name, bucket)
            if first is not bucket and first.record != bucket.record:
                where = bucket.origin
                raise InputError(
                    Position(where.path, where.line, where.column) if where else Position("."),
                    f"bucket {bucket.name} is defined differently at {first.origin}",
                )


def _walk(root: Path) -> Iterable[Path]:
    if any(p.suffix == ".tf" or p.name.endswith(".tf.json") for p in root.iterdir() if p.is_file()):
        yield root  # a Terraform module (sources/tfsource)
    for path in sorted(root.iterdir()):
        if path.is_dir():
            if path.name not in _SKIP_DIRS and not path.name.startswith("."):
                yield from _walk(path)
        elif path.suffix.lower() in MANIFEST_SUFFIXES or path.suffix.lower() in SDK_SUFFIXES:
            yield path


def discover(paths: list[Path]) -> Inputs:
    inputs = Inputs()
    seen: dict[str, Deployment] = {}
    collectors = {name: factory() for name, _, factory in COLLECTORS}
    terraform_modules: set[Path] = set()

    def add(dep: Deployment, path: Path) -> None:
        first = seen.get(dep.name)
        if first is not None:
            where = dep.origin
            raise InputError(
                Position(where.path, where.line, where.column) if where else Position(str(path)),
                f"duplicate deployment name {dep.name!r} (first defined at {first.origin})",
            )
        seen[dep.name] = dep
        inputs.deployments.append(dep)

    for root in paths:
        if root.is_dir():
            candidates, explicit = list(_walk(root)), False
        elif root.exists():
            candidates, explicit = [root], True
        else:
            raise InputError(Position(str(root)), "no such file or directory")
        for path in candidates:
            if path.is_dir() or path.suffix == ".tf":  # a Terraform module, once however it is named
                module = (path if path.is_dir() else path.parent).resolve()
                if module in terraform_modules:
                    continue
                terraform_modules.add(module)
            loaded = load_file(path, explicit=explicit, collectors=collectors)
            if loaded is None:
                inputs.unrecognised.append(str(path))
                continue
            inputs.files.append(str(path))
            for dep in loaded:
                add(dep, path)
            inputs.absorb(loaded)
    for collector in collectors.values():
        for dep in collector.finish():
            add(dep, Path(dep.origin.path if dep.origin else "."))
    return inputs


def load_file(
    path: Path, *, explicit: bool, collectors: dict[str, Collector] | None = None
) -> list[Deployment] | None:
    """Deployments in one file; None when the file is not a manifest (skipped in folder walks).

    Documents for a collector go to `collectors` (shared across the files of one run); without it,
    they are linked within this file alone."""
    if path.suffix.lower() in SDK_SUFFIXES:
        return _load_sdk(path, explicit=explicit)
    if path.is_dir() or path.suffix == ".tf":
        from r1policy.sources.tfsource import load_terraform_source

        return load_terraform_source(path if path.is_dir() else path.parent)
    own = collectors is None
    active = {name: factory() for name, _, factory in COLLECTORS} if collectors is None else collectors
    shown = str(path)
    text = read_text(path, display=shown)
    deployments = Loaded()
    recognised = False
    for doc in load_yaml_documents(text, shown, tag_handler=cfn_tag_handler):
        if doc.value is None or any(ignored(doc.value) for ignored in IGNORED):
            recognised = recognised or doc.value is not None
            continue
        if doc.tags and not is_cloudformation(doc.value):  # YAML tags mean something only to CloudFormation
            tagged, tag = next(iter(doc.tags.items()))
            raise InputError(doc.position(tagged), f"unsupported YAML tag {tag!r}")
        for _name, detect, load in LOADERS:
            if detect(doc.value):
                deployments.absorb(load(doc))
                recognised = True
                break
        else:
            for name, detect, _factory in COLLECTORS:
                if detect(doc.value):
                    active[name].add(doc)
                    recognised = True
                    break
    if own:
        for collector in active.values():
            deployments.extend(collector.finish())
    if not recognised:
        if explicit:
            raise InputError(
                Position(shown, 1, 1),
                "not a recognised deployment manifest (expected apiVersion: r1policy/v1)",
            )
        return None
    return deployments


def _load_sdk(path: Path, *, explicit: bool) -> list[Deployment] | None:
    from r1policy.sources.sdk import load_notebook, load_sdk_python

    shown = str(path)
    text = read_text(path, display=shown)
    loader = load_notebook if path.suffix.lower() == ".ipynb" else load_sdk_python
    loaded = loader(shown, text)
    if loaded is None and explicit:
        raise InputError(
            Position(shown, 1, 1),
            "not a SageMaker deployment: the code neither imports sagemaker nor calls boto3's "
            "create_model / create_endpoint_config / create_endpoint",
        )
    return loaded
