"""A real safetensors file whose header length starts with a byte that is also a pickle opcode with a
length operand (BYTEARRAY8, BINBYTES8, BINUNICODE8, BINUNICODE, BINBYTES, BINSTRING) is not a pickle:
the unpickler would read a length far past the end of the file and fail before importing anything.
It was blocked as an unanalysable pickle (R1-ART-001/002) while the probe treated the claimed length
as an analysis limit rather than the truncation the unpickler meets."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from conftest import finding_set, run_cli

OPCODES = {
    "BYTEARRAY8": 0x96,
    "BINBYTES8": 0x8E,
    "BINUNICODE8": 0x8D,
    "BINUNICODE": 0x58,
    "BINBYTES": 0x42,
    "BINSTRING": 0x54,
}


def _safetensors_with_length_byte(first: int) -> bytes:
    """A valid safetensors file (one 2x2 F32 tensor) whose header is padded with spaces, as the format
    allows, to a length whose low byte is `first`."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
    length = first + 256 * (1 + len(header) // 256)
    return struct.pack("<Q", length) + header.ljust(length, b" ") + bytes(16)


@pytest.mark.parametrize("opcode", sorted(OPCODES))
def test_safetensors_whose_length_byte_is_a_length_opcode_passes(tmp_path: Path, opcode: str) -> None:
    (tmp_path / "model.safetensors").write_bytes(_safetensors_with_length_byte(OPCODES[opcode]))
    result = run_cli("scan", "model.safetensors", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.stdout
    assert finding_set(result.json, "fail", "error") == set()
