"""Binary artifact formats read as their consumers read them (issues 13 and 20), exact findings:
Keras configs (`.keras` zips; `.h5` via h5py), HDF5 data in other files, ONNX external data, TensorFlow
SavedModel ops, duplicate archive members. Each class holds the issue's example and variants of our
own; every failing case here passed (or crashed with exit 2) before these readers were written."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from tests.fixtures import make_artifacts as mk
from tests.fixtures.formats import findings, messages

# --- Keras ---------------------------------------------------------------------------------------


def _keras_zip(path: Path, layer: dict[str, object]) -> Path:
    config = {
        "module": "keras",
        "class_name": "Functional",
        "config": {
            "name": "outer",
            "layers": [
                {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "input"}},
                {"class_name": "Sequential", "config": {"name": "inner", "layers": [layer]}},
            ],
        },
    }
    meta = {"keras_version": "3.6.0"}
    return mk.zip_with(
        path,
        {
            "metadata.json": json.dumps(meta).encode(),
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": mk.keras_weights_h5(),
        },
    )


KERAS_LAYERS: dict[str, tuple[dict[str, object], str]] = {
    "issue_os_system": (
        {"module": "os", "class_name": "system", "config": {"name": "x", "command": "id"}},
        "object 'os'.'system' from outside Keras (Keras imports the module) outer/inner/x",
    ),
    "subprocess": (
        {"module": "subprocess", "class_name": "Popen", "config": {"name": "p"}},
        "object 'subprocess'.'Popen' from outside Keras",
    ),
    "builtins_eval": (
        {"module": "builtins", "class_name": "eval", "config": {"name": "e"}},
        "object 'builtins'.'eval' from outside Keras",
    ),
    "prefix_lookalike": (
        {"module": "keras_evil.layers", "class_name": "Dense", "config": {"name": "d"}},
        "object 'keras_evil.layers'.'Dense' from outside Keras",
    ),
    "tf_op_lambda": (
        {"class_name": "TFOpLambda", "config": {"name": "op", "function": "io.write_file"}},
        "TFOpLambda layer outer/inner/op",
    ),
    "slicing_op_lambda": (
        {"class_name": "SlicingOpLambda", "config": {"name": "s", "function": "__operators__.getitem"}},
        "SlicingOpLambda layer outer/inner/s",
    ),
    "get_file": (
        {
            "module": "keras.layers",
            "class_name": "Dense",
            "config": {
                "name": "d",
                "kernel_initializer": {
                    "module": "keras.utils",
                    "class_name": "get_file",
                    "config": {"origin": "https://evil.example/x"},
                },
            },
        },
        "Keras helper keras.utils.get_file",
    ),
    "unsafe_deserialization": (
        {
            "module": "keras.layers",
            "class_name": "Dense",
            "config": {
                "name": "d",
                "activation": {
                    "module": "keras.config",
                    "class_name": "enable_unsafe_deserialization",
                    "config": {},
                },
            },
        },
        "Keras helper keras.config.enable_unsafe_deserialization",
    ),
    "nested_in_dtype_policy": (
        {
            "module": "keras.layers",
            "class_name": "Dense",
            "config": {"name": "d", "dtype": {"module": "posix", "class_name": "system", "config": {}}},
        },
        "object 'posix'.'system' from outside Keras",
    ),
}


@pytest.mark.parametrize("case", sorted(KERAS_LAYERS))
def test_keras_configs_that_name_code_fail(tmp_path: Path, case: str) -> None:
    layer, expected = KERAS_LAYERS[case]
    _keras_zip(tmp_path / "model.keras", layer)
    assert findings(tmp_path, "model.keras") == (1, {("R1-ART-009", "fail", "model.keras!/config.json")})
    (message,) = messages(tmp_path, "model.keras", "R1-ART-009")
    assert expected in message


def test_keras_builtin_modules_pass(tmp_path: Path) -> None:
    layer = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": "d",
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}},
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform"},
        },
        "registered_name": None,
    }
    custom = {"module": None, "class_name": "MyLayer", "registered_name": "Custom>MyLayer", "config": {}}
    _keras_zip(tmp_path / "model.keras", {"class_name": "Sequential", "config": {"layers": [layer, custom]}})
    assert findings(tmp_path, "model.keras") == (0, set())


@pytest.mark.parametrize(
    "case", ["issue_os_system", "tf_op_lambda", "slicing_op_lambda", "subprocess", "builtins_eval"]
)
def test_keras_h5_model_config_read_with_h5py(tmp_path: Path, case: str) -> None:
    layer, expected = KERAS_LAYERS[case]
    config = {"class_name": "Sequential", "config": {"name": "outer", "layers": [layer]}}
    mk.keras_h5(tmp_path / "model.h5", config)
    assert findings(tmp_path, "model.h5") == (1, {("R1-ART-009", "fail", "model.h5")})
    (message,) = messages(tmp_path, "model.h5", "R1-ART-009")
    assert f"model_config: {expected.split(' outer/')[0]}" in message


def test_keras_h5_config_past_16_mib_and_after_many_decoys(tmp_path: Path) -> None:
    decoys = [{"class_name": "Dense", "config": {"name": f"d{i}", "units": 1}} for i in range(20)]
    filler = {"class_name": "Dense", "config": {"name": "big", "doc": "x" * (17 * 1024 * 1024)}}
    layer = {"module": "os", "class_name": "system", "config": {"name": "late"}}
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [*decoys, filler, layer]}}
    mk.keras_h5(tmp_path / "model.h5", config)
    assert findings(tmp_path, "model.h5") == (1, {("R1-ART-009", "fail", "model.h5")})


def test_keras_h5_training_config_is_read(tmp_path: Path) -> None:
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
    training = {"loss": {"module": "os", "class_name": "system", "config": {}}}
    mk.keras_h5(tmp_path / "model.h5", config, training=training)
    assert findings(tmp_path, "model.h5") == (1, {("R1-ART-009", "fail", "model.h5")})


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"config": None, "training": {"loss": "mse"}}, "without a readable model_config"),
        ({"config": None, "raw": b"{not json"}, "is not valid JSON"),
        ({"config": None, "raw": b"\xff\xfe"}, "is not UTF-8"),
    ],
)
def test_keras_h5_without_readable_config_is_unscannable(
    tmp_path: Path, kwargs: dict[str, object], why: str
) -> None:
    mk.keras_h5(tmp_path / "model.h5", **kwargs)  # type: ignore[arg-type]
    assert findings(tmp_path, "model.h5") == (1, {("R1-ART-010", "fail", "model.h5")})
    (message,) = messages(tmp_path, "model.h5", "R1-ART-010")
    assert why in message


def test_h5_that_h5py_cannot_open_is_unscannable(tmp_path: Path) -> None:
    (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200) + b'model_config\x00{"a": 1}')
    assert findings(tmp_path, "model.h5") == (1, {("R1-ART-010", "fail", "model.h5")})


def test_h5_without_h5py_is_unscannable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    mk.keras_h5(tmp_path / "model.h5", {"class_name": "Sequential", "config": {"layers": []}})
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py raises ImportError
    assert findings(tmp_path, "model.h5") == (1, {("R1-ART-010", "fail", "model.h5")})
    (message,) = messages(tmp_path, "model.h5", "R1-ART-010")
    assert "r1policy[keras]" in message


def test_hdf5_user_block_with_data_is_unscannable(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "model.h5"
    with h5py.File(path, "w", userblock_size=512) as h5:
        h5.create_dataset("w", data=[1.0])
    data = bytearray(path.read_bytes())
    data[:11] = b"hello world"
    path.write_bytes(bytes(data))
    assert findings(tmp_path, "model.h5") == (1, {("R1-ART-010", "fail", "model.h5")})


# --- ONNX external data, TensorFlow SavedModel ---------------------------------------------------


def _onnx_model(path: Path, location: str, where: str = "initializer") -> Path:
    from onnx import TensorProto, external_data_helper, helper

    tensor = helper.make_tensor("w", TensorProto.FLOAT, [1], bytes(4), raw=True)
    external_data_helper.set_external_data(tensor, location=location, offset=0, length=4)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    if where == "initializer":
        graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [tensor])
    elif where == "constant":
        node = helper.make_node("Constant", [], ["y"], value=tensor)
        graph = helper.make_graph([node], "g", [x], [y])
    else:  # in an If node's then-branch subgraph
        inner = helper.make_graph([helper.make_node("Constant", [], ["y"], value=tensor)], "then", [], [y])
        other = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "else", [], [y])
        node = helper.make_node("If", ["c"], ["y"], then_branch=inner, else_branch=other)
        c = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
        graph = helper.make_graph([node], "g", [c, x], [y])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(helper.make_model(graph).SerializeToString())
    return path


ONNX_LOCATIONS = {
    "../../etc/passwd": "leaves the model folder (..)",
    "/etc/passwd": "is an absolute path",
    "..\\..\\Windows\\win.ini": "leaves the model folder (..)",
    "%2e%2e/%2e%2e/etc/shadow": "leaves the model folder (..)",
    "%252e%252e%252fsecret": "leaves the model folder (..)",
    "C:\\Windows\\win.ini": "is an absolute path",
    "weights/../../../root/.ssh/id_rsa": "leaves the model folder (..)",
    "file:///etc/passwd": "names a URL scheme",
    "~/.aws/credentials": "is an absolute path",
}


@pytest.mark.parametrize("location", sorted(ONNX_LOCATIONS))
def test_onnx_external_data_outside_the_folder_fails(tmp_path: Path, location: str) -> None:
    _onnx_model(tmp_path / "model.onnx", location)
    assert findings(tmp_path, "model.onnx") == (1, {("R1-ART-007", "fail", "model.onnx")})
    (message,) = messages(tmp_path, "model.onnx", "R1-ART-007")
    assert f"external data location {location!r} {ONNX_LOCATIONS[location]}" in message


@pytest.mark.parametrize("where", ["constant", "subgraph"])
def test_onnx_external_data_in_attributes_and_subgraphs(tmp_path: Path, where: str) -> None:
    _onnx_model(tmp_path / "model.onnx", "../outside.bin", where)
    assert findings(tmp_path, "model.onnx") == (1, {("R1-ART-007", "fail", "model.onnx")})


def test_onnx_external_data_inside_the_folder_passes(tmp_path: Path) -> None:
    _onnx_model(tmp_path / "model.onnx", "weights/model.onnx.data")
    assert findings(tmp_path, "model.onnx") == (0, set())


def _field(number: int, payload: bytes | int) -> bytes:
    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
            value >>= 7
            if not value:
                return bytes(out)

    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _saved_model(graph_ops: list[str], function_ops: list[str] = ()) -> bytes:  # type: ignore[assignment]
    nodes = b"".join(
        _field(1, _field(1, f"n{i}".encode()) + _field(2, op.encode())) for i, op in enumerate(graph_ops)
    )
    function = _field(1, _field(1, b"fn")) + b"".join(
        _field(3, _field(1, f"f{i}".encode()) + _field(2, op.encode())) for i, op in enumerate(function_ops)
    )
    graph = nodes + (_field(2, _field(1, function)) if function_ops else b"")
    meta = _field(1, _field(4, b"serve")) + _field(2, graph)
    return _field(1, 1) + _field(2, meta)


SAVED_MODEL_OPS = {
    "write_file": (["Const", "WriteFile"], [], "op WriteFile (node 'n1') writes files"),
    "read_file": (["ReadFile", "Identity"], [], "op ReadFile (node 'n0') reads files"),
    "py_func_in_function": (["StatefulPartitionedCall"], ["PyFunc"], "op PyFunc (node 'f0') runs a Python"),
    "eager_py_func": (["Const"], ["Const", "EagerPyFunc"], "op EagerPyFunc (node 'f1')"),
    "matching_files": (["MatchingFiles"], [], "op MatchingFiles (node 'n0') reads files"),
    "save_v2": (["SaveV2"], [], "op SaveV2 (node 'n0') writes files"),
    "restore": (["Restore"], [], "op Restore (node 'n0') reads files"),
    "py_func_stateless": (["PyFuncStateless"], [], "op PyFuncStateless"),
}


@pytest.mark.parametrize("case", sorted(SAVED_MODEL_OPS))
def test_saved_model_file_system_and_python_ops_fail(tmp_path: Path, case: str) -> None:
    graph_ops, function_ops, expected = SAVED_MODEL_OPS[case]
    (tmp_path / "m" / "saved_model.pb").parent.mkdir()
    (tmp_path / "m" / "saved_model.pb").write_bytes(_saved_model(graph_ops, function_ops))
    assert findings(tmp_path, "m") == (1, {("R1-ART-006", "fail", "m/saved_model.pb")})
    (message,) = messages(tmp_path, "m", "R1-ART-006")
    assert expected in message and "TensorFlow SavedModel" in message


def test_saved_model_with_plain_math_passes_and_is_not_onnx(tmp_path: Path) -> None:
    from r1policy.artifacts.scanner import Scanner
    from r1policy.artifacts.targets import resolve

    (tmp_path / "saved_model.pb").write_bytes(_saved_model(["Placeholder", "MatMul", "Relu"]))
    assert findings(tmp_path, "saved_model.pb") == (0, set())
    (result,) = Scanner().scan_all(resolve(str(tmp_path / "saved_model.pb")).files)
    assert (result.top.format, result.top.detail) == ("savedmodel", "TensorFlow SavedModel")


def test_saved_model_under_another_name_is_not_taken_for_onnx(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(_saved_model(["WriteFile"]))
    assert findings(tmp_path, "model.onnx") == (1, {("R1-ART-010", "fail", "model.onnx")})


def test_truncated_saved_model_is_unscannable(tmp_path: Path) -> None:
    (tmp_path / "saved_model.pb").write_bytes(_saved_model(["WriteFile"])[:-3])
    assert findings(tmp_path, "saved_model.pb") == (1, {("R1-ART-010", "fail", "saved_model.pb")})


# --- duplicate archive members -------------------------------------------------------------------


def _dup_zip(path: Path, names: list[str], payloads: list[bytes]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in zip(names, payloads, strict=True):
            archive.writestr(name, payload)
    path.write_bytes(buffer.getvalue())
    return path


def _dup_tar(path: Path, names: list[str], payloads: list[bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, payload in zip(names, payloads, strict=True):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


_CLEAN = b'{"a": 1}'
_DIRTY = b"#!/bin/sh\nid\n"


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize(
    ("maker", "names", "subjects"),
    [
        (_dup_zip, ["archive/config.json", "archive/config.json"], ["archive/config.json#2"]),
        (_dup_tar, ["archive/config.json", "archive/config.json"], ["archive/config.json#2"]),
        (_dup_zip, ["a/config.json", "a//config.json"], ["a//config.json#2"]),
        (_dup_tar, ["a/config.json", "./a/config.json"], ["./a/config.json#2"]),
        (_dup_zip, ["a\\config.json", "a/config.json"], ["a/config.json#2"]),
        (_dup_tar, ["x", "x", "x"], ["x#2", "x#3"]),
    ],
)
def test_duplicate_archive_members_are_a_finding_and_each_is_judged(
    tmp_path: Path, maker: object, names: list[str], subjects: list[str]
) -> None:
    payloads = [_CLEAN] + [_DIRTY] * (len(names) - 1)
    suffix = ".zip" if maker is _dup_zip else ".tar"
    maker(tmp_path / f"m{suffix}", names, payloads)  # type: ignore[operator]
    code, found = findings(tmp_path, f"m{suffix}")
    assert code == 1
    assert found == {("R1-ART-007", "fail", f"m{suffix}")} | {
        ("R1-ART-006", "fail", f"m{suffix}!/{subject}") for subject in subjects
    }


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_torch_data_pkl_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    import pickle

    benign = pickle.dumps({"w": 1}, protocol=2)
    _dup_zip(tmp_path / "model.pt", ["archive/data.pkl", "archive/data.pkl"], [benign, benign])
    assert findings(tmp_path, "model.pt") == (
        1,
        {
            ("R1-ART-007", "fail", "model.pt"),
            ("R1-ART-002", "fail", "model.pt!/archive/data.pkl"),
            ("R1-ART-002", "fail", "model.pt!/archive/data.pkl#2"),
        },
    )


@pytest.mark.parametrize("kind", ["external_link", "external_storage", "virtual", "relative_link"])
def test_hdf5_data_in_other_files_fails(tmp_path: Path, kind: str) -> None:
    import h5py
    import numpy as np

    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("weights/dense/kernel", data=np.zeros(2, dtype="float32"))
        if kind == "external_link":
            h5["weights/dense/bias"] = h5py.ExternalLink("/etc/passwd", "/x")
        elif kind == "relative_link":
            h5["weights/dense/bias"] = h5py.ExternalLink("../../secrets.h5", "/x")
        elif kind == "external_storage":
            h5.create_dataset("weights/dense/bias", (8,), dtype="u1", external=[("/etc/shadow", 0, 8)])
        else:
            layout = h5py.VirtualLayout(shape=(4,), dtype="u1")
            layout[:] = h5py.VirtualSource("/root/.aws/credentials.h5", "d", shape=(4,))
            h5.create_virtual_dataset("weights/dense/bias", layout)
    assert findings(tmp_path, "model.h5") == (1, {("R1-ART-007", "fail", "model.h5")})
