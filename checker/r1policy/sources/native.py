"""The native `r1policy/v1` `ModelDeployment` manifest (SPEC §5)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from r1policy.core.errors import InputError
from r1policy.core.findings import Location
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
    FIELD_ROLE,
    FIELD_S3_URI,
    FIELD_TRUST_REMOTE_CODE,
    FIELD_VPC,
    Deployment,
    Encryption,
    Endpoint,
    ModelSource,
    SourceKind,
)
from r1policy.core.textchars import refuse_control_characters
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import Document, JsonPath
from r1policy.sources.containerenv import apply_env

API_VERSION = "r1policy/v1"
KIND = "ModelDeployment"
SCHEMA = "manifest-v1.schema.json"


def is_native(value: Any) -> bool:
    return isinstance(value, dict) and str(value.get("apiVersion", "")).startswith("r1policy/")


def load_native(doc: Document) -> Deployment:
    _check_kind(doc)
    validate_document(doc, SCHEMA)
    refuse_control_characters(doc, multiline=(("spec", "container", "env"),))
    loc = _locator(doc)
    meta = doc.value["metadata"]
    spec = doc.value["spec"]
    model_spec = spec["model"]
    model, locations = _model(doc, model_spec, loc)
    container = spec["container"]
    locations[FIELD_IMAGE] = loc(("spec", "container", "image"))
    env = {str(k): _env_str(v) for k, v in container.get("env", {}).items()}
    override = apply_env(model, env, _EnvLocations(loc, env), image=container["image"], declared=True)
    locations.update(override.locations)
    endpoint, endpoint_locations = _endpoint(spec["endpoint"], loc)
    locations.update(endpoint_locations)
    return Deployment(
        name=meta["name"],
        model=override.model,
        image=container["image"],
        endpoint=endpoint,
        env=tuple(sorted(env.items())),
        owner=meta.get("owner"),
        stage=meta.get("stage"),
        origin=loc(()),
        locations=locations,
        unknown=dict(override.unknown),
        execution_role=model_spec.get("execution_role"),
    )


class _EnvLocations(Mapping[str, Location]):
    """Where each variable of `spec.container.env` is written, made when a reader asks for it (the
    container's readers ask for the few variables that decide the model)."""

    def __init__(self, loc: Callable[[JsonPath], Location], env: dict[str, str]) -> None:
        self._loc, self._env = loc, env

    def __getitem__(self, name: str) -> Location:
        if name not in self._env:
            raise KeyError(name)
        return self._loc(("spec", "container", "env", name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def _check_kind(doc: Document) -> None:
    value = doc.value
    api = value.get("apiVersion")
    if api != API_VERSION:
        raise InputError(
            doc.position(("apiVersion",)), f"unknown apiVersion {api!r} (supported: {API_VERSION})"
        )
    kind = value.get("kind")
    if kind != KIND:
        raise InputError(
            doc.position(("kind",)) if "kind" in value else doc.position(()),
            f"unknown kind {kind!r} for {API_VERSION} (supported: {KIND})",
        )


def _locator(doc: Document) -> Callable[[JsonPath], Location]:
    """The location of a path (its nearest ancestor's when it has none), one Location per path."""
    positions, shown = doc.positions, doc.path
    made: dict[JsonPath, Location] = {}

    def loc(path: JsonPath) -> Location:
        found = made.get(path)
        if found is None:
            exact = positions.get(path)  # what doc.position finds first
            if exact is not None:
                found = Location(shown, exact[0], exact[1])
            else:
                p = doc.position(path)
                found = Location(p.path, p.line, p.column)
            made[path] = found
        return found

    return loc


def _model(
    doc: Document, model_spec: dict[str, Any], loc: Callable[[JsonPath], Location]
) -> tuple[ModelSource, dict[str, Location]]:
    """`spec.model`: its source (Hub, JumpStart or S3) and what the manifest states about it."""
    locations: dict[str, Location] = {FIELD_MODEL: loc(("spec", "model"))}
    if "hub" in model_spec:
        hub = model_spec["hub"]
        kind, repo, revision, s3_uri = SourceKind.HUB, hub["repo"], hub.get("revision"), None
        locations[FIELD_REPO] = loc(("spec", "model", "hub", "repo"))
        locations[FIELD_REVISION] = (
            loc(("spec", "model", "hub", "revision")) if "revision" in hub else loc(("spec", "model", "hub"))
        )
    elif "jumpstart" in model_spec:
        js = model_spec["jumpstart"]
        kind, repo, revision, s3_uri = SourceKind.JUMPSTART, js["model_id"], js.get("model_version"), None
        locations[FIELD_REPO] = loc(("spec", "model", "jumpstart", "model_id"))
        locations[FIELD_REVISION] = (
            loc(("spec", "model", "jumpstart", "model_version"))
            if "model_version" in js
            else loc(("spec", "model", "jumpstart"))
        )
    else:
        kind, repo, revision, s3_uri = SourceKind.S3, None, None, model_spec["s3"]["uri"]
        locations[FIELD_S3_URI] = loc(("spec", "model", "s3", "uri"))
    model = ModelSource(
        kind=kind,
        repo=repo,
        revision=revision,
        s3_uri=s3_uri,
        parameters=_finite(doc, model_spec["parameters"]) if "parameters" in model_spec else None,
        dtype=model_spec.get("dtype"),
        trust_remote_code=bool(model_spec.get("trust_remote_code", False)),
        **_lineage(doc, model_spec, kind),
    )
    for name, key in ((FIELD_PARAMETERS, "parameters"), (FIELD_DTYPE, "dtype")):
        if key in model_spec:
            locations[name] = loc(("spec", "model", key))
    if "execution_role" in model_spec:
        locations[FIELD_ROLE] = loc(("spec", "model", "execution_role"))
    locations[FIELD_TRUST_REMOTE_CODE] = (
        loc(("spec", "model", "trust_remote_code"))
        if "trust_remote_code" in model_spec
        else loc(("spec", "model"))
    )
    return model, locations


def _endpoint(
    ep: dict[str, Any], loc: Callable[[JsonPath], Location]
) -> tuple[Endpoint, dict[str, Location]]:
    """`spec.endpoint`, with the location of each setting (the endpoint's own when absent)."""
    endpoint = Endpoint(
        name=ep["name"],
        region=ep.get("region"),
        instance_type=ep.get("instance_type"),
        instance_count=int(ep.get("instance_count", 1)),
        network_isolation=bool(ep.get("network_isolation", False)),
        vpc_subnets=tuple(ep.get("vpc", {}).get("subnets", ())),
        vpc_security_groups=tuple(ep.get("vpc", {}).get("security_groups", ())),
        kms_key=ep.get("kms_key"),
        data_capture=_output(ep.get("data_capture")),
        async_output=_output(ep.get("async_output")),
        account=ep.get("account"),
    )
    base: JsonPath = ("spec", "endpoint")
    locations = {FIELD_ENDPOINT: loc(base)}
    for name, key in (
        (FIELD_INSTANCE_TYPE, "instance_type"),
        (FIELD_REGION, "region"),
        (FIELD_NETWORK_ISOLATION, "network_isolation"),
        (FIELD_VPC, "vpc"),
        (FIELD_KMS, "kms_key"),
        (FIELD_DATA_CAPTURE, "data_capture"),
        (FIELD_ASYNC, "async_output"),
    ):
        locations[name] = loc((*base, key)) if key in ep else loc(base)
    return endpoint, locations


def _finite(doc: Document, value: Any) -> float:
    """`spec.model.parameters` as a float: a number too large for one (a 400-digit integer) is bad input."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InputError(
            doc.position(("spec", "model", "parameters")), "spec.model.parameters: number must be finite"
        )
    return number


def _env_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _output(spec: dict[str, Any] | None) -> Encryption | None:
    if spec is None or not spec.get("enabled", False):
        return None
    return Encryption(kms_key=spec.get("kms_key"))


def _lineage(doc: Document, model_spec: dict[str, Any], kind: SourceKind) -> dict[str, Any]:
    """`spec.model.license` / `spec.model.base_models`: S3 models only (a Hub model's licence and base
    models come from its card); the licence must be an id r1policy knows the kind of."""
    from r1policy.core.licenceids import canonical

    out: dict[str, Any] = {}
    for key in ("license", "base_models"):
        if key in model_spec and kind is not SourceKind.S3:
            raise InputError(
                doc.position(("spec", "model", key)),
                f"spec.model.{key} applies to S3 models; a {kind.value} model's licence and base models "
                "come from its model card (and r1policy's lineage table)",
            )
    if "license" in model_spec:
        found = canonical(model_spec["license"])
        if found is None:
            raise InputError(
                doc.position(("spec", "model", "license")),
                f"spec.model.license: {model_spec['license']!r} is neither an SPDX licence id nor a Hugging "
                "Face Hub licence id nor other:<license_name>",
            )
        out["license"] = found
    out["base_models"] = tuple(model_spec.get("base_models", ()))
    return out
