"""Differential tests: r1policy's pickle analysis against CPython's C unpickler and joblib + numpy.

Hypothesis generates pickles (every opcode, operand spellings the C unpickler parses with base 0 or
strtol, memo and frame tricks, truncation, trailing data). Each is loaded by a recording
`pickle.Unpickler` whose `find_class` imports nothing and returns a harmless stand-in class; the
globals it is asked for are compared with r1policy's list of imports:

- r1policy refuses the stream for a reason it states (an operand across a frame's end, a value it
  cannot resolve, a limit): that is enough (after a frame trick the C unpickler's reading depends on
  the stream type; a byte string's decoding on the consumer's `encoding=`);
- the pure-Python unpickler (joblib.load) is checked too: every global it asks for is listed.
- else, the unpickler reached STOP: r1policy lists exactly the same imports;
- else (the unpickler raised): r1policy lists at least every import the unpickler made; any more
  only with a refusal, or when pickle.py (joblib.load) reads the stream to its end;
- whenever the unpickler imported anything or reached STOP, the format probe calls it a pickle.

joblib: arrays of many dtypes (object, structured, flexible, datetime) are dumped with joblib; the
analysis must consume every byte without a problem and list the globals a recording NumpyUnpickler
(and the nested unpickler of object arrays) asks for.

`make test` runs the "ci" profile (bounded); `make fuzz` runs HYPOTHESIS_PROFILE=fuzz.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from r1policy.artifacts.pickles import PickleKind, ProblemKind, analyse, probe
from r1policy.artifacts.pickles.sniff import importable

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# -- the recording unpickler ---------------------------------------------------------------------
class StandIn:
    """What every global resolves to: constructing, calling, building or filling it does nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> StandIn:
        return StandIn()

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def add(self, value: Any) -> None:
        pass


class Recording(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        # latin1: the most permissive reading of protocol-0/1 byte strings (torch.load uses utf-8)
        super().__init__(io.BytesIO(data), encoding="latin1")
        self.asked: list[tuple[str, str]] = []

    def find_class(self, module: str, name: str) -> Any:
        self.asked.append((module, name))
        return type("StandInClass", (StandIn,), {})

    def persistent_load(self, pid: Any) -> Any:
        return StandIn()


class RecordingPy(pickle._Unpickler):  # type: ignore[name-defined,misc]
    """The pure-Python unpickler, which joblib.load uses: it reads some operands differently."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data), encoding="latin1")
        self.asked: list[tuple[str, str]] = []

    def find_class(self, module: str, name: str) -> Any:
        self.asked.append((module, name))
        return type("StandInClass", (StandIn,), {})

    def persistent_load(self, pid: Any) -> Any:
        return StandIn()


def _c_unpickler(data: bytes, reader: type[Any] = Recording) -> tuple[list[tuple[str, str]], bool]:
    """(globals asked for, reached STOP without an exception)."""
    recorder = reader(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes in STRING operands only warn
            recorder.load()
    except Exception:  # noqa: BLE001 - any exception is the unpickler refusing the stream
        return recorder.asked, False
    return recorder.asked, True


# -- generated pickles ---------------------------------------------------------------------------
# Names outside _compat_pickle's Python 2 mappings, so the recorder and r1policy see the same names.
NAMES = [
    ("os", "system"),
    ("collections", "OrderedDict"),
    ("builtins", "getattr"),
    ("builtins", "set"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("x y", "z"),
    ("pathlib", "os.system"),
]
INT_SPELLINGS = [b"0o1", b"0b1", b"0X1f", b"+0x1", b"-0b1", b"010", b"08", b"1_0", b"0_1", b" 1", b"1 ",
                 b"\x00", b"1\x00z", b"00", b"01", b"99999999999999999999", b"", b"1L", b"0x", b"-", b"\t1",
                 b"0x_1", b"1__0", b"_1", b"+1", b"-0", b"2"]  # fmt: skip
FLOAT_SPELLINGS = [b"1", b" 1", b"1 ", b"1_0", b"1e999", b"inf", b"-Infinity", b"nan", b"1\x00x", b"1e",
                   b".5", b"0x1p3", b"", b"1.e5"]  # fmt: skip
MEMO_SPELLINGS = [b"0", b"1", b" 1", b"1_0", b"-1", b"0x1", b"", b"2 "]
STRINGS = [b"'os'", b'"system"', b"'a' ", b"'\\x41'", b"'\\q'", b"'", b"'x\"", b"'\xc3\xa9'", b"''"]


def _unicode(text: str) -> bytes:
    raw = text.encode()
    if len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw
    return b"X" + struct.pack("<I", len(raw)) + raw


SIMPLE = [b"(", b"t", b"l", b"d", b")", b"]", b"}", b"a", b"e", b"s", b"u", b"0", b"1", b"2", b"R", b"b",
          b"\x81", b"o", b"N", b"\x88", b"\x89", b"\x85", b"\x86", b"\x87", b"\x93", b"\x94", b"\x8f",
          b"\x90", b"\x91", b"\x92", b"Q", b"."]  # fmt: skip


def _op() -> st.SearchStrategy[bytes]:
    name = st.sampled_from(NAMES)
    text_name = st.sampled_from([part for pair in NAMES for part in pair])
    return st.one_of(
        st.sampled_from(SIMPLE),
        st.sampled_from(INT_SPELLINGS).map(lambda s: b"I" + s + b"\n"),
        st.sampled_from(INT_SPELLINGS).map(lambda s: b"L" + s + b"\n"),
        st.sampled_from(FLOAT_SPELLINGS).map(lambda s: b"F" + s + b"\n"),
        st.sampled_from(MEMO_SPELLINGS).map(lambda s: b"p" + s + b"\n"),
        st.sampled_from(MEMO_SPELLINGS).map(lambda s: b"g" + s + b"\n"),
        st.sampled_from(STRINGS).map(lambda s: b"S" + s + b"\n"),
        st.integers(0, 3).map(lambda k: b"q" + bytes([k])),
        st.integers(0, 3).map(lambda k: b"h" + bytes([k])),
        st.integers(0, 3).map(lambda k: b"j" + struct.pack("<I", k)),
        st.integers(0, 255).map(lambda k: b"K" + bytes([k])),
        st.integers(-(2**31), 2**31 - 1).map(lambda k: b"J" + struct.pack("<i", k)),
        st.integers(0, 6).map(lambda p: b"\x80" + bytes([p])),
        st.integers(0, 40).map(lambda n: b"\x95" + struct.pack("<Q", n)),
        st.integers(1, 3).map(lambda c: b"\x82" + bytes([c])),
        name.map(lambda mn: b"c" + mn[0].encode() + b"\n" + mn[1].encode() + b"\n"),
        name.map(lambda mn: b"i" + mn[0].encode() + b"\n" + mn[1].encode() + b"\n"),
        text_name.map(_unicode),
        text_name.map(lambda t: b"V" + t.encode() + b"\n"),
        text_name.map(lambda t: b"U" + bytes([len(t)]) + t.encode()),
        st.binary(max_size=3).map(lambda b: b"C" + bytes([len(b)]) + b),
    )


@st.composite
def pickles(draw: st.DrawFn) -> bytes:
    ops = draw(st.lists(_op(), max_size=24))
    data = b"".join(ops)
    if draw(st.booleans()):
        data += b"."
    tail = draw(st.sampled_from(["none", "trailing", "truncate"]))
    if tail == "trailing":
        data += draw(st.binary(max_size=8))
    elif tail == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    return data


# Refusals that state why the analysis cannot follow the unpickler: then listing fewer or other
# imports is fine (the stream is refused: R1-ART-001).
VALID_INTS = [b"0o7", b"0b1", b"0X1f", b"+0x1", b"-0b1", b"010", b"1_0", b" 1", b"1 ", b"00", b"01", b"2",
              b"99999999999999999999", b"\t1", b"0x_1", b"+1", b"-0"]  # fmt: skip
KEY_ONE = [b"1", b" 1", b"01", b"+1", b"1 ", b"0_1"]  # base-10 spellings (0_1 is valid for int())


@st.composite
def _global_ref(draw: st.DrawFn) -> bytes:
    module, name = (part.encode() for part in draw(st.sampled_from(NAMES)))
    how = draw(st.sampled_from(["global", "stack", "memo-text", "memo-bin", "memoize"]))
    if how == "global":
        return b"c" + module + b"\n" + name + b"\n"
    if how == "stack":
        return _unicode(module.decode()) + _unicode(name.decode()) + b"\x93"
    if how == "memo-text":
        put, get = draw(st.sampled_from(KEY_ONE)), draw(st.sampled_from(KEY_ONE))
        body = _unicode(module.decode()) + b"p" + put + b"\n0g" + get + b"\n"
        return body + _unicode(name.decode()) + b"\x93"
    if how == "memo-bin":
        return _unicode(module.decode()) + b"q\x05" + b"0h\x05" + _unicode(name.decode()) + b"\x93"
    return _unicode(module.decode()) + b"\x94" + _unicode(name.decode()) + b"\x94\x93"


@st.composite
def _value(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["int", "long", "str", "none", "binint"]))
    if kind == "int":
        return b"I" + draw(st.sampled_from(VALID_INTS)) + b"\n"
    if kind == "long":
        return b"L" + draw(st.sampled_from(VALID_INTS)) + draw(st.sampled_from([b"L", b""])) + b"\n"
    if kind == "str":
        return b"S" + draw(st.sampled_from(STRINGS[:5])) + b"\n"
    if kind == "binint":
        return b"K" + bytes([draw(st.integers(0, 255))])
    return b"N"


@st.composite
def _call(draw: st.DrawFn) -> bytes:
    values = b"".join(draw(st.lists(_value(), max_size=3)))
    how = draw(st.sampled_from(["reduce", "inst", "obj", "newobj", "bare"]))
    if how == "inst":
        module, name = (part.encode() for part in draw(st.sampled_from(NAMES)))
        return b"(" + values + b"i" + module + b"\n" + name + b"\n"
    ref = draw(_global_ref())
    if how == "obj":
        return b"(" + ref + values + b"o"
    if how == "newobj":
        return ref + b"(" + values + b"t\x81"
    if how == "bare":
        return ref
    return ref + b"(" + values + b"tR"


@st.composite
def programs(draw: st.DrawFn) -> bytes:
    """Well-formed streams of calls (each result dropped with POP), then None and STOP: the unpickler
    reaches STOP often, so the import lists are compared on complete streams too."""
    body = b"".join(part + b"0" for part in draw(st.lists(_call(), min_size=1, max_size=5))) + b"N."
    if draw(st.booleans()):
        protocol = draw(st.integers(2, 5))
        if protocol >= 4 and draw(st.booleans()):
            body = b"\x95" + struct.pack("<Q", len(body)) + body
        body = b"\x80" + bytes([protocol]) + body
    tail = draw(st.sampled_from(["none", "trailing", "truncate"]))
    if tail == "trailing":
        body += draw(st.binary(max_size=8))
    elif tail == "truncate":
        body = body[: draw(st.integers(0, len(body) - 1))]
    return body


_ACCEPTED_REFUSALS = {ProblemKind.UNSUPPORTED, ProblemKind.LIMIT, ProblemKind.UNRESOLVABLE}


@given(st.one_of(pickles(), programs()))
def test_imports_agree_with_the_c_unpickler(data: bytes) -> None:
    asked, completed = _c_unpickler(data)
    analysis = analyse(io.BytesIO(data), PickleKind.PICKLE)
    ours = [(ref.module, ref.name) for ref in analysis.imports]
    kinds = {p.kind for p in analysis.problems}
    shown = (ours, asked, [str(p) for p in analysis.problems])
    if kinds & _ACCEPTED_REFUSALS:
        # refused for a stated reason: after an operand crosses a FRAME's end the C unpickler's
        # reading depends on the stream type (a file drops the rest of its buffered frame)
        assert analysis.problems, shown
    elif completed:
        # bytes after STOP are analysed too (reported as trailing data), so their payloads are named
        extra_ok = ProblemKind.TRAILING_DATA in kinds and ours[: len(asked)] == asked
        assert ours == asked or extra_ok, shown
    else:
        assert ours[: len(asked)] == asked, shown
        # r1policy reads on where either reader (C, or pickle.py for joblib) reads on: past what C
        # imported it lists more only when it refuses the stream or pickle.py reads it to the end
        py_completed = _c_unpickler(data, RecordingPy)[1]
        assert ours == asked or analysis.problems or py_completed, shown
    if completed or any(importable(module, name) for module, name in asked):
        assert probe(data, complete=True).kind is not None, "the unpickler read it; the probe said no"


@given(st.one_of(pickles(), programs()))
def test_every_import_of_the_python_unpickler_is_listed(data: bytes) -> None:
    """joblib.load reads with pickle.py: r1policy reads what either unpickler would read on."""
    asked, completed = _c_unpickler(data, RecordingPy)
    analysis = analyse(io.BytesIO(data), PickleKind.PICKLE)
    ours = [(ref.module, ref.name) for ref in analysis.imports]
    if not {p.kind for p in analysis.problems} & _ACCEPTED_REFUSALS:
        # pickle.py also asks for names no module can have (an empty line at the end of the data)
        theirs = [pair for pair in asked if importable(*pair)]
        listed = [pair for pair in ours if importable(*pair)]
        assert listed[: len(theirs)] == theirs, (ours, asked, [str(p) for p in analysis.problems])
    if completed or any(importable(module, name) for module, name in asked):
        assert probe(data, complete=True).kind is not None, "pickle.py read it; the probe said no"


@pytest.mark.parametrize(
    "data",
    [b"I0o1\n.", b"I 1\n.", b"I1\x00zz\n.", b"L 1 L\n.", b"F1\x00x\n.", b"Np 2 \n0g2\n.", b"N\x80\x01.",
     b"F1_0\n.", b"F 1\n.", b"F1e999\n."],
)  # fmt: skip
def test_known_spellings_are_read_as_the_unpicklers_read_them(data: bytes) -> None:
    assert _c_unpickler(data)[1] or _c_unpickler(data, RecordingPy)[1]
    analysis = analyse(io.BytesIO(data), PickleKind.PICKLE)
    assert analysis.problems == ()


# -- joblib ---------------------------------------------------------------------------------------
DTYPES = ["f8", "f4", "f2", "i1", "i8", "u2", "?", "c8", "c16", "M8[ns]", "m8[s]", "U7", "S3", "V5", "O",
          [("a", "f4"), ("b", "i2")], [("a", "f4"), ("o", "O")], ("f8", (2,)),
          [("s", "U3"), ("n", "S2")]]  # fmt: skip


def _array(dtype: Any, shape: tuple[int, ...]) -> Any:
    import numpy as np

    dt = np.dtype(dtype)
    if dt.hasobject:
        arr = np.empty(shape, dtype=dt)
        flat = arr.reshape(-1)
        for i in range(flat.size):
            flat[i] = ("x", i, None) if dt.names is None else (float(i), ("x", i))
        return arr
    return np.zeros(shape, dtype=dt)


def _joblib_recorded(data: bytes) -> list[tuple[str, str]]:
    """Load with joblib (a file this test made from plain arrays), recording every global asked for,
    including those of the nested pickles of object arrays."""
    from joblib import numpy_pickle

    asked: list[tuple[str, str]] = []

    class Recorder(numpy_pickle.NumpyUnpickler):  # type: ignore[misc]
        def find_class(self, module: str, name: str) -> Any:
            asked.append((module, name))
            return super().find_class(module, name)

    class NestedRecorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            asked.append((module, name))
            return super().find_class(module, name)

    class PickleModule:
        def __getattr__(self, attr: str) -> Any:
            return getattr(pickle, attr)

        @staticmethod
        def load(handle: Any) -> Any:
            return NestedRecorder(handle).load()

    original = numpy_pickle.pickle
    numpy_pickle.pickle = PickleModule()  # type: ignore[assignment]
    try:
        Recorder("<memory>", io.BytesIO(data), ensure_native_byte_order=False).load()
    finally:
        numpy_pickle.pickle = original
    return asked


@settings(max_examples=int(os.environ.get("R1_JOBLIB_EXAMPLES", "30")) if os.environ.get(
    "HYPOTHESIS_PROFILE", "ci") == "ci" else 2000)  # fmt: skip
@given(
    st.lists(
        st.tuples(st.sampled_from(range(len(DTYPES))), st.lists(st.integers(0, 4), max_size=3)),
        min_size=1,
        max_size=4,
    )
)
def test_joblib_layouts_agree_with_joblib_and_numpy(arrays: list[tuple[int, list[int]]]) -> None:
    import joblib

    value = [_array(DTYPES[index], tuple(shape)) for index, shape in arrays]
    buf = io.BytesIO()
    joblib.dump(value, buf)
    data = buf.getvalue()
    analysis = analyse(io.BytesIO(data), PickleKind.JOBLIB)
    assert analysis.problems == (), [str(p) for p in analysis.problems]
    assert analysis.bytes_consumed == len(data)
    assert [(ref.module, ref.name) for ref in analysis.imports] == _joblib_recorded(data)
