"""Find manifests under the given paths and load each by its content, never by its name.

Every file a folder walk reaches (sources/walk.py skips only version-control and dependency folders)
is offered to the readers in `READERS` order: the first whose `claims(path, text)` is true loads it.
The built-in YAML/JSON reader comes last and claims a file when one of its documents is recognised by
a document detector (`LOADERS`, `COLLECTORS`). A text file that nobody claims is either a deployment
format r1policy cannot read (sources/deploylike.py) -- reported as an `error` naming it -- or not a
deployment, and then listed in the report's `skipped` section with the reason. Binary files too.

The readers and their registry are in sources/readers.py (`register_reader` to add an input format),
what one file's text holds in sources/loadtext.py; both are re-exported here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Location
from r1policy.core.model import FIELD_MODEL, FIELD_REPO, Deployment, Loaded, SourceKind
from r1policy.core.repoid import repo_id_problem
from r1policy.core.yamldoc import MAX_FILE_BYTES, decode_utf8, read_text
from r1policy.sources.loadtext import MANIFEST_SUFFIXES, Inputs, Unreadable, load_text
from r1policy.sources.readers import READERS, Collector, ReadContext, Reader, register_reader
from r1policy.sources.walk import Skipped, Walk, WalkOptions

__all__ = [
    "READERS",
    "Collector",
    "Inputs",
    "ReadContext",
    "Reader",
    "Unreadable",
    "discover",
    "is_candidate",
    "load_file",
    "load_text",
    "register_reader",
]
_SNIFF_BYTES = 8192


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
        todo: list[Path] = []
        for path in candidates:
            real = walk.real_path(path)
            if real in done:  # the same file named twice (a folder and a file in it)
                continue
            done.add(real)
            todo.append(path)
            inputs.real_paths[str(path)] = str(real)
        _read_all(todo, explicit, context, inputs, found)
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


def _read_all(
    paths: list[Path],
    explicit: bool,
    context: ReadContext,
    inputs: Inputs,
    found: list[tuple[Deployment, str]],
) -> None:
    """Read and keep each file in order; with many files, a forked helper reads from the back of the
    list while this process reads from the front (sources/readsplit.py), and the helper's results are
    kept here, in order, as if read here."""

    def here(part: list[Path]) -> None:
        for path in part:
            _keep(path, _load_one(path, explicit, context, inputs), inputs, found)

    helper = None
    if len(paths) > 1:  # (one file: no need to import the split)
        from r1policy.sources import readsplit

        helper = readsplit.start(paths, explicit, _load_one)
    if helper is None:
        here(paths)
        return
    try:
        for part in helper.front():
            here(paths[part.start : part.stop])
        done = readsplit.results(helper.result())
    finally:
        helper.close()
    for path, read in zip(paths[helper.start :], done, strict=False):
        if read is None:  # a file the helper could not hand back: read here, in its place
            here([path])
            continue
        inputs.skipped.extend(read.skipped)
        inputs.unreadable.extend(read.unreadable)
        inputs.unrecognised.extend(read.unrecognised)
        context.native.update(
            id(dep) for dep, native in zip(read.loaded or (), read.native, strict=True) if native
        )
        _keep(path, read.loaded, inputs, found)
    here(paths[helper.start + len(done) :])  # all of the helper's part when it failed


def _load_one(path: Path, explicit: bool, context: ReadContext, inputs: Inputs) -> list[Deployment] | None:
    """What one file holds (None: nothing to keep; skipped and unreadable files go to `inputs`)."""
    text = _text_of(path, explicit, inputs)
    if text is None:
        return None
    return load_text(path, text, explicit=explicit, context=context, inputs=inputs)


def _keep(
    path: Path, loaded: list[Deployment] | None, inputs: Inputs, found: list[tuple[Deployment, str]]
) -> None:
    """Keep one file's deployments: the checks across files happen here, in file order."""
    if loaded is None:
        return
    shown = str(path)
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
