"""Where the built-in policies and schemas live: inside the wheel, or at the top of a checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from r1policy.core import jsonsafe

_PACKAGE = Path(__file__).resolve().parent


@cache
def _root(name: str) -> Path:
    bundled = _PACKAGE / "_bundled" / name
    if bundled.is_dir():
        return bundled
    checkout = _PACKAGE.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"r1policy is installed without its {name}/ folder (looked in {bundled})")


def policies_dir() -> Path:
    return _root("policies")


def schemas_dir() -> Path:
    return _root("schemas")


@cache
def load_schema(name: str) -> dict[str, Any]:
    with (schemas_dir() / name).open(encoding="utf-8") as handle:
        data: dict[str, Any] = jsonsafe.load(handle)
    return data


@cache
def load_data(name: str) -> Any:
    with (policies_dir() / "data" / name).open(encoding="utf-8") as handle:
        return jsonsafe.load(handle)
