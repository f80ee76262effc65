"""What an audit judges: the SageMaker inventory of a state document (live through `r1policy.aws`, or a
snapshot) as `Deployment`s, where each one lives, and what could not be read.

Fail closed: nothing that could not be read is dropped.
* A model that a config uses but that does not exist (deleted) or could not be described is replaced
  by a stand-in, so the endpoint is still judged: its instance type, KMS key and data capture as
  configured, and every fact about the model (source, image, isolation, VPC, size) unknown, so the
  rules that need them are `error`.
* Any other resource the converter cannot turn into a deployment (an endpoint whose config is gone,
  a malformed shape) and any region or listing that could not be read becomes a deployment with all
  facts unknown: every rule is `error` on it.
Both are also listed as inventory problems in the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from r1policy.audit.run import AuditProblem, Inventory, Place
from r1policy.core.model import (
    FIELD_ASYNC,
    FIELD_DATA_CAPTURE,
    FIELD_DTYPE,
    FIELD_ENDPOINT,
    FIELD_IMAGE,
    FIELD_INSTANCE_TYPE,
    FIELD_KMS,
    FIELD_MODEL,
    FIELD_NETWORK_ISOLATION,
    FIELD_PARAMETERS,
    FIELD_REGION,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_S3_URI,
    FIELD_TRUST_REMOTE_CODE,
    FIELD_VPC,
    Deployment,
    Endpoint,
    ModelSource,
    SourceKind,
)
from r1policy.project.state import StateSnapshot
from r1policy.sources.sagemaker.api import deployments_from_api

_STAND_IN_IMAGE = "r1policy.invalid/model-could-not-be-read"
MODEL_FIELDS = (
    FIELD_MODEL,
    FIELD_REVISION,
    FIELD_REPO,
    FIELD_S3_URI,
    FIELD_PARAMETERS,
    FIELD_DTYPE,
    FIELD_TRUST_REMOTE_CODE,
    FIELD_IMAGE,
    FIELD_NETWORK_ISOLATION,
    FIELD_VPC,
)
ALL_FIELDS = (
    *MODEL_FIELDS,
    FIELD_ENDPOINT,
    FIELD_INSTANCE_TYPE,
    FIELD_KMS,
    FIELD_DATA_CAPTURE,
    FIELD_ASYNC,
    FIELD_REGION,
)


@dataclass
class AuditWorld:
    deployments: list[Deployment] = field(default_factory=list)
    inventory: list[Inventory] = field(default_factory=list)
    places: dict[str, Place] = field(default_factory=dict)  # deployment name -> place
    buckets: dict[str, Place] = field(default_factory=dict)
    problems: list[AuditProblem] = field(default_factory=list)
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()


def sagemaker_section(state: StateSnapshot) -> Mapping[str, Mapping[str, Mapping[str, Any]]]:
    """account -> region -> {models, endpoint_configs, endpoints, errors} (see r1policy.aws)."""
    section: Mapping[str, Mapping[str, Mapping[str, Any]]] = getattr(state, "sagemaker", None) or {}
    return section


def _names(items: Sequence[Mapping[str, Any]], key: str) -> set[str]:
    return {str(i[key]) for i in items if isinstance(i, Mapping) and isinstance(i.get(key), str)}


def _variant_models(configs: Sequence[Mapping[str, Any]]) -> set[str]:
    used: set[str] = set()
    for config in configs:
        variants = config.get("ProductionVariants") if isinstance(config, Mapping) else None
        for variant in variants if isinstance(variants, list) else ():
            if isinstance(variant, Mapping) and isinstance(variant.get("ModelName"), str):
                used.add(variant["ModelName"])
    return used


def _unreadable(
    name: str, place: Place, why: str, *, resource: str = "endpoint", endpoint_name: str | None = None
) -> Deployment:
    return Deployment(
        name=name,
        model=ModelSource(kind=SourceKind.NONE),
        image=None,
        endpoint=Endpoint(
            name=endpoint_name or name,
            region=place.region,
            instance_type=None,
            account=place.account,
            resource=resource,
        ),
        unknown=dict.fromkeys(ALL_FIELDS, why),
    )


def _region(account: str, region: str, data: Mapping[str, Any], world: AuditWorld) -> list[Deployment]:
    place = Place(account, region)
    errors: Mapping[str, str] = data.get("errors") or {}
    models = list(data.get("models") or ())
    configs = list(data.get("endpoint_configs") or ())
    endpoints = list(data.get("endpoints") or ())
    world.inventory.append(Inventory(place, len(models), len(configs), len(endpoints)))
    out: list[Deployment] = []
    for what in ("region", "models", "endpoint_configs", "endpoints"):
        if what in errors:
            listing = "resources" if what == "region" else what.replace("_", " ")
            why = f"the SageMaker {listing} of {account}/{region} could not be listed: {errors[what]}"
            world.problems.append(AuditProblem(f"{region} {what}", why, place))
            out.append(_unreadable(f"{what} in {account}/{region}", place, why, endpoint_name="*"))
    # Models that a config uses but that cannot be read get a stand-in (see the module docstring).
    missing: dict[str, str] = {}
    for name in sorted(_variant_models(configs) - _names(models, "ModelName")):
        error = errors.get(f"model/{name}")
        reason = (
            f"model {name} could not be described: {error}"
            if error
            else f"model {name} does not exist (deleted after the endpoint config was created)"
        )
        missing[f"{_STAND_IN_IMAGE}/{name}"] = reason
        world.problems.append(AuditProblem(f"Model {name}", reason, place))
    stand_ins = [
        {"ModelName": image.rsplit("/", 1)[1], "PrimaryContainer": {"Image": image}} for image in missing
    ]
    result = deployments_from_api(models + stand_ins, configs, endpoints, account=account, region=region)
    for dep in result.deployments:
        lost = missing.get(dep.image or "")
        if lost is not None:
            unknown = {**dep.unknown, **dict.fromkeys(MODEL_FIELDS, lost)}
            dep = replace(dep, image=None, model=ModelSource(SourceKind.NONE), env=(), unknown=unknown)
        out.append(dep)
    for problem in result.problems:
        kind, _, name = problem.resource_id.partition(" ")
        why = f"{problem.resource_id} could not be judged: {problem.message}"
        world.problems.append(AuditProblem(problem.resource_id, problem.message, place))
        resource = "endpoint-config" if kind == "EndpointConfig" else "endpoint"
        label = f"{problem.resource_id} in {account}/{region}"
        out.append(_unreadable(label, place, why, resource=resource, endpoint_name=name or kind))
    for key, error in sorted(errors.items()):
        kind, _, name = key.partition("/")
        if not name or kind == "model":
            continue
        why = f"{kind.replace('_', ' ')} {name} could not be described: {error}"
        world.problems.append(AuditProblem(key, why, place))
        if kind == "endpoint":
            out.append(_unreadable(f"{name} (unreadable)", place, why, endpoint_name=name))
    return out


def world_from_state(state: StateSnapshot, regions: Sequence[str] = ()) -> AuditWorld:
    """Every account and region in the state's SageMaker section (only `regions` when given)."""
    world = AuditWorld()
    section = sagemaker_section(state)
    seen_regions: set[str] = set()
    taken: set[str] = set()
    for account in sorted(section):
        for region in sorted(section[account]):
            if regions and region not in regions:
                continue
            seen_regions.add(region)
            for dep in _region(account, region, section[account][region], world):
                if dep.name in taken:  # the same name in two accounts or regions
                    dep = replace(dep, name=f"{dep.name} ({account}/{region})")
                taken.add(dep.name)
                world.deployments.append(dep)
                world.places[dep.name] = Place(account, region)
    world.accounts = tuple(sorted(section))
    world.regions = tuple(regions) if regions else tuple(sorted(seen_regions))
    counts: dict[Place, int] = {}
    for dep in world.deployments:
        bucket = dep.model.bucket
        if bucket is None or bucket in world.buckets:
            continue
        record = state.buckets.get(bucket) or {}
        owner, where = record.get("account_id"), record.get("region")
        if isinstance(owner, str) and isinstance(where, str) and where:
            place = Place(owner, where)
        else:  # region or owner unreadable: summarise it where it is used
            place = world.places[dep.name]
        world.buckets[bucket] = place
        counts[place] = counts.get(place, 0) + 1
    by_place = {inv.place: inv for inv in world.inventory}
    for place, count in counts.items():
        if place not in by_place:
            by_place[place] = Inventory(place)
            world.inventory.append(by_place[place])
        by_place[place].buckets += count
    world.inventory.sort(key=lambda inv: inv.place)
    return world
