"""Deployment facts for Cedar: the entity attributes, what is unknown, and names for messages."""

from __future__ import annotations

from typing import Any

from r1policy.core.lazyre import compile_on_use
from r1policy.core.model import FIELD_IMAGE, Deployment, SourceKind
from r1policy.engine.bucketfacts import BucketFacts
from r1policy.engine.factrecord import DeploymentFacts
from r1policy.engine.hubfacts import default_names as hub_default_names
from r1policy.engine.imagescans import default_names as scan_default_names
from r1policy.engine.licencefacts import default_names as licence_default_names
from r1policy.facts.capacity import (
    has_local_instance_storage,
    instance_capacity,
    known_jumpstart,
    known_model,
    weights_mib,
)
from r1policy.facts.iamrole import default_names as iam_default_names
from r1policy.facts.image import parse_image, registry_approved
from r1policy.facts.pseudo import has_pseudo, pattern_verdict
from r1policy.facts.serving import default_names as serving_default_names
from r1policy.facts.typosquat import lookalike_of
from r1policy.project.config import Config
from r1policy.sources.servers import hub_endpoint_override

_FULL_SHA = compile_on_use(r"^[0-9a-f]{40}$")
_SHORT_SHA = compile_on_use(r"^[0-9a-f]{7,39}$")
_EXACT_VERSION = compile_on_use(r"^\d+\.\d+\.\d+$")
MIB_PER_GIB = 1024


def revision_kind(revision: str | None) -> str:
    if not revision:
        return "missing"
    if _FULL_SHA.match(revision):
        return "sha"
    if _SHORT_SHA.match(revision):
        return "short_sha"
    return "ref"


def jumpstart_version_kind(version: str | None) -> str:
    if not version:
        return "missing"
    return "exact" if _EXACT_VERSION.match(version) else "wildcard"


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
        # the repository id without its publisher (what `repo | replace(publisher ~ '/', '', 1)` gives)
        repo_name=(model.repo or "").replace((model.publisher or "") + "/", "", 1),
        image=dep.image or "",
        trust_remote_code=model.trust_remote_code,
        lookalike_of="",
        **input_names(dep),
    )
    unavailable: dict[str, str] = dict(dep.unknown)
    _model_facts(dep, config, attrs, names)
    if bucket is not None:
        _bucket_facts(dep, bucket, attrs, names, unavailable)
    if dep.image:
        _image_facts(dep.image, config, attrs, names, unavailable)
    _endpoint_facts(dep, config, attrs, names, unavailable)
    return DeploymentFacts(dep, attrs, unavailable, names)


def _model_facts(dep: Deployment, config: Config, attrs: dict[str, Any], names: dict[str, Any]) -> None:
    """Where the model comes from: the Hub repository and its publisher, a JumpStart id, the bucket."""
    model = dep.model
    if model.kind is SourceKind.HUB and model.repo:
        publisher = model.publisher or ""
        canonical = next((t for t in config.trusted_publishers if t.lower() == publisher.lower()), publisher)
        attrs["hub_repo"] = model.repo
        attrs["publisher"] = canonical
        attrs["hub_ref"] = f"{model.repo}@{model.revision or ''}"
        override = hub_endpoint_override(dict(dep.env))
        if override is not None:
            attrs["hub_endpoint"] = names["hub_endpoint"] = f"{override[0]}={override[1]}"
        imitated = lookalike_of(publisher, config.trusted_publishers)
        if imitated is not None:
            attrs["lookalike_of"] = imitated
            names["lookalike_of"] = imitated
    if model.kind is SourceKind.JUMPSTART:
        attrs["jumpstart_model_id"] = model.repo or ""
        attrs["jumpstart_version_kind"] = jumpstart_version_kind(model.revision)
        names.update(jumpstart_model_id=model.repo or "", jumpstart_version=model.revision or "")
    if model.bucket:
        attrs["bucket_name"] = model.bucket
        names["bucket"] = model.bucket


def _bucket_facts(
    dep: Deployment,
    bucket: BucketFacts,
    attrs: dict[str, Any],
    names: dict[str, Any],
    unavailable: dict[str, str],
) -> None:
    """The model bucket: its region, and the facts the snapshot could not give."""
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


def _image_facts(
    image: str, config: Config, attrs: dict[str, Any], names: dict[str, Any], unavailable: dict[str, str]
) -> None:
    """The serving image: its registry (approved?), digest and tag."""
    ref = parse_image(image)
    approved = registry_approved(ref.registry, config.approved_image_registries)
    if has_pseudo(ref.registry):
        decided, example = pattern_verdict(ref.registry, config.approved_image_registries)
        approved = bool(decided)
        if decided is None:
            unavailable.setdefault(
                FIELD_IMAGE,
                f"registry {ref.registry} takes the deploying stack's region, partition or account; "
                f"approved_image_registries covers some of their values but not {example}: "
                "state the stack's region (a CDK env), or approve that registry too",
            )
    attrs["image"] = {
        "uri": ref.uri,
        "registry": ref.registry,
        "registry_approved": approved,
        "has_digest": ref.digest is not None,
        "tag_kind": ref.tag_kind,
    }
    names["image_registry"] = ref.registry


def _endpoint_facts(
    dep: Deployment, config: Config, attrs: dict[str, Any], names: dict[str, Any], unavailable: dict[str, str]
) -> None:
    """The SageMaker endpoint: instance, isolation, VPC, encryption, capacity; or the names a deployment
    without one renders with."""
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
        local_storage = attrs["endpoint"]["local_instance_storage"]
        names.update(
            volume_encryption=(
                f"{ep.instance_type} keeps the weights on local NVMe instance storage, which the instance "
                "encrypts in hardware (SageMaker accepts no KmsKeyId for it)"
                if local_storage
                else f"the storage volume of {ep.instance_type} is encrypted with KMS key {ep.kms_key}"
            ),
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
    if model.kind is SourceKind.JUMPSTART:
        known = known_jumpstart(model.repo)
    elif model.kind is SourceKind.HUB:
        known = known_model(model.repo, None)
    else:
        known = known_model(None, model.s3_uri)
    parameters = model.parameters or (known.parameters if known else None)
    dtype = model.dtype or (known.dtype if known else None)
    if parameters is None or dtype is None:
        what = "parameter count" if parameters is None else "dtype"
        unavailable.setdefault("model.parameters", f"the model's {what} is unknown: {_size_hint(dep, what)}")
    capacity = instance_capacity(ep.instance_type or "")
    if capacity is None:
        unavailable.setdefault(
            "instance.capacity",
            f"instance type {ep.instance_type} is not in r1policy's capacity table "
            "(policies/data/instance-types.json)",
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


# How each input format spells the model's size (capacity messages ask for what the input can state).
_SIZE_FIELDS = {"r1policy/v1": ("spec.model.parameters", "spec.model.dtype")}
_RUNS_AS = {"kubernetes": "Kubernetes workload"}


def input_names(dep: Deployment) -> dict[str, Any]:
    """Names that make messages true for the input at hand: the format and platform, what runs the
    model, the repository with its revision (or the lack of one), and the pin to write."""
    model = dep.model
    repo = model.repo or ""
    repo_at = f"{repo}@{model.revision}" if model.revision else f"{repo} (no revision: its default branch)"
    return {
        "input_kind": dep.input_kind,
        "platform": dep.platform,
        "runs_as": _RUNS_AS.get(dep.platform, "Endpoint"),
        "repo_at": repo_at if repo else model.uri,
        "pin": model.revision or "<COMMIT_SHA>",
    }


def _size_hint(dep: Deployment, missing: str) -> str:
    fields = _SIZE_FIELDS.get(dep.input_kind)
    if fields is not None:
        return f"set {fields[0] if missing == 'parameter count' else fields[1]}"
    return (
        f"{dep.model.uri} is not a model whose size r1policy knows, and this {dep.input_kind} input does not "
        "state it"
    )


_CONFIG_NAMES: list[tuple[Config, dict[str, Any]]] = []  # the last config's names (one per run)


def _config_names(config: Config) -> dict[str, Any]:
    """The names every deployment starts from: a fresh copy of the config's, built once per config."""
    if not _CONFIG_NAMES or _CONFIG_NAMES[0][0] is not config:
        _CONFIG_NAMES[:] = [(config, _config_names_uncached(config))]
    return dict(_CONFIG_NAMES[0][1])


def _config_names_uncached(config: Config) -> dict[str, Any]:
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
        "hub_endpoint": "",
        "jumpstart_model_id": "",
        "jumpstart_version": "",
        "encryption_algorithm": "none",
        "versioning": "Disabled",
        "untrusted_writers": "",
        "untrusted_key_users": "",
        "bucket_kms_key": "<KMS_KEY_ARN>",
        "write_events_recorded_by": "",
        "trusted_writer_accounts": ", ".join(config.trusted_writer_accounts),
        **hub_default_names(),
        **licence_default_names(),
        **serving_default_names(),
        **scan_default_names(),
        **iam_default_names(),
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
