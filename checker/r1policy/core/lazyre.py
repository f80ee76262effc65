"""Regular expressions compiled when first used, not when their module is imported (issue 23: cold start).

A module-level `re.compile` runs CPython's regex compiler (written in Python) on every start: about 0.2 ms a
pattern, some 30 of them (about 6 ms) on a one-manifest `check` that never uses them — the readers of
other formats, the error paths, the version formats of other serving images.

`compile_on_use(pattern, flags)` returns a stand-in that compiles `re.compile(pattern, flags)` on the first
read of any attribute (`match`, `search`, `sub`, `pattern`, ...) and from then on holds the compiled
pattern's attributes as its own, so a later call costs what a call on the compiled pattern costs. An
invalid pattern raises `re.error` at that first use rather than at import (the tests use every pattern).
It is typed as `re.Pattern[str]`: use it only through its attributes, never with `re.*` functions,
`isinstance` or `copy`.
"""

from __future__ import annotations

import re
from typing import Any, cast

_METHODS = ("match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer")


class _CompileOnUse:
    """A pattern compiled on the first attribute read (see the module docstring)."""

    def __init__(self, pattern: str, flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:  # only for names not (yet) in the instance's own dict
        if name.startswith("__"):
            raise AttributeError(name)
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            compiled = re.compile(*self._source)
            self.__dict__["_compiled"] = compiled
            for method in _METHODS:  # from now on found without calling __getattr__
                self.__dict__[method] = getattr(compiled, method)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"compile_on_use({self._source[0]!r}, {self._source[1]!r})"


def compile_on_use(pattern: str, flags: int | re.RegexFlag = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)` when the result is first used."""
    return cast(re.Pattern[str], _CompileOnUse(pattern, int(flags)))
