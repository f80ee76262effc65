"""SageMaker API request files: the JSON (or YAML) bodies of CreateModel, CreateEndpointConfig,
CreateEndpoint and CreateInferenceComponent as passed to `aws sagemaker ... --cli-input-json`.

Detected by content (the request's own keys), one request per document, any number of files: a
CreateEndpoint request links to a CreateEndpointConfig request of the same check run by
`EndpointConfigName`, which links to CreateModel requests by `ModelName`. The requests of one run are
collected and converted together by `sources.sagemaker.api` once every file is loaded; a reference to
a request that is not among the checked files is an input error (exit 2) naming the file and line.
A `ModelDataUrl` that points at a local `model.tar.gz` (relative to the request file) has its LMI
`serving.properties` read, which wins over the container environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Location
from r1policy.core.model import Deployment
from r1policy.core.yamldoc import Document
from r1policy.sources.sagemaker.api import COMPONENT, CONFIG, ENDPOINT, MODEL, KeyPath, deployments_from_api
from r1policy.sources.servingprops import ServingProperties, read_local_serving_properties

_NOT_API = ("apiVersion", "kind", "Resources", "AWSTemplateFormatVersion", "format_version")


def api_kind(value: Any) -> str | None:
    """Which request a document is, by its keys; None when it is not a SageMaker API request."""
    if not isinstance(value, dict) or any(k in value for k in _NOT_API):
        return None
    if "ModelName" in value and ("PrimaryContainer" in value or "Containers" in value):
        return MODEL
    if "EndpointConfigName" in value and "ProductionVariants" in value:
        return CONFIG
    if "InferenceComponentName" in value and "Specification" in value:
        return COMPONENT
    if "EndpointName" in value and "EndpointConfigName" in value:
        return ENDPOINT
    return None


def is_api_request(value: Any) -> bool:
    return api_kind(value) is not None


class ApiRequests:
    """Collects the requests of one check run and links them once every file is loaded."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], Document] = {}

    def add(self, doc: Document) -> None:
        kind = api_kind(doc.value)
        assert kind is not None
        key = f"{kind}Name"
        name = doc.value.get(key)
        if not isinstance(name, str) or not name:
            raise InputError(doc.position((key,)), f"{key} must be a non-empty string")
        first = self.docs.get((kind, name))
        if first is not None:
            raise InputError(
                doc.position((key,)),
                f"duplicate {kind} request {name!r} (first at {first.position((key,))})",
            )
        self.docs[(kind, name)] = doc

    def finish(self) -> list[Deployment]:
        if not self.docs:
            return []

        def of(kind: str) -> list[dict[str, Any]]:
            return [doc.value for (k, _), doc in self.docs.items() if k == kind]

        def locate(kind: str, name: str, path: KeyPath) -> Location | None:
            doc = self.docs.get((kind, name))
            if doc is None:
                return None
            pos = doc.position(path)
            return Location(pos.path, pos.line, pos.column)

        result = deployments_from_api(
            of(MODEL),
            of(CONFIG),
            of(ENDPOINT),
            locate=locate,
            inference_components=of(COMPONENT),
            serving_properties=self._local_properties,
        )
        if result.problems:
            first = result.problems[0]
            where = first.location
            more = len(result.problems) - 1
            raise InputError(
                Position(where.path, where.line, where.column) if where else Position("(SageMaker API)"),
                first.message
                + (
                    " — its request is not among the checked files"
                    if "does not exist" in first.message
                    else ""
                )
                + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""),
            )
        return result.deployments

    def _local_properties(self, kind: str, name: str, url: str) -> ServingProperties | None:
        """serving.properties of a model.tar.gz next to the request file; S3 URLs are not read here."""
        doc = self.docs.get((kind, name))
        if doc is None or "://" in url or not url.endswith((".tar.gz", ".tgz")):
            return None
        path = Path(url) if Path(url).is_absolute() else Path(doc.path).parent / url
        return read_local_serving_properties(path)
