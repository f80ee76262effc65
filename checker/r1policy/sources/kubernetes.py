"""Kubernetes manifests that serve a model (docs/guarantees/serving.md).

Every object with `apiVersion` and `kind` is recognised. Workload kinds (`k8s_kinds.POD_SPECS`: Pods,
Deployments, ..., Knative, KServe runtimes, Ray, LeaderWorkerSet) and KServe `InferenceService`s are
judged per serving container, told by its command line (also inside `sh -c`) or its image, with the
model, revisions and remote code read as that server reads its flags and variables
(`sources.servers`; flags win). Init containers, valueFrom / envFrom and `--config` files are read
by `k8s_pod`. Other kinds that hold containers are judged with an unknown model. Deployments have
`platform="kubernetes"`: SageMaker endpoint rules are `skipped`, the source, remote-code and image rules
apply. A model or revision that refers to a variable the manifest does not hold is an input error.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Location
from r1policy.core.model import (
    FIELD_IMAGE,
    FIELD_MODEL,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_S3_URI,
    FIELD_TRUST_REMOTE_CODE,
    Deployment,
    ModelSource,
    SourceKind,
)
from r1policy.core.yamldoc import Document, JsonPath, read_text
from r1policy.sources import servers
from r1policy.sources.containerenv import EnvOverride, apply_env
from r1policy.sources.k8s_kinds import (
    KSERVE_COMPONENTS,
    KSERVE_MODEL_DIR,
    SERVING_RUNTIMES,
    by_family,
    container_lists,
    is_sagemaker_tgi,
    kind_key,
    named_apart,
    pod_specs,
)
from r1policy.sources.k8s_pod import (
    InitFacts,
    _PodFacts,
    hidden_env,
    judge_pod,
    ray_application,
    read_init_containers,
    unknown_kind,
)
from r1policy.sources.servercli import (
    Engine,
    ServerArgs,
    Setting,
    ShellSyntaxError,
    detect,
    expand,
    parse,
    tokenize,
)
from r1policy.sources.servers import Family

PLATFORM = "kubernetes"
_KNOWN_POD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
_FAMILY = {
    Engine.VLLM: Family.VLLM,
    Engine.TGI: Family.TGI,
    Engine.KSERVE_HF: Family.KSERVE_HF,
    Engine.SGLANG: Family.SGLANG,
    Engine.LMI: Family.LMI,
    Engine.OTHER: Family.UNKNOWN,
}
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_SCRIPT_LINES = 200  # how far below a shell string's first line its tokens are looked for


def is_kubernetes(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("apiVersion"), str)
        and isinstance(value.get("kind"), str)
        and not value["apiVersion"].startswith("r1policy/")
    )


def load_kubernetes(doc: Document) -> list[Deployment]:
    value = doc.value
    if value["kind"] == "List" and isinstance(value.get("items"), list):
        found: list[Deployment] = []
        for i, item in enumerate(value["items"]):
            if is_kubernetes(item):
                found.extend(_Object(doc, ("items", i), item).load())
        return found
    return _Object(doc, (), value).load()


class _Object:
    def __init__(self, doc: Document, base: JsonPath, value: dict[str, Any]) -> None:
        self.doc = doc
        self.base = base
        self.value = value
        self._lines: list[str] | None = None

    def loc(self, *path: str | int) -> Location:
        pos = self.doc.position((*self.base, *path))
        return Location(pos.path, pos.line, pos.column)

    def fail(self, path: JsonPath, message: str) -> InputError:
        return InputError(self.doc.position((*self.base, *path)), message)

    def at(self, path: JsonPath) -> Any:
        node: Any = self.value
        for key in path:
            if isinstance(key, int):
                node = node[key] if isinstance(node, list) and key < len(node) else None
            else:
                node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                return None
        return node

    def name(self) -> str:
        meta = self.value.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str) or not name:
            raise self.fail(("metadata",), f"{self.value['kind']} without metadata.name")
        namespace = meta.get("namespace") if isinstance(meta, dict) else None
        return f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name

    def load(self) -> list[Deployment]:
        key = kind_key(self.value)
        kind = key.split("@", 1)[0]
        if kind == "InferenceService" and str(self.value["apiVersion"]).startswith("serving.kserve.io/"):
            return self._inference_service(self.name())
        pods = list(pod_specs(self.value, key))
        if pods or key in _KNOWN_POD_KINDS:
            # Ray nodes run `ray start` whatever their image: only a command names a server there.
            by_image = not key.endswith("@ray.io")
            found = [d for pod in pods for d in self._containers(pod, kind in SERVING_RUNTIMES, by_image)]
            found.extend(ray_application(self, key))
            return named_apart(self.name(), found)
        lists = list(container_lists(self.value))
        if lists:
            return named_apart(self.name(), unknown_kind(self, lists))
        return []

    # -- workloads ---------------------------------------------------------------------------
    def _containers(
        self, pod: JsonPath, runtime: bool = False, by_image: bool = True
    ) -> list[tuple[str, Deployment]]:
        containers = self.at((*pod, "containers"))
        if containers is None:
            return []
        if not isinstance(containers, list):
            raise self.fail((*pod, "containers"), "containers must be a list")
        inits = read_init_containers(self, pod)
        serving: list[tuple[str, Deployment]] = []
        for i, container in enumerate(containers):
            dep = self._container((*pod, "containers", i), container, runtime, inits, by_image)
            if dep is not None:
                serving.append((str(container.get("name", i)), dep))
        return serving

    def _container(
        self, path: JsonPath, container: Any, runtime: bool, inits: InitFacts, by_image: bool
    ) -> Deployment | None:
        if not isinstance(container, dict):
            raise self.fail(path, "a container must be a mapping")
        image = container.get("image")
        image = image if isinstance(image, str) else None
        env, env_locs = self._env(path, container.get("env"))
        items: list[tuple[str, Location | None]] = []
        for key in ("command", "args"):
            listed = container.get(key) or []
            if not isinstance(listed, list):
                raise self.fail((*path, key), f"{key} must be a list of strings")
            items.extend((str(v), self.loc(*path, key, i)) for i, v in enumerate(listed))
        try:
            tokens = tokenize(items)
        except ShellSyntaxError as exc:
            raise self.fail((*path, "args"), str(exc)) from exc
        found = detect(tokens, image if by_image else None) or by_family(image, env, by_image, runtime)
        if found is None:
            return None
        engine, start = found
        args = self._refined(parse(tokens, engine, start))
        # The SageMaker TGI image's own entrypoint (no command given) maps HF_MODEL_* onto the launcher's.
        entrypoint = engine is Engine.TGI and not container.get("command") and is_sagemaker_tgi(image)
        pod = _PodFacts(runtime, inits, entrypoint, hidden_env(self, path, container), path)
        return self._deployment(self.name(), path, engine, args, env, env_locs, image, storage=None, pod=pod)

    def _env(self, path: JsonPath, listed: Any) -> tuple[dict[str, str], dict[str, Location]]:
        env: dict[str, str] = {}
        where: dict[str, Location] = {}
        if listed is None:
            return env, where
        if not isinstance(listed, list):
            raise self.fail((*path, "env"), "env must be a list of {name, value}")
        for i, item in enumerate(listed):
            if isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item:
                value = item["value"]
                env[item["name"]] = "true" if value is True else "false" if value is False else str(value)
                where[item["name"]] = self.loc(*path, "env", i, "value")
        return env, where

    # -- KServe ------------------------------------------------------------------------------
    def _inference_service(self, name: str) -> list[Deployment]:
        predictor = self.at(("spec", "predictor"))
        if not isinstance(predictor, dict):
            raise self.fail(("spec",), "InferenceService without spec.predictor")
        found: list[tuple[str, Deployment]] = []
        for component in KSERVE_COMPONENTS:
            if isinstance(self.at(("spec", component)), dict):
                found.extend(self._containers(("spec", component)))
        for key in ("model", "huggingface"):
            model = predictor.get(key)
            if isinstance(model, dict):
                path: JsonPath = ("spec", "predictor", key)
                found.append((key, self._kserve_model(path, model, name, legacy=key == "huggingface")))
        return named_apart(name, found)

    def _kserve_model(self, path: JsonPath, model: dict[str, Any], name: str, *, legacy: bool) -> Deployment:
        storage = model.get("storageUri")
        storage = storage if isinstance(storage, str) else None
        env, env_locs = self._env(path, model.get("env"))
        listed = model.get("args") or []
        if not isinstance(listed, list):
            raise self.fail((*path, "args"), "args must be a list of strings")
        try:
            tokens = tokenize([(str(v), self.loc(*path, "args", i)) for i, v in enumerate(listed)])
        except ShellSyntaxError as exc:
            raise self.fail((*path, "args"), str(exc)) from exc
        args = self._refined(parse(tokens, Engine.KSERVE_HF, 0))
        image = model.get("image") if isinstance(model.get("image"), str) else None
        setting = Setting(storage, self.loc(*path, "storageUri")) if storage else None
        pod = _PodFacts(False, InitFacts(), False, hidden_env(self, path, model), path)
        dep = self._deployment(
            name, path, Engine.KSERVE_HF, args, env, env_locs, image, storage=setting, pod=pod
        )
        if image is None:
            why = "the image comes from the ServingRuntime KServe selects for this model, not this manifest"
            dep = replace(dep, unknown={**dep.unknown, FIELD_IMAGE: why})
        return dep

    def _refined(self, args: ServerArgs) -> ServerArgs:
        """Point each setting at the line its text is on: a shell string can span many lines."""
        args.model = self._line_of(args.model)
        args.trust_remote_code = self._line_of(args.trust_remote_code)
        for flag, setting in args.revisions.items():
            args.revisions[flag] = self._line_of(setting) or setting
        return args

    def _line_of(self, setting: Setting | None) -> Setting | None:
        where = setting.location if setting is not None else None
        if setting is None or where is None or where.line is None or not setting.token:
            return setting
        if self._lines is None:
            self._lines = read_text(Path(self.doc.path), display=self.doc.path).splitlines()
        pattern = re.compile(r"(?<![\w./:-])" + re.escape(setting.token) + r"(?![\w./:-])")
        for number in range(where.line - 1, min(len(self._lines), where.line - 1 + _SCRIPT_LINES)):
            found = pattern.search(self._lines[number])
            if found is not None:
                return replace(setting, location=Location(where.path, number + 1, found.start() + 1))
        return setting

    # -- the model a server loads ------------------------------------------------------------
    def _deployment(
        self,
        name: str,
        path: JsonPath,
        engine: Engine,
        args: ServerArgs,
        env: dict[str, str],
        env_locs: dict[str, Location],
        image: str | None,
        *,
        storage: Setting | None,
        pod: _PodFacts,
    ) -> Deployment:
        family = _FAMILY[engine]
        override, locations, served = self._named(path, engine, args, env, env_locs, storage, pod)
        model = override.model
        unknown = dict(override.unknown)
        locations.update(override.locations)
        locations[FIELD_IMAGE] = self.loc(*path, "image") if image else self.loc(*path)
        if model.kind is SourceKind.HUB:
            model, locations = self._revision(model, locations, args, env)
        if args.trust_remote_code is not None:
            trusted = servers.truthy(self._literal(args.trust_remote_code, env, "--trust-remote-code"))
            model = replace(model, trust_remote_code=trusted)
            unknown.pop(FIELD_TRUST_REMOTE_CODE, None)
            if args.trust_remote_code.location is not None:
                locations[FIELD_TRUST_REMOTE_CODE] = args.trust_remote_code.location
        model, extra_env = judge_pod(self, model, unknown, locations, args, env, family, pod, served)
        return Deployment(
            name=name,
            model=model,
            image=image,
            endpoint=None,
            env=tuple(sorted({**env, **extra_env}.items())),
            origin=self.loc(),
            platform=PLATFORM,
            locations={k: v for k, v in locations.items() if v is not None},
            unknown=unknown,
        )

    def _named(
        self,
        path: JsonPath,
        engine: Engine,
        args: ServerArgs,
        env: dict[str, str],
        env_locs: dict[str, Location],
        storage: Setting | None,
        pod: _PodFacts,
    ) -> tuple[EnvOverride, dict[str, Location], str | None]:
        """The model the flags (or storageUri) name, else the variables the server reads."""
        family = _FAMILY[engine]
        named = storage or args.model
        if named is None:
            override = apply_env(
                ModelSource(kind=SourceKind.NONE),
                env,
                env_locs,
                family=family,
                sagemaker_entrypoint=pod.entrypoint,
            )
            named_elsewhere = pod.runtime or args.config is not None
            if override.model.kind is SourceKind.NONE and not override.unknown and not named_elsewhere:
                raise self.fail(
                    path,
                    f"the {engine.value} server names no model it could be judged by (no model flag, "
                    "storageUri or model-id environment variable it reads)",
                )
            return override, {}, None
        value = self._literal(named, env, "the model")
        where = named.location or self.loc(*path)
        if storage is not None and value.startswith("hf://"):
            repo, _, rev = value[5:].partition(":")
            base = ModelSource(kind=SourceKind.HUB, repo=repo, revision=rev or None)
        else:
            base = _classify(value, runtime=pod.runtime)
        locations = dict.fromkeys((FIELD_MODEL, FIELD_REPO, FIELD_S3_URI, FIELD_REVISION), where)
        # The flag names the model; revision and remote code may still come from the environment.
        override = apply_env(
            base, env, env_locs, family=family, sagemaker_entrypoint=pod.entrypoint, model_given=True
        )
        if base.revision and override.model.revision != base.revision:
            override = replace(override, model=replace(override.model, revision=base.revision))
        return override, locations, value

    def _revision(
        self, model: ModelSource, locations: dict[str, Location], args: ServerArgs, env: dict[str, str]
    ) -> tuple[ModelSource, dict[str, Location]]:
        """The main revision flag wins over env; any other revision flag that is not a full commit SHA
        (code or tokenizer) leaves part of the model unpinned and is the one reported."""
        chosen: Setting | None = None
        for flag in ("--revision", "--model-revision"):
            if flag in args.revisions:
                chosen = args.revisions[flag]
        if chosen is not None:
            model = replace(model, revision=self._literal(chosen, env, "the revision"))
        for flag, setting in args.revisions.items():
            value = self._literal(setting, env, flag)
            if not _FULL_SHA.match(value) and setting is not chosen:
                chosen = setting
                model = replace(model, revision=value)
                break
        if chosen is not None and chosen.location is not None:
            locations[FIELD_REVISION] = chosen.location
        return model, locations

    def _literal(self, setting: Setting, env: dict[str, str], what: str) -> str:
        value, missing = expand(setting.value, env)
        if missing:
            where = setting.location
            raise InputError(
                self.doc.position(self.base) if where is None else _position(where),
                f"{what} ({setting.value!r}) refers to {', '.join(missing)}, which has no literal value in "
                "this manifest (valueFrom / envFrom): r1policy cannot tell what the server loads",
            )
        return value


def _position(where: Location) -> Position:
    return Position(where.path, where.line, where.column)


def _classify(value: str, *, runtime: bool = False) -> ModelSource:
    if value.startswith("s3://"):
        return ModelSource(kind=SourceKind.S3, s3_uri=value)
    if value.startswith("hf://"):
        return ModelSource(kind=SourceKind.HUB, repo=value[5:])
    if runtime and (value.rstrip("/") == KSERVE_MODEL_DIR or "{{" in value):
        return ModelSource(kind=SourceKind.NONE)  # a runtime serves the model its InferenceService names
    if value.startswith(("/", "./", "../", "~", "pvc://", "file://")) or "://" in value:
        return ModelSource(kind=SourceKind.LOCAL)
    if _HUB_ID.match(value):
        return ModelSource(kind=SourceKind.HUB, repo=value)
    return ModelSource(kind=SourceKind.NONE)
