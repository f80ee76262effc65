"""safetensors and GGUF headers (R1-ART-005): real files from the libraries pass, hand-broken headers
fail with the exact defect; memory stays bounded; a 1 TB header claim is refused without allocation."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from tests.conftest import finding_set, run_cli
from tests.fixtures import make_artifacts as mk

from r1policy.artifacts.model import MIB, ScanLimits
from r1policy.artifacts.scanner import Scanner
from r1policy.artifacts.targets import resolve
from r1policy.artifacts.tensors import GGML_TYPES

BROKEN = {
    "overlap": "tensor 'b' at bytes 8-24 overlaps the previous tensor",
    "gap": "gap of 8 bytes before tensor 'b'",
    "shape_mismatch": "BF16 x [3, 3] needs 18 bytes but data_offsets span 16",
    "past_end": "tensors end at byte 4,171 but the file has 139 bytes (data past the end)",
    "not_json": "header is not valid UTF-8 JSON",
    "unknown_dtype": "unknown dtype 'Q7'",
    "huge_header": "header length 1,000,000,000,000 bytes exceeds the limit",
}


def _scan_one(path: Path, limits: ScanLimits | None = None):  # type: ignore[no-untyped-def]
    (result,) = Scanner(limits or ScanLimits()).scan_all(resolve(str(path)).files)
    return result


def test_real_safetensors_and_gguf_pass(tmp_path: Path) -> None:
    mk.safetensors_benign(tmp_path / "model.safetensors")
    mk.gguf_benign(tmp_path / "model.gguf")
    result = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.stdout
    assert finding_set(result.json, "fail", "error") == set()
    formats = {r.top.format for r in Scanner().scan_all(resolve(str(tmp_path)).files)}
    assert formats == {"safetensors", "gguf"}


@pytest.mark.parametrize("defect", sorted(BROKEN))
def test_broken_safetensors_header(tmp_path: Path, defect: str) -> None:
    path = mk.safetensors_broken(tmp_path)[defect]
    result = run_cli("scan", path.name, "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert finding_set(result.json, "fail", "error") == {("R1-ART-005", "fail", path.name)}
    (message,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-005"]
    assert BROKEN[defect] in message


def test_truncated_gguf(tmp_path: Path) -> None:
    good = mk.gguf_benign(tmp_path / "good" / "model.gguf")
    mk.gguf_truncated(good, tmp_path / "model.gguf")
    top = _scan_one(tmp_path / "model.gguf").top
    assert top.format == "gguf"
    assert len(top.header_problems) == 1 and "past the end of the" in top.header_problems[0]


def test_gguf_type_sizes_match_the_gguf_package() -> None:
    gguf = pytest.importorskip("gguf")
    assert {int(k): tuple(v) for k, v in gguf.GGML_QUANT_SIZES.items()} == GGML_TYPES


def test_one_terabyte_header_claim_is_refused_without_allocation(tmp_path: Path) -> None:
    path = mk.safetensors_broken(tmp_path)["huge_header"]
    tracemalloc.start()
    try:
        top = _scan_one(path).top
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert top.header_problems == [
        "header length 1,000,000,000,000 bytes exceeds the limit of 104,857,600; not read"
    ]
    assert peak < 16 * MIB


def test_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    path = mk.safetensors_large(tmp_path / "large.safetensors", 256 * MIB)
    tracemalloc.start()
    try:
        result = _scan_one(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.top.header_problems == [] and result.top.size == path.stat().st_size
    assert result.top.sha256 is not None
    assert peak < 24 * MIB  # a few read buffers, never the 256 MiB of tensor data


def test_hand_broken_gguf_headers(tmp_path: Path) -> None:
    overlap = mk.gguf_raw(tmp_path / "overlap.gguf", [("a", [16], 0, 0), ("b", [16], 0, 32)], data=128)
    unknown = mk.gguf_raw(tmp_path / "unknown.gguf", [("a", [16], 99, 0)], data=64)
    good = mk.gguf_raw(tmp_path / "good.gguf", [("a", [16], 0, 0), ("b", [16], 1, 64)], data=96)
    assert _scan_one(overlap).top.header_problems == ["tensor 'b' at offset 32 overlaps tensor 'a'"]
    assert _scan_one(unknown).top.header_problems == ["tensor 'a': unknown ggml type 99"]
    assert _scan_one(good).top.header_problems == []


def test_onnx_and_sentencepiece_are_recognised(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph, producer_name="pytorch"), tmp_path / "model.onnx")
    piece = b"\x0a\x0b\x0a\x05<unk>\x15\x00\x00\x00\x00" * 4
    (tmp_path / "tokenizer.model").write_bytes(piece)
    formats = {
        r.top.path.rsplit("/", 1)[-1]: r.top.format for r in Scanner().scan_all(resolve(str(tmp_path)).files)
    }
    assert formats == {"model.onnx": "onnx", "tokenizer.model": "sentencepiece"}
    assert finding_set(run_cli("scan", tmp_path, "--format", "json").json, "fail", "error") == set()
