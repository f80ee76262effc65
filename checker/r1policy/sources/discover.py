"""Find manifests under the given paths and load each by its content, never by its name.

Every file a folder walk reaches (sources/walk.py skips only version-control and dependency folders)
is offered to the readers in `READERS` order: the first whose `claims(path, text)` is true loads it.
The built-in YAML/JSON reader comes last and claims a file when one of its documents is recognised by
a document detector (`LOADERS`, `COLLECTORS`). A text file that nobody claims is either a deployment
format r1policy cannot read (sources/deploylike.py) -- reported as an `error` naming it -- or not a
deployment, and then listed in the report's `skipped` section with the reason. Binary files too.

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

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Location
from r1policy.core.model import FIELD_MODEL, FIELD_REPO, Deployment, FileBucket, Loaded, SourceKind
from r1policy.core.repoid import repo_id_problem
from r1policy.core.yamldoc import MAX_FILE_BYTES, Document, decode_utf8, load_yaml_documents, read_text
from r1policy.project.state import is_state
from r1policy.sources.cloudformation.intrinsics import cfn_tag_handler
from r1policy.sources.deploylike import deployment_like_text, deployment_like_value
from r1policy.sources.native import is_native, load_native
from r1policy.sources.walk import Skipped, Walk, WalkOptions

MANIFEST_SUFFIXES = {".yaml", ".yml", ".json"}
# Prose: read as a manifest when the whole file is one, never reported as an unreadable deployment.
PROSE_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".html", ".htm", ".org", ".tex"}
_SNIFF_BYTES = 8192
# SageMaker Python SDK code (sources/sdk) and Terraform source (sources/terraform/source): their parsers are
# imported only when such a file is met.
SDK_SUFFIXES = {".py", ".ipynb"}
TF_SUFFIXES = (".tf", ".tf.json", ".tfvars")
_NOT_SDK = (
    "the code neither imports sagemaker nor calls boto3's create_model / create_endpoint_config / "
    "create_endpoint"
)

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
            out.extend(_kind(collector.finish(), name))
        return out


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Unreadable:
    """A file of a deployment format that no reader understands: an `error` finding, never skipped."""

    path: str
    what: str
    detail: str = ""


@dataclass
class Inputs:
    deployments: list[Deployment] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    # Buckets defined in the files (CloudFormation, Terraform), by name: judged even with --static.
    buckets: dict[str, FileBucket] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)

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


def discover(paths: list[Path], options: WalkOptions | None = None) -> Inputs:
    inputs = Inputs()
    walk = Walk(options or WalkOptions(), whole=_assembly_manifest)
    context = ReadContext()
    found: list[tuple[Deployment, str]] = []
    done: set[Path] = set()
    for root in paths:
        if root.is_dir():
            candidates, explicit = list(walk.files(root)), False
        elif root.exists():
            candidates, explicit = [root], True
        else:
            raise InputError(Position(str(root)), "no such file or directory")
        for path in candidates:
            real = path.resolve()
            if real in done:  # the same file named twice (a folder and a file in it)
                continue
            done.add(real)
            _read_one(path, explicit, context, inputs, found)
    for dep in context.finish():
        _check_repo_id(dep)
        found.append((dep, dep.origin.path if dep.origin else "."))
    inputs.deployments = _qualified(found, context.native)
    inputs.skipped = walk.skipped + inputs.skipped
    return inputs


def _assembly_manifest(folder: Path) -> Path | None:
    """`cdk synth` output is judged through its manifest; the rest of the folder is CDK's own."""
    if not (folder / "manifest.json").is_file():  # no need to import the CDK reader
        return None
    from r1policy.sources.cloudformation.cdk import is_cdk_out

    return folder / "manifest.json" if is_cdk_out(folder) else None


def _read_one(
    path: Path, explicit: bool, context: ReadContext, inputs: Inputs, found: list[tuple[Deployment, str]]
) -> None:
    shown = str(path)
    text = _text_of(path, explicit, inputs)
    if text is None:
        return
    loaded = load_text(path, text, explicit=explicit, context=context, inputs=inputs)
    if loaded is None:
        return
    inputs.files.append(shown)
    for dep in loaded:
        _check_repo_id(dep)
        found.append((dep, shown))
    inputs.absorb(loaded)


def _text_of(path: Path, explicit: bool, inputs: Inputs) -> str | None:
    """The file's text, or None when a walk met a binary file (recorded as skipped)."""
    shown = str(path)
    if explicit or path.suffix.lower() in MANIFEST_SUFFIXES:
        return read_text(path, display=shown)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES if size > MAX_FILE_BYTES else MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(Position(shown), f"cannot read file: {exc.strerror or exc}") from exc
    if _binary(head, complete=size <= MAX_FILE_BYTES):
        inputs.skipped.append(Skipped(shown, "binary file (not text): not a deployment manifest"))
        return None
    if size > MAX_FILE_BYTES:
        inputs.unreadable.append(
            Unreadable(shown, "text file", f"{size:,} bytes, over the {MAX_FILE_BYTES:,}-byte input limit")
        )
        return None
    return decode_utf8(head, shown)


def _binary(data: bytes, *, complete: bool) -> bool:
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the sniff window is still text
        return complete or exc.start < len(data) - 3
    return False


def _check_repo_id(dep: Deployment) -> None:
    if dep.model.kind is not SourceKind.HUB or dep.model.repo is None:
        return
    if FIELD_MODEL in dep.unknown or FIELD_REPO in dep.unknown:  # a template parameter: judged `error`
        return
    problem = repo_id_problem(dep.model.repo)
    if problem is not None:
        where = dep.location_of(FIELD_REPO)
        raise InputError(
            Position(where.path, where.line, where.column) if where else Position("."),
            f"Hub repository {dep.model.repo!r}: {problem}",
        )


def _qualified(found: list[tuple[Deployment, str]], native: set[int]) -> list[Deployment]:
    """The same deployment name in one file is bad input; in different files (kustomize overlays,
    per-size variants) they are different subjects, each named `<file>#<name>`. Native manifests keep
    SPEC §5's rule: `metadata.name` is unique across the files of a run."""
    files_of: dict[str, list[tuple[Deployment, str]]] = {}
    for dep, shown in found:
        same = files_of.setdefault(dep.name, [])
        clash = next(
            (first for first, where in same if where == shown or {id(dep), id(first)} <= native), None
        )
        if clash is not None:
            raise InputError(
                _position(dep.origin, shown),
                f"duplicate deployment name {dep.name!r} (first defined at {clash.origin})",
            )
        same.append((dep, shown))
    out: list[Deployment] = []
    for dep, shown in found:
        if len({where for _d, where in files_of[dep.name]}) > 1:
            dep = replace(dep, name=f"{shown}#{dep.name}")
        out.append(dep)
    return out


def _position(origin: Location | None, shown: str) -> Position:
    return Position(origin.path, origin.line, origin.column) if origin else Position(shown)


def load_text(
    path: Path,
    text: str,
    *,
    explicit: bool,
    context: ReadContext,
    inputs: Inputs | None = None,
) -> list[Deployment] | None:
    """Deployments in one file's text; None when it is not a deployment (recorded in `inputs`)."""
    shown = str(path)
    for reader in READERS:
        if reader.claims(path, text):
            loaded = reader.load(path, text, context)
            if loaded is not None:
                return _kind(loaded, reader.name)
            if explicit:
                raise InputError(Position(shown, 1, 1), f"not a deployment ({reader.name}): {_NOT_SDK}")
            if inputs is not None:
                inputs.skipped.append(Skipped(shown, f"not a deployment: {_NOT_SDK}"))
            return None
    try:
        outcome = _load_documents(shown, text, context)
    except InputError as exc:
        if path.suffix.lower() in MANIFEST_SUFFIXES or (explicit and not _deployment_like(path, text)):
            raise
        _leftover(path, text, inputs, parse_error=exc)
        return None
    loaded, recognised, unknown, structured = outcome
    if recognised:
        return loaded
    if unknown is None and not structured:  # HCL, Python or properties that YAML reads as a scalar
        unknown = _deployment_like(path, text)
    if explicit and unknown is None:
        raise InputError(
            Position(shown, 1, 1),
            f"not a recognised deployment manifest{f' ({unknown})' if unknown else ''} "
            "(expected apiVersion: r1policy/v1, a CloudFormation template, a Terraform plan, "
            "Kubernetes workloads or SageMaker API requests)",
        )
    if unknown is not None:
        _record_unreadable(inputs, shown, unknown)
        return None
    _leftover(path, text, inputs, parse_error=None, structured=structured)
    return None


def _kind(deployments: list[Deployment], kind: str) -> Loaded:
    """The same deployments (buckets and notes kept), each marked with the input kind it came from
    unless its reader already set one."""
    out = Loaded()
    out.absorb(deployments)
    out[:] = [d if d.input_kind != "r1policy/v1" else replace(d, input_kind=kind) for d in out]
    return out


def _deployment_like(path: Path, text: str) -> str | None:
    return None if path.suffix.lower() in PROSE_SUFFIXES else deployment_like_text(path, text)


def _leftover(
    path: Path, text: str, inputs: Inputs | None, parse_error: InputError | None, structured: bool = False
) -> None:
    shown = str(path)
    what = None if structured else _deployment_like(path, text)
    if what is not None:
        detail = f"{parse_error.position}: {parse_error.message}" if parse_error else ""
        _record_unreadable(inputs, shown, what, detail)
    elif inputs is not None:
        inputs.unrecognised.append(shown)
        reason = "neither YAML/JSON nor a known deployment format" if parse_error else "no reader claims it"
        inputs.skipped.append(Skipped(shown, f"not a deployment: {reason}"))


def _record_unreadable(inputs: Inputs | None, shown: str, what: str, detail: str = "") -> None:
    if inputs is not None:
        inputs.unreadable.append(Unreadable(shown, what, detail))


def _load_documents(shown: str, text: str, context: ReadContext) -> tuple[Loaded, bool, str | None, bool]:
    """The documents' deployments; whether any was recognised; what unrecognised one looks like a
    deployment format; whether any is a mapping or list (then only its structure decides, not words
    in its strings: an audit report quoting `AWS::SageMaker::Model` is no template)."""
    deployments = Loaded()
    recognised = structured = False
    unknown: str | None = None
    for doc in load_yaml_documents(text, shown, tag_handler=cfn_tag_handler):
        structured = structured or isinstance(doc.value, dict | list)
        if doc.value is None or any(ignored(doc.value) for ignored in IGNORED):
            recognised = recognised or doc.value is not None
            continue
        if doc.tags and not is_cloudformation(doc.value):  # YAML tags mean something only to CloudFormation
            tagged, tag = next(iter(doc.tags.items()))
            raise InputError(doc.position(tagged), f"unsupported YAML tag {tag!r}")
        for name, detect, load in LOADERS:
            if detect(doc.value):
                loaded = _kind(load(doc), name)
                if name == "r1policy/v1":
                    context.native.update(id(dep) for dep in loaded)
                deployments.absorb(loaded)
                recognised = True
                break
        else:
            for name, detect, factory in COLLECTORS:
                if detect(doc.value):
                    context.collector(name, factory).add(doc)
                    recognised = True
                    break
            else:
                unknown = unknown or deployment_like_value(doc.value)
    return deployments, recognised, unknown, structured


def is_candidate(path: Path) -> bool:
    """Whether a named file holds deployments or is of a deployment format (--skip-unrecognised)."""
    inputs = Inputs()
    text = read_text(path, display=str(path))
    loaded = load_text(path, text, explicit=False, context=ReadContext(), inputs=inputs)
    return loaded is not None or bool(inputs.unreadable)


def load_file(
    path: Path, *, explicit: bool, collectors: dict[str, Collector] | None = None
) -> list[Deployment] | None:
    """Deployments in one file; None when the file is not a manifest (skipped in folder walks).

    Documents for a collector go to `collectors` (shared across the files of one run); without it,
    they are linked within this file alone."""
    context = ReadContext(shared=dict(collectors) if collectors is not None else {})
    text = read_text(path, display=str(path))
    loaded = load_text(path, text, explicit=explicit, context=context)
    if collectors is None:
        finished = context.finish()
        if loaded is None and finished:
            loaded = Loaded()
        if loaded is not None:
            loaded.extend(finished)
    return loaded
