"""Import `dataclasses` without `inspect` until `dataclasses` reads a name from it (issue 23: cold start).

`dataclasses` imports `inspect` when it is imported, and `inspect` imports `ast`, `dis`, `opcode`,
`tokenize` (which compiles its token patterns), `linecache` and more: about 7 ms of a cold `r1policy
check`, a twentieth of it. `dataclasses` uses `inspect` for one thing only: `inspect.signature(cls)`, to
write a `__doc__` for a class that has no docstring (r1policy's classes have one).

`install()` imports `dataclasses` while `sys.modules["inspect"]` is a stand-in module, and removes the
stand-in right after: `dataclasses` keeps it as its global `inspect`, nothing else ever sees it (any other
`import inspect` gets the real module, imported as usual). The stand-in holds no name of its own: the
first name `dataclasses` reads from it (`inspect.signature`) imports the real `inspect` through the
import system (thread-safe, by its own loader) and every read is answered from the real module. So
`dataclasses` behaves exactly as before; only the moment `inspect` is imported changes.

`r1policy.cli` calls it first thing, before anything imports `dataclasses`; nothing happens when
`dataclasses` or `inspect` is already imported (a program that imported them before r1policy).
"""

from __future__ import annotations

from r1policy.core.deferimport import import_deferring


def install() -> None:
    """Import `dataclasses` with `inspect` deferred (see the module docstring and core/deferimport.py)."""
    import_deferring("dataclasses", ("inspect",))
