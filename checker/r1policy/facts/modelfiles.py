"""A model's size from the files at its S3 prefix (R1-EP-002 in a live audit).

The collector (``r1policy.aws.modelfiles``) reads ``config.json`` and ``model.safetensors.index.json``
of every uncompressed S3 model prefix and records, per prefix, what it found (state-v1
``model_files``)::

    {"s3://bucket/prefix/": {"config": {"torch_dtype": "bfloat16", "quant_method": null} | null,
                             "index": {"total_size": 16060522496} | null,
                             "errors": {"config.json": "why", ...}}}

``None`` means the object does not exist (NoSuchKey). ``size_of(entry)`` turns that into the model's
size: the weights' stored bytes (``metadata.total_size``, as the Hub and transformers write it) and the
dtype they are served in (the quantization method when the config has one, else ``torch_dtype``).
Anything unreadable or malformed is an error naming the object, never a guess; no index at all means
the files say nothing about the size (the caller falls back to the known-model table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONFIG = "config.json"
INDEX = "model.safetensors.index.json"
# quantization_config.quant_method -> the dtype whose bytes per weight size it (policies/data/models.json)
_QUANT_DTYPES = {"fp8": "fp8"}


@dataclass(frozen=True)
class ModelSize:
    parameters: float  # stored bytes / bytes per weight of the dtype
    dtype: str
    total_size: int


def prefix_key(uri: str) -> str:
    """The key of an S3 model prefix in ``model_files``: the URI with one trailing slash."""
    return uri.rstrip("/") + "/"


def config_facts(doc: Any) -> dict[str, Any]:
    """What sizing needs from a parsed ``config.json`` (raises ValueError when it is not an object)."""
    if not isinstance(doc, dict):
        raise ValueError("is not a JSON object")
    dtype = doc.get("torch_dtype", doc.get("dtype"))
    quant = doc.get("quantization_config")
    method = quant.get("quant_method") if isinstance(quant, dict) else None
    if quant is not None and not isinstance(method, str):
        raise ValueError("has a quantization_config without a quant_method string")
    if dtype is not None and not isinstance(dtype, str):
        raise ValueError("has a torch_dtype that is not a string")
    return {"torch_dtype": dtype, "quant_method": method}


def index_facts(doc: Any) -> dict[str, Any]:
    """``metadata.total_size`` of a parsed safetensors index (raises ValueError when malformed)."""
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    total = metadata.get("total_size") if isinstance(metadata, dict) else None
    # bool is an int in Python; a float such as 1.5e10 is accepted only when it is whole
    if isinstance(total, float) and total.is_integer():
        total = int(total)
    if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
        raise ValueError("has no metadata.total_size (a positive integer number of bytes)")
    return {"total_size": total}


def size_of(
    prefix: str, entry: Mapping[str, Any], dtype_bytes: Mapping[str, float]
) -> ModelSize | str | None:
    """The model's size, the reason it cannot be known (naming the object), or None (no index file)."""
    errors: Mapping[str, str] = entry.get("errors") or {}
    for name in (INDEX, CONFIG):
        if name in errors:
            return f"{prefix}{name} could not be read: {errors[name]}"
    index, config = entry.get("index"), entry.get("config")
    if index is None:
        return None
    if config is None:
        return f"{prefix}{INDEX} exists but {prefix}{CONFIG} does not: the dtype of the weights is unknown"
    method = config.get("quant_method")
    if method is not None:
        dtype = _QUANT_DTYPES.get(method)
        if dtype is None:
            return f"{prefix}{CONFIG}: quantization method {method!r} is not one r1policy can size"
    else:
        dtype = config.get("torch_dtype")
        if dtype is None:
            return f"{prefix}{CONFIG} has no torch_dtype: the dtype of the weights is unknown"
    if dtype not in dtype_bytes:
        return f"{prefix}{CONFIG}: dtype {dtype!r} is not one r1policy can size ({', '.join(dtype_bytes)})"
    total = int(index["total_size"])
    return ModelSize(parameters=total / float(dtype_bytes[dtype]), dtype=dtype, total_size=total)
