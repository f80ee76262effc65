"""Kubernetes manifests that serve a model: vLLM / TGI workloads and KServe `InferenceService`s.

Every Kubernetes object (a document with `apiVersion` and `kind`) is recognised; only the ones that
serve a model become deployments, so Services, ConfigMaps and the like in the same multi-document
file are ignored. Workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod) are
judged per container that runs vLLM, TGI or KServe's huggingfaceserver — recognised from the command
line (also inside one `sh -c` string) or the image — with the model, revisions and remote-code
setting read from its flags, then its environment (`HF_MODEL_ID`, TGI's `MODEL_ID` / `REVISION` /
`TRUST_REMOTE_CODE`, ...); flags win, as they do in the servers. KServe `InferenceService`s are read
from `spec.predictor.model` (`storageUri` `hf://org/model[:revision]`, `s3://...`, `pvc://...`, and
huggingfaceserver `args`) and from custom `spec.predictor.containers`.

These deployments have `platform="kubernetes"` and no SageMaker endpoint: the SageMaker endpoint
rules are `skipped` with that reason; the model-source, publisher, revision and remote-code rules
apply. A model or revision that the manifest does not state literally (a variable filled from a
ConfigMap or Secret) cannot be judged: that is an input error naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from r1policy.errors import InputError, Position
from r1policy.findings import Location
from r1policy.model import (
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
from r1policy.sources.containerenv import MODEL_ID_VARS, REVISION_VARS, apply_env
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
from r1policy.yamldoc import Document, JsonPath, read_text

PLATFORM = "kubernetes"
POD_SPEC: dict[str, JsonPath] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
# TGI's launcher reads these (clap `env`); they mean what the SageMaker-style variables mean.
_TGI_ENV = {
    "MODEL_ID": "HF_MODEL_ID",
    "REVISION": "HF_MODEL_REVISION",
    "TRUST_REMOTE_CODE": "HF_MODEL_TRUST_REMOTE_CODE",
}
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = {"true", "1", "yes", "on"}
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
        kind = self.value["kind"]
        if kind in POD_SPEC:
            return self._containers(POD_SPEC[kind], self.name())
        if kind == "InferenceService" and self.value["apiVersion"].startswith("serving.kserve.io/"):
            return self._inference_service(self.name())
        return []

    # -- workloads ---------------------------------------------------------------------------
    def _containers(self, pod: JsonPath, name: str) -> list[Deployment]:
        containers = self.at((*pod, "containers"))
        if containers is None:
            return []
        if not isinstance(containers, list):
            raise self.fail((*pod, "containers"), "containers must be a list")
        serving: list[tuple[str, Deployment]] = []
        for i, container in enumerate(containers):
            dep = self._container((*pod, "containers", i), container, name)
            if dep is not None:
                serving.append((str(container.get("name", i)), dep))
        if len(serving) > 1:  # several serving containers in one pod: one deployment each
            return [replace(dep, name=f"{name}/{cname}") for cname, dep in serving]
        return [dep for _, dep in serving]

    def _container(self, path: JsonPath, container: Any, owner: str) -> Deployment | None:
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
        found = detect(tokens, image)
        if found is None:
            return None
        engine, start = found
        args = self._refined(parse(tokens, engine, start))
        if engine is Engine.TGI:
            for var, same in _TGI_ENV.items():
                if var in env and same not in env:
                    env[same] = env[var]
                    env_locs[same] = env_locs[var]
        return self._deployment(owner, path, engine, args, env, env_locs, image, storage=None)

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
        found = self._containers(("spec", "predictor"), name)
        for key in ("model", "huggingface"):
            model = predictor.get(key)
            if isinstance(model, dict):
                dep = self._kserve_model(("spec", "predictor", key), model, name, legacy=key == "huggingface")
                if dep is not None:
                    found.append(dep)
        return found

    def _kserve_model(
        self, path: JsonPath, model: dict[str, Any], name: str, *, legacy: bool
    ) -> Deployment | None:
        fmt = self.at((*path, "modelFormat", "name"))
        runtime = model.get("runtime")
        storage = model.get("storageUri")
        storage = storage if isinstance(storage, str) else None
        huggingface = legacy or fmt == "huggingface" or "huggingface" in str(runtime or "")
        if not huggingface and not (storage and storage.startswith(("hf://", "s3://"))):
            return None
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
        return self._deployment(name, path, Engine.KSERVE_HF, args, env, env_locs, image, storage=setting)

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
    ) -> Deployment:
        named = storage or args.model
        if named is None:
            override = apply_env(ModelSource(kind=SourceKind.NONE), env, env_locs)
            if override.model.kind is SourceKind.NONE:
                raise self.fail(
                    path,
                    f"the {engine.value} server names no model it could be judged by (no model flag, "
                    "storageUri or model-id environment variable)",
                )
            locations: dict[str, Location] = {}
        else:
            value = self._literal(named, env, "the model")
            where = named.location or self.loc(*path)
            if storage is not None and value.startswith("hf://"):
                repo, _, rev = value[5:].partition(":")
                base = ModelSource(kind=SourceKind.HUB, repo=repo, revision=rev or None)
            else:
                base = _classify(value)
            locations = dict.fromkeys((FIELD_MODEL, FIELD_REPO, FIELD_S3_URI, FIELD_REVISION), where)
            # The flag names the model; revision and remote code may still come from the environment.
            ignored = MODEL_ID_VARS + (REVISION_VARS if base.revision else ())
            rest = {k: v for k, v in env.items() if k not in ignored}
            override = apply_env(base, rest, env_locs)
        model = override.model
        locations.update(override.locations)
        locations[FIELD_IMAGE] = self.loc(*path, "image") if image else self.loc(*path)
        if model.kind is SourceKind.HUB:
            model, locations = self._revision(model, locations, args, env)
        if args.trust_remote_code is not None:
            trusted = self._literal(args.trust_remote_code, env, "--trust-remote-code").lower() in _TRUE
            model = replace(model, trust_remote_code=trusted)
            if args.trust_remote_code.location is not None:
                locations[FIELD_TRUST_REMOTE_CODE] = args.trust_remote_code.location
        return Deployment(
            name=name,
            model=model,
            image=image,
            endpoint=None,
            env=tuple(sorted(env.items())),
            origin=self.loc(),
            platform=PLATFORM,
            locations={k: v for k, v in locations.items() if v is not None},
        )

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


def _classify(value: str) -> ModelSource:
    if value.startswith("s3://"):
        return ModelSource(kind=SourceKind.S3, s3_uri=value)
    if value.startswith("hf://"):
        return ModelSource(kind=SourceKind.HUB, repo=value[5:])
    if value.startswith(("/", "./", "../", "~", "pvc://", "file://")):
        return ModelSource(kind=SourceKind.LOCAL)
    if _HUB_ID.match(value):
        return ModelSource(kind=SourceKind.HUB, repo=value)
    return ModelSource(kind=SourceKind.NONE)
