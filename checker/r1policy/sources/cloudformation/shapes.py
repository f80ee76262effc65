"""The bridge from CloudFormation and Terraform resources to the SageMaker API converter.

Both formats describe models, endpoint configs and endpoints with the API's fields (CloudFormation
literally, Terraform in snake_case), so they are turned into API-shaped dicts and converted by
`sagemaker_api.deployments_from_api`, like request files. What the files leave undecided travels as
`Unknown` values: `ApiBridge` hands the converter type-correct stand-ins, and marks the deployment
fields those values feed as unknown (`Deployment.unknown`), so that every rule reading them is `error`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Location
from r1policy.core.model import (
    FIELD_ASYNC,
    FIELD_DATA_CAPTURE,
    FIELD_IMAGE,
    FIELD_INSTANCE_TYPE,
    FIELD_KMS,
    FIELD_MODEL,
    FIELD_NETWORK_ISOLATION,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_S3_URI,
    FIELD_TRUST_REMOTE_CODE,
    FIELD_VPC,
    Deployment,
)
from r1policy.sources.cloudformation.values import NOVALUE, Unknown
from r1policy.sources.containerenv import MODEL_ID_VARS, REVISION_VARS, TRUST_VARS
from r1policy.sources.sagemaker.api import COMPONENT, CONFIG, ENDPOINT, MODEL, KeyPath, deployments_from_api

# Properties whose placeholder must keep the type the converter expects.
_BOOLEAN_KEYS = {"EnableNetworkIsolation", "EnableCapture"}
_INTEGER_KEYS = {"InitialInstanceCount", "InitialSamplingPercentage"}
_OBJECT_KEYS = {
    "VpcConfig",
    "PrimaryContainer",
    "DataCaptureConfig",
    "AsyncInferenceConfig",
    "OutputConfig",
    "Environment",
    "ModelDataSource",
    "S3DataSource",
    "ServerlessConfig",
    "Specification",
    "Container",
    "ImageConfig",
}
_ID_LIST_KEYS = {"Subnets", "SecurityGroupIds"}  # a list parameter: present, its ids unknown
_LIST_KEYS = {"Containers", "ProductionVariants", "ShadowProductionVariants", "CaptureOptions"}
_MODEL_FIELDS = (FIELD_MODEL, FIELD_REPO, FIELD_S3_URI, FIELD_REVISION, FIELD_TRUST_REMOTE_CODE)
Locator = Callable[[KeyPath], Location]


class ApiBridge:
    """Collects API-shaped resources (each keyed by a logical id or a resource address) and converts them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.shapes: dict[str, list[dict[str, Any]]] = {MODEL: [], CONFIG: [], ENDPOINT: [], COMPONENT: []}
        self.keys: dict[tuple[str, str], str] = {}  # (kind, API name) -> key
        self.locators: dict[str, Locator] = {}
        self.unknown: dict[str, dict[str, str]] = {}  # key -> field -> why
        self.located: dict[Location, str] = {}  # a location handed to the converter -> key

    def add(self, kind: str, key: str, shape: dict[str, Any], locator: Locator) -> None:
        """Add a resource; `shape` may hold `Unknown` values (replaced here by stand-ins)."""
        sink: dict[KeyPath, Unknown] = {}
        plain: dict[str, Any] = placeholders(shape, (), sink)
        self.shapes[kind].append(plain)
        self.keys[(kind, str(plain[f"{kind}Name"]))] = key
        self.locators[key] = locator
        fields: dict[str, str] = {}
        for where, unknown in sink.items():
            for name in unknown_fields(kind, where, unknown):
                fields.setdefault(name, f"{_where(where)}: {unknown.why}")
        if kind == CONFIG and FIELD_INSTANCE_TYPE in fields and not plain.get("KmsKeyId"):
            # Whether the volume needs a KMS key depends on the instance type (local NVMe or not).
            fields.setdefault(FIELD_KMS, fields[FIELD_INSTANCE_TYPE])
        self.unknown[key] = fields

    def locate(self, kind: str, name: str, path: KeyPath) -> Location | None:
        key = self.keys.get((kind, name))
        if key is None:
            return None
        where = self.locators[key](path)
        self.located.setdefault(where, key)
        return where

    def convert(self, *, region: str | None = None) -> list[tuple[Deployment, set[str]]]:
        """Deployments, each with the keys of the resources it came from."""
        result = deployments_from_api(
            self.shapes[MODEL],
            self.shapes[CONFIG],
            self.shapes[ENDPOINT],
            region=region,
            locate=self.locate,
            inference_components=self.shapes[COMPONENT],
        )
        if result.problems:
            problem = result.problems[0]
            where = problem.location
            raise InputError(
                Position(where.path, where.line, where.column) if where else Position(self.path),
                f"{problem.resource_id}: {problem.message}",
            )
        out: list[tuple[Deployment, set[str]]] = []
        for dep in result.deployments:
            involved = {self.located[w] for w in (dep.origin, *dep.locations.values()) if w in self.located}
            unknown: dict[str, str] = {}
            for key in sorted(involved):
                for name, why in self.unknown.get(key, {}).items():
                    unknown.setdefault(name, why)
            out.append((dataclasses.replace(dep, unknown=unknown) if unknown else dep, involved))
        return out


def placeholders(value: Any, path: KeyPath, sink: dict[KeyPath, Unknown]) -> Any:
    """The resolved value with each `Unknown` replaced by a stand-in of the right type, recorded in `sink`."""
    if isinstance(value, Unknown):
        sink[path] = value
        key = path[-1] if path else ""
        if key in _BOOLEAN_KEYS:
            return False
        if key in _INTEGER_KEYS:
            return 1
        if key in _OBJECT_KEYS:
            return {}
        if key in _ID_LIST_KEYS:
            return [value.display]
        if key in _LIST_KEYS:
            return []
        return value.display
    if isinstance(value, dict):
        return {k: placeholders(v, (*path, k), sink) for k, v in value.items() if v is not NOVALUE}
    if isinstance(value, list):
        return [placeholders(v, (*path, i), sink) for i, v in enumerate(value)]
    key = path[-1] if path else ""
    if isinstance(value, str) and key in _BOOLEAN_KEYS and value.lower() in ("true", "false"):
        return value.lower() == "true"  # a parameter's "true": CloudFormation converts it to the boolean
    if isinstance(value, str) and key in _INTEGER_KEYS and value.isdigit():
        return int(value)
    if isinstance(value, bool | int | float) and len(path) > 1 and path[-2] == "Environment":
        return (
            ("true" if value else "false") if isinstance(value, bool) else str(value)
        )  # as CloudFormation passes it
    return value


def _where(path: KeyPath) -> str:
    return ".".join(str(p) for p in path) or "the resource"


def unknown_fields(kind: str, path: KeyPath, unknown: Unknown) -> tuple[str, ...]:
    """Which deployment fields an unknown property value leaves undecided."""
    keys = [p for p in path if isinstance(p, str)]
    if kind == ENDPOINT:
        return ()
    if kind in (MODEL, COMPONENT):
        if "Environment" in keys:
            var = keys[-1] if keys[-1] != "Environment" else None
            if var is None:
                return _MODEL_FIELDS
            if var in MODEL_ID_VARS:
                return (FIELD_MODEL, FIELD_REPO, FIELD_S3_URI)
            if var in REVISION_VARS:
                return (FIELD_REVISION,)
            if var in TRUST_VARS:
                return (FIELD_TRUST_REMOTE_CODE,)
            return ()
        if "Image" in keys:
            return () if _only_region_in_registry(unknown.display) else (FIELD_IMAGE,)
        if "ModelDataUrl" in keys or "ModelDataSource" in keys:
            if not unknown.display.startswith("s3://"):
                return (FIELD_MODEL, FIELD_S3_URI)
            bucket = unknown.display[5:].split("/", 1)[0]
            # Only an undecided bucket matters to the rules (an undecided key does not).
            return (FIELD_S3_URI,) if "${" in bucket or "{" in bucket else ()
        if keys and keys[-1] in ("PrimaryContainer", "Containers", "Specification", "Container"):
            return (*_MODEL_FIELDS, FIELD_IMAGE)
    if "EnableNetworkIsolation" in keys:
        return (FIELD_NETWORK_ISOLATION,)
    if "VpcConfig" in keys:
        # Subnet or security group ids from a list parameter: the VPC is there, which ids is unknown.
        ids_only = keys[-1] in _ID_LIST_KEYS and not unknown.maybe_absent
        return () if ids_only else (FIELD_VPC,)
    if kind == CONFIG:
        variants = {"ProductionVariants", "ShadowProductionVariants"}
        if variants & set(keys):
            return (FIELD_INSTANCE_TYPE,) if keys[-1] in ("InstanceType", *variants) else ()
        if keys == ["KmsKeyId"]:
            return (FIELD_KMS,) if unknown.maybe_absent else ()
        if "DataCaptureConfig" in keys:
            relevant = keys[-1] in ("EnableCapture", "DataCaptureConfig") or unknown.maybe_absent
            return (FIELD_DATA_CAPTURE,) if relevant else ()
        if "AsyncInferenceConfig" in keys:
            return (FIELD_ASYNC,) if keys[-1] == "KmsKeyId" and unknown.maybe_absent else ()
    return ()


_REGION_PLACEHOLDERS = re.compile(r"\$\{AWS::(?:Region|URLSuffix|Partition|AccountId)\}")


def _only_region_in_registry(image: str) -> bool:
    """`123.dkr.ecr.${AWS::Region}.amazonaws.com/repo:tag`: only the registry's region is left open, and
    the image (repository, tag or digest) is known; approved-registry patterns decide with globs."""
    host, _, rest = image.partition("/")
    return (
        bool(rest) and "${" not in rest and "{" not in rest and "${" not in _REGION_PLACEHOLDERS.sub("", host)
    )
