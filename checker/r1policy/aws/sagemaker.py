"""SageMaker enumeration: every model, endpoint config, endpoint and inference component of one account
in one region.

List calls use paginators; each resource is described once. The raw Describe* dicts are kept
(datetimes as ISO strings, ``ResponseMetadata`` dropped): they are the input of
``r1policy.sources.sagemaker.api.deployments_from_api``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from r1policy.aws.errors import CALL_ERRORS, classify, error_code, is_region_disabled
from r1policy.aws.pools import Pools
from r1policy.aws.session import AccountSession

_KINDS = (
    # state key, list operation, list result key, name key, describe operation
    ("models", "list_models", "Models", "ModelName", "describe_model"),
    (
        "endpoint_configs",
        "list_endpoint_configs",
        "EndpointConfigs",
        "EndpointConfigName",
        "describe_endpoint_config",
    ),
    ("endpoints", "list_endpoints", "Endpoints", "EndpointName", "describe_endpoint"),
    (
        "inference_components",
        "list_inference_components",
        "InferenceComponents",
        "InferenceComponentName",
        "describe_inference_component",
    ),
)
_SINGULAR = {
    "models": "model",
    "endpoint_configs": "endpoint-config",
    "endpoints": "endpoint",
    "inference_components": "inference-component",
}


@dataclass
class Inventory:
    """The SageMaker resources of one account in one region (a state-v1 ``sagemaker`` entry)."""

    account_id: str
    region: str
    models: list[dict[str, Any]] = field(default_factory=list)
    endpoint_configs: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    inference_components: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def as_state(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "models": self.models,
            "endpoint_configs": self.endpoint_configs,
            "endpoints": self.endpoints,
        }
        if self.inference_components:
            entry["inference_components"] = self.inference_components
        if self.errors:
            entry["errors"] = dict(sorted(self.errors.items()))
        return entry


def plain(value: Any) -> Any:
    """A botocore response as plain JSON values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return value


def _not_found(exc: Exception) -> bool:
    # SageMaker answers ValidationException "Could not find ..." for a missing resource.
    return (
        isinstance(exc, botocore.exceptions.ClientError)
        and error_code(exc) in ("ValidationException", "ResourceNotFound")
        and "could not find" in str(exc).lower()
    )


def _describe(
    account: AccountSession, region: str, operation: str, name_key: str, name: str
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return plain(getattr(account.client("sagemaker", region), operation)(**{name_key: name})), None
    except CALL_ERRORS as exc:
        if _not_found(exc):
            return None, None  # deleted between list and describe
        return None, classify(exc)


def _list(account: AccountSession, region: str, operation: str, key: str, name_key: str) -> list[str]:
    names: list[str] = []
    for page in account.client("sagemaker", region).get_paginator(operation).paginate():
        names.extend(item[name_key] for item in page.get(key, []))
    return names


def enumerate_sagemaker(
    account: AccountSession,
    region: str,
    *,
    pools: Pools,
    progress: Callable[[str, int, int], None] | None = None,
) -> Inventory:
    """List and describe every model, endpoint config, endpoint and inference component (each once)."""
    inventory = Inventory(account.account_id, region)
    listed: dict[str, list[str]] = {}
    # The listings run side by side in the region pool (this task runs in the account pool).
    listings = [
        (kind, pools.submit(account.account_id, region, _list, account, region, list_op, key, name_key))
        for kind, list_op, key, name_key, _ in _KINDS
    ]
    for kind, listing in listings:
        try:
            listed[kind] = listing.result()
        except CALL_ERRORS as exc:
            if is_region_disabled(exc):
                inventory.errors["region"] = (
                    f"region {region} is not enabled for account {account.account_id} "
                    f"(or the credentials are not valid there): {classify(exc)}"
                )
                return inventory
            inventory.errors[kind] = f"could not list {kind.replace('_', ' ')}: {classify(exc)}"
    jobs = [
        (kind, name, pools.submit(account.account_id, region, _describe, account, region, op, name_key, name))
        for kind, _, _, name_key, op in _KINDS
        for name in listed.get(kind, [])
    ]
    for done, (kind, name, future) in enumerate(jobs, start=1):
        described, why = future.result()
        if why is not None:
            inventory.errors[f"{_SINGULAR[kind]}/{name}"] = why
        elif described is not None:
            getattr(inventory, kind).append(described)
        if progress is not None:
            progress(f"sagemaker {account.account_id} {region}", done, len(jobs))
    return inventory


def describe_endpoints(
    account: AccountSession, region: str, names: Iterable[str], *, pools: Pools
) -> Inventory:
    """The named endpoints that exist, with their configs and the configs' models (for `check --live`)."""
    inventory = Inventory(account.account_id, region)
    found = _describe_all(account, region, "endpoints", sorted(set(names)), pools, inventory)
    configs = sorted({e["EndpointConfigName"] for e in found if e.get("EndpointConfigName")})
    found_configs = _describe_all(account, region, "endpoint_configs", configs, pools, inventory)
    models = sorted(
        {v["ModelName"] for c in found_configs for v in c.get("ProductionVariants", []) if v.get("ModelName")}
    )
    _describe_all(account, region, "models", models, pools, inventory)
    return inventory


def _describe_all(
    account: AccountSession, region: str, kind: str, names: list[str], pools: Pools, inventory: Inventory
) -> list[dict[str, Any]]:
    spec = next(k for k in _KINDS if k[0] == kind)
    futures = [
        (name, pools.submit(account.account_id, region, _describe, account, region, spec[4], spec[3], name))
        for name in names
    ]
    found = []
    for name, future in futures:
        described, why = future.result()
        if why is not None:
            inventory.errors[f"{_SINGULAR[kind]}/{name}"] = why
        elif described is not None:
            found.append(described)
    getattr(inventory, kind).extend(found)
    return found


def _containers(model: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    containers = list(model.get("Containers") or [])
    if model.get("PrimaryContainer"):
        containers.insert(0, model["PrimaryContainer"])
    return containers


def s3_uris(model: Mapping[str, Any]) -> list[str]:
    """Every s3:// URI a model loads from (model data, model data source, env values)."""
    uris: list[str] = []
    for container in _containers(model):
        if container.get("ModelDataUrl"):
            uris.append(str(container["ModelDataUrl"]))
        source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
        if source.get("S3Uri"):
            uris.append(str(source["S3Uri"]))
        for value in (container.get("Environment") or {}).values():
            if isinstance(value, str) and value.startswith("s3://"):
                uris.append(value)
    return [u for u in uris if u.startswith("s3://")]


def bucket_of(uri: str) -> str:
    return uri.removeprefix("s3://").split("/", 1)[0]


def kms_keys_of(config: Mapping[str, Any]) -> list[str]:
    keys = [config.get("KmsKeyId"), (config.get("DataCaptureConfig") or {}).get("KmsKeyId")]
    output = ((config.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {}).get("KmsKeyId")
    keys.append(output)
    return [str(k) for k in keys if k]
