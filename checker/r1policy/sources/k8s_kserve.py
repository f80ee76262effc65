"""KServe `InferenceService`s (docs/guarantees/serving.md): the transformer / explainer / predictor
containers are judged like any workload's; `spec.predictor.model` and the legacy
`spec.predictor.huggingface` are read as the KServe Hugging Face server reads its `storageUri`, args and
variables. Without an `image`, the image comes from the ServingRuntime KServe selects: unknown."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from r1policy.core.model import FIELD_IMAGE, Deployment
from r1policy.core.yamldoc import JsonPath
from r1policy.sources.k8s_kinds import KSERVE_COMPONENTS, named_apart
from r1policy.sources.k8s_pod import InitFacts, _PodFacts, hidden_env
from r1policy.sources.servercli import Engine, Setting, ShellSyntaxError, parse, tokenize

if TYPE_CHECKING:
    from r1policy.sources.kubernetes import _Object


def inference_service(obj: _Object, name: str) -> list[Deployment]:
    predictor = obj.at(("spec", "predictor"))
    if not isinstance(predictor, dict):
        raise obj.fail(("spec",), "InferenceService without spec.predictor")
    found: list[tuple[str, Deployment]] = []
    for component in KSERVE_COMPONENTS:
        if isinstance(obj.at(("spec", component)), dict):
            found.extend(obj.containers(("spec", component)))
    for key in ("model", "huggingface"):
        model = predictor.get(key)
        if isinstance(model, dict):
            path: JsonPath = ("spec", "predictor", key)
            found.append((key, _kserve_model(obj, path, model, name)))
    return named_apart(name, found)


def _kserve_model(obj: _Object, path: JsonPath, model: dict[str, Any], name: str) -> Deployment:
    storage = model.get("storageUri")
    storage = storage if isinstance(storage, str) else None
    env, env_locs = obj.read_env(path, model.get("env"))
    listed = model.get("args") or []
    if not isinstance(listed, list):
        raise obj.fail((*path, "args"), "args must be a list of strings")
    try:
        tokens = tokenize([(str(v), obj.loc(*path, "args", i)) for i, v in enumerate(listed)])
    except ShellSyntaxError as exc:
        raise obj.fail((*path, "args"), str(exc)) from exc
    args = obj.refined(parse(tokens, Engine.KSERVE_HF, 0))
    image = model.get("image") if isinstance(model.get("image"), str) else None
    setting = Setting(storage, obj.loc(*path, "storageUri")) if storage else None
    pod = _PodFacts(False, InitFacts(), False, hidden_env(obj, path, model), path)
    dep = obj.deployment(name, path, Engine.KSERVE_HF, args, env, env_locs, image, storage=setting, pod=pod)
    if image is None:
        why = "the image comes from the ServingRuntime KServe selects for this model, not this manifest"
        dep = replace(dep, unknown={**dep.unknown, FIELD_IMAGE: why})
    return dep
