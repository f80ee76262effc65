"""joblib.dump's inline arrays: after the BUILD of each NumpyArrayWrapper, joblib.load reads the array
from the file itself (an optional alignment pad, then count x itemsize raw bytes, or a nested
protocol-2 pickle for object arrays). The analyser consumes exactly those bytes or fails closed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from r1policy.artifacts.pickles.npy import typestr_info
from r1policy.artifacts.pickles.reader import StopAnalysis
from r1policy.artifacts.pickles.values import Call, DictValue, describe

if TYPE_CHECKING:
    from r1policy.artifacts.pickles.interp import BuildHook, Interpreter
    from r1policy.artifacts.pickles.model import Limits
    from r1policy.artifacts.pickles.reader import Reader

WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
DTYPE = {("numpy", "dtype")}
_FLEXIBLE = frozenset("SUVa")  # numpy's flexible types: their item size comes from the pickled state


class _RunLike(Protocol):
    reader: Reader
    limits: Limits
    object_dtype: bool

    def one_pickle(self) -> object: ...


def _holds_object_dtype(value: object, depth: int = 0) -> bool:
    """Whether a dtype's sub-array/field description mentions an object dtype anywhere."""
    if depth > 16:
        return True  # fail closed: treat as objects, so the bytes are analysed as a pickle
    if isinstance(value, Call):
        if (value.func.module, value.func.name) in DTYPE and isinstance(value.args, tuple) and value.args:
            head = value.args[0]
            if isinstance(head, str) and head.lstrip("<>|=").startswith("O"):
                return True
        return _holds_object_dtype(value.state, depth + 1)
    if isinstance(value, tuple | list):
        return any(_holds_object_dtype(item, depth + 1) for item in value)
    if isinstance(value, DictValue):
        return any(_holds_object_dtype(v, depth + 1) for _, v in value.items)
    return False


def _dtype_info(value: object) -> tuple[bool, int | None]:
    """(holds objects, item size) of a pickled numpy.dtype(typestr, align, copy) + BUILD state
    (version, byte order, sub-array, field names, fields, item size, alignment, flags), as numpy's
    dtype.__setstate__ builds it: the state's item size counts only for flexible types (S, U, V);
    every other type keeps the size its type string gives, whatever the state claims."""
    if not isinstance(value, Call) or (value.func.module, value.func.name) not in DTYPE:
        return False, None
    args = value.args
    if not isinstance(args, tuple) or not args or not isinstance(args[0], str):
        return False, None
    has_object, size = typestr_info(args[0])
    flexible = args[0].lstrip("<>|=")[:1] in _FLEXIBLE
    state = value.state
    if state is None:
        return has_object, size
    if not isinstance(state, tuple) or len(state) < 8:
        return has_object, None  # a state numpy's __setstate__ would refuse or read differently
    flags = state[7]
    has_object = has_object or _holds_object_dtype(state[2:5]) or (type(flags) is int and bool(flags & 1))
    if flexible:
        size = state[5] if type(state[5]) is int and state[5] >= 0 else None
    return has_object, size


def _count(shape: object) -> int | None:
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        return None
    count = 1
    for dim in shape:
        count *= dim
    return count


def joblib_build_hook(run: _RunLike) -> BuildHook:
    def hook(interp: Interpreter, target: Call) -> None:
        if (target.func.module, target.func.name) != WRAPPER:
            return
        r = run.reader
        state = target.state
        if not isinstance(state, DictValue):
            raise interp.stop(f"NumpyArrayWrapper state is {describe(state)}, not a dict")
        has_object, itemsize = _dtype_info(state.get("dtype"))
        count = _count(state.get("shape"))
        if r.frame_end >= 0:
            if r.offset != r.frame_end:
                raise interp.stop("joblib array data starts inside a pickle FRAME")
            r.frame_end = -1
        if has_object:
            run.object_dtype = True
            saved_frame = r.frame_end
            run.one_pickle()  # joblib pickles object arrays with pickle.dump(array, protocol=2)
            r.frame_end = saved_frame
            return
        if itemsize is None or count is None:
            raise interp.stop(
                f"NumpyArrayWrapper with dtype {describe(state.get('dtype'))} and shape "
                f"{describe(state.get('shape'))}: the array size cannot be determined"
            )
        align = state.get("numpy_array_alignment_bytes")
        if align is not None:
            if type(align) is not int or not 0 < align <= 4096:
                raise interp.stop(f"joblib alignment {describe(align)} is invalid")
            pad = r.read(1, "the joblib padding length")[0]
            if pad > align:
                raise interp.stop(f"joblib padding of {pad} bytes exceeds the alignment {align}")
            r.skip(pad, "the joblib padding")
        nbytes = count * itemsize
        if nbytes > interp.limits.max_item_bytes:
            raise StopAnalysis(r.offset, "limit", f"joblib array claims {nbytes} bytes")
        r.skip(nbytes, f"joblib array data ({nbytes} bytes by its NumpyArrayWrapper)")

    return hook
