"""Find manifests under the given paths and load each by its content, never by its name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1policy.errors import InputError, Position
from r1policy.model import Deployment
from r1policy.sources.native import is_native, load_native
from r1policy.sources.state import is_state
from r1policy.yamldoc import Document, load_yaml_documents, read_text

MANIFEST_SUFFIXES = {".yaml", ".yml", ".json"}
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".terraform", "reports"}

# (detector, loader) pairs, tried in order on every YAML/JSON document. Later issues add
# CloudFormation, Terraform plans, SageMaker API requests and Kubernetes here.
Detector = Callable[[Any], bool]
Loader = Callable[[Document], list[Deployment]]
LOADERS: tuple[tuple[str, Detector, Loader], ...] = (
    ("r1policy/v1", is_native, lambda doc: [load_native(doc)]),
)
# Documents that are r1policy's own files rather than manifests.
IGNORED: tuple[Detector, ...] = (is_state,)


@dataclass
class Inputs:
    deployments: list[Deployment] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)


def _walk(root: Path) -> Iterable[Path]:
    for path in sorted(root.iterdir()):
        if path.is_dir():
            if path.name not in _SKIP_DIRS and not path.name.startswith("."):
                yield from _walk(path)
        elif path.suffix.lower() in MANIFEST_SUFFIXES:
            yield path


def discover(paths: list[Path]) -> Inputs:
    inputs = Inputs()
    seen: dict[str, Deployment] = {}
    for root in paths:
        if root.is_dir():
            candidates, explicit = list(_walk(root)), False
        elif root.exists():
            candidates, explicit = [root], True
        else:
            raise InputError(Position(str(root)), "no such file or directory")
        for path in candidates:
            loaded = load_file(path, explicit=explicit)
            if loaded is None:
                inputs.unrecognised.append(str(path))
                continue
            inputs.files.append(str(path))
            for dep in loaded:
                first = seen.get(dep.name)
                if first is not None:
                    where = dep.origin
                    raise InputError(
                        Position(where.path, where.line, where.column) if where else Position(str(path)),
                        f"duplicate deployment name {dep.name!r} (first defined at {first.origin})",
                    )
                seen[dep.name] = dep
                inputs.deployments.append(dep)
    return inputs


def load_file(path: Path, *, explicit: bool) -> list[Deployment] | None:
    """Deployments in one file; None when the file is not a manifest (skipped in folder walks)."""
    shown = str(path)
    text = read_text(path, display=shown)
    deployments: list[Deployment] = []
    recognised = False
    for doc in load_yaml_documents(text, shown):
        if doc.value is None or any(ignored(doc.value) for ignored in IGNORED):
            recognised = recognised or doc.value is not None
            continue
        for _name, detect, load in LOADERS:
            if detect(doc.value):
                deployments.extend(load(doc))
                recognised = True
                break
    if not recognised:
        if explicit:
            raise InputError(
                Position(shown, 1, 1),
                "not a recognised deployment manifest (expected apiVersion: r1policy/v1)",
            )
        return None
    return deployments
