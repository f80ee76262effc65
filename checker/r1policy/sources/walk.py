"""Folder walks for `check`: every file is a candidate, decided by its content; only dependency and
version-control folders are skipped, and every skip is recorded with its reason for the report.

- Skipped folders: version control (`.git`, `.hg`, `.svn`, `.bzr`, `.jj`), dependencies and caches
  (`node_modules`, `bower_components`, `__pycache__`, `.tox`, `.nox`, `.mypy_cache`, `.pytest_cache`,
  `.ruff_cache`, `.terraform`, `site-packages`) and Python virtual environments (any folder holding
  `pyvenv.cfg`, whatever its name). Everything else is walked: dot-folders (`.sagemaker/`), `reports/`,
  a `venv/` that is not a virtual environment.
- `--exclude GLOB` skips what matches (a file or a whole folder); `--include GLOB` reads matching files
  inside folders that are skipped by default. Globs match the path relative to the folder given to
  `check` (POSIX separators; `*` also crosses `/`) or the file or folder name alone. Exclude wins.
- A folder reached twice (symlink loops) is walked once.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from r1policy.core.record import frozen_record

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", ".jj"})
DEPENDENCY_DIRS = frozenset(
    {
        "node_modules",
        "bower_components",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".terraform",
        "site-packages",
        "dist-packages",
        ".ipynb_checkpoints",  # Jupyter's autosaved copies of the notebooks next to them
    }
)


@frozen_record
class Skipped:
    """A path `check` did not read, and why (shown in every report)."""

    path: str
    reason: str


@frozen_record
class WalkOptions:
    """The --include / --exclude globs of a walk over input folders."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass
class Walk:
    """A walk over input folders: the files it yields and the ones it skipped, with why."""

    options: WalkOptions = field(default_factory=WalkOptions)
    skipped: list[Skipped] = field(default_factory=list)
    # A folder that is read as one unit through one file (a `cdk synth` cloud assembly through its
    # manifest.json): `whole(folder)` names that file, else None.
    whole: Callable[[Path], Path | None] | None = None
    _seen: set[Path] = field(default_factory=set)
    _real: dict[Path, Path] = field(default_factory=dict)

    def files(self, root: Path) -> Iterator[Path]:
        """Every file under `root` that is not skipped, in sorted order."""
        yield from self._walk(root, root, inside_skipped=False)

    def real_path(self, path: Path) -> Path:
        """`path.resolve()`: known without a system call for a file the walk met as no symlink, in a
        folder it resolved."""
        real = self._real.get(path)
        return real if real is not None else path.resolve()

    def _walk(self, root: Path, folder: Path, *, inside_skipped: bool) -> Iterator[Path]:
        try:
            real = folder.resolve()
        except OSError:
            real = folder
        if real in self._seen:
            return
        self._seen.add(real)
        entry = self.whole(folder) if self.whole is not None else None
        if entry is not None:
            self.skipped.append(Skipped(f"{folder}/", f"read as one unit through {entry.name}"))
            yield entry
            return
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            self.skipped.append(Skipped(f"{folder}/", f"cannot list the folder: {exc.strerror or exc}"))
            return
        patterns = bool(self.options.exclude or self.options.include)
        for item in entries:
            path = folder / item.name
            rel = _relative(root, path) if patterns else ""
            excluded = _matching(rel, item.name, self.options.exclude)
            if excluded is not None:
                self.skipped.append(Skipped(_shown(path), f"excluded by --exclude {excluded}"))
                continue
            link = item.is_symlink()
            if path.is_dir() if link else item.is_dir():
                yield from self._folder(root, path, rel, inside_skipped=inside_skipped)
            elif path.is_file() if link else item.is_file():
                if inside_skipped and _matching(rel, item.name, self.options.include) is None:
                    continue
                if not link and real is not folder:
                    self._real[path] = real / item.name
                yield path

    def _folder(self, root: Path, path: Path, rel: str, *, inside_skipped: bool) -> Iterator[Path]:
        reason = None if inside_skipped else default_skip_reason(path)
        if reason is None:
            yield from self._walk(root, path, inside_skipped=inside_skipped)
            return
        if self.options.include and self._may_include(rel):
            self.skipped.append(Skipped(f"{path}/", f"{reason}: only files matching --include read"))
            yield from self._walk(root, path, inside_skipped=True)
            return
        self.skipped.append(Skipped(f"{path}/", reason))

    def _may_include(self, rel: str) -> bool:
        for pattern in self.options.include:
            if fnmatch.fnmatchcase(rel, pattern) or pattern.startswith(("*", rel + "/")):
                return True
            if "/" not in pattern:  # a bare name pattern may match files anywhere below
                return True
        return False


def default_skip_reason(folder: Path) -> str | None:
    """Why a folder is skipped by default (dependency or version control), or None to walk it."""
    name = folder.name
    if name in VCS_DIRS:
        return "version-control folder"
    if name in DEPENDENCY_DIRS:
        return "dependency or cache folder"
    if (folder / "pyvenv.cfg").is_file():
        return "Python virtual environment (pyvenv.cfg)"
    return None


def _relative(root: Path, path: Path) -> str:
    try:
        return PurePosixPath(*path.relative_to(root).parts).as_posix()
    except ValueError:
        return path.name


def _shown(path: Path) -> str:
    return f"{path}/" if path.is_dir() else str(path)


def _matching(rel: str, name: str, patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        bare = pattern.rstrip("/")
        if fnmatch.fnmatchcase(rel, bare) or fnmatch.fnmatchcase(name, bare):
            return pattern
    return None
