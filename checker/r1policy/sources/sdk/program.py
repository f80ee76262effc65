"""Walks SageMaker Python SDK code statement by statement (a file, or a notebook's cells in order) and
records what it deploys: SDK model objects and their `.deploy(...)` calls, and boto3 `create_model` /
`create_endpoint_config` / `create_endpoint` requests. Nothing is executed.

Names assigned under `if`, in loops or in `except` blocks are unknown after the block (which branch ran is
decided at run time); function bodies are walked with their parameters unknown, so that a deployment in
`main()` is found.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.sdk import images
from r1policy.sources.sdk.values import Evaluator, Source, Where

MODEL_CLASSES = {"HuggingFaceModel", "Model", "JumpStartModel", "ModelBuilder"}
BOTO3_OPERATIONS = {
    "create_model": "Model",
    "create_endpoint_config": "EndpointConfig",
    "create_endpoint": "Endpoint",
}
_CONFIG_CLASSES = {
    "DataCaptureConfig",
    "AsyncInferenceConfig",
    "ServerlessInferenceConfig",
    "Network",  # SDK v3 ModelBuilder(network=...)
    "Networking",
    "Compute",  # SDK v3 ModelBuilder(compute=...)
}


@dataclass
class SdkModel:
    """`HuggingFaceModel(...)`, `Model(...)`, `JumpStartModel(...)`, `ModelBuilder(...)`, or something
    r1policy cannot follow (`cls` "?", `why` says what) whose `.deploy()` is still a deployment."""

    cls: str
    kwargs: dict[str, Any]
    call: Where
    why: str = ""


@dataclass
class Deploy:
    model: SdkModel
    kwargs: dict[str, Any]
    call: Where


@dataclass
class Request:
    kind: str  # "Model", "EndpointConfig", "Endpoint"
    body: dict[str, Any]
    call: Where


@dataclass
class Program:
    uses_sagemaker: bool = False
    uses_boto3: bool = False
    deploys: list[Deploy] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    positions: dict[int, dict[str | int, Where]] = field(default_factory=dict)
    keep: list[Any] = field(default_factory=list)


class Walker:
    def __init__(self) -> None:
        self.program = Program()
        self.scope: dict[str, Any] = {}
        self.imports: dict[str, str] = {}

    def run(self, tree: ast.Module, source: Source) -> None:
        ev = Evaluator(source, self._call)
        ev.scope, ev.imports = self.scope, self.imports
        ev.positions = self.program.positions
        ev._keep = self.program.keep
        self._body(ev, tree.body)

    # -- statements ------------------------------------------------------------------------------
    def _body(self, ev: Evaluator, body: list[ast.stmt]) -> None:
        for stmt in body:
            self._stmt(ev, stmt)

    def _stmt(self, ev: Evaluator, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            self._import(stmt)
        elif isinstance(stmt, ast.Assign):
            value = ev.expr(stmt.value)
            for target in stmt.targets:
                self._bind(ev, target, value, stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self._bind(ev, stmt.target, ev.expr(stmt.value), stmt.value)
        elif isinstance(stmt, ast.AugAssign):
            self._bind(ev, stmt.target, ev.unknown(stmt, "changes a value when the code runs"), stmt)
        elif isinstance(stmt, ast.Expr | ast.Return) and stmt.value is not None:
            ev.expr(stmt.value)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                value = ev.expr(item.context_expr)
                if item.optional_vars is not None:
                    self._bind(ev, item.optional_vars, ev.unknown(item.context_expr), item.context_expr)
                del value
            self._body(ev, stmt.body)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            self._body(ev, stmt.body)
            for handler in stmt.handlers:
                self._branch(ev, handler.body, stmt)
            self._branch(ev, stmt.orelse, stmt)
            self._body(ev, stmt.finalbody)
        elif isinstance(stmt, ast.If):
            ev.expr(stmt.test)
            self._branch(ev, stmt.body, stmt)
            self._branch(ev, stmt.orelse, stmt)
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
            if isinstance(stmt, ast.For | ast.AsyncFor):
                self._bind(ev, stmt.target, ev.unknown(stmt.target, "is a loop variable"), stmt.target)
            self._branch(ev, stmt.body, stmt)
            self._branch(ev, stmt.orelse, stmt)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self._function(ev, stmt)
            self.scope[stmt.name] = ev.unknown(stmt, "is a function")

    def _branch(self, ev: Evaluator, body: list[ast.stmt], owner: ast.stmt) -> None:
        """A block that may or may not run: what it assigns is unknown afterwards."""
        self._body(ev, body)
        for node in body:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    self.scope[sub.id] = ev.unknown(
                        sub, f"is assigned in a conditional block (line {owner.lineno})"
                    )

    def _function(self, ev: Evaluator, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        saved = dict(self.scope)
        args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
        for extra in (fn.args.vararg, fn.args.kwarg):
            if extra is not None:
                args.append(extra)
        for arg in args:
            self.scope[arg.arg] = ev.unknown(arg, f"is a parameter of {fn.name}()")
        self._body(ev, fn.body)
        self.scope.clear()
        self.scope.update(saved)

    def _import(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                self.imports[(alias.asname or alias.name).split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
                if alias.name.split(".")[0] == "sagemaker":
                    self.program.uses_sagemaker = True
                self.program.uses_boto3 |= alias.name.split(".")[0] == "boto3"
            return
        module = stmt.module or ""
        if module.split(".")[0] == "sagemaker":
            self.program.uses_sagemaker = True
        self.program.uses_boto3 |= module.split(".")[0] == "boto3"
        for alias in stmt.names:
            self.imports[alias.asname or alias.name] = f"{module}.{alias.name}"

    def _bind(self, ev: Evaluator, target: ast.expr, value: Any, node: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.scope[target.id] = value
            self.imports.pop(target.id, None)
        elif isinstance(target, ast.Tuple | ast.List):
            for i, item in enumerate(target.elts):
                known = isinstance(value, list) and len(value) == len(target.elts)
                self._bind(ev, item, value[i] if known else ev.unknown(item), item)
        elif isinstance(target, ast.Subscript):
            container, key = ev.expr(target.value), ev.expr(target.slice)
            if isinstance(container, dict) and isinstance(key, str):
                container[key] = value  # the same object the code mutates
                ev.remember(container, key, node)
            elif isinstance(target.value, ast.Name):
                self.scope[target.value.id] = ev.unknown(
                    target, "is changed in a way r1policy does not follow"
                )
        elif isinstance(target, ast.Attribute):
            owner = ev.expr(target.value)
            if isinstance(owner, SdkModel):
                owner.kwargs[target.attr] = value
                ev.remember(owner.kwargs, target.attr, node)

    # -- calls -----------------------------------------------------------------------------------
    def _call(self, ev: Evaluator, node: ast.Call, name: str) -> Any:
        last = name.rsplit(".", 1)[-1]
        if last in MODEL_CLASSES and name.startswith("sagemaker"):
            kwargs, bad = ev.kwargs(node)
            if node.args:  # positional arguments: first of Model is image_uri, of JumpStartModel model_id
                first = {"Model": "image_uri", "JumpStartModel": "model_id", "ModelBuilder": "model"}.get(
                    last
                )
                if first and first not in kwargs:
                    ev.remember(kwargs, first, node.args[0])
                    kwargs[first] = ev.expr(node.args[0])
            if last == "ModelBuilder":
                _flatten_builder(ev, kwargs)
            return SdkModel(last, kwargs, ev.source.where(node), bad.why if bad else "")
        if last in _CONFIG_CLASSES and name.startswith("sagemaker"):
            return self._config_object(ev, node, last)
        if last == "get_huggingface_llm_image_uri" and name.startswith("sagemaker"):
            kwargs, _ = ev.kwargs(node)
            backend = ev.expr(node.args[0]) if node.args else kwargs.get("backend")
            return images.llm_image(
                backend, kwargs.get("version"), kwargs.get("region"), str(ev.source.where(node))
            )
        if last == "retrieve" and "image_uris" in name and name.startswith("sagemaker"):
            kwargs, _ = ev.kwargs(node)
            framework = ev.expr(node.args[0]) if node.args else kwargs.get("framework")
            region = ev.expr(node.args[1]) if len(node.args) > 1 else kwargs.get("region")
            version = ev.expr(node.args[2]) if len(node.args) > 2 else kwargs.get("version")
            return images.retrieve(framework, version, region, str(ev.source.where(node)))
        if isinstance(node.func, ast.Attribute):
            return self._method(ev, node, node.func)
        return None

    def _method(self, ev: Evaluator, node: ast.Call, func: ast.Attribute) -> Any:
        boto3 = self.program.uses_boto3 or self.program.uses_sagemaker
        if func.attr in BOTO3_OPERATIONS and boto3 and not node.args:  # boto3 takes keyword arguments only
            kwargs, bad = ev.kwargs(node)
            if bad is not None:
                kwargs = {"__unknown__": bad}
            self.program.requests.append(Request(BOTO3_OPERATIONS[func.attr], kwargs, ev.source.where(node)))
            return ev.unknown(node, "is the API's response")
        if func.attr not in ("deploy", "build", "update"):
            return None
        receiver = ev.expr(func.value)
        if func.attr == "update":
            if isinstance(receiver, dict) and len(node.args) == 1 and not node.keywords:
                other = ev.expr(node.args[0])
                if isinstance(other, dict):
                    receiver.update(other)
                    return ev.unknown(node, "returns None")
            if isinstance(func.value, ast.Name):
                self.scope[func.value.id] = ev.unknown(
                    func.value, "is updated in a way r1policy does not follow"
                )
            return None
        if func.attr == "build":
            return receiver if isinstance(receiver, SdkModel) else None
        if not isinstance(receiver, SdkModel):
            if not self.program.uses_sagemaker:
                return None
            shown = ev.source.display(func.value)
            receiver = SdkModel(
                "?",
                {},
                ev.source.where(node),
                f"{ev.source.where(node)}: `{shown}.deploy(...)` deploys an object r1policy cannot follow "
                "(an estimator, or a model built when the code runs)",
            )
        kwargs, bad = ev.kwargs(node)
        if bad is not None:
            kwargs = {"__unknown__": bad}
        self.program.deploys.append(Deploy(receiver, kwargs, ev.source.where(node)))
        return ev.unknown(node, "is the deployed predictor")

    def _config_object(self, ev: Evaluator, node: ast.Call, cls: str) -> Any:
        """DataCaptureConfig / AsyncInferenceConfig / ServerlessInferenceConfig → their API shapes."""
        kwargs, bad = ev.kwargs(node)
        if bad is not None:
            return bad
        out: dict[str, Any] = {}
        where = ev.positions.get(id(kwargs), {})

        def put(target: dict[str, Any], key: str, arg: str, default: Any = None) -> None:
            if arg in kwargs:
                target[key] = kwargs[arg]
                if arg in where:
                    ev.positions.setdefault(id(target), {})[key] = where[arg]
                    ev._keep.append(target)
            elif default is not None:
                target[key] = default

        if cls == "DataCaptureConfig":
            if node.args:
                kwargs.setdefault("enable_capture", ev.expr(node.args[0]))
            put(out, "EnableCapture", "enable_capture")
            put(out, "DestinationS3Uri", "destination_s3_uri")
            put(out, "KmsKeyId", "kms_key_id")
        elif cls in ("Network", "Networking"):
            put(out, "enable_network_isolation", "enable_network_isolation", False)
            vpc: dict[str, Any] = {}
            put(vpc, "Subnets", "subnets")
            put(vpc, "SecurityGroupIds", "security_group_ids")
            if "vpc_config" in kwargs:
                put(out, "vpc_config", "vpc_config")
            elif vpc:
                out["vpc_config"] = vpc
                if "subnets" in where:
                    ev.positions.setdefault(id(out), {})["vpc_config"] = where["subnets"]
        elif cls == "Compute":
            put(out, "instance_type", "instance_type")
            put(out, "initial_instance_count", "instance_count")
        elif cls == "AsyncInferenceConfig":
            output: dict[str, Any] = {}
            put(output, "S3OutputPath", "output_path")
            put(output, "KmsKeyId", "kms_key_id")
            out["OutputConfig"] = output
        return out


def _flatten_builder(ev: Evaluator, kwargs: dict[str, Any]) -> None:
    """ModelBuilder(network=Network(...), compute=Compute(...)): their fields as the model's own."""
    for arg in ("network", "compute"):
        value = kwargs.get(arg)
        if isinstance(value, Unknown):
            key = "enable_network_isolation" if arg == "network" else "instance_type"
            kwargs[key] = value
        elif isinstance(value, dict):
            where = ev.positions.get(id(value), {})
            for key, item in value.items():
                kwargs.setdefault(key, item)
                if key in where:
                    ev.positions.setdefault(id(kwargs), {})[key] = where[key]
