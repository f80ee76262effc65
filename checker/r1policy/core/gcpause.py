"""No cyclic garbage collection while a command starts up (issue 23: cold start).

Start-up — importing r1policy and its libraries, reading the configuration and the rule pack — allocates
a few hundred thousand objects that live until the process ends: modules, classes, functions, the rules.
The cycle collector runs about fifty times over them on a cold `check` (about 9 ms, 4 % of it) and can free
nothing. `pause()` (at the start of `cli.main`) turns it off; `resume()` turns it back on, as it was, once
the command's start-up is over (`check`: before it reads its inputs; every other command: before it runs)
and, whatever happens, when `main` returns. Reference counting frees everything as usual meanwhile: only
reference cycles made during start-up wait for the collector.

With `freeze` (the `r1policy` process itself, not a caller of `cli.main` in its own process), `resume()`
first moves every object alive at that point into the collector's permanent generation (`gc.freeze()`),
so that the collector's next runs do not walk the start-up objects again: without it the first
collection after start-up walks them all (about 5 ms). A reference cycle made during start-up that
became garbage before `resume()` is then never freed: at most what start-up allocated, once per process.
"""

from __future__ import annotations

import gc

_paused = False
_freeze = False


def pause(*, freeze: bool = False) -> None:
    """Stop the cycle collector until `resume()`, if it runs."""
    global _paused, _freeze
    if gc.isenabled():
        gc.disable()
        _paused, _freeze = True, freeze


def resume() -> None:
    """Turn the cycle collector back on if `pause()` turned it off (any number of calls)."""
    global _paused
    if _paused:
        _paused = False
        if _freeze:
            gc.freeze()
        gc.enable()
