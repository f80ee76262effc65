"""What one SageMaker endpoint config deploys: its production and shadow variants, each with the model
it names or the inference components placed on it, turned into `Deployment`s. Used by
`sources.sagemaker.api`, which links endpoints, configs, components and models first."""

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


@dataclass(frozen=True)
class ApiProblem:
    resource_id: str  # e.g. "EndpointConfig r1-config"
    message: str
    location: Location | None = None


@dataclass
class ApiResult:
    deployments: list[Deployment] = field(default_factory=list)
    problems: list[ApiProblem] = field(default_factory=list)


@dataclass(frozen=True)
class Placement:
    """Who runs a config: an endpoint (`resource="endpoint"`), or nobody yet (`"endpoint-config"`)."""

    base: str  # the deployment name's base: the endpoint's name, or the unused config's
    resource: str
    region: str | None
    account: str | None
    origin: Location | None
    components: Sequence[Mapping[str, Any]] = ()  # the inference components on the endpoint


@dataclass(frozen=True)
class _Shared:
    """The settings of a config that every variant shares."""

    endpoint: Endpoint  # without instance type, count, isolation and VPC
    locations: dict[str, Location]
    ic_isolation: bool | None  # inference-component variants: the config's own isolation and VPC
    ic_subnets: tuple[str, ...]
    ic_groups: tuple[str, ...]


class ConfigReader:
    """Reads endpoint configs into `result`; `models` are the parsed models, by name."""

    def __init__(self, locate: Locate | None, properties: PropertiesReader | None) -> None:
        self.locate = locate
        self.reader = ModelReader(locate, properties)
        self.result = ApiResult()
        self.models: dict[str, ModelFacts] = {}
        self.broken: set[str] = set()  # models that have a problem of their own
        self.used_models: set[str] = set()
        self.placed: set[str] = set()  # inference components judged on an inference-component variant
        self.taken: set[str] = set()  # deployment names given so far

    def loc(self, kind: str, name: str, path: KeyPath) -> Location | None:
        return self.locate(kind, name, path) if self.locate is not None else None

    def problem(self, kind: str, name: str, path: KeyPath, message: str) -> None:
        self.result.problems.append(ApiProblem(f"{kind} {name}", message, self.loc(kind, name, path)))

    def config(self, config_name: str, config: Mapping[str, Any], placement: Placement) -> None:
        try:
            variants = get_typed(config, (), "ProductionVariants", list)
            if not variants:
                raise ShapeError(
                    ("ProductionVariants",), f"endpoint config {config_name} has no ProductionVariants"
                )
            shadows = get_typed(config, (), "ShadowProductionVariants", list) or []
            shared = self._shared(config_name, config, placement)
        except ShapeError as exc:
            self.problem(CONFIG, config_name, exc.path, exc.message)
            return
        # Shadow variants run a model on a copy of the production traffic: judged like every variant.
        listed = [("ProductionVariants", i, v) for i, v in enumerate(variants)]
        listed += [("ShadowProductionVariants", i, v) for i, v in enumerate(shadows)]
        for key, i, variant in listed:
            if not isinstance(variant, dict):
                self.problem(CONFIG, config_name, (key, i), "a variant must be an object")
                continue
            vname = variant.get("VariantName")
            vname = vname if isinstance(vname, str) and vname else str(i)
            dep_base = placement.base if len(listed) == 1 else f"{placement.base}/{vname}"
            self._variant(config_name, (key, i), variant, vname, dep_base, shared, placement)

    def _shared(self, config_name: str, config: Mapping[str, Any], placement: Placement) -> _Shared:
        def loc(*path: str | int) -> Location | None:
            return self.loc(CONFIG, config_name, path)

        kms = get_typed(config, (), "KmsKeyId", str)
        capture = capture_of(config)
        async_out = async_of(config)
        ic_isolation = get_typed(config, (), "EnableNetworkIsolation", bool)
        ic_subnets, ic_groups = vpc_of(config, ())
        locations: dict[str, Location] = {}
        put_location(locations, FIELD_KMS, loc("KmsKeyId") if kms else loc())
        put_location(locations, FIELD_DATA_CAPTURE, loc("DataCaptureConfig") if capture else loc())
        put_location(
            locations, FIELD_ASYNC, loc("AsyncInferenceConfig", "OutputConfig") if async_out else loc()
        )
        put_location(locations, FIELD_ENDPOINT, placement.origin or loc())
        endpoint = Endpoint(
            name=placement.base,
            region=placement.region,
            instance_type=None,
            kms_key=kms,
            data_capture=capture,
            async_output=async_out,
            account=placement.account,
            resource=placement.resource,
        )
        return _Shared(endpoint, locations, ic_isolation, ic_subnets, ic_groups)

    def _variant(
        self,
        config_name: str,
        path: KeyPath,
        variant: dict[str, Any],
        vname: str,
        dep_base: str,
        shared: _Shared,
        placement: Placement,
    ) -> None:
        instance = variant.get("InstanceType")
        count = variant.get("InitialInstanceCount", 1)
        if (instance is not None and not isinstance(instance, str)) or not isinstance(count, int):
            self.problem(
                CONFIG, config_name, path, "InstanceType must be a string and InitialInstanceCount an integer"
            )
            return
        locations = dict(shared.locations)
        where = self.loc(CONFIG, config_name, (*path, "InstanceType" if instance else "ServerlessConfig"))
        put_location(locations, FIELD_INSTANCE_TYPE, where)
        endpoint = replace(shared.endpoint, instance_type=instance, instance_count=count)
        model_name = variant.get("ModelName")
        if isinstance(model_name, str) and model_name:
            model = self.models.get(model_name)
            if model is None:
                self.problem(
                    CONFIG,
                    config_name,
                    (*path, "ModelName"),
                    f"endpoint config {config_name} references model {model_name}, which "
                    + ("is invalid" if model_name in self.broken else "does not exist"),
                )
                return
            self.used_models.add(model_name)
            endpoint = replace(
                endpoint,
                network_isolation=model.network_isolation,
                vpc_subnets=model.subnets,
                vpc_security_groups=model.security_groups,
            )
            self.emit(model, endpoint, {**model.locations, **locations}, dep_base, placement)
            return
        self._components(config_name, vname, dep_base, endpoint, locations, shared, placement)

    def _components(
        self,
        config_name: str,
        vname: str,
        dep_base: str,
        endpoint: Endpoint,
        locations: dict[str, Location],
        shared: _Shared,
        placement: Placement,
    ) -> None:
        """An inference-component variant: isolation and VPC are the config's; models come from the
        components placed on it."""

        def loc(*path: str | int) -> Location | None:
            return self.loc(CONFIG, config_name, path)

        put_location(
            locations,
            FIELD_NETWORK_ISOLATION,
            loc("EnableNetworkIsolation") if shared.ic_isolation else loc(),
        )
        put_location(locations, FIELD_VPC, loc("VpcConfig") if shared.ic_subnets else loc())
        endpoint = replace(
            endpoint,
            network_isolation=bool(shared.ic_isolation),
            vpc_subnets=shared.ic_subnets,
            vpc_security_groups=shared.ic_groups,
        )
        for comp in placement.components:
            if comp.get("VariantName") not in (None, vname):
                continue
            self.placed.add(str(comp["InferenceComponentName"]))
            found = self._component(comp)
            if found is not None:
                comp_name = f"{dep_base}/{comp['InferenceComponentName']}"
                self.emit(found, endpoint, locations, comp_name, placement)

    def _component(self, comp: Mapping[str, Any]) -> ModelFacts | None:
        name = str(comp["InferenceComponentName"])
        spec = comp.get("Specification")
        if not isinstance(spec, dict):
            self.problem(COMPONENT, name, ("Specification",), "Specification must be an object")
            return None
        model_name = spec.get("ModelName")
        if isinstance(model_name, str) and model_name:
            model = self.models.get(model_name)
            if model is None:
                self.problem(
                    COMPONENT,
                    name,
                    ("Specification", "ModelName"),
                    f"inference component {name} references model {model_name}, which does not exist",
                )
                return None
            self.used_models.add(model_name)
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

    def emit(
        self,
        model: ModelFacts,
        endpoint: Endpoint | None,
        locations: dict[str, Location],
        dep_base: str,
        placement: Placement,
    ) -> None:
        """One deployment per container of the model, named uniquely within the call."""
        for container in model.containers:
            name = _join(dep_base, container.suffix)
            if name in self.taken:
                name = f"{name}[{placement.resource}]"
            self.taken.add(name)
            self.result.deployments.append(
                Deployment(
                    name=name,
                    model=container.model,
                    image=container.image,
                    endpoint=endpoint,
                    env=container.env,
                    origin=placement.origin or locations.get(FIELD_ENDPOINT) or model.origin,
                    locations={**locations, **container.locations},
                    unknown=dict(container.unknown),
                    execution_role=model.execution_role,
                )
            )


def _join(base: str, suffix: str | None) -> str:
    return f"{base}/{suffix}" if suffix else base
