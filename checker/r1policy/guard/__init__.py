"""Deploy-time guard: judge SageMaker requests with r1policy's engine before boto3 sends them.

    import r1policy.guard
    r1policy.guard.install(config="r1policy.yaml")      # or R1POLICY_GUARD=1 + autoinstall()

From then on every SageMaker client in the process (boto3, botocore, SageMaker SDK v2/v3, which all
send through botocore) evaluates CreateModel, CreateEndpointConfig, CreateEndpoint, UpdateEndpoint,
CreateInferenceComponent and UpdateInferenceComponent requests before they are sent, and raises
`GuardBlocked` — nothing is sent — when a rule blocks.

How it hooks in: `install()` wraps `botocore.client.BaseClient._make_api_call`, the one method every
botocore client (whatever session created it, and whenever: clients created BEFORE `install()` are
covered too) sends each operation through. The wrapper judges the SageMaker operations above and
passes everything else on untouched; `uninstall()` restores the original method.

What a request is judged with: CreateModel alone (model-source, publisher, revision, remote-code,
bucket-allowlist and image rules; endpoint rules are decided later); CreateEndpointConfig with the
models it names; CreateEndpoint / UpdateEndpoint with the config and its models;
CreateInferenceComponent with its endpoint's config; UpdateInferenceComponent with the component as it
is (DescribeInferenceComponent) and the new specification; shadow variants like every variant. Which
variables the container reads (TGI's `TRUST_REMOTE_CODE` as well as `HF_MODEL_TRUST_REMOTE_CODE`, LMI's
`OPTION_*`) comes from the shared model of each serving container (`sources.servers`). Referenced
resources come from requests this guard saw in the process, else from read-only Describe calls on
the same client. A referenced resource that cannot be read blocks (fail closed). A `ModelDataUrl`
tarball's LMI `serving.properties` is streamed from S3 with a read-only GetObject (`read_model_archives`).
By default the guard is static (only what the requests decide; rules that need bucket or Hub state
are skipped); `live=True` also reads the buckets' state and the Hub.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from r1policy.core.errors import R1PolicyError
from r1policy.core.findings import Finding
from r1policy.sources.sagemaker.api import ApiProblem, deployments_from_api
from r1policy.sources.servingprops import ServingProperties, read_s3_serving_properties

ENV_SWITCH = "R1POLICY_GUARD"
ENV_CONFIG = "R1POLICY_CONFIG"
ENV_POLICIES = "R1POLICY_POLICIES"
OPERATIONS = (
    "CreateModel",
    "CreateEndpointConfig",
    "CreateEndpoint",
    "UpdateEndpoint",
    "CreateInferenceComponent",
    "UpdateInferenceComponent",
)
_LOG = logging.getLogger("r1policy.guard")


class GuardBlocked(R1PolicyError):
    """A SageMaker request was stopped before it was sent: blocking findings, or unreadable facts."""

    def __init__(
        self,
        operation: str,
        name: str,
        findings: Sequence[Finding] = (),
        problems: Sequence[ApiProblem] = (),
    ) -> None:
        self.operation = operation
        self.name = name
        self.findings = tuple(findings)
        self.problems = tuple(problems)
        super().__init__(self.describe())

    def describe(self) -> str:
        count = len(self.findings) + len(self.problems)
        lines = [f"r1policy guard blocked SageMaker {self.operation} {self.name!r} ({count} blocking):"]
        for problem in self.problems:
            lines.append(f"  - {problem.resource_id}: {problem.message}")
        for f in self.findings:
            lines.append(
                f"  - {f.rule_id} [{f.severity.value}, {f.status.value}] {f.subject.id}: {f.message}"
            )
            if f.remediation is not None:
                lines.append(f"    fix: {f.remediation.summary}")
                lines.extend(f"      * {step}" for step in f.remediation.steps)
        return "\n".join(lines)


@dataclass
class Guard:
    """The installed guard: its rules, configuration, and the requests it has seen."""

    config_path: Path | None = None
    policies: tuple[Path, ...] = ()
    live: bool = False
    read_model_archives: bool = True
    active: bool = True
    seen: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        from r1policy.project.config import load_config
        from r1policy.rules.registry import load_registry

        # Loaded once, at install time: a bad config or policy fails install(), not a later request.
        self.config = load_config(self.config_path, Path.cwd())
        self.registry = load_registry(list(self.policies))

    # -- botocore hook ----------------------------------------------------------------------
    def on_request(self, params: Mapping[str, Any], *, client: Any, operation: str, **_: Any) -> None:
        if not self.active:
            return
        request = dict(params)
        name = str(request.get(_NAME_KEY[operation], "?"))
        models, configs, endpoints, components = self._gather(operation, request, client)
        region = getattr(getattr(client, "meta", None), "region_name", None)
        result = deployments_from_api(
            models,
            configs,
            endpoints,
            region=region,
            inference_components=components,
            serving_properties=partial(self._archive, client) if self.read_model_archives else None,
        )
        if result.problems:
            raise GuardBlocked(operation, name, problems=result.problems)
        findings = self._evaluate(result.deployments)
        blocking = [f for f in findings if f.blocks]
        for f in findings:
            if f.warns:
                _LOG.warning("%s %s: %s %s", operation, name, f.rule_id, f.message)
        if blocking:
            raise GuardBlocked(operation, name, blocking)
        if operation == "CreateModel" and self.config.attestation.trusted_keys:
            from r1policy.attest.guardcheck import attestation_problems

            unattested = attestation_problems(self.config, result.deployments)
            if unattested:
                raise GuardBlocked(operation, name, problems=unattested)
        kind = _KIND[operation]
        if kind is not None:
            with self.lock:
                self.seen[(kind, name)] = request

    def _gather(
        self, operation: str, request: dict[str, Any], client: Any
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        models: list[dict[str, Any]] = []
        configs: list[dict[str, Any]] = []
        endpoints: list[dict[str, Any]] = []
        components: list[dict[str, Any]] = []
        if operation == "CreateModel":
            return [request], configs, endpoints, components
        if operation == "UpdateInferenceComponent":
            request = self._updated_component(client, request)
        if operation in ("CreateInferenceComponent", "UpdateInferenceComponent"):
            components.append(request)
            endpoint_name = request.get("EndpointName")
            described = self._lookup(client, "Endpoint", endpoint_name)
            if described is not None:  # else the converter reports the dangling reference
                endpoints.append(described)
            spec = request.get("Specification")
            if isinstance(spec, dict) and isinstance(spec.get("ModelName"), str):
                models.extend(self._models(client, [spec["ModelName"]]))
            config_name = described.get("EndpointConfigName") if described else None
        elif operation == "CreateEndpointConfig":
            configs.append(request)
            config_name = None
        else:  # CreateEndpoint, UpdateEndpoint
            endpoints.append(request)
            config_name = request.get("EndpointConfigName")
        if config_name is not None:
            config = self._lookup(client, "EndpointConfig", config_name)
            if config is not None:
                configs.append(config)
        names = [
            v["ModelName"]
            for c in configs
            for key in ("ProductionVariants", "ShadowProductionVariants")
            for v in c.get(key) or ()
            if isinstance(v, dict) and isinstance(v.get("ModelName"), str)
        ]
        models.extend(self._models(client, names))
        return models, configs, endpoints, components

    def _updated_component(self, client: Any, request: dict[str, Any]) -> dict[str, Any]:
        """The inference component as it will be after the update: what it is, with the new settings."""
        name = request.get("InferenceComponentName")
        current = self._lookup(client, "InferenceComponent", name)
        if current is None:
            raise GuardBlocked(
                "UpdateInferenceComponent",
                str(name),
                problems=[ApiProblem(f"InferenceComponent {name}", "does not exist or cannot be read")],
            )
        merged = {k: v for k, v in current.items() if k in ("InferenceComponentName", "EndpointName")}
        merged["VariantName"] = current.get("VariantName")
        spec = dict(current.get("Specification") or {})
        container = spec.get("Container")
        if isinstance(container, dict) and "DeployedImage" in container and "Image" not in container:
            deployed = container["DeployedImage"]
            image = deployed.get("SpecifiedImage") if isinstance(deployed, dict) else None
            spec["Container"] = {**container, "Image": image}
        if isinstance(request.get("Specification"), dict):
            spec = dict(request["Specification"])  # an update replaces the specification
        merged["Specification"] = spec
        return merged

    def _models(self, client: Any, names: Iterable[str]) -> list[dict[str, Any]]:
        found = []
        for name in dict.fromkeys(names):
            model = self._lookup(client, "Model", name)
            if model is not None:
                found.append(model)
        return found

    def _lookup(self, client: Any, kind: str, name: Any) -> dict[str, Any] | None:
        """A request this guard saw, else a read-only Describe* call; None when it does not exist."""
        if not isinstance(name, str) or not name:
            return None
        with self.lock:
            remembered = self.seen.get((kind, name))
        if remembered is not None:
            return remembered
        from botocore.exceptions import BotoCoreError, ClientError

        describe = getattr(client, _DESCRIBE[kind])
        try:
            response: dict[str, Any] = describe(**{f"{kind}Name": name})
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "")
            if code in ("ValidationException", "ResourceNotFound") and "not" in message.lower():
                return None  # reported as a dangling reference by the converter
            raise GuardBlocked(
                "Describe" + kind, name, problems=[ApiProblem(f"{kind} {name}", f"cannot be read: {exc}")]
            ) from exc
        except BotoCoreError as exc:
            raise GuardBlocked(
                "Describe" + kind, name, problems=[ApiProblem(f"{kind} {name}", f"cannot be read: {exc}")]
            ) from exc
        response.pop("ResponseMetadata", None)
        return response

    def _archive(self, client: Any, kind: str, name: str, url: str) -> ServingProperties | None:
        if not url.startswith("s3://") or not url.endswith((".tar.gz", ".tgz")):
            return None
        import boto3

        s3 = boto3.client("s3", region_name=getattr(client.meta, "region_name", None))
        return read_s3_serving_properties(s3, url)

    def _evaluate(self, deployments: list[Any]) -> list[Finding]:
        from r1policy.engine.evaluate import Evaluator

        state = None
        if self.live and deployments:
            from r1policy.aws.live import live_state

            state = live_state(deployments)
        evaluator = Evaluator(self.registry, self.config, state=state, static=not self.live)
        return evaluator.evaluate(deployments).findings


_NAME_KEY = {
    "CreateModel": "ModelName",
    "CreateEndpointConfig": "EndpointConfigName",
    "CreateEndpoint": "EndpointName",
    "UpdateEndpoint": "EndpointName",
    "CreateInferenceComponent": "InferenceComponentName",
    "UpdateInferenceComponent": "InferenceComponentName",
}
_KIND: dict[str, str | None] = {
    "CreateModel": "Model",
    "CreateEndpointConfig": "EndpointConfig",
    "CreateEndpoint": "Endpoint",
    "UpdateEndpoint": None,
    "CreateInferenceComponent": "InferenceComponent",
    "UpdateInferenceComponent": None,
}
_DESCRIBE = {
    "Model": "describe_model",
    "EndpointConfig": "describe_endpoint_config",
    "Endpoint": "describe_endpoint",
    "InferenceComponent": "describe_inference_component",
}

_STATE: dict[str, Guard | None] = {"guard": None}
_ORIGINAL: dict[str, Any] = {}
_GUARDED = frozenset(OPERATIONS)


def _guarded_make_api_call(self: Any, operation_name: str, api_params: Mapping[str, Any]) -> Any:
    """botocore's `_make_api_call`, with the guard's judgement first for SageMaker's deploy calls."""
    guard = _STATE["guard"]
    if guard is not None and operation_name in _GUARDED and _service(self) == "sagemaker":
        guard.on_request(api_params, client=self, operation=operation_name)
    return _ORIGINAL["_make_api_call"](self, operation_name, api_params)


def _service(client: Any) -> str | None:
    meta = getattr(client, "meta", None)
    model = getattr(meta, "service_model", None)
    name = getattr(model, "service_name", None)
    return name if isinstance(name, str) else None


def install(
    config: str | Path | None = None,
    policies: Sequence[str | Path] = (),
    *,
    live: bool = False,
    read_model_archives: bool = True,
    sessions: Sequence[Any] = (),
) -> Guard:
    """Guard every SageMaker client of the process, existing or future; returns the guard (idempotent:
    replaces it). `sessions` is accepted for compatibility: every session's clients are covered."""
    from botocore.client import BaseClient

    del sessions
    guard = Guard(
        config_path=Path(config) if config is not None else None,
        policies=tuple(Path(p) for p in policies),
        live=live,
        read_model_archives=read_model_archives,
    )
    previous = _STATE["guard"]
    if previous is not None:
        previous.active = False
    _STATE["guard"] = guard
    if "_make_api_call" not in _ORIGINAL:
        _ORIGINAL["_make_api_call"] = BaseClient._make_api_call
        BaseClient._make_api_call = _guarded_make_api_call
    return guard


def uninstall() -> None:
    """Stop guarding and restore botocore's own `_make_api_call`."""
    from botocore.client import BaseClient

    guard = _STATE["guard"]
    if guard is not None:
        guard.active = False
    _STATE["guard"] = None
    original = _ORIGINAL.pop("_make_api_call", None)
    if original is not None:
        BaseClient._make_api_call = original


def autoinstall(environ: Mapping[str, str] | None = None) -> Guard | None:
    """`install()` when R1POLICY_GUARD=1 (config from R1POLICY_CONFIG, extra policy folders from
    R1POLICY_POLICIES separated by os.pathsep); for sitecustomize/usercustomize."""
    env = os.environ if environ is None else environ
    if env.get(ENV_SWITCH, "").strip().lower() not in ("1", "true", "yes", "on"):
        return None
    policies = [p for p in env.get(ENV_POLICIES, "").split(os.pathsep) if p]
    return install(config=env.get(ENV_CONFIG) or None, policies=policies)


def current() -> Guard | None:
    return _STATE["guard"]
