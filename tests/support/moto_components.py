"""SageMaker inference components for the test moto server (moto 5.2 has none of these operations).

Applied in the moto server child by ``tests/support/motoserver.py``: CreateEndpointConfig accepts
inference-component variants (no ``ModelName``; moto fails with a KeyError), CreateInferenceComponent,
DescribeInferenceComponent, ListInferenceComponents (``EndpointNameEquals`` / ``VariantNameEquals``
filters, ``MaxResults`` / ``NextToken`` pages) and DeleteInferenceComponent, kept per account and
region on moto's own SageMaker backend (so ``/moto-api/reset`` forgets them). Shapes follow the
SageMaker API reference; a component needs an existing endpoint, and a missing one is answered as
SageMaker does (``ValidationException``, "Could not find inference component ...").
"""

from __future__ import annotations

import datetime as _dt
from typing import Any


def patch_inference_components() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker import models, responses
    from moto.sagemaker.exceptions import ValidationError

    response_cls: Any = responses.SageMakerResponse
    backend_cls: Any = models.SageMakerModelBackend
    original_validate = backend_cls.validate_production_variants

    def validate_production_variants(self: Any, variants: list[dict[str, Any]]) -> None:
        # An inference-component variant names no model (its models come from the components).
        original_validate(self, [v for v in variants or () if "ModelName" in v])

    backend_cls.validate_production_variants = validate_production_variants

    def store(self: Any) -> dict[str, dict[str, Any]]:
        backend = self.sagemaker_backend
        if not hasattr(backend, "_r1_inference_components"):
            backend._r1_inference_components = {}
        found: dict[str, dict[str, Any]] = backend._r1_inference_components
        return found

    def create_inference_component(self: Any) -> Any:
        name = self._get_param("InferenceComponentName")
        endpoint_name = self._get_param("EndpointName")
        endpoint = self.sagemaker_backend.endpoints.get(endpoint_name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint '{endpoint_name}'.")
        if name in store(self):
            raise ValidationError(message=f"Cannot create already existing inference component '{name}'.")
        backend = self.sagemaker_backend
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-component/{name}"
        now = _dt.datetime.now(_dt.UTC)
        runtime = self._get_param("RuntimeConfig") or {}
        copies = runtime.get("CopyCount", 1)
        store(self)[name] = {
            "InferenceComponentName": name,
            "InferenceComponentArn": arn,
            "EndpointName": endpoint_name,
            "EndpointArn": endpoint.arn,
            "VariantName": self._get_param("VariantName"),
            "Specification": self._get_param("Specification") or {},
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
            "CreationTime": now,
            "LastModifiedTime": now,
            "InferenceComponentStatus": "InService",
        }
        return ActionResult({"InferenceComponentArn": arn})

    def describe_inference_component(self: Any) -> Any:
        name = self._get_param("InferenceComponentName")
        found = store(self).get(name)
        if found is None:
            raise ValidationError(message=f"Could not find inference component '{name}'.")
        return ActionResult(dict(found))

    def list_inference_components(self: Any) -> Any:
        endpoint = self._get_param("EndpointNameEquals")
        variant = self._get_param("VariantNameEquals")
        items = [
            {k: v for k, v in c.items() if k not in ("Specification", "RuntimeConfig")}
            for _, c in sorted(store(self).items())
            if endpoint in (None, c["EndpointName"]) and variant in (None, c["VariantName"])
        ]
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 50)
        result: dict[str, Any] = {"InferenceComponents": items[start : start + size]}
        if start + size < len(items):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    def delete_inference_component(self: Any) -> Any:
        name = self._get_param("InferenceComponentName")
        if store(self).pop(name, None) is None:
            raise ValidationError(message=f"Could not find inference component '{name}'.")
        return EmptyResult()

    response_cls.create_inference_component = create_inference_component
    response_cls.describe_inference_component = describe_inference_component
    response_cls.list_inference_components = list_inference_components
    response_cls.delete_inference_component = delete_inference_component
