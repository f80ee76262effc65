"""Import a module while some of the modules it imports are stand-ins that import them on first use.

A library that imports a module at its top but uses it only inside functions a run never calls still pays
for the import on every run (issue 23: cold start). `import_deferring(module, deferred)` imports `module`
while each name of `deferred` that is not imported yet is, in `sys.modules`, a stand-in module; right after,
the stand-ins leave `sys.modules`, so only the modules imported meanwhile hold them (as the globals their
`import` statements bound) and every later `import` of those names gets the real module, imported as usual.

A stand-in holds no name of its own: the first name read from it imports the real module through the
import system (thread-safe, by the module's own loader) and every read is answered from the real module.
So the importing module behaves exactly as before; only the moment the deferred module is imported
changes. A name read while `module` is still being imported (a `from x import y`, a module-level use) just
imports the real module then.

Used for `dataclasses` (`inspect`: core/inspectimport.py) and jsonschema_rs (`socket` and `random`, which
its `email.utils` imports for `make_msgid` and `getfqdn`: core/validation.py).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class _StandIn(ModuleType):
    """A deferred module: answers every name from the real module, imported on the first read."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:  # read while it was still standing in
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def import_deferring(module: str, deferred: tuple[str, ...]) -> ModuleType:
    """`module`, imported (if it is not yet) with the not-yet-imported `deferred` modules standing in."""
    if module in sys.modules:
        return importlib.import_module(module)
    stand_ins = {
        name: _StandIn(name, f"Stand-in for {name} (r1policy.core.deferimport).")
        for name in deferred
        if name not in sys.modules
    }
    sys.modules.update(stand_ins)
    try:
        return importlib.import_module(module)
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
