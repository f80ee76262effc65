"""Import cedarpy without running `cedarpy.pst` until something uses it.

`cedarpy/__init__` imports its `pst` submodule (about a hundred frozen dataclasses mirroring Cedar's
policy syntax tree, ~20 ms: a tenth of a cold `r1policy check`) only to re-export it; r1policy never
uses it. `import_cedarpy` registers `cedarpy.pst` as a module whose code runs on the first attribute
read (PEP 562 `__getattr__`), then imports cedarpy. Nothing else changes: the module object, its
spec, its file and its contents are cedarpy's own, loaded by cedarpy's own loader the moment anything
(including cedarpy's Rust side) reads a name from it. If the submodule cannot be found this way, cedarpy
is imported as usual.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

DEFERRED = "cedarpy.pst"


class _Deferred:
    """A loader (duck-typed: `importlib.abc` itself imports importlib.resources and tempfile)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.real.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        real = self.real

        def load_on_first_use(name: str) -> Any:
            del module.__dict__["__getattr__"]
            real.exec_module(module)
            return getattr(module, name)

        module.__dict__["__getattr__"] = load_on_first_use


def import_cedarpy() -> ModuleType:
    if "cedarpy" not in sys.modules and DEFERRED not in sys.modules:
        _defer_pst()
    import cedarpy

    return cedarpy


def _defer_pst() -> None:
    package = importlib.util.find_spec("cedarpy")  # finds, does not import
    if package is None or not package.submodule_search_locations:
        return
    spec = PathFinder.find_spec(DEFERRED, list(package.submodule_search_locations))
    if spec is None or spec.loader is None:
        return
    loader = _Deferred(spec.loader)
    spec.loader = loader  # type: ignore[assignment]  # a loader by protocol (see _Deferred)
    module = importlib.util.module_from_spec(spec)
    sys.modules[DEFERRED] = module
    loader.exec_module(module)
