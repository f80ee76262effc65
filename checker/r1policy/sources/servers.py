"""What each serving container reads: one model of TGI, LMI (DJL Serving, vLLM / TensorRT-LLM backends),
vLLM, SGLang and KServe's huggingfaceserver, shared by every reader (SageMaker API JSON, CloudFormation,
Terraform, native manifests, Kubernetes, serving.properties) and by the deploy guard.

The family is told from the image. Each family reads its own variables, in its own order:

* **TGI** — the launcher reads `MODEL_ID`, `REVISION`, `TRUST_REMOTE_CODE` (its flags `--model-id`,
  `--revision`, `--trust-remote-code` win over them). The SageMaker image's entrypoint
  (`sagemaker-entrypoint.sh`) first exports `MODEL_ID=$HF_MODEL_ID`, and `REVISION` /
  `TRUST_REMOTE_CODE` from `HF_MODEL_REVISION` / `HF_MODEL_TRUST_REMOTE_CODE` only when those are
  non-empty. TGI reads no `OPTION_*` variable.
* **LMI** — `serving.properties` in the model folder wins over `OPTION_*` variables (DJL copies a
  non-empty `OPTION_X` into `option.x` only when the file does not set it). `HF_MODEL_ID`, `HF_REVISION`
  and `HF_MODEL_TRUST_REMOTE_CODE` are LMI's documented aliases; their precedence against `OPTION_*` is
  not established, so when both are set they must agree.
* **vLLM**, **SGLang**, **huggingfaceserver** — command-line arguments only (`sources.servercli`); on
  SageMaker the vLLM image's entrypoint turns each `SM_VLLM_<NAME>` variable into `--<name> <value>`.
* **unknown image** — every variable any of these servers reads may be the one used: they must agree.

A variable the family does not read is not evidence. A value that cannot be told (variables that
disagree where the precedence is not established) is a `Conflict`, which readers turn into an unknown
field (the rules that read it are `error`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum

from r1policy.core.lazyre import compile_on_use
from r1policy.core.record import frozen_record


class Family(StrEnum):
    TGI = "TGI"
    LMI = "LMI"
    VLLM = "vLLM"
    SGLANG = "SGLang"
    KSERVE_HF = "KServe huggingfaceserver"
    UNKNOWN = "unknown"


ENV, PROPS = "env", "serving.properties"
FALSE_WORDS = {"", "false", "0", "no", "off", "n", "f"}
SM_VLLM_PREFIX = "SM_VLLM_"
DEFAULT_HUB_ENDPOINT = "https://huggingface.co"
# Variables that send huggingface_hub (and so every server here) to another server than the Hub the
# r1policy checks were made against, or make the server download from ModelScope instead.
HUB_ENDPOINT_VARS = ("HF_ENDPOINT", "HUGGINGFACE_CO_RESOLVE_ENDPOINT", "HF_HUB_ENDPOINT", "HF_MIRROR")
_HUB_ENDPOINT_PATTERN = compile_on_use(r"^(HF_HUB_|HUGGINGFACE_HUB_)\w*(ENDPOINT|MIRROR|URL)$")
MODELSCOPE_VARS = ("VLLM_USE_MODELSCOPE", "SGLANG_USE_MODELSCOPE", "USE_MODELSCOPE_HUB")
_TOKEN_SPLIT = re.compile(r"[-_./]")


@frozen_record
class Var:
    """One setting a model server reads: its name and where it reads it (environment or properties)."""

    name: str
    source: str = ENV
    certain: bool = True  # False: whether the family reads it is not established (must agree if set)


Tier = tuple[Var, ...]  # variables read at the same precedence: the first tier with a value decides


@frozen_record
class EnvTable:
    """The settings, by precedence tier, a server family reads for the model, revision and remote code."""

    model: tuple[Tier, ...] = ()
    revision: tuple[Tier, ...] = ()
    trust: tuple[Tier, ...] = ()


def _v(*names: str) -> Tier:
    return tuple(Var(n) for n in names)


def _props(key: str, *, certain: bool = True) -> Tier:
    return (Var(key, PROPS, certain),)


TGI_LAUNCHER = EnvTable(model=(_v("MODEL_ID"),), revision=(_v("REVISION"),), trust=(_v("TRUST_REMOTE_CODE"),))
TGI_SAGEMAKER = EnvTable(
    model=(_v("HF_MODEL_ID"), _v("MODEL_ID")),
    revision=(_v("HF_MODEL_REVISION"), _v("REVISION")),
    trust=(_v("HF_MODEL_TRUST_REMOTE_CODE"), _v("TRUST_REMOTE_CODE")),
)
LMI = EnvTable(
    model=(_props("option.model_id"), _v("OPTION_MODEL_ID", "HF_MODEL_ID")),
    revision=(
        _props("option.revision"),
        (Var("OPTION_REVISION"), Var("HF_REVISION"), Var("HF_MODEL_REVISION", certain=False)),
    ),
    trust=(
        _props("option.trust_remote_code"),
        (
            Var("OPTION_TRUST_REMOTE_CODE"),
            Var("HF_MODEL_TRUST_REMOTE_CODE"),
            Var("HF_TRUST_REMOTE_CODE", certain=False),
        ),
    ),
)
ARGS_ONLY = EnvTable()
UNKNOWN = EnvTable(
    model=(
        (
            Var("option.model_id", PROPS),
            *_v("OPTION_MODEL_ID", "HF_MODEL_ID", "MODEL_ID", "SM_VLLM_MODEL"),
        ),
    ),
    revision=(
        (
            Var("option.revision", PROPS),
            *_v("OPTION_REVISION", "HF_MODEL_REVISION", "HF_REVISION", "REVISION", "SM_VLLM_REVISION"),
        ),
    ),
    trust=(
        (
            Var("option.trust_remote_code", PROPS),
            *_v(
                "OPTION_TRUST_REMOTE_CODE",
                "HF_MODEL_TRUST_REMOTE_CODE",
                "HF_TRUST_REMOTE_CODE",
                "TRUST_REMOTE_CODE",
                "SM_VLLM_TRUST_REMOTE_CODE",
            ),
        ),
    ),
)
# Every variable some server reads to name, pin or trust a model (the readers' location maps use it).
MODEL_VARS = tuple(v.name for tier in UNKNOWN.model for v in tier if v.source == ENV)
REVISION_VARS = tuple(v.name for tier in UNKNOWN.revision for v in tier if v.source == ENV)
TRUST_VARS = tuple(v.name for tier in UNKNOWN.trust for v in tier if v.source == ENV)


def family_of(image: str | None) -> Family:
    """The server an image runs, from its repository path (the registry host and the tag do not count)."""
    if not image:
        return Family.UNKNOWN
    if type(image) is not str:  # what the readers' types say cannot happen: decided, not kept
        return _family_of(image)
    family = _FAMILIES.get(image)  # manifests repeat the same images: decided once per distinct one
    if family is None:
        family = _family_of(image)
        if len(_FAMILIES) >= _VIEWS_MAX:
            _FAMILIES.clear()
        _FAMILIES[image] = family
    return family


_FAMILIES: dict[str, Family] = {}


def _family_of(image: str) -> Family:
    path = image.split("@", 1)[0]
    head, _, last = path.rpartition("/")
    path = (head + "/" if head else "") + last.split(":", 1)[0]
    first, _, rest = path.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        path = rest  # drop the registry host
    repo = path.lower()
    tokens = set(_TOKEN_SPLIT.split(repo))
    if "djl" in tokens or "lmi" in tokens:
        return Family.LMI
    if "tgi" in tokens or "text-generation-inference" in repo:
        return Family.TGI
    if "sglang" in tokens:
        return Family.SGLANG
    if "vllm" in tokens:
        return Family.VLLM
    if "huggingfaceserver" in tokens:
        return Family.KSERVE_HF
    return Family.UNKNOWN


def env_table(family: Family, *, sagemaker_entrypoint: bool) -> EnvTable:
    if family is Family.TGI:
        return TGI_SAGEMAKER if sagemaker_entrypoint else TGI_LAUNCHER
    if family is Family.LMI:
        return LMI
    if family is Family.UNKNOWN:
        return UNKNOWN
    return ARGS_ONLY


@frozen_record
class Choice:
    """The value a server uses for one setting, the variable it came from, or why it cannot be told."""

    value: str | None = None
    var: Var | None = None
    conflict: str | None = None


@frozen_record
class ServerView:
    """What a container's server family reads as its model, revision and remote-code switch."""

    family: Family
    model: Choice
    revision: Choice
    trust: Choice


def truthy(value: str) -> bool:
    """A switch as the servers' parsers read it; anything that is not plainly false counts as true
    (a value a server would refuse at start-up is not a reason to pass)."""
    return value.strip().lower() not in FALSE_WORDS


def read_env(
    family: Family,
    env: Mapping[str, str],
    props: Mapping[str, str] | None = None,
    *,
    sagemaker_entrypoint: bool = True,
) -> ServerView:
    # Manifests repeat the same environments: the view (immutable) is decided once per distinct one.
    key = (family, tuple(env.items()), tuple(props.items()) if props else (), sagemaker_entrypoint)
    try:
        view, keep = _VIEWS.get(key), True
    except TypeError:  # a value that is no string (the readers' types say it cannot be): not kept
        view, keep = None, False
    if view is None:
        table = env_table(family, sagemaker_entrypoint=sagemaker_entrypoint)
        sources = {ENV: env, PROPS: props or {}}
        view = ServerView(
            family,
            _decide(family, table.model, sources, str.strip),
            _decide(family, table.revision, sources, str.strip),
            _decide(family, table.trust, sources, lambda v: str(truthy(v)).lower()),
        )
        if len(_VIEWS) >= _VIEWS_MAX:
            _VIEWS.clear()
        if keep:
            _VIEWS[key] = view
    return view


_ViewKey = tuple[Family, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], bool]
_VIEWS: dict[_ViewKey, ServerView] = {}
_VIEWS_MAX = 4096


def _decide(
    family: Family,
    tiers: tuple[Tier, ...],
    sources: Mapping[str, Mapping[str, str]],
    norm: Callable[[str], str],
) -> Choice:
    def value_of(var: Var) -> str | None:
        raw = sources[var.source].get(var.name)
        return raw if raw is not None and raw.strip() else None  # empty: the servers ignore it

    decided: Choice = Choice()
    deciding: tuple[Tier, ...] = tiers  # where an uncertain variable could still be the one used
    for tier in tiers:
        present = [(v, val) for v in tier if v.certain and (val := value_of(v)) is not None]
        if not present:
            continue
        distinct = {norm(val) for _, val in present}
        if len(distinct) > 1:
            return Choice(var=present[-1][0], conflict=_disagree(family, present))
        var, val = present[0]
        decided = Choice(val.strip(), var)
        deciding = (tier,)  # lower tiers lose to it whatever they say
        break
    for tier in deciding:
        for v in tier:
            val = value_of(v)
            if v.certain or val is None:
                continue
            if decided.value is None or norm(val) != norm(decided.value):
                shown = "nothing" if decided.var is None else f"{_name(decided.var)}={decided.value!r}"
                return Choice(
                    var=v,
                    conflict=f"{_name(v)}={val.strip()!r} is set, and whether a {family.value} container "
                    f"reads it is not established; the settings it does read give {shown}",
                )
    return decided


def _name(var: Var) -> str:
    return var.name if var.source == ENV else f"{var.name} (serving.properties)"


def _disagree(family: Family, present: list[tuple[Var, str]]) -> str:
    listed = ", ".join(f"{_name(v)}={val.strip()!r}" for v, val in present)
    who = (
        "the image's server cannot be told"
        if family is Family.UNKNOWN
        else "their precedence is not established"
    )
    return f"{listed} disagree, and {who}: r1policy cannot tell which one the container uses"


def sm_vllm_args(env: Mapping[str, str]) -> list[str]:
    """The vLLM SageMaker entrypoint: each `SM_VLLM_<NAME>=<value>` becomes `--<name> [<value>]`."""
    args: list[str] = []
    for key, value in env.items():
        if key.startswith(SM_VLLM_PREFIX):
            args.append("--" + key[len(SM_VLLM_PREFIX) :].lower().replace("_", "-"))
            if value:
                args.append(value)
    return args


def is_hub_endpoint_var(name: str) -> bool:
    """A variable that may send the download to another server than the Hub."""
    return name in HUB_ENDPOINT_VARS or name in MODELSCOPE_VARS or bool(_HUB_ENDPOINT_PATTERN.match(name))


def hub_endpoint_override(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(variable, value) of an override that makes the container download from another server than
    huggingface.co, or None."""
    for key in sorted(env):
        value = env[key].strip()
        if key in HUB_ENDPOINT_VARS or _HUB_ENDPOINT_PATTERN.match(key):
            if value and value.rstrip("/").lower() != DEFAULT_HUB_ENDPOINT:
                return key, value
        elif key in MODELSCOPE_VARS and truthy(value):
            return key, value
    return None
