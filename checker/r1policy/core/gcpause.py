"""No cyclic garbage collection while a command starts up (issue 23: cold start), and no freeing of
every object when the command-line process ends (`keep_to_end`, `keep`, `end`: see below).

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
import os
import sys

_paused = False
_freeze = False
_bulk: bool | None = None  # while in `bulk()`: whether the collector ran before it


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
    """No cycle collection while the inputs are read and judged (`check` of thousands of manifests):
    they build objects that live until the report is written, and every young collection walks the
    newest of them again, finding nothing to free. On 10,000 generated manifests the collections took
    0.58 s of this process's 9-11 s (each walks 50,000 objects spread over 600 MB), and peak memory was
    the same without them (644 against 642 MB): reading and judging leave no reference cycles worth
    collecting (an input's own cycles, YAML aliases, are bounded by its size). Reference counting frees
    everything else as usual. `restore()` turns the collector back on, as it was."""
    global _bulk
    if _bulk is None:
        _bulk = gc.isenabled()
        gc.disable()


def restore() -> None:
    """The collector as it was before `bulk()` (any number of calls).

    The collector counts the objects allocated while it was off: turned on again as they are, its next
    allocation would start a young collection walking every object the inputs and findings built (72 ms
    after the report of 2,000 manifests is written, 0.4 s after 10,000), which frees nothing. In the
    command-line process (`keep_to_end()`), which ends right after, those objects are first moved out of
    the collector's reach (`gc.freeze()`, which also sets the count back to zero); a caller of
    `cli.main` in its own process (a test, a hook) gets them back under the collector."""
    global _bulk
    if _bulk is not None:
        if _bulk:
            if _kept is not None:
                gc.freeze()
            gc.enable()
        _bulk = None


# -- the end of the command-line process --------------------------------------------------------------
# A large `check` builds a few hundred thousand objects that live until its report is written. Freeing
# them one by one when the command returns, and then tearing the interpreter down, takes about 3 % of
# the run (70 ms on 2,000 manifests); the operating system takes a process's memory back at once.
_kept: list[object] | None = None  # set by `keep_to_end()`: the command-line process only


def keep_to_end() -> None:
    """This process ends with `end()` (the `r1policy` command, `cli.run`): what `keep` is given is
    never freed before."""
    global _kept
    _kept = []


def keep(*objects: object) -> None:
    """Objects a command built that are needed until the end: kept, not freed, when the process ends
    with `end()`; nothing happens in a process that did not call `keep_to_end()` (a test, a hook)."""
    if _kept is not None:
        _kept.extend(objects)


def end(code: int) -> None:
    """End the process with `code` now: its output flushed and its exit handlers run (temporary
    folders' finalizers among them), as at a normal exit, but without freeing every object and module
    first. Returns, for the usual exit, in a process that did not call `keep_to_end()`, when another
    thread still runs (the interpreter would wait for it), or when the output cannot be flushed (the
    interpreter reports that)."""
    import threading

    if _kept is None or threading.active_count() != 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = 120  # what the interpreter exits with when its last flush fails
    os._exit(code)
