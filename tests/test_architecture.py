"""The layer contract is written where a reader looks: each top-level package's docstring says which
packages it may import, and that list is exactly what pyproject.toml's import-linter layers allow.
(`make layers` runs import-linter itself; this test keeps the prose and the contract in step.)"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "checker" / "r1policy"


def _layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    return [[name.strip() for name in layer.split("|")] for layer in layers]


def _may_import(package: str) -> set[str]:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8"))) or ""
    match = re.search(r"May import:(.*?)(?:\n\(|$)", doc, re.S)
    assert match, f"r1policy.{package}'s docstring does not say what it may import"
    listed = match.group(1)
    if "nothing from r1policy" in listed:
        return set()
    return {name.strip(" .\n") for name in listed.replace("\n", " ").split(",")}


def test_top_level_is_only_cli_main_and_packages() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "cli.py"]


def test_every_package_is_in_a_layer() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    layered = {name for layer in _layers() for name in layer}
    assert packages == layered - {"cli"}


def test_each_package_docstring_states_exactly_the_layers_below_it() -> None:
    layers = _layers()
    for depth, layer in enumerate(layers):
        below = {name for lower in layers[depth + 1 :] for name in lower}
        for package in layer:
            if package == "cli":
                continue
            assert _may_import(package) == below, package
