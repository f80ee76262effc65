"""Terraform source (a folder of `.tf` / `.tf.json` files = one root module) → deployments and file
buckets, without `terraform plan` (docs/inputs/terraform-source.md: what is resolved, what is `error`).

This package would be `sources/terraform/`, but a package of that name would shadow the existing
`sources/terraform/planfile.py` (the plan reader): Python resolves the package first.

`load_terraform_source(folder)` evaluates the module (`terraform.source.module`) with its variable values
(`terraform.tfvars`, `*.auto.tfvars` in name order, then each `--tf-var-file` in order; later wins),
shapes the result like a plan (`terraform.source.plan`) and reuses the plan reader's SageMaker shapes
and bucket facts. A folder that is a module called by another folder of the run — by a parent's `./modules/…`
source or by its own `examples/*` (`source = "../.."`) — is judged through its callers.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.lazyre import compile_on_use
from r1policy.core.model import Loaded
from r1policy.core.yamldoc import read_text

_VAR_FILES: list[Path] = []  # --tf-var-file, in order
_SOURCE = compile_on_use(r'^\s*source\s*=\s*"(\.\.?/[^"]*)"', re.MULTILINE)


def set_var_files(paths: list[Path]) -> None:
    """Start of a `check` run: its --tf-var-file files (the scan for module callers starts afresh)."""
    _SEARCH_CACHE.clear()
    _VAR_FILES[:] = list(paths)
    for path in paths:
        if not path.is_file():
            raise InputError(Position(str(path)), "--tf-var-file: no such file")


def is_terraform_folder(folder: Path) -> bool:
    try:
        return folder.is_dir() and any(
            p.name.endswith((".tf", ".tf.json")) for p in folder.iterdir() if p.is_file()
        )
    except OSError:
        return False


def load_terraform_source(folder: Path) -> Loaded:
    from r1policy.sources.terraform.planfile import loaded_from_plan
    from r1policy.sources.terraform.source.module import Module
    from r1policy.sources.terraform.source.plan import SourcePlan

    loaded = Loaded()
    plan_file = _plan_json(folder)
    if plan_file is not None:
        loaded.notes.append(f"{folder}: judged from the plan {plan_file.name}, not from the .tf source")
        return loaded
    caller = _caller(folder)
    if caller is not None:
        loaded.notes.append(f"{folder}: a module, judged through {caller} with its inputs")
        return loaded
    notes: list[str] = []
    root = Module(folder, "", _variable_values(folder), notes)
    region = root.region if isinstance(root.region, str) else None
    plan = SourcePlan(root.instances(), region)
    result = loaded_from_plan(plan, str(folder), "Terraform module")
    result.notes.extend(notes)
    # Root modules of one run often share addresses (environments/dev and environments/prod both call
    # module.r1): deployments are named by folder and address.
    named = Loaded([dataclasses.replace(dep, name=f"{folder}:{dep.name}") for dep in result])
    named.buckets, named.notes = result.buckets, result.notes
    return named


def _variable_values(folder: Path) -> dict[str, Any]:
    from r1policy.sources.terraform.source.expr import Evaluator
    from r1policy.sources.terraform.source.hcl import parse_file

    files = [folder / "terraform.tfvars"] if (folder / "terraform.tfvars").is_file() else []
    files += sorted(p for p in folder.glob("*.auto.tfvars") if p.is_file())
    files += _VAR_FILES
    values: dict[str, Any] = {}
    for path in files:
        shown = str(path)
        top = parse_file(read_text(path, display=shown), shown)
        if top.blocks:
            block = top.blocks[0]
            raise InputError(
                Position(shown, block.where.line),
                f"a variable file holds only attributes, not {block.type!r} blocks",
            )
        for name, attr in top.attrs.items():
            values[name] = Evaluator(_NoScope(), shown, attr.text).eval(attr.expr)
    return values


class _NoScope:
    def resolve(self, root: str, steps: list[Any], ev: Any, node: Any) -> Any:
        return ev.unknown(node, "is a reference, which a variable file cannot hold")


def _plan_json(folder: Path) -> Path | None:
    for path in sorted(folder.glob("*.json")):
        try:
            head = path.read_bytes()[:4096]
        except OSError:
            continue
        if b'"format_version"' in head and (b'"resource_changes"' in head or b'"terraform_version"' in head):
            return path
    return None


def _caller(folder: Path) -> Path | None:
    """A folder whose .tf calls `folder` as a local module (`source = "./…"` / `"../…"`), searched in the
    repository around it (up to the folder holding `.git`, at most 6 levels up; else its grandparent),
    scanning at most 5,000 folders and 5,000 .tf files."""
    target = folder.resolve()
    for calling, sources in _local_sources(_search_root(target)):
        if calling != target and any((calling / src).resolve() == target for src in sources):
            return calling
    return None


_SEARCH_CACHE: dict[Path, list[tuple[Path, list[str]]]] = {}
_SKIP = {".git", ".terraform", "node_modules", ".venv", "venv", "site-packages"}
MAX_SCANNED_TF = 5000
MAX_SCANNED_DIRS = 5000


def _search_root(folder: Path) -> Path:
    current = folder
    for _ in range(6):
        if (current / ".git").exists():
            return current
        if current.parent == current:
            break
        current = current.parent
    # No repository: the grandparent (root/modules/x is called by root), unless that is / or /tmp-like.
    return folder.parent.parent if len(folder.parent.parent.parts) > 2 else folder.parent


def _local_sources(root: Path) -> list[tuple[Path, list[str]]]:
    """(folder, local module sources its .tf files name) for every .tf under `root`, cached per run."""
    if root in _SEARCH_CACHE:
        return _SEARCH_CACHE[root]
    found: dict[Path, list[str]] = {}
    scanned = 0
    stack = [root]
    visited = 0
    while stack and scanned < MAX_SCANNED_TF and visited < MAX_SCANNED_DIRS:
        current = stack.pop()
        visited += 1
        try:
            entries = sorted(current.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                if entry.name not in _SKIP:
                    stack.append(entry)
            elif entry.name.endswith(".tf"):
                scanned += 1
                try:
                    text = entry.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                sources = _SOURCE.findall(text)
                if sources:
                    found.setdefault(current.resolve(), []).extend(sources)
    _SEARCH_CACHE[root] = sorted(found.items())
    return _SEARCH_CACHE[root]
