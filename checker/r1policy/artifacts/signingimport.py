"""Import model-signing's key and certificate verifiers without its package `__init__`, which imports
every signing backend (sigstore, tuf, their HTTP and TUF stacks: about two thirds of the import's CPU).
R1-ART-011 with `trusted_keys` or `trusted_certificates` needs only `model_signing._signing`; the rest
of the package's API stays available: the first use of anything else runs its real `__init__`."""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


def install_light_package() -> None:
    """Put a lazy `model_signing` package in sys.modules unless the real one is already imported."""
    if "model_signing" in sys.modules:
        return
    spec = importlib.util.find_spec("model_signing")
    if spec is None or spec.submodule_search_locations is None or spec.loader is None:
        return  # not installed: the verifiers' own imports report it
    package = types.ModuleType("model_signing")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__package__ = "model_signing"
    package.__loader__ = spec.loader
    loader = spec.loader

    def complete(name: str) -> Any:
        if name.startswith("__") and name not in ("__version__", "__all__"):
            raise AttributeError(name)
        if not name.startswith("__"):
            try:  # a submodule (`from model_signing import manifest`): just that module
                return importlib.import_module(f"model_signing.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"model_signing.{name}":
                    raise
        if "_lightweight_loaded" in package.__dict__:
            raise AttributeError(name)
        package.__dict__["_lightweight_loaded"] = True
        del package.__dict__["__getattr__"]
        loader.exec_module(package)  # the package's real __init__, in this same module object
        return getattr(package, name)

    package.__dict__["__getattr__"] = complete
    sys.modules["model_signing"] = package
