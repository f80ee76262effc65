"""Decide a file's format from its first bytes, never from its name (the name only tells Python
source from other text, and `requirements.txt` from other text, after the content said "text").

Whether the bytes are (also) a pickle is decided apart from every other format, by the pickle
analyser's own probe (`pickles.probe`, the only pickle sniffer): a file whose first byte could start
a pickle is a pickle, or carries one beside what else it parses as (`Sniffed.pickle_kind`), or the
look-ahead window could not tell (`Sniffed.pickle_undecided`): the scanner then analyses the whole
stream as a pickle too. Nothing the unpickler could read is decided "text" by a window."""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEAD_BYTES = 64 * 1024
_HDF5 = b"\x89HDF\r\n\x1a\n"
# Containers this scanner cannot open: unknown content, never clean.
_UNOPENABLE = (
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"MSCF", "CAB archive"),
)
# The HDF5 library looks for its superblock at byte 0, 512, 1024, 2048, ... (a userblock before it).
_HDF5_OFFSETS = (0, 512, 1024, 2048, 4096, 8192, 16384, 32768)
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"))
# ModelProto field tags that may follow ir_version (field 1): producer_name .. functions.
_ONNX_TAGS = {0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0xA2, 0xCA}


@dataclass(frozen=True)
class Sniffed:
    format: str  # pickle, zip, tar, gzip, compressed, safetensors, gguf, hdf5, onnx, image, sentencepiece,
    # text, unknown
    detail: str = ""
    pickle_kind: object | None = None  # the PickleKind when the stream is, or also carries, a pickle
    pickle_undecided: bool = False  # a valid pickle prefix where the window ended: analyse it whole
    suspicious: str = ""  # content the format does not explain (an HDF5 userblock that is not zeros)


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


def sniff(head: bytes, *, complete: bool | None = None) -> Sniffed:
    """The format of a stream starting with `head`; `complete` says `head` is the whole stream
    (default: shorter than HEAD_BYTES, i.e. a peek that reached the end)."""
    from r1policy.artifacts import pickles

    whole = len(head) < HEAD_BYTES if complete is None else complete
    found = pickles.probe(head, complete=whole)
    other = _other(head)
    kind = found.kind
    if kind is None:
        return other
    if other.format in ("text", "unknown") and not found.undecided:
        return Sniffed("pickle", str(getattr(kind, "value", kind)), kind)
    return Sniffed(other.format, other.detail, kind, found.undecided, other.suspicious)


def _hdf5(head: bytes) -> Sniffed | None:
    for offset in _HDF5_OFFSETS:
        if head[offset : offset + 8] == _HDF5:
            if head[:offset].strip(b"\x00"):
                return Sniffed(
                    "hdf5",
                    "userblock",
                    suspicious=f"HDF5 file with a {offset}-byte userblock that is not zeros: the bytes "
                    "before the superblock are not explained by the format (a polyglot?)",
                )
            return Sniffed("hdf5")
    return None


def _other(head: bytes) -> Sniffed:
    """The format by every signature except the pickle's."""
    from r1policy.artifacts import compressed

    if not head:
        return Sniffed("text", "empty")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return Sniffed("zip")
    if head[:2] == b"\x1f\x8b":
        return Sniffed("gzip")
    if head[:4] == b"GGUF":
        return Sniffed("gguf")
    hdf5 = _hdf5(head)
    if hdf5 is not None:
        return hdf5
    for magic, what in _UNOPENABLE:
        if head.startswith(magic):
            return Sniffed("unknown", what)
    packed = compressed.detect(head)
    if packed is not None:
        return Sniffed(*packed)
    if _is_tar(head):
        return Sniffed("tar")
    if _is_safetensors(head):
        return Sniffed("safetensors")
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
