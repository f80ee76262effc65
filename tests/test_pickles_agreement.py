"""`scan` reads pickles as CPython's unpickler and joblib read them (issues 13 and 20): long first
operands, polyglots, base-0 numbers, joblib dtype sizes and compressor containers. Each class: the
issue's example plus variants; every case here passed (or was mis-judged) on the code before."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import finding_set, run_cli

PAYLOAD = b"cos\nsystem\n(S'touch pwned'\ntR."
SYSTEM = "os.system"


def _scan(tmp_path: Path, name: str, data: bytes) -> tuple[set[tuple[str, str, str]], str]:
    (tmp_path / name).write_bytes(data)
    result = run_cli("scan", name, "--format", "json", cwd=tmp_path)
    assert result.code == 1, result.stdout + result.stderr
    messages = " ".join(f["message"] for f in result.json["findings"])
    return finding_set(result.json, "fail", "error"), messages


def _pickle_fail(subject: str) -> set[tuple[str, str, str]]:
    return {("R1-ART-001", "fail", subject), ("R1-ART-002", "fail", subject)}


# -- 1. a long first operand is still a pickle ------------------------------------------------------
LONG_OPERANDS = {
    "issue-string-2000": b"S'" + b"A" * 2000 + b"'\n0",
    "string-100k-past-window": b'S"' + b"B" * 100_000 + b'"\n0',
    "unicode-70k": b"V" + b"c" * 70_000 + b"\n0",
    "binunicode-100k": b"X" + struct.pack("<I", 100_000) + b"d" * 100_000 + b"0",
    "binstring-80k": b"T" + struct.pack("<i", 80_000) + b"e" * 80_000 + b"0",
    "long-hex-3000-digits": b"L0x" + b"f" * 3000 + b"L\n0",
    "put-then-long-unicode": b"V" + b"x" * 5000 + b"\np0\n0",
}


@pytest.mark.parametrize("lead", LONG_OPERANDS.values(), ids=LONG_OPERANDS.keys())
def test_long_first_operand_is_a_pickle(tmp_path: Path, lead: bytes) -> None:
    findings, messages = _scan(tmp_path, "model.bin", lead + PAYLOAD)
    assert findings == _pickle_fail("model.bin")
    assert SYSTEM in messages


def test_operand_longer_than_the_line_limit_is_unanalysable_not_text(tmp_path: Path) -> None:
    findings, messages = _scan(tmp_path, "notes.bin", b"V" + b"y" * (1 << 20 | 5) + b"\n0" + PAYLOAD)
    assert findings == _pickle_fail("notes.bin") | {("R1-ART-010", "fail", "notes.bin")}
    assert "longer than" in messages


@pytest.mark.parametrize(
    "data",
    [
        b"V" + b"z" * 70_000 + b"\nthis line is text\n",
        b"S'" + b"q" * 80_000 + b"'\nand then prose\n",
        b"(" + b"I1\n" * 30_000 + b"hello\n",
    ],
    ids=["unicode-then-text", "string-then-text", "ints-then-text"],
)
def test_pickle_prefix_longer_than_the_window_is_never_text(tmp_path: Path, data: bytes) -> None:
    findings, messages = _scan(tmp_path, "readme.txt", data)
    assert findings == {("R1-ART-010", "fail", "readme.txt")}
    assert "read as a pickle stream, which the unpickler rejects only later" in messages


# -- 2. polyglots: a file whose byte 0 could start a pickle is also analysed as one ----------------
def _tar_with_name(name: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("x")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    data = bytearray(buf.getvalue())
    data[0:100] = name.ljust(100, b"\x00")
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\x00 " % sum(data[:512])
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as archive:
        assert archive.getnames()  # a valid tar for tarfile
    return bytes(data)


def _hdf5_after(lead: bytes, offset: int) -> bytes:
    """A real HDF5 file (h5py) with an `offset`-byte userblock that holds `lead` (h5py and every HDF5
    reader skip the userblock; a pickle reader starts at byte 0)."""
    import io

    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w", userblock_size=offset) as handle:
        handle.create_dataset("weights", data=[1.0, 2.0])
    data = bytearray(buffer.getvalue())
    data[: len(lead)] = lead
    data[len(lead) : offset] = b" " * (offset - len(lead))
    return bytes(data)


GIF_SCREEN = b"\x01\x00\x01"  # width 1, height low byte: BINFLOAT's 8 bytes end here, byte 9 is next
USERBLOCK = "R1-ART-010"
POLYGLOTS: dict[str, tuple[str, bytes, set[str]]] = {
    "issue-pickle-then-hdf5-at-512": ("m.h5", _hdf5_after(b"N0" + PAYLOAD, 512), {USERBLOCK}),
    "issue-ustar-name-field": ("m.tar", _tar_with_name(b"cos\nsystem\n(S'id'\ntR."), set()),
    "gif89a-binfloat-long-operand": (
        "m.gif",
        b"GIF89a" + GIF_SCREEN + b"0S'" + b"A" * 3000 + b"'\n0" + PAYLOAD + bytes(64),
        set(),
    ),
    "gif87a-binfloat-base0": ("m.gif", b"GIF87a" + GIF_SCREEN + b"0I0b1\n0" + PAYLOAD + bytes(64), set()),
    "pickle-then-hdf5-at-1024": ("w.h5", _hdf5_after(b"(" + PAYLOAD[:-1] + b"0N.", 1024), {USERBLOCK}),
    "ustar-name-proto2-pickle": (
        "w.tar",
        _tar_with_name(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R."),
        set(),
    ),
    "safetensors-shaped": ("w.safetensors", b"S'aaaaaa{'\n0" + PAYLOAD + b"}" * 20, {"R1-ART-005"}),
}


@pytest.mark.parametrize("case", POLYGLOTS.values(), ids=POLYGLOTS.keys())
def test_polyglot_is_analysed_as_a_pickle_too(tmp_path: Path, case: tuple[str, bytes, set[str]]) -> None:
    name, data, others = case
    findings, messages = _scan(tmp_path, name, data)
    assert findings == _pickle_fail(name) | {(rule, "fail", name) for rule in others}
    assert SYSTEM in messages


@pytest.mark.parametrize("offset", [512, 2048, 8192])
def test_hdf5_userblock_that_is_not_zeros_is_a_finding(tmp_path: Path, offset: int) -> None:
    findings, messages = _scan(tmp_path, "k.h5", _hdf5_after(b"#!/bin/sh\necho hi\n", offset))
    assert findings == {("R1-ART-010", "fail", "k.h5")}
    assert f"{offset}-byte user" in messages  # the userblock ("user block") is named with its size


def test_hdf5_with_a_zero_userblock_passes(tmp_path: Path) -> None:
    (tmp_path / "k.h5").write_bytes(bytes(512) + _hdf5_after(b"", 512)[512:])
    result = run_cli("scan", "k.h5", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.stdout
    assert finding_set(result.json, "fail", "error") == set()


# -- 3. INT/LONG operands parsed as the C unpickler parses them ---------------------------------------
NUMBERS = {
    "issue-0o1": b"I0o1\n",
    "0b1": b"I0b1\n",
    "0X1": b"I0X1\n",
    "plus-0x1": b"I+0x1\n",
    "minus-0b1": b"I-0b1\n",
    "long-0o7L": b"L0o7L\n",
    "long-plus-0X1f": b"L+0X1f\n",
    "int-nul-ends-operand": b"I1\x00zz\n",
    "float-underscore-for-joblib": b"F1_0\n",  # pickle.py (joblib.load) reads float(line)
    "float-space-for-joblib": b"F 1\n",
    "float-overflow-for-joblib": b"F1e999\n",
}


@pytest.mark.parametrize("lead", NUMBERS.values(), ids=NUMBERS.keys())
def test_base0_numbers_start_a_pickle(tmp_path: Path, lead: bytes) -> None:
    findings, messages = _scan(tmp_path, "n.bin", lead + b"0" + PAYLOAD)
    assert findings == _pickle_fail("n.bin")
    assert SYSTEM in messages


def _torch_zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/version", b"3\n")
    return buf.getvalue()


CONTAINERS: dict[str, tuple[str, Callable[[bytes], bytes], str]] = {
    "torch-zip": ("t.pt", _torch_zip, "t.pt!/archive/data.pkl"),
    "gif89a": ("t.gif", lambda d: b"GIF89a" + GIF_SCREEN + b"0" + d + bytes(16), "t.gif"),
    "plain-gz": ("t.bin.gz", gzip.compress, "t.bin.gz!/t.bin"),
}


@pytest.mark.parametrize("case", CONTAINERS.values(), ids=CONTAINERS.keys())
def test_issue_number_example_in_containers(
    tmp_path: Path, case: tuple[str, Callable[[bytes], bytes], str]
) -> None:
    name, wrap, subject = case
    findings, messages = _scan(tmp_path, name, wrap(b"I0o1\n0" + PAYLOAD))
    assert findings == _pickle_fail(subject)
    assert SYSTEM in messages


def test_torch_zip_data_pkl_is_unpickled_whatever_it_looks_like(tmp_path: Path) -> None:
    findings, messages = _scan(tmp_path, "t.pt", _torch_zip(b"hello, I am text\n"))
    assert findings == _pickle_fail("t.pt!/archive/data.pkl")
    assert "byte 0: memo key 101 was never stored" in messages


# -- 4. joblib: item sizes as numpy builds the dtype; compressor containers ---------------------------
def _joblib_with_hidden_call(dtype: str, claimed: int, count: int = 10) -> bytes:
    """joblib.dump of two arrays whose first dtype state claims `claimed`-byte items; the protocol-0
    call sits right after the real array data, where joblib.load goes on unpickling."""
    import joblib
    import numpy as np

    buf = io.BytesIO()
    joblib.dump([np.zeros(count, dtype=dtype), np.ones(3)], buf)
    data = buf.getvalue()
    state = b"J\xff\xff\xff\xffJ\xff\xff\xff\xff"  # (.., elsize -1, alignment -1, ..)
    at = data.index(state)
    data = data[:at] + b"J" + struct.pack("<i", claimed) + data[at + 5 :]
    real = np.dtype(dtype).itemsize * count
    rest = (claimed - np.dtype(dtype).itemsize) * count - len(PAYLOAD) - 1
    odd = rest % 2
    assert rest >= 3 * odd
    hidden = PAYLOAD + b"0" + (b"K\x010" if odd else b"") + b"N0" * ((rest - 3 * odd) // 2)
    first = data.index(b"NumpyArrayWrapper")
    key = b"numpy_array_alignment_bytes"
    wrapper_end = data.index(b"ub", data.index(key, first) + len(key)) + 2  # SETITEMS, BUILD
    start = wrapper_end + 1 + data[wrapper_end]  # the padding-length byte, then the padding
    return data[: start + real] + hidden + data[start + real :]


JOBLIB_SIZES = {
    "issue-f8-claims-23": ("f8", 23),
    "i4-claims-16": ("i4", 16),
    "c16-claims-40": ("c16", 40),
    "bool-claims-9": ("?", 9),
    "m8-claims-31": ("M8[ns]", 31),
    "f2-claims-7": ("f2", 7),
}


@pytest.mark.parametrize("case", JOBLIB_SIZES.values(), ids=JOBLIB_SIZES.keys())
def test_joblib_item_size_comes_from_the_dtype(tmp_path: Path, case: tuple[str, int]) -> None:
    findings, messages = _scan(tmp_path, "m.joblib", _joblib_with_hidden_call(*case))
    assert findings == _pickle_fail("m.joblib")
    assert SYSTEM in messages


def _stored_zlib_ascii(data: bytes) -> bytes:
    """A zlib stream of one stored block that is valid UTF-8 (the issue's text look-alike)."""
    size = 0xC241  # LEN bytes 41 C2, NLEN bytes BE 3D: "A\xc2\xbe=" is UTF-8
    for filler in range(0x21, 0x7F):
        body = data.ljust(size, bytes([filler]))
        check = struct.pack(">I", zlib.adler32(body))
        if all(0 < b < 0x80 for b in check):
            block = b"x^\x01" + struct.pack("<HH", size, size ^ 0xFFFF) + body + check
            assert zlib.decompress(block) == body
            block.decode("utf-8")
            return block
    raise AssertionError("no filler gives an ASCII checksum")


def _zf(data: bytes) -> bytes:
    return b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data)


COMPRESSED: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "issue-zlib-stored-ascii": (_stored_zlib_ascii, "zlib"),
    "zlib": (zlib.compress, "zlib"),
    "bz2": (bz2.compress, "bz2"),
    "xz": (lzma.compress, "xz"),
    "lzma-alone": (lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE), "lzma"),
    "joblib-zf": (_zf, "zf"),
    "zlib-two-streams": (lambda d: zlib.compress(b"N.") + zlib.compress(d), "zlib"),
}


@pytest.mark.parametrize("case", COMPRESSED.values(), ids=COMPRESSED.keys())
def test_joblib_compressed_containers_are_opened(
    tmp_path: Path, case: tuple[Callable[[bytes], bytes], str]
) -> None:
    wrap, algo = case
    findings, messages = _scan(tmp_path, "m.pkl", wrap(PAYLOAD))
    assert findings == _pickle_fail(f"m.pkl!/m.pkl.un{algo}")
    assert SYSTEM in messages


def test_lz4_container_is_unscannable_not_text(tmp_path: Path) -> None:
    findings, messages = _scan(tmp_path, "m.pkl", b"\x04\x22\x4d\x18" + b"a" * 60)
    assert findings == {("R1-ART-010", "fail", "m.pkl")}
    assert "lz4" in messages
