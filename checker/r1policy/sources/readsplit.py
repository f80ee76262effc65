"""Many files read on two cores (issue 23): a forked helper reads a folder's files from the back, a
chunk at a time, while this process reads them from the front, until the two meet
(`core.meeting.Meeting`); the helper hands back what reading each of its files built.

Reading a manifest (decoding, YAML, schema, the deployment model) costs about ten times what unpickling
the deployments it built costs, and one file's reading is independent of the others' -- except through
what the readers share (`ReadContext`) and what `discover` does with each result (duplicate names,
buckets defined twice, repository ids). So the helper only *reads* (`discover._load_one` with a context
and an `Inputs` of its own per file) and this process *keeps* every result in file order, exactly as a
sequential run would (`discover._keep`): every check across files, and every error they raise, happens
here, in the same order.

A file the helper cannot hand back as it stands is read by this process, in its place in file order:
- reading it raised (this process then raises the same error, from its own reading, in file order);
- a reader used the shared context (a collector: Terraform modules, CDK, documents linked across
  files), whose state belongs to this process;
- reading it touched an `Inputs` field other than skipped, unreadable and unrecognised files.
The files around it are not: a reader reaches the shared context only through `ReadContext.collector`,
which records it, so a file whose reading, from a context of its own, left `shared` empty read nothing
another file's reading could have left there.

A helper that dies, is killed, or whose result does not arrive leaves all its files to this process:
the run is the same, only slower. `R1POLICY_PARALLEL=off` turns the helper off; core/forked.py says
when a process may fork at all. It only runs when every reader is a built-in one (a registered reader
may keep state of its own). What crosses from the helper is a pickle that r1policy's own helper
process wrote into an unlinked temporary file; nothing read from an input is ever unpickled as code.

tests/test_two_cores.py compares runs with and without the helper on the bundled examples of every
format and on a folder of mixed files, with bad input and shared state in the helper's half.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from r1policy.core.meeting import Meeting, meet
from r1policy.core.model import Deployment
from r1policy.sources.loadtext import Inputs, Unreadable
from r1policy.sources.readers import READERS, ReadContext
from r1policy.sources.walk import Skipped

MIN_FILES = 200  # below this, forking costs more than the helper saves
CHUNK = 8  # files taken at a time (about 4 ms of reading: the lock costs microseconds)
_BUILT_IN_READERS = tuple(READERS)  # as the package defines them, before any register_reader

Load = Callable[[Path, bool, ReadContext, Inputs], "list[Deployment] | None"]


class Read:
    """What reading one file built, for `discover` to keep in order (a plain class: nothing generated
    at import, which every cold check pays)."""

    __slots__ = ("loaded", "native", "skipped", "unreadable", "unrecognised")

    def __init__(
        self,
        loaded: list[Deployment] | None,
        native: tuple[bool, ...],  # per deployment: read from a native manifest (ReadContext.native)
        skipped: list[Skipped],
        unreadable: list[Unreadable],
        unrecognised: list[str],
    ) -> None:
        self.loaded, self.native, self.skipped = loaded, native, skipped
        self.unreadable, self.unrecognised = unreadable, unrecognised


def start(paths: Sequence[Path], explicit: bool, load: Load) -> Meeting[list[Read | None]] | None:
    """A helper reading `paths` from the back, or None when reading them all here is as fast, or
    forking is not safe here or fails. Its result is for `results`."""
    if tuple(READERS) != _BUILT_IN_READERS:
        return None
    return meet(len(paths), MIN_FILES, CHUNK, lambda part: _read_chunk(paths, part, explicit, load))


def results(chunks: list[list[Read | None]] | None) -> list[Read | None]:
    """What reading each of the helper's files built, in file order from where the two processes met
    (None: a file this process reads); nothing when the helper failed."""
    return [read for chunk in chunks or () for read in chunk]


def _read_chunk(paths: Sequence[Path], part: range, explicit: bool, load: Load) -> list[Read | None]:
    return [_read_one(paths[index], explicit, load) for index in part]


def _read_one(path: Path, explicit: bool, load: Load) -> Read | None:
    """What reading `path` built, or None when this process must read it (see the module's text)."""
    context, inputs = ReadContext(), Inputs()
    try:
        loaded = load(path, explicit, context, inputs)
    except Exception:  # noqa: BLE001 - the main process reads this file again and raises
        return None
    if context.shared or replace(inputs, skipped=[], unreadable=[], unrecognised=[]) != Inputs():
        return None  # state across files: the main process reads this file with its own
    native = tuple(id(dep) in context.native for dep in loaded or ())
    return Read(loaded, native, inputs.skipped, inputs.unreadable, inputs.unrecognised)
