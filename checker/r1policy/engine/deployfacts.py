"""Deployment facts for Cedar: the entity attributes, what is unknown, and names for messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from r1policy.config import Config
from r1policy.engine.bucketfacts import BucketFacts
from r1policy.engine.hubfacts import default_names as hub_default_names
from r1policy.facts.capacity import has_local_instance_storage, instance_capacity, known_model, weights_mib
from r1policy.facts.image import parse_image, registry_approved
from r1policy.facts.serving import default_names as serving_default_names
from r1policy.facts.typosquat import lookalike_of
from r1policy.model import Deployment, SourceKind

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")
MIB_PER_GIB = 1024


@dataclass
class DeploymentFacts:
    deployment: Deployment
    attrs: dict[str, Any]
    unavailable: dict[str, str] = field(default_factory=dict)
    names: dict[str, Any] = field(default_factory=dict)
    # facts that do not exist for this deployment (no lock file): rules that require them are skipped
    not_applicable: dict[str, str] = field(default_factory=dict)


def revision_kind(revision: str | None) -> str:
    if not revision:
        return "missing"
    if _FULL_SHA.match(revision):
        return "sha"
    if _SHORT_SHA.match(revision):
        return "short_sha"
    return "ref"


def deployment_facts(dep: Deployment, config: Config, bucket: BucketFacts | None) -> DeploymentFacts:
    model = dep.model
    attrs: dict[str, Any] = {
        "name": dep.name,
        "stage": dep.stage or "",
        "source": model.kind.value,
        "revision_kind": revision_kind(model.revision),
        "trust_remote_code": model.trust_remote_code,
        "pulls_from_hub_at_runtime": model.kind is SourceKind.HUB,
    }
    names: dict[str, Any] = _config_names(config)
    names.update(
        deployment=dep.name,
        stage=dep.stage or "",
        owner=dep.owner or "",
        model_uri=model.uri,
        repo=model.repo or "",
        revision=model.revision or "",
        publisher=model.publisher or "",
        image=dep.image or "",
        trust_remote_code=model.trust_remote_code,
        lookalike_of="",
    )
    unavailable: dict[str, str] = dict(dep.unknown)
    if model.kind is SourceKind.HUB and model.repo:
        publisher = model.publisher or ""
        canonical = next((t for t in config.trusted_publishers if t.lower() == publisher.lower()), publisher)
        attrs["hub_repo"] = model.repo
        attrs["publisher"] = canonical
        attrs["hub_ref"] = f"{model.repo}@{model.revision or ''}"
        imitated = lookalike_of(publisher, config.trusted_publishers)
        if imitated is not None:
            attrs["lookalike_of"] = imitated
            names["lookalike_of"] = imitated
    if model.bucket:
        attrs["bucket_name"] = model.bucket
        names["bucket"] = model.bucket
    if bucket is not None:
        names["bucket_region"] = bucket.region or "<BUCKET_REGION>"
        for fact, why in bucket.unavailable.items():
            unavailable[fact] = why
        if dep.endpoint is not None and not dep.endpoint.region and "bucket.region" not in unavailable:
            # Request files and templates leave the region to the deploying session: not comparable.
            unavailable["bucket.region"] = (
                "the endpoint's region is not stated in the files (it comes from the deploying session): "
                "state it, or judge the live endpoint with --live"
            )
        if bucket.known:
            attrs["bucket"] = {"__entity": {"type": "R1::Bucket", "id": bucket.name}}
    if dep.image:
        ref = parse_image(dep.image)
        attrs["image"] = {
            "uri": ref.uri,
            "registry": ref.registry,
            "registry_approved": registry_approved(ref.registry, config.approved_image_registries),
            "has_digest": ref.digest is not None,
            "tag_kind": ref.tag_kind,
        }
        names["image_registry"] = ref.registry
    ep = dep.endpoint
    if ep is not None:
        attrs["endpoint"] = {
            "name": ep.name,
            "region": ep.region or "",
            "instance_type": ep.instance_type or "",
            "network_isolation": ep.network_isolation,
            "in_vpc": bool(ep.vpc_subnets and ep.vpc_security_groups),
            "has_kms_key": bool(ep.kms_key),
            "local_instance_storage": has_local_instance_storage(ep.instance_type or ""),
            "data_capture_enabled": ep.data_capture is not None,
            "data_capture_kms": bool(ep.data_capture and ep.data_capture.kms_key),
            "async_output_enabled": ep.async_output is not None,
            "async_output_kms": bool(ep.async_output and ep.async_output.kms_key),
        }
        names.update(
            endpoint=ep.name,
            region=ep.region or "<REGION>",
            account=ep.account or "<ACCOUNT_ID>",
            instance_type=ep.instance_type or "",
            kms_key=ep.kms_key or "<KMS_KEY_ARN>",
        )
        _capacity(dep, config, attrs, names, unavailable)
    else:
        # No SageMaker endpoint (a bare model, a Kubernetes workload): messages name the deployment.
        names.update(
            endpoint=dep.name,
            region="<REGION>",
            account="<ACCOUNT_ID>",
            instance_type="",
            kms_key="<KMS_KEY_ARN>",
        )
    return DeploymentFacts(dep, attrs, unavailable, names)


def _capacity(
    dep: Deployment,
    config: Config,
    attrs: dict[str, Any],
    names: dict[str, Any],
    unavailable: dict[str, str],
) -> None:
    model = dep.model
    ep = dep.endpoint
    assert ep is not None
    known = known_model(model.repo, None) if model.kind is SourceKind.HUB else known_model(None, model.s3_uri)
    parameters = model.parameters or (known.parameters if known else None)
    dtype = model.dtype or (known.dtype if known else None)
    if parameters is None or dtype is None:
        what = "parameter count" if parameters is None else "dtype"
        unavailable["model.parameters"] = (
            f"the model's {what} is unknown: set spec.model.{'parameters' if parameters is None else 'dtype'}"
        )
    capacity = instance_capacity(ep.instance_type or "")
    if capacity is None:
        unavailable["instance.capacity"] = (
            f"instance type {ep.instance_type} is not in r1policy's capacity table "
            "(policies/data/instance-types.json)"
        )
    names.update(dtype=dtype or "", parameters_b=f"{parameters / 1e9:.2f}" if parameters else "")
    if capacity is not None:
        names.update(
            accelerator=capacity.accelerator,
            accelerator_count=capacity.count,
            accelerator_gib=f"{capacity.total_mib / MIB_PER_GIB:.0f}",
            supported_dtypes=", ".join(capacity.dtypes),
        )
    if parameters is None or dtype is None or capacity is None:
        return
    weights = weights_mib(parameters, dtype)
    headroom = config.capacity_headroom_percent
    names.update(
        weights_gib=f"{weights / MIB_PER_GIB:.1f}",
        required_gib=f"{weights * (100 + headroom) / 100 / MIB_PER_GIB:.1f}",
    )
    attrs["capacity"] = {
        "weights_mib": weights,
        "accelerator_mib": capacity.total_mib,
        "accelerator": capacity.accelerator,
        "dtype": dtype,
        "supported_dtypes": list(capacity.dtypes),
    }


def _config_names(config: Config) -> dict[str, Any]:
    return {
        "approved_instance_types": ", ".join(config.approved_instance_types),
        "first_approved_instance_type": (config.approved_instance_types or ("<APPROVED_INSTANCE_TYPE>",))[0],
        "trusted_publishers": ", ".join(config.trusted_publishers),
        "approved_buckets": ", ".join(config.approved_buckets),
        "approved_image_registries": ", ".join(config.approved_image_registries),
        "headroom_percent": config.capacity_headroom_percent,
        "bucket": "",
        "bucket_region": "<BUCKET_REGION>",
        "image_registry": "",
        "weights_gib": "?",
        "required_gib": "?",
        "accelerator": "?",
        "accelerator_count": "?",
        "accelerator_gib": "?",
        "supported_dtypes": "?",
        "dtype": "",
        "parameters_b": "?",
        "encryption_algorithm": "none",
        "versioning": "Disabled",
        "untrusted_writers": "",
        "trusted_writer_accounts": ", ".join(config.trusted_writer_accounts),
        **hub_default_names(),
        **serving_default_names(),
    }


def cedar_context(config: Config, network_isolation_required: bool) -> dict[str, Any]:
    return {
        "approved_instance_types": list(config.approved_instance_types),
        "trusted_publishers": list(config.trusted_publishers),
        "approved_buckets": list(config.approved_buckets),
        "approved_remote_code": [f"{repo}@{rev}" for repo, rev in config.approved_remote_code],
        "require_kms": config.encryption_algorithm.startswith("aws:kms"),
        "require_customer_managed_key": config.customer_managed_key,
        "allow_pickle_weights": config.allow_pickle_weights,
        "headroom_percent": config.capacity_headroom_percent,
        "network_isolation_required": network_isolation_required,
        "require_verified_publisher": config.require_verified_publisher,
    }
