"""Containers of pickles: plain pickles, legacy PyTorch files, .npy, joblib; one forward pass each."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from r1policy.artifacts.pickles.allowlist import Allowlist, default_allowlist
from r1policy.artifacts.pickles.interp import Interpreter, PersidHook
from r1policy.artifacts.pickles.joblib_arrays import joblib_build_hook
from r1policy.artifacts.pickles.model import (
    DEFAULT_LIMITS,
    GlobalRef,
    Limits,
    PickleAnalysis,
    PickleKind,
    PickleProblem,
    ProblemKind,
)
from r1policy.artifacts.pickles.npy import read_header
from r1policy.artifacts.pickles.reader import ByteStream, Reader, StopAnalysis
from r1policy.artifacts.pickles.values import describe

TORCH_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_PROTOCOL = 1001
_KINDS = {kind.value: ProblemKind(kind.value) for kind in ProblemKind}


@dataclass
class _Run:
    reader: Reader
    allow: Allowlist
    limits: Limits
    problems: list[PickleProblem] = field(default_factory=list)
    imports: list[GlobalRef] = field(default_factory=list)
    pickles: int = 0
    object_dtype: bool = False
    storages: dict[str, tuple[int, int]] = field(default_factory=dict)  # legacy torch: key -> (size, numel)

    def interpreter(self, persid: PersidHook | None) -> Interpreter:
        return Interpreter(
            self.reader,
            self.allow,
            self.limits,
            self.problems,
            self.imports,
            on_persid=persid,
            on_build=joblib_build_hook(self),
        )

    def one_pickle(self, persid: PersidHook | None = None) -> object:
        """Interpret one pickle; StopAnalysis propagates (the caller records it)."""
        if self.pickles >= self.limits.max_pickles:
            raise StopAnalysis(self.reader.offset, "limit", f"more than {self.limits.max_pickles} pickles")
        self.pickles += 1
        return self.interpreter(persid).run()

    def record(self, stop: StopAnalysis) -> None:
        self.problems.append(PickleProblem(stop.offset, _KINDS[stop.kind], stop.message))

    def end_of_data(self, what: str) -> None:
        """After the last STOP: frame accounting, then nothing may follow."""
        r = self.reader
        if r.frame_end >= 0 and r.offset < r.frame_end and r.at_end():
            self.problems.append(
                PickleProblem(
                    r.frame_start,
                    ProblemKind.MALFORMED,
                    f"FRAME length lie: the frame claims {r.frame_end - r.frame_start - 9} bytes "
                    f"but the data ends at byte {r.offset}",
                )
            )
            return
        r.frame_end = -1
        if not r.at_end():
            self.trailing(what)

    def trailing(self, what: str) -> None:
        """Report bytes after the end, then analyse them as pickles too, so payloads are named."""
        r = self.reader
        self.problems.append(
            PickleProblem(r.offset, ProblemKind.TRAILING_DATA, f"data after the end of {what}")
        )
        keep = len(self.problems)
        while not r.at_end() and self.pickles < self.limits.max_pickles:
            try:
                self.one_pickle()
            except StopAnalysis:
                break
            r.frame_end = -1
        # a parse error in the trailing bytes says nothing new: keep only what names a payload
        extra = [
            p for p in self.problems[keep:] if p.kind in (ProblemKind.UNSAFE_GLOBAL, ProblemKind.UNRESOLVABLE)
        ]
        del self.problems[keep:]
        self.problems.extend(extra)


def analyse(
    stream: ByteStream,
    kind: PickleKind,
    *,
    limits: Limits = DEFAULT_LIMITS,
    allowlist: Allowlist | None = None,
) -> PickleAnalysis:
    """Analyse a pickle-based stream read sequentially with `.read(n)`; never unpickles anything."""
    kind = PickleKind(kind)  # also accepts the value string ("npy", "torch-zip", ...)
    run = _Run(Reader(stream), allowlist or default_allowlist(), limits)
    pickle_based = True
    rejected = False
    try:
        if kind is PickleKind.NPY:
            pickle_based = _npy(run)
        elif kind is PickleKind.TORCH_LEGACY:
            _torch_legacy(run)
        else:
            persid = _zip_storage_persid if kind is PickleKind.TORCH_ZIP else None
            run.one_pickle(persid)
            run.end_of_data("the pickle")
    except StopAnalysis as stop:
        run.record(stop)
        rejected = stop.kind == "malformed" and run.pickles <= 1
    return PickleAnalysis(
        kind=kind,
        imports=tuple(run.imports),
        problems=tuple(run.problems),
        pickle_based=pickle_based,
        object_dtype=run.object_dtype,
        bytes_consumed=run.reader.offset,
        pickles=run.pickles,
        rejected=rejected,
    )


# -- PyTorch ------------------------------------------------------------------------------------
def _storage_pid(interp: Interpreter, pid: object) -> tuple[str, int, int] | None:
    """Validate ('storage', <storage class>, key, location, numel[, view]); (key, elem size, numel)."""
    ok = isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
    if ok and isinstance(pid, tuple):
        cls, key, location, numel = pid[1], pid[2], pid[3], pid[4]
        if (
            isinstance(cls, GlobalRef)
            and isinstance(key, str)
            and isinstance(location, str)
            and type(numel) is int
            and numel >= 0
            and (len(pid) == 5 or _view_ok(pid[5]))
        ):
            size = interp.allow.storage_sizes.get((cls.module, cls.name))
            if size is not None:
                return key, size, numel
            interp.problem(
                ProblemKind.UNRESOLVABLE, f"persistent id names {cls.dotted}, which is not a storage class"
            )
            return None
    interp.problem(
        ProblemKind.UNRESOLVABLE,
        f"persistent id {describe(pid)} is not a PyTorch storage reference "
        "('storage', <storage class>, key, location, numel)",
    )
    return None


def _view_ok(view: object) -> bool:
    """Legacy view metadata: None, or (view key, offset, size) of plain values."""
    return view is None or (
        isinstance(view, tuple)
        and len(view) == 3
        and isinstance(view[0], str)
        and all(type(v) is int for v in view[1:])
    )


def _zip_storage_persid(interp: Interpreter, pid: object, offset: int) -> None:
    _storage_pid(interp, pid)


def _torch_legacy(run: _Run) -> None:
    r = run.reader
    start = r.offset
    magic = run.one_pickle()
    if magic != TORCH_MAGIC:
        run.problems.append(
            PickleProblem(
                start, ProblemKind.MALFORMED, "legacy PyTorch file without the PyTorch magic number"
            )
        )
    r.frame_end = -1
    start = r.offset
    if run.one_pickle() != TORCH_PROTOCOL:
        run.problems.append(
            PickleProblem(
                start, ProblemKind.MALFORMED, f"legacy PyTorch protocol version is not {TORCH_PROTOCOL}"
            )
        )
    r.frame_end = -1
    run.one_pickle()  # sys_info
    r.frame_end = -1

    def persid(interp: Interpreter, pid: object, offset: int) -> None:
        found = _storage_pid(interp, pid)
        if found is not None:
            key, size, numel = found
            known = run.storages.get(key)
            if known is not None and known != (size, numel):
                interp.problem(ProblemKind.MALFORMED, f"storage {key!r} is described twice, differently")
            run.storages[key] = (size, numel)

    run.one_pickle(persid)
    r.frame_end = -1
    start = r.offset
    keys = run.one_pickle()
    r.frame_end = -1
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise StopAnalysis(start, "malformed", "legacy PyTorch storage-key list is not a list of strings")
    if len(keys) >= run.limits.max_kept_items:
        raise StopAnalysis(start, "limit", "too many storages to follow the raw storage data")
    for key in keys:
        if key not in run.storages:
            raise StopAnalysis(
                start, "malformed", f"storage key {key!r} has no persistent id in the object pickle"
            )
        size, numel = run.storages[key]
        at = r.offset
        (stored,) = struct.unpack("<q", r.read(8, f"the size of storage {key!r}"))
        if stored != numel:
            raise StopAnalysis(
                at, "malformed", f"storage {key!r} holds {stored} elements, its persistent id says {numel}"
            )
        nbytes = numel * size
        if nbytes > run.limits.max_item_bytes:
            raise StopAnalysis(at, "limit", f"storage {key!r} claims {nbytes} bytes")
        r.skip(nbytes, f"the raw bytes of storage {key!r}")
    run.end_of_data("the legacy PyTorch file")


# -- NumPy --------------------------------------------------------------------------------------
def _npy(run: _Run) -> bool:
    r = run.reader
    header = read_header(r, run.limits.max_npy_header)
    if header.has_object:
        run.object_dtype = True
        run.one_pickle()
        run.end_of_data("the object array's pickle")
        return True
    nbytes = header.data_bytes
    assert nbytes is not None  # read_header refuses unsized dtypes
    if nbytes > run.limits.max_item_bytes:
        raise StopAnalysis(header.data_offset, "limit", f".npy array claims {nbytes} bytes")
    r.skip(nbytes, f"the array data ({nbytes} bytes by the header)")
    if not r.at_end():
        run.problems.append(PickleProblem(r.offset, ProblemKind.TRAILING_DATA, "data after the .npy array"))
    return False
