"""SDK deployments → SageMaker API shapes (CreateModel / CreateEndpointConfig / CreateEndpoint), as the SDK
sends them, with the place in the code of every field; the shapes then go through the same converter as
API request files, CloudFormation and Terraform (`cfn_shapes.ApiBridge`).

SDK defaults count as set: `HuggingFaceModel` and `Model` without `enable_network_isolation` run without
it, `deploy()` without `initial_instance_count` runs one instance, without `kms_key` no volume key.
JumpStart's defaults (image, instance type, network isolation) come from the JumpStart model spec, which
r1policy does not ship: they are unknown unless the code sets them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from r1policy.core.findings import Location
from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.sagemaker.api import KeyPath
from r1policy.sources.sdk.program import Deploy, Program, SdkModel
from r1policy.sources.sdk.values import Where


@dataclass
class Shape:
    kind: str
    key: str
    body: dict[str, Any]
    origin: Where
    marks: dict[KeyPath, Where] = field(default_factory=dict)

    def locate(self, path: KeyPath) -> Location:
        for end in range(len(path), 0, -1):
            where = self.marks.get(path[:end])
            if where is not None:
                return where.location()
        return self.origin.location()


@dataclass
class JumpStart:
    model_id: Any
    version: Any
    model_id_at: Where
    version_at: Where


class ShapeBuilder:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.shapes: list[Shape] = []
        self.jumpstart: dict[str, JumpStart] = {}  # model shape key -> JumpStart facts

    def mark(self, shape: Shape, path: KeyPath, value: Any, where: Where | None) -> None:
        """Record where `value` (put at `path`) was written, and where each of its entries was."""
        if where is not None:
            shape.marks[path] = where
        entries = self.program.positions.get(id(value), {})
        if isinstance(value, dict):
            for key, item in value.items():
                self.mark(shape, (*path, key), item, entries.get(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.mark(shape, (*path, i), item, entries.get(i))

    def at(self, container: dict[str, Any], key: str) -> Where | None:
        return self.program.positions.get(id(container), {}).get(key)

    # -- boto3 requests --------------------------------------------------------------------------
    def requests(self) -> None:
        for i, request in enumerate(self.program.requests):
            body = request.body
            if "__unknown__" in body and request.kind == "Model":
                # **kwargs computed at run time: a model whose every field is unknown (its rules are error)
                why: Unknown = body["__unknown__"]
                body = {
                    "ModelName": f"{request.call}",
                    "PrimaryContainer": why,
                    "EnableNetworkIsolation": why,
                    "VpcConfig": why,
                }
            elif "__unknown__" in body:
                body = {f"{request.kind}Name": body["__unknown__"], "__unknown__": body["__unknown__"]}
            shape = Shape(request.kind, f"{request.kind}#{i}@{request.call}", dict(body), request.call)
            self.mark(shape, (), body, None)
            self.shapes.append(shape)

    # -- SDK deploys -----------------------------------------------------------------------------
    def deploys(self) -> None:
        for i, deploy in enumerate(self.program.deploys):
            self._deploy(i, deploy)

    def _deploy(self, index: int, deploy: Deploy) -> None:
        model, kw = deploy.model, deploy.kwargs
        name = kw.get("endpoint_name")
        if not isinstance(name, str) or not name:
            name = f"{deploy.call}"  # the SDK generates a name: the deployment is named by its place
        tag = f"#{index}@{deploy.call}"
        m = Shape("Model", f"Model{tag}", {"ModelName": f"{name}/model{tag}"}, model.call)
        self._model(m, model)
        if "__unknown__" in kw:
            kw = {"instance_type": kw["__unknown__"], "initial_instance_count": 1}
        variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName": m.body["ModelName"]}
        c = Shape(
            "EndpointConfig",
            f"EndpointConfig{tag}",
            {"EndpointConfigName": f"{name}/config{tag}"},
            deploy.call,
        )
        instance, instance_at = self._instance(model, kw)
        if isinstance(kw.get("serverless_inference_config"), dict):
            variant["ServerlessConfig"] = {}
            c.marks[("ProductionVariants", 0, "ServerlessConfig")] = (
                self.at(kw, "serverless_inference_config") or deploy.call
            )
        else:
            variant["InstanceType"] = instance
            c.marks[("ProductionVariants", 0, "InstanceType")] = instance_at or deploy.call
        count = kw.get("initial_instance_count", 1)
        variant["InitialInstanceCount"] = count
        self.mark(
            c, ("ProductionVariants", 0, "InitialInstanceCount"), count, self.at(kw, "initial_instance_count")
        )
        c.body["ProductionVariants"] = [variant]
        for arg, key in (("kms_key", "KmsKeyId"), ("data_capture_config", "DataCaptureConfig")):
            if kw.get(arg) is not None:
                c.body[key] = kw[arg]
                self.mark(c, (key,), kw[arg], self.at(kw, arg))
        if kw.get("async_inference_config") is not None:
            c.body["AsyncInferenceConfig"] = kw["async_inference_config"]
            self.mark(
                c,
                ("AsyncInferenceConfig",),
                kw["async_inference_config"],
                self.at(kw, "async_inference_config"),
            )
        e = Shape(
            "Endpoint",
            f"Endpoint{tag}",
            {"EndpointName": name, "EndpointConfigName": c.body["EndpointConfigName"]},
            deploy.call,
        )
        if self.at(kw, "endpoint_name"):
            e.marks[("EndpointName",)] = self.at(kw, "endpoint_name")  # type: ignore[assignment]
        self.shapes.extend((m, c, e))

    def _instance(self, model: SdkModel, kw: dict[str, Any]) -> tuple[Any, Where | None]:
        if "instance_type" in kw:
            return kw["instance_type"], self.at(kw, "instance_type")
        if "instance_type" in model.kwargs:  # JumpStartModel / ModelBuilder take it in the constructor
            return model.kwargs["instance_type"], self.at(model.kwargs, "instance_type")
        why = (
            f"{model.call}: no instance_type is given, so JumpStart's model spec picks the default one"
            if model.cls == "JumpStartModel"
            else f"{model.call}: deploy() is called without instance_type"
        )
        return Unknown("<instance_type>", why), None

    def _model(self, m: Shape, model: SdkModel) -> None:
        kw = model.kwargs
        container: dict[str, Any] = {}
        m.body["PrimaryContainer"] = container
        m.marks[("PrimaryContainer",)] = model.call
        if model.why:  # not followed: everything about it is unknown
            container_unknown = Unknown("<model>", model.why)
            m.body["PrimaryContainer"] = container_unknown
            return
        self._image(m, model, container)
        env_value = self._environment(m, model, container)
        container.setdefault("Environment", env_value)
        self.mark(
            m,
            ("PrimaryContainer", "Environment"),
            container["Environment"],
            self.at(kw, "env") or self.at(kw, "env_vars"),
        )
        data = kw.get("model_data")
        if isinstance(data, dict):
            container["ModelDataSource"] = data
        elif data is not None:
            container["ModelDataUrl"] = data
        if data is not None:
            key = "ModelDataSource" if isinstance(data, dict) else "ModelDataUrl"
            self.mark(m, ("PrimaryContainer", key), data, self.at(kw, "model_data"))
        if model.cls == "JumpStartModel":
            self.jumpstart[m.key] = JumpStart(
                kw.get("model_id"),
                kw.get("model_version"),
                self.at(kw, "model_id") or model.call,
                self.at(kw, "model_version") or model.call,
            )
        self._isolation(m, model)
        if kw.get("vpc_config") is not None:
            m.body["VpcConfig"] = kw["vpc_config"]
            self.mark(m, ("VpcConfig",), kw["vpc_config"], self.at(kw, "vpc_config"))

    def _environment(self, m: Shape, model: SdkModel, container: dict[str, Any]) -> Any:
        """The container environment (`env=`, or ModelBuilder's `env_vars=` plus its model id)."""
        kw = model.kwargs
        source = kw.get("env_vars" if model.cls == "ModelBuilder" else "env")
        if isinstance(source, Unknown):
            return source
        env = dict(source or {})
        for key in env:
            where = self.at(source, key) if isinstance(source, dict) else None
            if where is not None:
                self.program.positions.setdefault(id(env), {})[key] = where
        self.program.keep.append(env)
        if model.cls != "ModelBuilder":
            return env
        target = kw.get("model")
        if isinstance(target, str) and "/" in target:
            env.setdefault("HF_MODEL_ID", target)
            self.program.positions.setdefault(id(env), {}).setdefault(
                "HF_MODEL_ID", self.at(kw, "model") or model.call
            )
        elif isinstance(target, str):
            self.jumpstart[m.key] = JumpStart(target, None, self.at(kw, "model") or model.call, model.call)
        else:
            container["Environment"] = Unknown(
                "<model>", f"{model.call}: ModelBuilder's model is not a constant id"
            )
        return env

    def _image(self, m: Shape, model: SdkModel, container: dict[str, Any]) -> None:
        kw = model.kwargs
        if kw.get("image_uri") is not None:
            container["Image"] = kw["image_uri"]
            m.marks[("PrimaryContainer", "Image")] = self.at(kw, "image_uri") or model.call
            return
        why = {
            "JumpStartModel": "JumpStart's model spec picks the serving image "
            "(r1policy does not ship the specs)",
            "ModelBuilder": "ModelBuilder picks the serving image when the code runs",
            "HuggingFaceModel": "without image_uri, the SDK picks the image from transformers_version / "
            "pytorch_version of the installed release",
        }.get(model.cls, "no image_uri is given")
        container["Image"] = Unknown("<image>", f"{model.call}: {why}; set image_uri explicitly")

    def _isolation(self, m: Shape, model: SdkModel) -> None:
        kw = model.kwargs
        if "enable_network_isolation" in kw:
            m.body["EnableNetworkIsolation"] = kw["enable_network_isolation"]
            m.marks[("EnableNetworkIsolation",)] = self.at(kw, "enable_network_isolation") or model.call
        elif model.cls == "JumpStartModel":
            m.body["EnableNetworkIsolation"] = Unknown(
                "<enable_network_isolation>",
                f"{model.call}: JumpStart's model spec sets the default; pass enable_network_isolation=True",
            )
            m.marks[("EnableNetworkIsolation",)] = model.call
