"""Where each Kubernetes kind keeps the pods it runs, and how objects of kinds r1policy does not know
are recognised as running containers (so that they are an `error`, never "nothing to judge")."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from r1policy.core.model import Deployment
from r1policy.core.yamldoc import JsonPath
from r1policy.sources import servers
from r1policy.sources.servercli import Engine
from r1policy.sources.servers import Family

_TEMPLATE = ("spec", "template", "spec")
# kind -> paths of pod specs ("*" stands for every item of a list). Knative's Service keeps a pod spec
# under spec.template.spec too; Ray and LeaderWorkerSet keep several.
POD_SPECS: dict[str, tuple[JsonPath, ...]] = {
    "Pod": (("spec",),),
    "Deployment": (_TEMPLATE,),
    "StatefulSet": (_TEMPLATE,),
    "DaemonSet": (_TEMPLATE,),
    "ReplicaSet": (_TEMPLATE,),
    "ReplicationController": (_TEMPLATE,),
    "Job": (_TEMPLATE,),
    "CronJob": (("spec", "jobTemplate", "spec", "template", "spec"),),
    "PodTemplate": (("template", "spec"),),
    "Service@serving.knative.dev": (_TEMPLATE,),
    "Configuration@serving.knative.dev": (_TEMPLATE,),
    "Revision@serving.knative.dev": (("spec",),),
    "ServingRuntime@serving.kserve.io": (("spec",),),
    "ClusterServingRuntime@serving.kserve.io": (("spec",),),
    "RayCluster@ray.io": (
        ("spec", "headGroupSpec", "template", "spec"),
        ("spec", "workerGroupSpecs", "*", "template", "spec"),
    ),
    "RayService@ray.io": (
        ("spec", "rayClusterConfig", "headGroupSpec", "template", "spec"),
        ("spec", "rayClusterConfig", "workerGroupSpecs", "*", "template", "spec"),
    ),
    "RayJob@ray.io": (
        ("spec", "rayClusterSpec", "headGroupSpec", "template", "spec"),
        ("spec", "rayClusterSpec", "workerGroupSpecs", "*", "template", "spec"),
        ("spec", "submitterPodTemplate", "spec"),
    ),
    "LeaderWorkerSet@leaderworkerset.x-k8s.io": (
        ("spec", "leaderWorkerTemplate", "leaderTemplate", "spec"),
        ("spec", "leaderWorkerTemplate", "workerTemplate", "spec"),
    ),
}
# KServe InferenceService components that may carry their own containers.
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
KSERVE_GROUP = "serving.kserve.io"
SERVING_RUNTIMES = ("ServingRuntime", "ClusterServingRuntime")
KSERVE_MODEL_DIR = "/mnt/models"  # where KServe's storage initializer puts an InferenceService's model


def kind_key(value: dict[str, Any]) -> str:
    """`Kind`, or `Kind@group` for kinds whose name other API groups reuse."""
    kind = str(value["kind"])
    group = str(value["apiVersion"]).split("/", 1)[0] if "/" in str(value["apiVersion"]) else ""
    qualified = f"{kind}@{group}"
    return qualified if qualified in POD_SPECS else kind


def pod_specs(value: dict[str, Any], key: str) -> Iterator[JsonPath]:
    """The concrete paths of the pod specs an object of a known kind holds."""
    for pattern in POD_SPECS.get(key, ()):
        yield from _expand(value, pattern, ())


def _expand(node: Any, pattern: JsonPath, done: JsonPath) -> Iterator[JsonPath]:
    if not pattern:
        yield done
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(node, list):
            for i, item in enumerate(node):
                yield from _expand(item, rest, (*done, i))
        return
    if isinstance(node, dict) and head in node:
        yield from _expand(node[head], rest, (*done, head))


def container_lists(node: Any, path: JsonPath = (), depth: int = 0) -> Iterator[JsonPath]:
    """Paths of every `containers` / `initContainers` list of container-shaped mappings, anywhere."""
    if depth > 40:
        return
    if isinstance(node, dict):
        for key, item in node.items():
            if key in ("containers", "initContainers") and _looks_like_containers(item):
                yield (*path, key)
            else:
                yield from container_lists(item, (*path, key), depth + 1)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from container_lists(item, (*path, i), depth + 1)


def _looks_like_containers(item: Any) -> bool:
    return (
        isinstance(item, list)
        and bool(item)
        and all(isinstance(c, dict) for c in item)
        and any("image" in c or "command" in c or "args" in c for c in item)
    )


def is_sagemaker_tgi(image: str | None) -> bool:
    return image is not None and "tgi-inference" in image.rsplit("/", 1)[-1]


def named_apart(name: str, found: list[tuple[str, Deployment]]) -> list[Deployment]:
    """One deployment keeps the object's name; several get `/<container>` (and an index on a clash)."""
    if len(found) == 1:
        return [replace(found[0][1], name=name)]
    out: list[Deployment] = []
    seen: set[str] = set()
    for i, (cname, dep) in enumerate(found):
        unique = f"{name}/{cname}"
        if unique in seen:
            unique = f"{unique}#{i}"
        seen.add(unique)
        out.append(replace(dep, name=unique))
    return out


def by_family(
    image: str | None, env: dict[str, str], by_image: bool, runtime: bool
) -> tuple[Engine, int] | None:
    """A container no command names a server for: the image's own entrypoint (the SageMaker TGI image,
    LMI), any container whose variables name a model, and every container of a serving runtime."""
    family = servers.family_of(image) if by_image else Family.UNKNOWN
    if family is Family.TGI:
        return Engine.TGI, 0
    if family is Family.LMI:
        return Engine.LMI, 0
    if runtime:
        return Engine.KSERVE_HF, 0  # a runtime's container serves whatever it is given
    if by_image and any(env.get(var, "").strip() for var in servers.MODEL_VARS):
        return Engine.OTHER, 0
    return None
