"""Decide a file's format from its first bytes, never from its name (the name only tells Python
source from other text, and `requirements.txt` from other text, after the content said "text")."""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEAD_BYTES = 64 * 1024
_HDF5 = b"\x89HDF\r\n\x1a\n"
# Containers this scanner cannot open: unknown content, never clean.
_UNOPENABLE = (
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"BZh", "bzip2 stream"),
    (b"\xfd7zXZ\x00", "xz stream"),
    (b"\x28\xb5\x2f\xfd", "zstd stream"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"MSCF", "CAB archive"),
)
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"))
# ModelProto field tags that may follow ir_version (field 1): producer_name .. functions.
_ONNX_TAGS = {0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0xA2, 0xCA}


@dataclass(frozen=True)
class Sniffed:
    format: str  # pickle, zip, tar, gzip, safetensors, gguf, hdf5, onnx, image, sentencepiece, text, unknown
    detail: str = ""
    pickle_kind: object | None = None  # the PickleKind from the pickle analyser


def _varint(data: bytes, pos: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None


def _is_tar(head: bytes) -> bool:
    if len(head) < 512:
        return False
    block = head[:512]
    if block[257:262] == b"ustar":
        return True
    try:
        stored = int(block[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    return stored == unsigned and block[0] != 0


def _is_safetensors(head: bytes) -> bool:
    if len(head) < 10:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return length >= 2 and head[8:9] == b"{"


def _is_onnx(head: bytes) -> bool:
    if len(head) < 4 or head[0] != 0x08:
        return False
    parsed = _varint(head, 1)
    if parsed is None:
        return False
    version, pos = parsed
    return 1 <= version <= 64 and pos < len(head) and head[pos] in _ONNX_TAGS


def _is_sentencepiece(head: bytes) -> bool:
    if len(head) < 8 or head[0] != 0x0A:
        return False
    parsed = _varint(head, 1)
    return parsed is not None and 2 <= parsed[0] < 4096 and head[parsed[1] : parsed[1] + 1] == b"\x0a"


def _text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut off by the head boundary is still text
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def sniff(head: bytes) -> Sniffed:
    from r1policy.artifacts import pickles

    if not head:
        return Sniffed("text", "empty")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return Sniffed("zip")
    if head[:2] == b"\x1f\x8b":
        return Sniffed("gzip")
    if head[:4] == b"GGUF":
        return Sniffed("gguf")
    if head[:8] == _HDF5 or any(head[off : off + 8] == _HDF5 for off in (512, 1024, 2048)):
        return Sniffed("hdf5")
    for magic, what in _UNOPENABLE:
        if head.startswith(magic):
            return Sniffed("unknown", what)
    if _is_tar(head):
        return Sniffed("tar")
    if _is_safetensors(head):
        return Sniffed("safetensors")
    kind = pickles.sniff(head)
    if kind is not None:
        return Sniffed("pickle", str(getattr(kind, "value", kind)), kind)
    for magic, what in _IMAGES:
        if head.startswith(magic):
            if (what == "png" and head[12:16] != b"IHDR") or len(head) < 16:
                return Sniffed("unknown", f"truncated or malformed {what} ({len(head)} bytes)")
            return Sniffed("image", what)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "webp")
    if _is_onnx(head):
        return Sniffed("onnx")
    if _text(head):
        return Sniffed("text")
    if _is_sentencepiece(head):
        return Sniffed("sentencepiece")
    return Sniffed("unknown", "unrecognised binary content")
