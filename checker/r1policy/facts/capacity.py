"""Accelerator capacity of SageMaker instance types and parameter counts of known models (R1-EP-002)."""

from __future__ import annotations

import re
from functools import lru_cache

from r1policy.core.record import frozen_record
from r1policy.core.resources import load_data

MIB = 1024 * 1024


@frozen_record
class InstanceCapacity:
    """The accelerators of one SageMaker instance type: how many, their memory and the dtypes they run."""

    instance_type: str
    accelerator: str
    count: int
    memory_mib_per_device: int
    dtypes: tuple[str, ...]

    @property
    def total_mib(self) -> int:
        return self.count * self.memory_mib_per_device


@frozen_record
class KnownModel:
    """A model of policies/data/models.json: its parameter count and weight dtype."""

    repo: str
    parameters: float
    dtype: str


# The tables are read once per run (load_data is cached), so each answer is a pure function of its
# arguments: deployments share a few instance types and models, and each is looked up once.
@lru_cache(maxsize=1024)
def instance_capacity(instance_type: str) -> InstanceCapacity | None:
    data = load_data("instance-types.json")
    entry = data["instance_types"].get(instance_type)
    if entry is None:
        return None
    acc = data["accelerators"][entry["accelerator"]]
    return InstanceCapacity(
        instance_type=instance_type,
        accelerator=acc["name"],
        count=int(entry["count"]),
        memory_mib_per_device=int(acc["memory_mib"]),
        dtypes=tuple(acc["dtypes"]),
    )


@lru_cache(maxsize=1024)
def has_local_instance_storage(instance_type: str) -> bool:
    """Whether the instance's ML storage volume is local NVMe instance store (hardware-encrypted)."""
    parts = instance_type.split(".")
    families: list[str] = load_data("instance-types.json")["local_nvme_families"]
    return len(parts) == 3 and parts[1] in families


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@lru_cache(maxsize=4096)
def known_model(repo: str | None = None, s3_uri: str | None = None) -> KnownModel | None:
    """Look a model up by Hub repo, or by an S3 prefix segment equal to a known model's name."""
    models: dict[str, dict[str, object]] = load_data("models.json")["models"]
    if repo:
        for name, spec in models.items():
            if name.lower() == repo.lower():
                return KnownModel(name, float(spec["parameters"]), str(spec["dtype"]))  # type: ignore[arg-type]
        return None
    if s3_uri:
        segments = {_slug(s) for s in s3_uri[5:].split("/")[1:] if s}
        for name, spec in models.items():
            if _slug(name.split("/", 1)[1]) in segments:
                return KnownModel(name, float(spec["parameters"]), str(spec["dtype"]))  # type: ignore[arg-type]
    return None


def jumpstart_hub_repo(model_id: str) -> str | None:
    """The Hugging Face repository a JumpStart model id packages (policies/data/jumpstart-models.json)."""
    models: dict[str, dict[str, str]] = load_data("jumpstart-models.json")["models"]
    entry = models.get(model_id)
    return entry["hub_repo"] if entry else None


@lru_cache(maxsize=1024)
def known_jumpstart(model_id: str | None) -> KnownModel | None:
    repo = jumpstart_hub_repo(model_id) if model_id else None
    return known_model(repo, None) if repo else None


def dtype_bytes(dtype: str) -> float:
    table: dict[str, float] = load_data("models.json")["dtype_bytes"]
    return float(table[dtype])


def weights_mib(parameters: float, dtype: str) -> int:
    return round(parameters * dtype_bytes(dtype) / MIB)
