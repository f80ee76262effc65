"""Terraform plan JSON (`terraform show -json plan.out`) → deployments and file buckets.

Read from `resource_changes` (every managed resource the plan creates, updates or keeps; deleted
ones are ignored): `aws_sagemaker_model`, `aws_sagemaker_endpoint_configuration`,
`aws_sagemaker_endpoint` go through the SageMaker API converter (`cfn_shapes.ApiBridge`); the S3
bucket and its split-out configuration resources become `FileBucket`s (`tf_buckets`). Nested blocks
are lists in plan JSON (`primary_container[0].model_data_source[0].s3_data_source[0].s3_uri`); a value
that is absent from `after` and `true` in `after_unknown` is known only after apply and becomes
`Unknown`. Where `after` lacks a name, a link between resources follows the `configuration`
expression's `references` (`aws_sagemaker_model.r1.name` → that model). Deployments are named by
the endpoint's resource address, findings point at the JSON line of the attribute, and the region
comes from the AWS provider configuration when it is a constant. A plan whose `format_version` has
another major version than 1 is refused (exit 2).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from r1policy.core.errors import InputError
from r1policy.core.findings import Location
from r1policy.core.model import Loaded
from r1policy.core.yamldoc import Document
from r1policy.sources.cloudformation.shapes import ApiBridge, Locator
from r1policy.sources.sagemaker.api import CONFIG, ENDPOINT, MODEL, KeyPath
from r1policy.sources.terraform import awscc
from r1policy.sources.terraform.buckets import file_buckets
from r1policy.sources.terraform.plan import Plan, Resource
from r1policy.sources.terraform.unjudged import unjudged

SUPPORTED_MAJOR = 1
KINDS = {
    "aws_sagemaker_model": MODEL,
    "aws_sagemaker_endpoint_configuration": CONFIG,
    "aws_sagemaker_endpoint": ENDPOINT,
}


def is_terraform_plan(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "format_version" in value
        and any(k in value for k in ("resource_changes", "planned_values", "terraform_version"))
    )


def load_terraform_plan(doc: Document) -> Loaded:
    version = str(doc.value.get("format_version", ""))
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) != SUPPORTED_MAJOR:
        raise InputError(
            doc.position(("format_version",)),
            f"Terraform plan format_version {version!r} is not supported "
            f"(this r1policy reads major version {SUPPORTED_MAJOR}, e.g. 1.2)",
        )
    if "resource_changes" not in doc.value and "values" in doc.value:
        raise InputError(
            doc.position(("values",), key=True),
            "this is Terraform state JSON, not a plan: run `terraform plan -out plan.out` and "
            "check the output of `terraform show -json plan.out`",
        )
    return loaded_from_plan(Plan(doc), doc.path, "Terraform plan")


def loaded_from_plan(plan: Plan, path: str, what: str) -> Loaded:
    """Deployments and file buckets of a plan's resources (also the module-source reader's,
    `sources.terraform.source`)."""
    loaded = Loaded()
    loaded.buckets.extend(file_buckets(plan))
    loaded.extend(unjudged(plan))
    sagemaker = [r for r in plan.resources if r.type in KINDS or r.type in awscc.KINDS]
    if not sagemaker:
        if not loaded:
            loaded.notes.append(f"{path}: {what} without SageMaker resources: nothing to judge")
        return loaded
    api_names = {r.address: _api_name(r) if r.type in KINDS else awscc.api_name(r) for r in sagemaker}
    bridge = ApiBridge(path)
    for res in sagemaker:
        if res.type in KINDS:
            kind = KINDS[res.type]
            bridge.add(kind, res.address, _SHAPES[kind](res, plan, api_names), _locator(res))
        else:
            bridge.add(
                awscc.KINDS[res.type], res.address, awscc.shape(res, plan, api_names), awscc.locator(res)
            )
    regions = {plan.region(r) for r in sagemaker}
    region = regions.pop() if len(regions) == 1 else None
    by_api_name = {api_names[r.address]: r.address for r in sagemaker if r.type == "aws_sagemaker_endpoint"}
    for dep, involved in bridge.convert(region=region):
        # Instances of one resource (count / for_each) share their source lines: find the endpoint by name.
        endpoint = by_api_name.get(dep.endpoint.name) if dep.endpoint is not None else None
        endpoint = endpoint or next(
            (
                a
                for a in sorted(involved)
                if plan.by_address[a].type in ("aws_sagemaker_endpoint", "awscc_sagemaker_endpoint")
            ),
            None,
        )
        if endpoint is not None and dep.endpoint is not None:
            suffix = dep.name[len(dep.endpoint.name) :] if dep.name.startswith(dep.endpoint.name) else ""
            dep = dataclasses.replace(dep, name=endpoint + suffix)
        loaded.append(dep)
    return loaded


def _api_name(res: Resource) -> str:
    name = res.get("name")
    return name if isinstance(name, str) and name else res.address


def _locator(res: Resource) -> Locator:
    def locate(path: KeyPath) -> Location:
        plan_path = _plan_path(path)
        while plan_path and isinstance(plan_path[-1], int):  # a block: point at its attribute name
            plan_path = plan_path[:-1]
        pos = res.position(plan_path)
        return Location(pos.path, pos.line, pos.column)

    return locate


# API key path -> plan attribute path (nested blocks are lists of one element).
_API_TO_PLAN: dict[str, tuple[str | int, ...]] = {
    "PrimaryContainer": ("primary_container", 0),
    "Containers": ("container",),
    "Image": ("image",),
    "ModelDataUrl": ("model_data_url",),
    "ModelDataSource": ("model_data_source", 0),
    "S3DataSource": ("s3_data_source", 0),
    "S3Uri": ("s3_uri",),
    "Environment": ("environment",),
    "EnableNetworkIsolation": ("enable_network_isolation",),
    "VpcConfig": ("vpc_config", 0),
    "ProductionVariants": ("production_variants",),
    "ShadowProductionVariants": ("shadow_production_variants",),
    "InstanceType": ("instance_type",),
    "ServerlessConfig": ("serverless_config", 0),
    "ModelName": ("model_name",),
    "KmsKeyId": ("kms_key_arn",),
    "DataCaptureConfig": ("data_capture_config", 0),
    "AsyncInferenceConfig": ("async_inference_config", 0),
    "OutputConfig": ("output_config", 0),
    "EndpointConfigName": ("endpoint_config_name",),
}


def _plan_path(path: KeyPath) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for i, key in enumerate(path):
        if isinstance(key, int) or (i > 0 and path[i - 1] == "Environment"):
            out.append(key)
        elif key == "KmsKeyId" and i > 0:
            out.append("kms_key_id")  # data capture and async output spell it kms_key_id
        else:
            out.extend(_API_TO_PLAN.get(key, (key,)))
    return tuple(out)


def _model(res: Resource, plan: Plan, names: dict[str, str]) -> dict[str, Any]:
    shape: dict[str, Any] = {"ModelName": names[res.address]}
    if res.has("primary_container", 0):
        shape["PrimaryContainer"] = _container(res, ("primary_container", 0))
    containers = res.get("container")
    if isinstance(containers, list) and containers:
        shape["Containers"] = [_container(res, ("container", i)) for i in range(len(containers))]
    isolation = res.value("enable_network_isolation")
    if isolation is not None:
        shape["EnableNetworkIsolation"] = isolation
    if res.has("vpc_config", 0):
        shape["VpcConfig"] = {
            "Subnets": res.value("vpc_config", 0, "subnets") or [],
            "SecurityGroupIds": res.value("vpc_config", 0, "security_group_ids") or [],
        }
    return shape


def _container(res: Resource, base: tuple[str | int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, attr in (("Image", "image"), ("ModelDataUrl", "model_data_url")):
        value = res.value(*base, attr)
        if value is not None:
            out[key] = value
    if res.has(*base, "model_data_source", 0, "s3_data_source", 0):
        s3 = (*base, "model_data_source", 0, "s3_data_source", 0)
        out["ModelDataSource"] = {"S3DataSource": {"S3Uri": res.value(*s3, "s3_uri")}}
    env = res.value(*base, "environment")
    if env is not None:
        out["Environment"] = env
    return out


def _config(res: Resource, plan: Plan, names: dict[str, str]) -> dict[str, Any]:
    shape: dict[str, Any] = {"EndpointConfigName": names[res.address]}
    kms = res.value("kms_key_arn")
    if kms is not None:
        shape["KmsKeyId"] = kms
    shape["ProductionVariants"] = _variants(res, plan, names, "production_variants", "variant")
    shadows = _variants(res, plan, names, "shadow_production_variants", "shadow")
    if shadows:
        shape["ShadowProductionVariants"] = shadows
    if res.has("data_capture_config", 0):
        base = ("data_capture_config", 0)
        capture: dict[str, Any] = {}
        for key, attr in (
            ("EnableCapture", "enable_capture"),
            ("KmsKeyId", "kms_key_id"),
            ("DestinationS3Uri", "destination_s3_uri"),
        ):
            value = res.value(*base, attr)
            if value is not None:
                capture[key] = value
        shape["DataCaptureConfig"] = capture
    if res.has("async_inference_config", 0, "output_config", 0):
        kms_out = res.value("async_inference_config", 0, "output_config", 0, "kms_key_id")
        shape["AsyncInferenceConfig"] = {"OutputConfig": {"KmsKeyId": kms_out} if kms_out is not None else {}}
    return shape


def _variants(
    res: Resource, plan: Plan, names: dict[str, str], block: str, unnamed: str
) -> list[dict[str, Any]]:
    variants: list[dict[str, Any]] = []
    for i in range(len(res.get(block) or [])):
        base = (block, i)
        variant: dict[str, Any] = {"VariantName": res.value(*base, "variant_name") or f"{unnamed}-{i + 1}"}
        variant["ModelName"] = plan.link(res, (*base, "model_name"), awscc.MODELS, names)
        for key, attr in (
            ("InstanceType", "instance_type"),
            ("InitialInstanceCount", "initial_instance_count"),
        ):
            value = res.value(*base, attr)
            if value is not None:
                variant[key] = value
        if res.has(*base, "serverless_config", 0):
            variant["ServerlessConfig"] = {}
        variants.append(variant)
    return variants


def _endpoint(res: Resource, plan: Plan, names: dict[str, str]) -> dict[str, Any]:
    return {
        "EndpointName": names[res.address],
        "EndpointConfigName": plan.link(res, ("endpoint_config_name",), awscc.CONFIGS, names),
    }


_SHAPES = {MODEL: _model, CONFIG: _config, ENDPOINT: _endpoint}
