"""Real benign files get no problem: torch.save checkpoints (checked in, regenerable), NumPy and
joblib files generated here, plain data pickles of every protocol; and the allowlist file itself."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections import Counter, OrderedDict, defaultdict, deque
from pathlib import Path

import numpy as np
import pytest

from r1policy.artifacts.pickles import PickleKind, analyse, load_allowlist, sniff
from r1policy.core.errors import InputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "artifacts"
TORCH_FILES = sorted(p.name for p in FIXTURES.glob("torch_*") if p.suffix in (".pt", ".bin"))
TORCH_GLOBALS = {
    "collections.OrderedDict",
    "torch.BFloat16Storage",
    "torch.BoolStorage",
    "torch.FloatStorage",
    "torch.HalfStorage",
    "torch.LongStorage",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_tensor_v2",
}


def test_torch_fixtures_are_present() -> None:
    made = json.loads((FIXTURES / "torch_fixtures.json").read_text())
    assert sorted(made["files"]) == TORCH_FILES
    for name, size in made["files"].items():
        assert (FIXTURES / name).stat().st_size == size


@pytest.mark.parametrize("name", TORCH_FILES)
def test_torch_save_checkpoints_are_clean(name: str) -> None:
    path = FIXTURES / name
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            assert len(members) == 1
            head = archive.read(members[0])[:65536]
            assert sniff(head) is PickleKind.PICKLE
            with archive.open(members[0]) as stream:
                result = analyse(stream, PickleKind.TORCH_ZIP)
            # the same member outside a PyTorch context: persistent ids are not resolvable
            with archive.open(members[0]) as stream:
                plain = analyse(stream, PickleKind.PICKLE)
            assert plain.problems and all(p.kind.value == "unresolvable" for p in plain.problems)
    else:
        assert sniff(data[:65536]) is PickleKind.TORCH_LEGACY
        result = analyse(io.BytesIO(data), PickleKind.TORCH_LEGACY)
        assert result.pickles == 5
        assert result.bytes_consumed == len(data)  # every raw storage was skipped by its size
    assert result.problems == ()
    assert {ref.dotted for ref in result.imports} == TORCH_GLOBALS
    assert result.pickle_based


def test_legacy_torch_with_a_cut_storage_fails_closed() -> None:
    data = (FIXTURES / "torch_legacy_state_dict.bin").read_bytes()
    result = analyse(io.BytesIO(data[:-5]), PickleKind.TORCH_LEGACY)
    assert [p.kind.value for p in result.problems] == ["malformed"]
    assert "truncated" in result.problems[0].message


def _arrays() -> dict[str, np.ndarray]:
    return {
        "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
        "i64": np.arange(5, dtype=np.int64),
        "bool": np.array([True, False]),
        "unicode": np.array(["a", "bcd"]),
        "bytes": np.array([b"xy", b"z"]),
        "complex": np.array([1 + 2j]),
        "datetime": np.array(["2020-01-01"], dtype="datetime64[ns]"),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "empty": np.zeros((0, 3)),
        "structured": np.zeros(2, dtype=[("x", "<i4"), ("y", "<f8", (2,))]),
        "object": np.array([1, "two", None, 3.5], dtype=object),
    }


@pytest.mark.parametrize("name", list(_arrays()))
def test_numpy_save_is_clean(name: str) -> None:
    buf = io.BytesIO()
    np.save(buf, _arrays()[name], allow_pickle=True)
    data = buf.getvalue()
    assert sniff(data[:65536]) is PickleKind.NPY
    result = analyse(io.BytesIO(data), PickleKind.NPY)
    assert result.problems == ()
    assert result.object_dtype == (name == "object")
    assert result.pickle_based == (name == "object")
    assert result.bytes_consumed == len(data)


def test_numpy_savez_members_are_clean() -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **_arrays())
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as archive:
        for member in archive.namelist():
            with archive.open(member) as stream:
                result = analyse(stream, PickleKind.NPY)
            assert result.problems == (), member


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_joblib_dump_is_clean(protocol: int) -> None:
    joblib = pytest.importorskip("joblib")
    payload = {
        "arrays": _arrays(),
        "weights": OrderedDict(w=np.ones((4, 4), dtype=np.float16)),
        "meta": [1, 2.5, "text", (3, 4)],
    }
    buf = io.BytesIO()
    joblib.dump(payload, buf, protocol=protocol)
    data = buf.getvalue()
    assert sniff(data[:65536]) is PickleKind.JOBLIB
    result = analyse(io.BytesIO(data), PickleKind.JOBLIB)
    assert result.problems == ()
    assert result.object_dtype  # the object array was analysed as its own pickle
    assert result.pickles == 2
    assert result.bytes_consumed == len(data)


def _plain_data() -> object:
    return {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, 2**31, -(2**31) - 1, 2**100],
        "floats": [0.0, -1.5, float("inf")],
        "text": ["", "ascii", "ünïcode", "x" * 10_000],
        "bytes": [b"", b"\x00\xff", bytearray(b"ba"), b"y" * 300],
        "containers": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), set(), {1, 2}, frozenset({3})],
        "collections": [OrderedDict(a=1), Counter("abca"), deque([1, 2]), defaultdict(list, {"k": [1]})],
        "misc": [None, True, False, complex(1, 2), slice(1, 5, 2), range(3)],
    }


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_plain_data_pickles_are_clean(protocol: int) -> None:
    data = pickle.dumps(_plain_data(), protocol=protocol)
    assert sniff(data[:65536]) is PickleKind.PICKLE
    result = analyse(io.BytesIO(data), PickleKind.PICKLE)
    assert result.problems == (), [str(p) for p in result.problems]
    assert result.bytes_consumed == len(data)


def test_allowlist_is_data_and_validated(tmp_path: Path) -> None:
    allow = load_allowlist()
    assert allow.is_safe("torch._utils", "_rebuild_tensor_v2")
    assert allow.is_safe("numpy._core.multiarray", "_reconstruct")
    refused = ["getattr", "eval", "exec", "__import__", "open", "compile", "setattr", "type", "object"]
    for name in refused:
        assert not allow.is_safe("builtins", name)
    assert not allow.is_safe("collections", "namedtuple")
    assert not allow.is_safe("torch._tensor", "_rebuild_from_type_v2")
    bad = tmp_path / "safe-globals.json"
    bad.write_text('{\n  "schema_version": 1,\n  "kind": "r1policy-safe-globals",\n  "groups": [],\n'
                   '  "codecs_encode_encodings": [],\n  "torch_storage_element_sizes": {}\n}\n')  # fmt: skip
    with pytest.raises(InputError) as err:
        load_allowlist(bad)
    assert "safe-globals.json:4" in str(err.value)


def test_joblib_with_many_object_arrays_is_clean() -> None:
    joblib = pytest.importorskip("joblib")
    buf = io.BytesIO()
    joblib.dump([np.array([i, "x"], dtype=object) for i in range(150)], buf)
    result = analyse(io.BytesIO(buf.getvalue()), PickleKind.JOBLIB)
    assert result.problems == ()
    assert result.pickles == 151
