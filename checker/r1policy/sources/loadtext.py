"""One file's text -> its deployments, or why it holds none: the first reader that claims the file
(sources/readers.py) loads it, else its YAML/JSON documents are offered to the document detectors. A
file of a deployment format r1policy cannot read (sources/deploylike.py) is `Unreadable` (an `error`
finding); any other file is recorded as skipped with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from r1policy.core.errors import InputError, Position
from r1policy.core.model import Deployment, FileBucket, Loaded
from r1policy.core.yamldoc import load_yaml_documents
from r1policy.sources.cloudformation.intrinsics import cfn_tag_handler
from r1policy.sources.deploylike import deployment_like_text, deployment_like_value
from r1policy.sources.readers import (
    COLLECTORS,
    IGNORED,
    LOADERS,
    READERS,
    ReadContext,
    is_cloudformation,
    marked,
)
from r1policy.sources.walk import Skipped

MANIFEST_SUFFIXES = {".yaml", ".yml", ".json"}
# Prose: read as a manifest when the whole file is one, never reported as an unreadable deployment.
PROSE_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".html", ".htm", ".org", ".tex"}
_NOT_SDK = (
    "the code neither imports sagemaker nor calls boto3's create_model / create_endpoint_config / "
    "create_endpoint"
)


@dataclass(frozen=True)
class Unreadable:
    """A file of a deployment format that no reader understands: an `error` finding, never skipped."""

    path: str
    what: str
    detail: str = ""


@dataclass
class Inputs:
    """What reading the given paths found: deployments, files, buckets, skipped and unreadable inputs."""

    deployments: list[Deployment] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    # Buckets defined in the files (CloudFormation, Terraform), by name: judged even with --static.
    buckets: dict[str, FileBucket] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    # The real path (symlinks resolved) of each file a folder walk or the command line named, by its
    # shown path: known from the walk, so that checking outputs against inputs needs no system call.
    real_paths: dict[str, str] = field(default_factory=dict)

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
                return marked(loaded, reader.name)
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
                loaded = marked(load(doc), name)
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
