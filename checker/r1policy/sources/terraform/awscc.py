"""Cloud Control (`awscc`) SageMaker resources in a Terraform plan → API-shaped dicts.

The awscc provider generates its resources from the CloudFormation schemas: `awscc_sagemaker_model`,
`awscc_sagemaker_endpoint_config` and `awscc_sagemaker_endpoint` carry the CloudFormation properties in
snake_case (`primary_container.model_data_source.s3_data_source.s3_uri`, `production_variants[0]
.instance_type`, `kms_key_id`, `shadow_production_variants`), nested objects as objects (not the
one-element lists of the aws provider), names in `model_name` / `endpoint_config_name` /
`endpoint_name`, and a container's `environment` as a JSON-encoded string. Turned back into
CloudFormation's (= the API's) names, they go through the same converter as every other source.
"""

from __future__ import annotations

from typing import Any

from r1policy.core import jsonsafe
from r1policy.core.errors import InputError
from r1policy.core.findings import Location
from r1policy.sources.cloudformation.shapes import Locator
from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.sagemaker.api import CONFIG, ENDPOINT, MODEL, KeyPath
from r1policy.sources.terraform.plan import Plan, Resource

KINDS = {
    "awscc_sagemaker_model": MODEL,
    "awscc_sagemaker_endpoint_config": CONFIG,
    "awscc_sagemaker_endpoint": ENDPOINT,
}
NAME_ATTR = {MODEL: "model_name", CONFIG: "endpoint_config_name", ENDPOINT: "endpoint_name"}
MODELS = ("aws_sagemaker_model", "awscc_sagemaker_model")
CONFIGS = ("aws_sagemaker_endpoint_configuration", "awscc_sagemaker_endpoint_config")


def api_name(res: Resource) -> str:
    name = res.get(NAME_ATTR[KINDS[res.type]])
    return name if isinstance(name, str) and name else res.address


def shape(res: Resource, plan: Plan, names: dict[str, str]) -> dict[str, Any]:
    kind = KINDS[res.type]
    out: dict[str, Any] = _api(res, res.value(), ())
    out[f"{kind}Name"] = names[res.address]
    if kind == CONFIG:
        for key in ("ProductionVariants", "ShadowProductionVariants"):
            attr = "shadow_production_variants" if key.startswith("Shadow") else "production_variants"
            for i, variant in enumerate(out.get(key) or []):
                if isinstance(variant, dict) and res.has(attr, i, "model_name"):
                    variant["ModelName"] = plan.link(res, (attr, i, "model_name"), MODELS, names)
    elif kind == ENDPOINT:
        out["EndpointConfigName"] = plan.link(res, ("endpoint_config_name",), CONFIGS, names)
    return out


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _api(res: Resource, value: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue  # an optional attribute the configuration leaves out
            if key == "environment":
                out["Environment"] = _environment(res, item, (*path, key))
            else:
                out[_pascal(key)] = _api(res, item, (*path, key))
        return out
    if isinstance(value, list):
        return [_api(res, item, (*path, i)) for i, item in enumerate(value)]
    return value


def _environment(res: Resource, value: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(value, Unknown | dict):
        return value
    if not isinstance(value, str):
        raise InputError(res.position(path), f"{res.address}: environment must be a JSON-encoded object")
    try:
        env = jsonsafe.loads(value)
    except ValueError as exc:
        raise InputError(res.position(path), f"{res.address}: environment is not JSON: {exc}") from exc
    if not isinstance(env, dict):
        raise InputError(res.position(path), f"{res.address}: environment must be a JSON object")
    return env


def locator(res: Resource) -> Locator:
    def locate(path: KeyPath) -> Location:
        plan_path: list[str | int] = []
        for key in path:
            if isinstance(key, int):
                plan_path.append(key)
                continue
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key).lstrip("_")
            plan_path.append(snake)
            if key == "Environment":
                break  # one JSON string: point at it
        while plan_path and isinstance(plan_path[-1], int):
            plan_path.pop()
        pos = res.position(tuple(plan_path))
        return Location(pos.path, pos.line, pos.column)

    return locate
