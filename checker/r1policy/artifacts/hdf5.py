"""HDF5 files read with h5py (read-only, random access on a spooled copy of the bytes that were hashed;
Keras is never imported): the `model_config` and `training_config` attributes Keras deserialises are
read themselves and walked by artifacts/keras.py. Without h5py, or when the file cannot be opened,
the file is unscannable (R1-ART-010), never clean."""

from __future__ import annotations

import tempfile
from typing import IO, Any

from r1policy.artifacts.hashing import CHUNK, HashingReader
from r1policy.artifacts.keras import code_layers
from r1policy.artifacts.model import FileFacts, ScanLimits
from r1policy.core import jsonsafe

_CONFIG_ATTRS = ("model_config", "training_config")
# Root attributes and groups that only Keras writes (a full-model file, not a weights-only one).
_KERAS_MARKERS = ("keras_version", "backend", "model_config", "training_config")
_KERAS_GROUPS = ("model_weights",)
_MAX_FOUND = 20
_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def analyse_hdf5(reader: HashingReader, facts: FileFacts, limits: ScanLimits) -> None:
    head = reader.peek(4096)
    offset = head.find(_SIGNATURE)
    if offset > 0 and any(head[:offset]):
        facts.unknown_format = (
            f"HDF5 file whose {offset}-byte user block before the signature holds data (a polyglot: "
            "another reader may see another file)"
        )
    try:
        import h5py
    except ImportError:
        facts.unknown_format = (
            "HDF5 file: install r1policy[keras] (h5py) to read its Keras model config; not judged"
        )
        return
    with tempfile.SpooledTemporaryFile(max_size=limits.spool_memory_bytes) as spool:
        while chunk := reader.read(CHUNK):
            spool.write(chunk)
        spool.seek(0)
        _read(h5py, spool, facts)


def _read(h5py: Any, handle: IO[bytes], facts: FileFacts) -> None:
    try:
        with h5py.File(handle, "r") as h5:
            attrs = {key: h5.attrs[key] for key in h5.attrs if key in _KERAS_MARKERS}
            groups = [g for g in _KERAS_GROUPS if g in h5]
            facts.reference_problems.extend(_external(h5py, h5))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        facts.unknown_format = f"HDF5 file h5py cannot read ({exc}); its Keras config cannot be judged"
        return
    looks_keras = bool(attrs or groups)
    if not looks_keras:
        facts.detail = facts.detail or "hdf5 (no Keras model config)"
        return
    facts.detail = "keras-h5"
    if "model_config" not in attrs and ("training_config" in attrs or groups):
        facts.unknown_format = "Keras .h5 model without a readable model_config attribute; not judged"
        return
    for key in _CONFIG_ATTRS:
        if key not in attrs:
            continue
        config, error = _decode(attrs[key])
        if error:
            facts.unknown_format = f"Keras .h5 attribute {key!r} is {error}; not judged"
            return
        facts.keras_code_layers.extend(f"{key}: {found}" for found in code_layers(config))


def _external(h5py: Any, h5: Any) -> list[str]:
    """Links and datasets whose data live in other files (external links, external raw storage,
    virtual datasets): whoever reads the weights reads those files."""
    found: list[str] = []

    def visit(name: str, link: Any) -> None:
        if len(found) >= _MAX_FOUND:
            return
        if isinstance(link, h5py.ExternalLink):
            found.append(f"external link {name!r} points at {link.filename!r}:{link.path}")
        elif isinstance(link, h5py.HardLink):
            node = h5.get(name)
            if isinstance(node, h5py.Dataset):
                for entry in node.external or []:
                    found.append(f"dataset {name!r} stores its data in the file {_text(entry[0])!r}")
                if node.is_virtual:
                    for source in node.virtual_sources():
                        if source.file_name != ".":
                            found.append(f"virtual dataset {name!r} maps the file {source.file_name!r}")

    h5.visititems_links(visit)
    return found[:_MAX_FOUND]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _decode(value: Any) -> tuple[Any, str]:
    """The attribute's JSON value, or why it cannot be read."""
    if isinstance(value, bytes):  # also numpy.bytes_ (fixed-length HDF5 strings)
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None, "not UTF-8"
    if not isinstance(value, str):
        return None, f"not a JSON string ({type(value).__name__})"
    try:
        return jsonsafe.loads(value), ""
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, int digit limit, nesting
        return None, f"not valid JSON ({str(exc)[:80]})"
