"""Import PyYAML without compiling the pure-Python reader's character check until something uses it.

`yaml/reader.py` compiles, as a class attribute of `Reader`, the pattern of characters YAML does not
allow (`Reader.NON_PRINTABLE`: a negated class of ranges up to U+10FFFF). CPython's regex compiler
builds that class in Python, about 9 ms: 4 % of a cold `r1policy check`. r1policy reads YAML with
libyaml's C parser (`CSafeLoader`), which checks characters in C and never uses the Python `Reader`.

`install()` (called by `r1policy.cli.main`, before anything imports yaml) puts a finder
first on `sys.meta_path` that acts once, on the import of `yaml.reader`: while that module's own code
runs (by PyYAML's own loader), the `re` module's cache answers that one pattern text with a stand-in, so
the class attribute is not compiled; right after, the stand-in leaves the cache and `Reader.NON_PRINTABLE`
becomes an attribute that compiles the very same pattern, by `re.compile`, on its first read and then
replaces itself with it. So the pure-Python loader (used when libyaml is missing, or asked for) sees a
real compiled `re.Pattern`, identical to PyYAML's, and rejects the same characters.

Nothing is changed if anything is not as expected: yaml already imported, a CPython whose `re` cache is
not a dict keyed by `(type, pattern, flags)`, a PyYAML whose reader does not compile exactly that text
(then it compiles its own pattern as usual; the stand-in is removed unused).
"""

from __future__ import annotations

import re
import sys
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

TARGET = "yaml.reader"
# The text PyYAML 5.1+ compiles as Reader.NON_PRINTABLE (yaml/reader.py), character for character.
NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
_KEY = (str, NON_PRINTABLE, 0)


class _StandIn:
    """What the regex cache answers for NON_PRINTABLE while yaml/reader.py runs (never read)."""


class _CompileOnFirstRead:
    """`Reader.NON_PRINTABLE` after the import: compiles the pattern when first read, then is replaced."""

    def __init__(self, owner: type) -> None:
        self.owner = owner

    def __get__(self, instance: object, cls: type | None = None) -> re.Pattern[str]:
        compiled = re.compile(NON_PRINTABLE)
        type.__setattr__(self.owner, "NON_PRINTABLE", compiled)
        return compiled


def _caches() -> list[dict[Any, Any]]:
    """`re`'s compiled-pattern caches (3.11: `_cache`; 3.12+: also `_cache2`), or [] when unknown."""
    found = [getattr(re, name, None) for name in ("_cache", "_cache2")]
    return [cache for cache in found if isinstance(cache, dict)]


class _Loader:
    """Wraps PyYAML's own loader of yaml/reader.py (duck-typed, as in core/cedarimport.py)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.real.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        stand_in = _StandIn()
        caches = _caches()
        for cache in caches:
            cache[_KEY] = stand_in
        try:
            self.real.exec_module(module)
        finally:
            for cache in caches:
                if cache.get(_KEY) is stand_in:
                    del cache[_KEY]
        reader = getattr(module, "Reader", None)
        if isinstance(reader, type) and reader.__dict__.get("NON_PRINTABLE") is stand_in:
            type.__setattr__(reader, "NON_PRINTABLE", _CompileOnFirstRead(reader))


class _Finder:
    """On `sys.meta_path` until yaml.reader is imported once; a finder by protocol."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name != TARGET:
            return None
        uninstall()
        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not _caches():
            return spec
        spec.loader = _Loader(spec.loader)  # type: ignore[assignment]  # a loader by protocol
        return spec


_FINDER = _Finder()


def install() -> None:
    if "yaml" in sys.modules or _FINDER in sys.meta_path:
        return
    sys.meta_path.insert(0, _FINDER)  # a finder by protocol


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
