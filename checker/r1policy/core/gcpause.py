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
_thresholds: tuple[int, int, int] | None = None  # as they were before `bulk()`
# While a command works through its inputs: a young collection per 50,000 new objects, not 700.
BULK_THRESHOLDS = (50_000, 20, 100)


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


def bulk() -> None:
    """Collect less often while the inputs are read and judged (`check` of thousands of manifests):
    they build objects that live until the report is written, and each young collection walks the
    newest of them again. Cycles are still collected, in larger steps. `restore()` undoes it."""
    global _thresholds
    if _thresholds is None:
        _thresholds = gc.get_threshold()
        gc.set_threshold(*BULK_THRESHOLDS)


def restore() -> None:
    """The collector's thresholds as they were before `bulk()` (any number of calls)."""
    global _thresholds
    if _thresholds is not None:
        gc.set_threshold(*_thresholds)
        _thresholds = None
