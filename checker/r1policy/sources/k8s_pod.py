"""What else in a Kubernetes pod decides the model a serving container loads: init containers that
download weights into a shared volume, variables filled from Secrets / ConfigMaps, a vLLM / SGLang
`--config FILE` mounted from a ConfigMap, Hub endpoint overrides, and Ray applications."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from r1policy.core.findings import Location
from r1policy.core.model import (
    FIELD_HUB_ENDPOINT,
    FIELD_IMAGE,
    FIELD_MODEL,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_TRUST_REMOTE_CODE,
    Deployment,
    ModelSource,
    SourceKind,
)
from r1policy.core.yamldoc import JsonPath
from r1policy.sources import servers
from r1policy.sources.containerenv import MODEL_FIELDS
from r1policy.sources.k8s_config import config_map_file
from r1policy.sources.servercli import ServerArgs, ShellSyntaxError, Token, detect, tokenize
from r1policy.sources.servers import Family

if TYPE_CHECKING:
    from r1policy.sources.kubernetes import _Object

_DOWNLOADERS = ("huggingface-cli", "hf", "git", "wget", "curl", "aws", "gsutil", "s5cmd", "rclone", "python")


@dataclass(frozen=True)
class InitDownload:
    repo: str
    revision: str | None
    local_dir: str
    location: Location | None


@dataclass
class InitFacts:
    """What a pod's init containers do: Hub downloads r1policy can read, and the other containers."""

    downloads: list[InitDownload] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # init containers whose effect cannot be read
    env: dict[str, str] = field(default_factory=dict)  # their Hub endpoint overrides


@dataclass(frozen=True)
class _PodFacts:
    runtime: bool  # a KServe ServingRuntime: the model comes from the InferenceService that uses it
    inits: InitFacts
    entrypoint: bool  # the SageMaker TGI image's entrypoint runs (no command given)
    hidden: dict[str, Location]  # variables without a literal value (valueFrom), "*" for envFrom
    container: JsonPath = ()  # where the serving container is (its volume mounts)


def unknown_kind(obj: _Object, lists: list[JsonPath]) -> list[tuple[str, Deployment]]:
    """A kind r1policy does not read that runs containers: each container, model unknown."""
    why = (
        f"{obj.value['kind']} ({obj.value['apiVersion']}) is a kind r1policy does not read: what its "
        "containers serve cannot be told"
    )
    found: list[tuple[str, Deployment]] = []
    for path in lists:
        for i, container in enumerate(obj.at(path)):
            image = container.get("image") if isinstance(container.get("image"), str) else None
            where = obj.loc(*path, i)
            dep = Deployment(
                name=obj.name(),
                model=ModelSource(kind=SourceKind.NONE),
                image=image,
                endpoint=None,
                origin=obj.loc(),
                platform="kubernetes",
                locations={FIELD_IMAGE: obj.loc(*path, i, "image") if image else where, FIELD_MODEL: where},
                unknown=dict.fromkeys((*MODEL_FIELDS, FIELD_TRUST_REMOTE_CODE), why),
            )
            found.append((str(container.get("name", i)), dep))
    return found


def hidden_env(obj: _Object, path: JsonPath, container: dict[str, Any]) -> dict[str, Location]:
    """Variables whose value the manifest does not hold (valueFrom), and `envFrom` ("*")."""
    hidden: dict[str, Location] = {}
    for i, item in enumerate(container.get("env") or []):
        if isinstance(item, dict) and isinstance(item.get("name"), str) and "value" not in item:
            hidden[item["name"]] = obj.loc(*path, "env", i)
    if container.get("envFrom"):
        hidden["*"] = obj.loc(*path, "envFrom")
    return hidden


def read_init_containers(obj: _Object, pod: JsonPath) -> InitFacts:
    facts = InitFacts()
    listed = obj.at((*pod, "initContainers"))
    if not isinstance(listed, list):
        return facts
    for i, container in enumerate(listed):
        if not isinstance(container, dict):
            raise obj.fail((*pod, "initContainers", i), "an init container must be a mapping")
        name = str(container.get("name", i))
        env, _ = obj._env((*pod, "initContainers", i), container.get("env"))
        override = servers.hub_endpoint_override(env)
        if override is not None:
            facts.env[override[0]] = override[1]
        items = [
            (str(v), obj.loc(*pod, "initContainers", i, key, j))
            for key in ("command", "args")
            for j, v in enumerate(container.get(key) or [])
        ]
        try:
            tokens = tokenize(items)
        except ShellSyntaxError as exc:
            raise obj.fail((*pod, "initContainers", i), str(exc)) from exc
        found = list(_hub_downloads(tokens))
        facts.downloads.extend(found)
        if not found and tokens:
            facts.others.append(name)
    return facts


# `hf download` / `huggingface-cli download` options that take a value, and the switches.
_DOWNLOAD_VALUES = {
    "--revision",
    "--local-dir",
    "--include",
    "--exclude",
    "--cache-dir",
    "--token",
    "--max-workers",
    "--local-dir-use-symlinks",
    "--repo-type",
}
_DOWNLOAD_SWITCHES = {"--force-download", "--resume-download", "--quiet", "--dry-run", "-h"}


def _hub_downloads(tokens: list[Token]) -> Iterator[InitDownload]:
    """`huggingface-cli download REPO [--revision R] --local-dir DIR` (also `hf download`); a command
    line with an option r1policy does not know, or of a dataset / space, is not read (None)."""
    for i, tok in enumerate(tokens):
        if tok.text.rsplit("/", 1)[-1] not in ("huggingface-cli", "hf"):
            continue
        if i + 2 >= len(tokens) or tokens[i + 1].text != "download":
            continue
        found = _download_args(tokens, i + 2)
        if found is not None and found.get("repo") and found.get("--local-dir"):
            if found.get("--repo-type", "model") != "model":
                continue
            local_dir = found["--local-dir"].rstrip("/")
            yield InitDownload(found["repo"], found.get("--revision"), local_dir, tok.location)


def _download_args(tokens: list[Token], j: int) -> dict[str, str] | None:
    found: dict[str, str] = {}
    while j < len(tokens) and tokens[j].text not in {"&&", "||", ";", "|", "&"}:
        text = tokens[j].text
        flag, eq, inline = text.partition("=")
        if flag in _DOWNLOAD_VALUES:
            if not eq and j + 1 >= len(tokens):
                return None
            found[flag] = inline if eq else tokens[j + 1].text
            j += 1 if eq else 2
        elif flag in _DOWNLOAD_SWITCHES:
            j += 1
        elif text.startswith("-"):
            return None  # an option r1policy does not know: it may take the next word
        else:
            found.setdefault("repo", text)  # then file names to download
            j += 1
    return found


def judge_pod(
    obj: _Object,
    model: ModelSource,
    unknown: dict[str, str],
    locations: dict[str, Location],
    args: ServerArgs,
    env: dict[str, str],
    family: Family,
    pod: _PodFacts,
    served: str | None,
) -> tuple[ModelSource, dict[str, str]]:
    """Apply what the rest of the pod decides; returns the model and extra env facts."""
    _hidden(unknown, args, family, pod)
    if args.config is not None:
        model = _config_file(obj, model, unknown, locations, args, pod)
    if model.kind is SourceKind.LOCAL:
        model = _local(model, unknown, locations, served, pod.inits)
    return model, dict(pod.inits.env)


def _hidden(unknown: dict[str, str], args: ServerArgs, family: Family, pod: _PodFacts) -> None:
    for name in sorted(pod.hidden):
        if name == "*" or servers.is_hub_endpoint_var(name):
            what = "envFrom" if name == "*" else f"{name} (valueFrom)"
            unknown.setdefault(
                FIELD_HUB_ENDPOINT,
                f"{what} may send the download to another server than the Hub (HF_ENDPOINT, ModelScope): "
                "its value comes from a Secret or ConfigMap the manifest does not hold",
            )
    table = servers.env_table(family, sagemaker_entrypoint=pod.entrypoint)
    groups = (
        (table.model, MODEL_FIELDS if args.model is None else ()),
        (table.revision, (FIELD_REVISION,)),
        (table.trust, (FIELD_TRUST_REMOTE_CODE,) if args.trust_remote_code is None else ()),
    )
    for tiers, fields in groups:
        names = {v.name for tier in tiers for v in tier if v.source == servers.ENV}
        hidden = sorted(n for n in pod.hidden if n in names or (n == "*" and names))
        for name in hidden:
            what = "envFrom" if name == "*" else f"{name} (valueFrom)"
            for fld in fields:
                unknown.setdefault(
                    fld,
                    f"{what} fills a variable the {family.value} container reads from a Secret or "
                    "ConfigMap whose value the manifest does not hold",
                )


def _local(
    model: ModelSource,
    unknown: dict[str, str],
    locations: dict[str, Location],
    served: str | None,
    inits: InitFacts,
) -> ModelSource:
    path = (served or "").removeprefix("file://").rstrip("/")
    for down in inits.downloads:
        if path and (path == down.local_dir or path.startswith(down.local_dir + "/")):
            if down.location is not None:
                for name in (FIELD_MODEL, FIELD_REPO, FIELD_REVISION):
                    locations[name] = down.location
            return replace(model, kind=SourceKind.HUB, repo=down.repo, revision=down.revision)
    also = f"; init containers {', '.join(inits.others)} may write it" if inits.others else ""
    why = f"the server loads the local path {served!r}, whose origin the manifest does not show{also}"
    for name in MODEL_FIELDS:
        unknown.setdefault(name, why)
    return model


def _config_file(
    obj: _Object,
    model: ModelSource,
    unknown: dict[str, str],
    locations: dict[str, Location],
    args: ServerArgs,
    pod: _PodFacts,
) -> ModelSource:
    """`--config FILE`: its settings fill in what the command line does not say (the flags win)."""
    assert args.config is not None
    settings = config_map_file(obj, pod.container, args.config.value)
    where = args.config.location
    if settings is None:
        why = (
            f"--config {args.config.value} is not a ConfigMap mounted from this manifest or its folder: "
            "its settings may name the model, its revision and trust-remote-code"
        )
        fields = (*((FIELD_MODEL, FIELD_REPO) if args.model is None else ()), FIELD_REVISION)
        for name in (*fields, *((FIELD_TRUST_REMOTE_CODE,) if args.trust_remote_code is None else ())):
            unknown.setdefault(name, why)
        return model
    values = {str(k).replace("_", "-"): v for k, v in settings.items()}
    named_key = "model-path" if "model-path" in values else "model"  # SGLang's key, vLLM's key
    if args.model is None and isinstance(values.get(named_key), str):
        named = values[named_key]
        if named.startswith("s3://"):
            model = ModelSource(kind=SourceKind.S3, s3_uri=named)
        elif named.startswith("/") or "://" in named:
            model = ModelSource(kind=SourceKind.LOCAL)
        else:
            model = ModelSource(kind=SourceKind.HUB, repo=named)
        _at(locations, where, FIELD_MODEL, FIELD_REPO)
    if (
        "--revision" not in args.revisions
        and values.get("revision") is not None
        and model.kind is SourceKind.HUB
    ):
        model = replace(model, revision=str(values["revision"]))
        _at(locations, where, FIELD_REVISION)
    for key in ("code-revision", "tokenizer-revision"):
        other = values.get(key)
        if f"--{key}" not in args.revisions and other is not None and str(other) != model.revision:
            model = replace(model, revision=str(other))
            _at(locations, where, FIELD_REVISION)
    trust = values.get("trust-remote-code")
    if args.trust_remote_code is None and trust is not None:
        model = replace(model, trust_remote_code=trust is True or servers.truthy(str(trust)))
        _at(locations, where, FIELD_TRUST_REMOTE_CODE)
    return model


def _at(locations: dict[str, Location], where: Location | None, *names: str) -> None:
    if where is not None:
        for name in names:
            locations[name] = where


def ray_application(obj: _Object, key: str) -> list[tuple[str, Deployment]]:
    """Ray Serve applications (RayService `serveConfigV2`) and RayJob entrypoints name their model in
    code or configuration r1policy does not read: one deployment whose model is unknown."""
    kind = key.split("@", 1)[0]
    field_name = {"RayService": "serveConfigV2", "RayJob": "entrypoint"}.get(kind)
    if field_name is None or key.split("@", 1)[-1] != "ray.io":
        return []
    text = obj.at(("spec", field_name))
    if not isinstance(text, str) or not text.strip():
        return []
    image = None
    for path in (
        ("spec", "rayClusterConfig", "headGroupSpec", "template", "spec", "containers", 0, "image"),
        ("spec", "rayClusterSpec", "headGroupSpec", "template", "spec", "containers", 0, "image"),
    ):
        found = obj.at(path)
        image = found if isinstance(found, str) else image
    why = (
        f"{kind} spec.{field_name} runs a Ray application whose model r1policy does not read: what it "
        "loads cannot be told"
    )
    if kind == "RayJob":
        try:
            tokens = tokenize([(text, obj.loc("spec", field_name))])
        except ShellSyntaxError as exc:
            raise obj.fail(("spec", field_name), str(exc)) from exc
        if detect(tokens, None) is not None:
            why = "RayJob spec.entrypoint starts a model server inside Ray; r1policy does not judge it there"
    where = obj.loc("spec", field_name)
    dep = Deployment(
        name=obj.name(),
        model=ModelSource(kind=SourceKind.NONE),
        image=image,
        endpoint=None,
        origin=obj.loc(),
        platform="kubernetes",
        locations={FIELD_MODEL: where, FIELD_IMAGE: where},
        unknown=dict.fromkeys((*MODEL_FIELDS, FIELD_TRUST_REMOTE_CODE), why),
    )
    return [(field_name, dep)]
