"""Shapes of SageMaker models (CreateModel / DescribeModel and inference-component containers): the
model facts a deployment needs, with the location of each field, and typed-field checks. Used by
`sources.sagemaker.api`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from r1policy.core.findings import Location
from r1policy.core.model import (
    FIELD_IMAGE,
    FIELD_MODEL,
    FIELD_NETWORK_ISOLATION,
    FIELD_S3_URI,
    FIELD_VPC,
    Encryption,
    ModelSource,
    SourceKind,
)
from r1policy.sources.containerenv import apply_env
from r1policy.sources.servingprops import ServingProperties

KeyPath = tuple[str | int, ...]
Locate = Callable[[str, str, KeyPath], Location | None]
# (resource kind, resource name, model archive URL) -> the archive's serving.properties, if any.
PropertiesReader = Callable[[str, str, str], ServingProperties | None]
MODEL, CONFIG, ENDPOINT, COMPONENT = "Model", "EndpointConfig", "Endpoint", "InferenceComponent"


class ShapeError(Exception):
    """A malformed field; becomes an ApiProblem for the resource."""

    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class ContainerFacts:
    suffix: str | None
    model: ModelSource
    image: str | None
    env: tuple[tuple[str, str], ...]
    locations: dict[str, Location]
    unknown: dict[str, str] = field(default_factory=dict)  # field -> why the container's value is unknown


@dataclass(frozen=True)
class ModelFacts:
    name: str
    containers: tuple[ContainerFacts, ...]
    network_isolation: bool
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    locations: dict[str, Location]
    origin: Location | None


def get_typed(value: Mapping[str, Any], path: KeyPath, key: str, kind: type | tuple[type, ...]) -> Any:
    item = value.get(key)
    if item is not None and not isinstance(item, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ShapeError((*path, key), f"{key} must be {_article(names)}, not {type(item).__name__}")
    return item


def _article(name: str) -> str:
    return {"str": "a string", "dict": "an object", "list": "a list", "bool": "a boolean"}.get(
        name, f"a {name}"
    )


class ModelReader:
    """Reads models and containers; `locate` and `properties` as for `deployments_from_api`."""

    def __init__(self, locate: Locate | None, properties: PropertiesReader | None) -> None:
        self.locate = locate
        self.properties = properties

    def loc(self, kind: str, name: str, path: KeyPath) -> Location | None:
        return self.locate(kind, name, path) if self.locate is not None else None

    def model(self, name: str, raw: Mapping[str, Any]) -> ModelFacts:
        def loc(*path: str | int) -> Location | None:
            return self.loc(MODEL, name, path)

        containers: list[ContainerFacts] = []
        primary = get_typed(raw, (), "PrimaryContainer", dict)
        listed = get_typed(raw, (), "Containers", list)
        if primary is not None:
            containers.append(self.container(MODEL, name, primary, ("PrimaryContainer",), None))
        elif listed:
            for i, item in enumerate(listed):
                if not isinstance(item, dict):
                    raise ShapeError(("Containers", i), "each of Containers must be an object")
                host = item.get("ContainerHostname")
                suffix = (host if isinstance(host, str) and host else str(i)) if len(listed) > 1 else None
                containers.append(self.container(MODEL, name, item, ("Containers", i), suffix))
        else:
            raise ShapeError((), f"model {name} has neither PrimaryContainer nor Containers")
        isolation = get_typed(raw, (), "EnableNetworkIsolation", bool)
        subnets, groups = vpc_of(raw, ())
        locations: dict[str, Location] = {}
        has_isolation = "EnableNetworkIsolation" in raw
        put_location(
            locations, FIELD_NETWORK_ISOLATION, loc("EnableNetworkIsolation") if has_isolation else loc()
        )
        put_location(locations, FIELD_VPC, loc("VpcConfig") if "VpcConfig" in raw else loc())
        return ModelFacts(name, tuple(containers), bool(isolation), subnets, groups, locations, loc())

    def container(
        self, kind: str, owner: str, raw: Mapping[str, Any], base: KeyPath, suffix: str | None
    ) -> ContainerFacts:
        def loc(*path: str | int) -> Location | None:
            return self.loc(kind, owner, (*base, *path))

        image = get_typed(raw, base, "Image", str)
        locations: dict[str, Location] = {}
        put_location(locations, FIELD_MODEL, loc())
        put_location(locations, FIELD_IMAGE, loc("Image") if image is not None else loc())
        model = ModelSource(kind=SourceKind.NONE)
        source = get_typed(raw, base, "ModelDataSource", dict)
        s3 = get_typed(source, (*base, "ModelDataSource"), "S3DataSource", dict) if source else None
        url_key = "ArtifactUrl" if kind == COMPONENT else "ModelDataUrl"
        url = get_typed(raw, base, url_key, str)
        if s3 is not None:
            uri = get_typed(s3, (*base, "ModelDataSource", "S3DataSource"), "S3Uri", str)
            if uri:
                model = ModelSource(kind=SourceKind.S3, s3_uri=uri)
                put_location(locations, FIELD_S3_URI, loc("ModelDataSource", "S3DataSource", "S3Uri"))
        elif url:
            model = ModelSource(
                kind=SourceKind.S3 if url.startswith("s3://") else SourceKind.NONE, s3_uri=url
            )
            put_location(locations, FIELD_S3_URI, loc(url_key))
        env_raw = get_typed(raw, base, "Environment", dict) or {}
        env: dict[str, str] = {}
        for key, value in env_raw.items():
            if not isinstance(value, str):
                raise ShapeError((*base, "Environment", key), f"Environment value {key} must be a string")
            env[str(key)] = value
        env_locations = {k: w for k in env if (w := loc("Environment", k)) is not None}
        archive = url or (s3.get("S3Uri") if s3 is not None and s3.get("CompressionType") == "Gzip" else None)
        props: ServingProperties | None = None
        if archive and self.properties is not None:
            props = self.properties(kind, owner, str(archive))
        override = apply_env(
            model,
            env,
            env_locations,
            image=image,
            props=props.values if props is not None else None,
            props_locations={k: props.location(k) for k in props.values} if props is not None else None,
        )
        locations.update(override.locations)
        return ContainerFacts(
            suffix, override.model, image, tuple(sorted(env.items())), locations, override.unknown
        )


def capture_of(config: Mapping[str, Any]) -> Encryption | None:
    capture = get_typed(config, (), "DataCaptureConfig", dict)
    if not capture:  # absent, or an empty object (which configures nothing)
        return None
    enabled = get_typed(capture, ("DataCaptureConfig",), "EnableCapture", bool)
    if enabled is False:
        return None
    return Encryption(kms_key=get_typed(capture, ("DataCaptureConfig",), "KmsKeyId", str) or None)


def async_of(config: Mapping[str, Any]) -> Encryption | None:
    cfg = get_typed(config, (), "AsyncInferenceConfig", dict)
    if cfg is None:
        return None
    out = get_typed(cfg, ("AsyncInferenceConfig",), "OutputConfig", dict) or {}
    return Encryption(
        kms_key=get_typed(out, ("AsyncInferenceConfig", "OutputConfig"), "KmsKeyId", str) or None
    )


def vpc_of(raw: Mapping[str, Any], base: KeyPath) -> tuple[tuple[str, ...], tuple[str, ...]]:
    vpc = get_typed(raw, base, "VpcConfig", dict)
    if not vpc:
        return (), ()
    subnets = get_typed(vpc, (*base, "VpcConfig"), "Subnets", list) or []
    groups = get_typed(vpc, (*base, "VpcConfig"), "SecurityGroupIds", list) or []
    if not all(isinstance(x, str) for x in (*subnets, *groups)):
        raise ShapeError(
            (*base, "VpcConfig"), "VpcConfig Subnets and SecurityGroupIds must be lists of strings"
        )
    return tuple(subnets), tuple(groups)


def put_location(locations: dict[str, Location], name: str, where: Location | None) -> None:
    if where is not None:
        locations[name] = where
