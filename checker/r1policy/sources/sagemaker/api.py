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
from dataclasses import dataclass, field, replace
from typing import Any

from r1policy.core.findings import Location
from r1policy.core.model import (
    FIELD_ASYNC,
    FIELD_DATA_CAPTURE,
    FIELD_ENDPOINT,
    FIELD_INSTANCE_TYPE,
    FIELD_KMS,
    FIELD_NETWORK_ISOLATION,
    FIELD_VPC,
    Deployment,
    Endpoint,
)
from r1policy.sources.sagemaker.model import (
    COMPONENT,
    CONFIG,
    ENDPOINT,
    MODEL,
    KeyPath,
    Locate,
    ModelFacts,
    ModelReader,
    PropertiesReader,
    ShapeError,
    async_of,
    capture_of,
    get_typed,
    put_location,
    vpc_of,
)

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


@dataclass(frozen=True)
class ApiProblem:
    resource_id: str  # e.g. "EndpointConfig r1-config"
    message: str
    location: Location | None = None


@dataclass
class ApiResult:
    deployments: list[Deployment] = field(default_factory=list)
    problems: list[ApiProblem] = field(default_factory=list)


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


class _Converter:
    def __init__(
        self,
        account: str | None,
        region: str | None,
        locate: Locate | None,
        properties: PropertiesReader | None,
    ) -> None:
        self.account = account
        self.region = region
        self.locate = locate
        self.reader = ModelReader(locate, properties)
        self.result = ApiResult()
        self.broken: set[str] = set()  # models that have a problem of their own
        self.placed: set[str] = set()  # inference components judged on an inference-component variant

    def loc(self, kind: str, name: str, path: KeyPath) -> Location | None:
        return self.locate(kind, name, path) if self.locate is not None else None

    def _where(self, kind: str, item: Mapping[str, Any]) -> tuple[str | None, str | None]:
        region, account = _arn_parts(item.get(f"{kind}Arn"))
        return self.region or region, self.account or account

    def problem(self, kind: str, name: str, path: KeyPath, message: str) -> None:
        self.result.problems.append(ApiProblem(f"{kind} {name}", message, self.loc(kind, name, path)))

    # -- resources ---------------------------------------------------------------------------
    def run(
        self,
        models: Sequence[Mapping[str, Any]],
        configs: Sequence[Mapping[str, Any]],
        endpoints: Sequence[Mapping[str, Any]],
        components: Sequence[Mapping[str, Any]],
    ) -> ApiResult:
        parsed_models: dict[str, ModelFacts] = {}
        for raw in models:
            name = self._name(MODEL, raw)
            if name is None:
                continue
            try:
                parsed_models[name] = self.reader.model(name, raw)
            except ShapeError as exc:
                self.problem(MODEL, name, exc.path, exc.message)
                self.broken.add(name)
        config_by_name: dict[str, Mapping[str, Any]] = {}
        for raw in configs:
            name = self._name(CONFIG, raw)
            if name is not None:
                config_by_name[name] = raw
        comps_by_endpoint: dict[str, list[Mapping[str, Any]]] = {}
        for raw in components:
            name = self._name(COMPONENT, raw)
            if name is not None and isinstance(raw.get("EndpointName"), str):
                comps_by_endpoint.setdefault(raw["EndpointName"], []).append(raw)
            elif name is not None:
                self.problem(COMPONENT, name, (), "EndpointName is missing")
        endpoint_names = {e.get("EndpointName") for e in endpoints if isinstance(e, Mapping)}
        for ep_name, comps in comps_by_endpoint.items():
            if ep_name not in endpoint_names:
                for comp in comps:
                    self.problem(
                        COMPONENT,
                        str(comp["InferenceComponentName"]),
                        ("EndpointName",),
                        f"inference component references endpoint {ep_name}, which does not exist",
                    )
        used_configs: set[str] = set()
        used_models: set[str] = set()
        taken: set[str] = set()
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
            ep_origin = self.loc(ENDPOINT, name, ())
            self._config(
                config_name,
                config,
                parsed_models,
                used_models,
                taken,
                base=name,
                resource="endpoint",
                region=region,
                account=account,
                origin=ep_origin,
                components=comps_by_endpoint.get(name, ()),
            )
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
        for config_name, config in config_by_name.items():
            if config_name in used_configs:
                continue
            region, account = self._where(CONFIG, config)
            self._config(
                config_name,
                config,
                parsed_models,
                used_models,
                taken,
                base=config_name,
                resource="endpoint-config",
                region=region,
                account=account,
                origin=None,
                components=(),
            )
        for model_name, model in parsed_models.items():
            if model_name not in used_models:
                self._emit(model, None, model.locations, model_name, taken, "model", model.origin)
        return self.result

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

    @staticmethod
    def _unique(name: str, marker: str, taken: set[str]) -> str:
        if name in taken:
            name = f"{name}[{marker}]"
        taken.add(name)
        return name

    # -- endpoint configs --------------------------------------------------------------------
    def _config(
        self,
        config_name: str,
        config: Mapping[str, Any],
        models: dict[str, ModelFacts],
        used_models: set[str],
        taken: set[str],
        *,
        base: str,
        resource: str,
        region: str | None,
        account: str | None,
        origin: Location | None,
        components: Sequence[Mapping[str, Any]],
    ) -> None:
        def loc(*path: str | int) -> Location | None:
            return self.loc(CONFIG, config_name, path)

        try:
            variants = get_typed(config, (), "ProductionVariants", list)
            if not variants:
                raise ShapeError(
                    ("ProductionVariants",), f"endpoint config {config_name} has no ProductionVariants"
                )
            shadows = get_typed(config, (), "ShadowProductionVariants", list) or []
            kms = get_typed(config, (), "KmsKeyId", str)
            capture = capture_of(config)
            async_out = async_of(config)
            ic_isolation = get_typed(config, (), "EnableNetworkIsolation", bool)
            ic_subnets, ic_groups = vpc_of(config, ())
        except ShapeError as exc:
            self.problem(CONFIG, config_name, exc.path, exc.message)
            return
        shared: dict[str, Location] = {}
        put_location(shared, FIELD_KMS, loc("KmsKeyId") if kms else loc())
        put_location(shared, FIELD_DATA_CAPTURE, loc("DataCaptureConfig") if capture else loc())
        put_location(shared, FIELD_ASYNC, loc("AsyncInferenceConfig", "OutputConfig") if async_out else loc())
        put_location(shared, FIELD_ENDPOINT, origin or loc())
        # Shadow variants run a model on a copy of the production traffic: judged like every variant.
        listed = [("ProductionVariants", i, v) for i, v in enumerate(variants)]
        listed += [("ShadowProductionVariants", i, v) for i, v in enumerate(shadows)]
        for key, i, variant in listed:
            if not isinstance(variant, dict):
                self.problem(CONFIG, config_name, (key, i), "a variant must be an object")
                continue
            vname = variant.get("VariantName")
            vname = vname if isinstance(vname, str) and vname else str(i)
            model_name = variant.get("ModelName")
            instance = variant.get("InstanceType")
            count = variant.get("InitialInstanceCount", 1)
            if (instance is not None and not isinstance(instance, str)) or not isinstance(count, int):
                self.problem(
                    CONFIG,
                    config_name,
                    (key, i),
                    "InstanceType must be a string and InitialInstanceCount an integer",
                )
                continue
            locations = dict(shared)
            put_location(
                locations,
                FIELD_INSTANCE_TYPE,
                loc(key, i, "InstanceType" if instance else "ServerlessConfig"),
            )
            dep_base = base if len(listed) == 1 else f"{base}/{vname}"
            endpoint = Endpoint(
                name=base,
                region=region,
                instance_type=instance,
                instance_count=count,
                kms_key=kms,
                data_capture=capture,
                async_output=async_out,
                account=account,
                resource=resource,
            )
            if isinstance(model_name, str) and model_name:
                model = models.get(model_name)
                if model is None:
                    self.problem(
                        CONFIG,
                        config_name,
                        (key, i, "ModelName"),
                        f"endpoint config {config_name} references model {model_name}, which "
                        + ("is invalid" if model_name in self.broken else "does not exist"),
                    )
                    continue
                used_models.add(model_name)
                endpoint = replace(
                    endpoint,
                    network_isolation=model.network_isolation,
                    vpc_subnets=model.subnets,
                    vpc_security_groups=model.security_groups,
                )
                self._emit(
                    model, endpoint, {**model.locations, **locations}, dep_base, taken, resource, origin
                )
                continue
            # Inference-component endpoint: isolation and VPC are the config's; models come from components.
            put_location(
                locations, FIELD_NETWORK_ISOLATION, loc("EnableNetworkIsolation") if ic_isolation else loc()
            )
            put_location(locations, FIELD_VPC, loc("VpcConfig") if ic_subnets else loc())
            endpoint = replace(
                endpoint,
                network_isolation=bool(ic_isolation),
                vpc_subnets=ic_subnets,
                vpc_security_groups=ic_groups,
            )
            for comp in components:
                if comp.get("VariantName") not in (None, vname):
                    continue
                self.placed.add(str(comp["InferenceComponentName"]))
                found = self._component(comp, models, used_models)
                if found is not None:
                    comp_name = f"{dep_base}/{comp['InferenceComponentName']}"
                    self._emit(found, endpoint, locations, comp_name, taken, resource, origin)

    def _component(
        self, comp: Mapping[str, Any], models: dict[str, ModelFacts], used_models: set[str]
    ) -> ModelFacts | None:
        name = str(comp["InferenceComponentName"])
        spec = comp.get("Specification")
        if not isinstance(spec, dict):
            self.problem(COMPONENT, name, ("Specification",), "Specification must be an object")
            return None
        model_name = spec.get("ModelName")
        if isinstance(model_name, str) and model_name:
            model = models.get(model_name)
            if model is None:
                self.problem(
                    COMPONENT,
                    name,
                    ("Specification", "ModelName"),
                    f"inference component {name} references model {model_name}, which does not exist",
                )
                return None
            used_models.add(model_name)
            return model
        container = spec.get("Container")
        if not isinstance(container, dict):
            self.problem(COMPONENT, name, ("Specification",), "Specification needs ModelName or Container")
            return None
        try:
            parsed = self.reader.container(COMPONENT, name, container, ("Specification", "Container"), None)
        except ShapeError as exc:
            self.problem(COMPONENT, name, exc.path, exc.message)
            return None
        return ModelFacts(name, (parsed,), False, (), (), {}, self.loc(COMPONENT, name, ()))

    def _emit(
        self,
        model: ModelFacts,
        endpoint: Endpoint | None,
        locations: dict[str, Location],
        dep_base: str,
        taken: set[str],
        resource: str,
        origin: Location | None,
    ) -> None:
        for container in model.containers:
            name = self._unique(_join(dep_base, container.suffix), resource, taken)
            self.result.deployments.append(
                Deployment(
                    name=name,
                    model=container.model,
                    image=container.image,
                    endpoint=endpoint,
                    env=container.env,
                    origin=origin or locations.get(FIELD_ENDPOINT) or model.origin,
                    locations={**locations, **container.locations},
                    unknown=dict(container.unknown),
                )
            )


def _join(base: str, suffix: str | None) -> str:
    return f"{base}/{suffix}" if suffix else base
