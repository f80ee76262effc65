"""The model a serving container really loads, from its environment (and an LMI `serving.properties`),
read with the container family's own variables and precedence (`sources.servers`). Used by every
reader: native manifests, SageMaker API JSON / CloudFormation / Terraform (through `sagemaker_model`),
Kubernetes, and the deploy guard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from r1policy.core.findings import Location
from r1policy.core.lazyre import compile_on_use
from r1policy.core.model import (
    FIELD_MODEL,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_S3_URI,
    FIELD_TRUST_REMOTE_CODE,
    ModelSource,
    SourceKind,
)
from r1policy.sources import servers
from r1policy.sources.servers import PROPS, Choice, Family, Var

# Every variable some server reads (CloudFormation maps an unresolved variable to the fields it decides).
MODEL_ID_VARS = servers.MODEL_VARS
REVISION_VARS = servers.REVISION_VARS
TRUST_VARS = servers.TRUST_VARS
SAGEMAKER_MODEL_DIR = "/opt/ml/model"
_HUB_ID = compile_on_use(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
MODEL_FIELDS = (FIELD_MODEL, FIELD_REPO, FIELD_S3_URI, FIELD_REVISION)


@dataclass(frozen=True)
class EnvOverride:
    """A model source as the container's environment changes it, where each value is set, what is unknown."""

    model: ModelSource
    locations: dict[str, Location]
    # field -> why the container's value cannot be told (the rules that read it are `error`)
    unknown: dict[str, str] = field(default_factory=dict)
    family: Family = Family.UNKNOWN


def apply_env(
    model: ModelSource,
    env: Mapping[str, str],
    env_locations: Mapping[str, Location],
    *,
    image: str | None = None,
    family: Family | None = None,
    props: Mapping[str, str] | None = None,
    props_locations: Mapping[str, Location] | None = None,
    sagemaker_entrypoint: bool = True,
    model_given: bool = False,
    declared: bool = False,
) -> EnvOverride:
    """The model source the container will really use, where each setting was written, and what
    cannot be told. `model_given`: the command line names the model (only revision and remote code
    may still come from the environment). `declared`: the manifest itself declares the model (a native
    manifest), so a family that takes it from elsewhere keeps that declaration."""
    fam = family if family is not None else servers.family_of(image)
    view = servers.read_env(fam, env, props, sagemaker_entrypoint=sagemaker_entrypoint)

    def where(choice: Choice) -> Location | None:
        var = choice.var
        if var is None:
            return None
        return (props_locations or {}).get(var.name) if var.source == PROPS else env_locations.get(var.name)

    locations: dict[str, Location] = {}
    unknown: dict[str, str] = {}
    if fam is Family.VLLM and sagemaker_entrypoint and not model_given:
        return _sm_vllm(model, env, env_locations, declared=declared)
    if fam in (Family.SGLANG, Family.KSERVE_HF) and sagemaker_entrypoint and not model_given and not declared:
        why = (
            f"a {fam.value} image takes its model from its command line, which a SageMaker model does not "
            "state: r1policy cannot tell what it loads"
        )
        return EnvOverride(model, {}, dict.fromkeys((*MODEL_FIELDS, FIELD_TRUST_REMOTE_CODE), why), fam)
    if not model_given:
        if view.model.conflict:
            unknown.update(dict.fromkeys(MODEL_FIELDS, "the model: " + view.model.conflict))
            _put(locations, where(view.model), *MODEL_FIELDS)
        elif view.model.value is not None:
            model, bad = _named(model, view.model.value)
            if not view.model.value.startswith("/"):
                _put(locations, where(view.model), FIELD_MODEL, FIELD_REPO, FIELD_S3_URI)
            if bad:
                unknown.update(dict.fromkeys(MODEL_FIELDS, f"{_label(view.model.var)}: {bad}"))
    if view.revision.conflict:
        unknown[FIELD_REVISION] = "the revision: " + view.revision.conflict
        _put(locations, where(view.revision), FIELD_REVISION)
    elif view.revision.value is not None and model.kind is SourceKind.HUB:
        model = replace(model, revision=view.revision.value)
        _put(locations, where(view.revision), FIELD_REVISION)
    if view.trust.conflict:
        unknown[FIELD_TRUST_REMOTE_CODE] = "trust_remote_code: " + view.trust.conflict
        _put(locations, where(view.trust), FIELD_TRUST_REMOTE_CODE)
    elif view.trust.value is not None:
        model = replace(model, trust_remote_code=servers.truthy(view.trust.value))
        _put(locations, where(view.trust), FIELD_TRUST_REMOTE_CODE)
    return EnvOverride(model, locations, unknown, fam)


def _named(model: ModelSource, value: str) -> tuple[ModelSource, str | None]:
    """The source a model-id value names, or the reason it cannot be judged."""
    if value.startswith("s3://"):
        return replace(model, kind=SourceKind.S3, s3_uri=value, repo=None, revision=None), None
    if value.rstrip("/") == SAGEMAKER_MODEL_DIR or value.startswith("/"):
        return model, None  # weights come from the model data source mounted into the container
    if _HUB_ID.match(value):
        if model.kind is not SourceKind.HUB or model.repo != value:
            model = replace(model, kind=SourceKind.HUB, repo=value, s3_uri=None, revision=None)
        return model, None
    return model, f"{value!r} is neither a Hub repository id, an s3:// URI nor an absolute path"


def _label(var: Var | None) -> str:
    return "the model" if var is None else var.name


def _sm_vllm(
    model: ModelSource, env: Mapping[str, str], env_locations: Mapping[str, Location], *, declared: bool
) -> EnvOverride:
    """vLLM's SageMaker entrypoint: SM_VLLM_* variables become `vllm serve` arguments."""
    from r1policy.sources.servercli import Engine, Token, parse

    tokens: list[Token] = []
    for key, value in env.items():
        if key.startswith(servers.SM_VLLM_PREFIX):
            flag = "--" + key[len(servers.SM_VLLM_PREFIX) :].lower().replace("_", "-")
            tokens.append(Token(flag, env_locations.get(key)))
            if value:
                tokens.append(Token(value, env_locations.get(key)))
    args = parse(tokens, Engine.VLLM, 0)
    locations: dict[str, Location] = {}
    unknown: dict[str, str] = {}
    if args.config is not None:
        why = (
            f"--config {args.config.value} (SM_VLLM_CONFIG) is a file inside the container that r1policy "
            "cannot read; its settings may name the model, its revision and trust-remote-code"
        )
        unknown.update(dict.fromkeys((*MODEL_FIELDS, FIELD_TRUST_REMOTE_CODE), why))
    if args.model is None and not declared:
        why = "the vLLM SageMaker entrypoint is given no SM_VLLM_MODEL: r1policy cannot tell what it loads"
        unknown.update(dict.fromkeys(MODEL_FIELDS, why))
    elif args.model is not None:
        model, bad = _named(model, args.model.value)
        if not args.model.value.startswith("/"):
            _put(locations, args.model.location, FIELD_MODEL, FIELD_REPO, FIELD_S3_URI)
        if bad:
            unknown.update(dict.fromkeys(MODEL_FIELDS, f"SM_VLLM_MODEL: {bad}"))
    revision = args.revisions.get("--revision")
    if revision is not None and model.kind is SourceKind.HUB:
        model = replace(model, revision=revision.value)
        _put(locations, revision.location, FIELD_REVISION)
    for flag, setting in args.revisions.items():
        if flag != "--revision" and model.kind is SourceKind.HUB and setting.value != model.revision:
            unknown[FIELD_REVISION] = f"{flag} {setting.value} pins part of the model to another revision"
    if args.trust_remote_code is not None:
        model = replace(model, trust_remote_code=servers.truthy(args.trust_remote_code.value))
        _put(locations, args.trust_remote_code.location, FIELD_TRUST_REMOTE_CODE)
    return EnvOverride(model, locations, unknown, Family.VLLM)


def _put(locations: dict[str, Location], where: Location | None, *fields: str) -> None:
    if where is not None:
        for name in fields:
            locations[name] = where
