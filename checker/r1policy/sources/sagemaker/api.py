"""SageMaker API shapes (CreateModel / CreateEndpointConfig / CreateEndpoint requests, or the Describe*
responses, which are supersets) → `Deployment`s, so that every rule applies unchanged.

`deployments_from_api(models, endpoint_configs, endpoints, *, account=None, region=None, locate=None)`

* **One deployment per endpoint → config → production variant → model container.** An endpoint is
  named after the endpoint (`EndpointName`); when its config has several variants, or the model has
  several containers, the name gets `/<VariantName>` and `/<ContainerHostname or index>` suffixes.
  Model facts (source, image, env, network isolation, VPC) come from the model; instance type and
  count from the variant; KMS key, data capture and async output from the config. For
  inference-component configs (no `ModelName` on the variant), `EnableNetworkIsolation` and
  `VpcConfig` of the config apply, and the models come from `inference_components`
  (CreateInferenceComponent shapes: `Specification.ModelName` or `Specification.Container`), one
  deployment per component; a variant without components yields none (nothing runs on it yet; its
  settings are judged with each component placed on it).
* **A config that no endpoint uses** is judged as what it would deploy: one deployment per variant,
  named after the config, whose `Endpoint.resource` is `"endpoint-config"` (its subject is the
  config's ARN, `arn:aws:sagemaker:<region>:<account>:endpoint-config/<name>`).
* **A model that no config uses** becomes a deployment named after the model with `endpoint=None`:
  the model-source, publisher, revision, remote-code, bucket and image rules apply; the endpoint
  rules are `skipped` ("no SageMaker endpoint") and are decided when a config uses the model.
* Deployment names are unique within one call; a clash between an endpoint, an unused config and
  an unused model of the same name is resolved with a `[endpoint-config]` / `[model]` suffix.
* Dangling references (an endpoint naming a missing config, a variant naming a missing model) and
  malformed shapes become `ApiProblem`s; the resource that has one yields no deployment — callers
  must treat problems as failures (the file loader turns them into input errors, exit 2).
* Endpoint ARNs need `account` and `region`; when they are not given, they are read from
  `EndpointArn` / `EndpointConfigArn` / `ModelArn` of Describe shapes when present.

`serving_properties(kind, name, url)`, when given, returns the LMI `serving.properties` of a model
archive (`ModelDataUrl`, `ArtifactUrl`, or a Gzip `S3DataSource`); its settings win over `Environment`.

`locate(kind, name, path)` maps a resource kind (`"Model"`, `"EndpointConfig"`, `"Endpoint"`,
`"InferenceComponent"`), its name and a key path inside its dict to a `Location`, for file sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from r1policy.sources.sagemaker.model import (
    COMPONENT,
    CONFIG,
    ENDPOINT,
    MODEL,
    KeyPath,
    Locate,
    PropertiesReader,
    ShapeError,
)
from r1policy.sources.sagemaker.variants import ApiProblem, ApiResult, ConfigReader, Placement

# Names that the CloudFormation and Terraform sources import from here.
__all__ = [
    "COMPONENT",
    "CONFIG",
    "ENDPOINT",
    "MODEL",
    "ApiProblem",
    "ApiResult",
    "KeyPath",
    "Locate",
    "PropertiesReader",
    "deployments_from_api",
]


def deployments_from_api(
    models: Sequence[Mapping[str, Any]],
    endpoint_configs: Sequence[Mapping[str, Any]],
    endpoints: Sequence[Mapping[str, Any]],
    *,
    account: str | None = None,
    region: str | None = None,
    locate: Locate | None = None,
    inference_components: Sequence[Mapping[str, Any]] = (),
    serving_properties: PropertiesReader | None = None,
) -> ApiResult:
    converter = _Converter(account, region, locate, serving_properties)
    return converter.run(models, endpoint_configs, endpoints, inference_components)


def _arn_parts(arn: Any) -> tuple[str | None, str | None]:
    """(region, account) from an ARN, or (None, None)."""
    if isinstance(arn, str) and arn.startswith("arn:"):
        parts = arn.split(":", 5)
        if len(parts) == 6:
            return parts[3] or None, parts[4] or None
    return None, None


class _Converter(ConfigReader):
    """Links the resources: endpoint -> config -> model, components -> endpoint; then what is unused."""

    def __init__(
        self,
        account: str | None,
        region: str | None,
        locate: Locate | None,
        properties: PropertiesReader | None,
    ) -> None:
        super().__init__(locate, properties)
        self.account = account
        self.region = region

    def _where(self, kind: str, item: Mapping[str, Any]) -> tuple[str | None, str | None]:
        region, account = _arn_parts(item.get(f"{kind}Arn"))
        return self.region or region, self.account or account

    def run(
        self,
        models: Sequence[Mapping[str, Any]],
        configs: Sequence[Mapping[str, Any]],
        endpoints: Sequence[Mapping[str, Any]],
        components: Sequence[Mapping[str, Any]],
    ) -> ApiResult:
        self._parse_models(models)
        config_by_name: dict[str, Mapping[str, Any]] = {}
        for raw in configs:
            name = self._name(CONFIG, raw)
            if name is not None:
                config_by_name[name] = raw
        endpoint_names = {e.get("EndpointName") for e in endpoints if isinstance(e, Mapping)}
        comps_by_endpoint = self._components_by_endpoint(components, endpoint_names)
        used_configs = self._endpoints(endpoints, config_by_name, comps_by_endpoint)
        self._unplaced(comps_by_endpoint, endpoint_names)
        for config_name, config in config_by_name.items():
            if config_name in used_configs:
                continue
            region, account = self._where(CONFIG, config)
            self.config(config_name, config, Placement(config_name, "endpoint-config", region, account, None))
        for model_name, model in self.models.items():
            if model_name not in self.used_models:
                placement = Placement(model_name, "model", None, None, model.origin)
                self.emit(model, None, model.locations, model_name, placement)
        return self.result

    def _parse_models(self, models: Sequence[Mapping[str, Any]]) -> None:
        for raw in models:
            name = self._name(MODEL, raw)
            if name is None:
                continue
            try:
                self.models[name] = self.reader.model(name, raw)
            except ShapeError as exc:
                self.problem(MODEL, name, exc.path, exc.message)
                self.broken.add(name)

    def _components_by_endpoint(
        self, components: Sequence[Mapping[str, Any]], endpoint_names: set[Any]
    ) -> dict[str, list[Mapping[str, Any]]]:
        """Inference components by the endpoint they name; one naming a missing endpoint is a problem."""
        comps_by_endpoint: dict[str, list[Mapping[str, Any]]] = {}
        for raw in components:
            name = self._name(COMPONENT, raw)
            if name is not None and isinstance(raw.get("EndpointName"), str):
                comps_by_endpoint.setdefault(raw["EndpointName"], []).append(raw)
            elif name is not None:
                self.problem(COMPONENT, name, (), "EndpointName is missing")
        for ep_name, comps in comps_by_endpoint.items():
            if ep_name not in endpoint_names:
                for comp in comps:
                    self.problem(
                        COMPONENT,
                        str(comp["InferenceComponentName"]),
                        ("EndpointName",),
                        f"inference component references endpoint {ep_name}, which does not exist",
                    )
        return comps_by_endpoint

    def _endpoints(
        self,
        endpoints: Sequence[Mapping[str, Any]],
        config_by_name: dict[str, Mapping[str, Any]],
        comps_by_endpoint: dict[str, list[Mapping[str, Any]]],
    ) -> set[str]:
        """Each endpoint judged through its config; returns the names of the configs endpoints use."""
        used_configs: set[str] = set()
        for raw in endpoints:
            name = self._name(ENDPOINT, raw)
            if name is None:
                continue
            config_name = raw.get("EndpointConfigName")
            if not isinstance(config_name, str) or not config_name:
                self.problem(ENDPOINT, name, ("EndpointConfigName",), "EndpointConfigName is missing")
                continue
            config = config_by_name.get(config_name)
            if config is None:
                self.problem(
                    ENDPOINT,
                    name,
                    ("EndpointConfigName",),
                    f"endpoint {name} references endpoint config {config_name}, which does not exist",
                )
                continue
            used_configs.add(config_name)
            region, account = self._where(ENDPOINT, raw)
            origin = self.loc(ENDPOINT, name, ())
            placement = Placement(name, "endpoint", region, account, origin, comps_by_endpoint.get(name, ()))
            self.config(config_name, config, placement)
        return used_configs

    def _unplaced(
        self, comps_by_endpoint: dict[str, list[Mapping[str, Any]]], endpoint_names: set[Any]
    ) -> None:
        """A component on an existing endpoint that no inference-component variant runs is a problem."""
        for ep_name, comps in comps_by_endpoint.items():
            for comp in comps:
                comp_name = str(comp["InferenceComponentName"])
                if ep_name in endpoint_names and comp_name not in self.placed:
                    self.problem(
                        COMPONENT,
                        comp_name,
                        ("VariantName",),
                        f"inference component {comp_name} has no inference-component variant "
                        f"{comp.get('VariantName') or ''} on endpoint {ep_name} to run on",
                    )

    def _name(self, kind: str, raw: Any) -> str | None:
        if not isinstance(raw, Mapping):
            self.result.problems.append(ApiProblem(kind, f"a {kind} must be an object"))
            return None
        name = raw.get(f"{kind}Name")
        if not isinstance(name, str) or not name:
            self.result.problems.append(
                ApiProblem(f"{kind} (unnamed)", f"{kind}Name is missing", self.loc(kind, "", ()))
            )
            return None
        return name
