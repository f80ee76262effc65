"""A resource a reader cannot see into (a custom resource, a macro, a remote nested stack, a Terraform
resource type it does not know): an `error` for every rule, naming the resource, never "nothing to judge".

It is recorded as a deployment whose every field is unknown, with the reason, so that every rule that
applies to deployments reports `error` at the resource's file and line: what it creates may be a
model, an endpoint or a bucket, and nothing in the files says which.
"""

from __future__ import annotations

from r1policy.core.findings import Location
from r1policy.core.model import (
    FIELD_ASYNC,
    FIELD_DATA_CAPTURE,
    FIELD_DTYPE,
    FIELD_IMAGE,
    FIELD_INSTANCE_TYPE,
    FIELD_KMS,
    FIELD_MODEL,
    FIELD_NETWORK_ISOLATION,
    FIELD_PARAMETERS,
    FIELD_REGION,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_S3_URI,
    FIELD_TRUST_REMOTE_CODE,
    FIELD_VPC,
    Deployment,
    Endpoint,
    ModelSource,
    SourceKind,
)

EVERY_FIELD = (
    FIELD_MODEL,
    FIELD_REPO,
    FIELD_REVISION,
    FIELD_S3_URI,
    FIELD_PARAMETERS,
    FIELD_DTYPE,
    FIELD_TRUST_REMOTE_CODE,
    FIELD_IMAGE,
    FIELD_INSTANCE_TYPE,
    FIELD_NETWORK_ISOLATION,
    FIELD_VPC,
    FIELD_KMS,
    FIELD_DATA_CAPTURE,
    FIELD_ASYNC,
    FIELD_REGION,
    "bucket.region",
    "instance.capacity",
)


def opaque(name: str, origin: Location, why: str) -> Deployment:
    """A deployment standing for a resource that cannot be judged: every rule is `error` with `why`."""
    return Deployment(
        name=name,
        model=ModelSource(SourceKind.NONE),
        image=None,
        endpoint=Endpoint(name=name, region=None, instance_type=None),
        origin=origin,
        unknown=dict.fromkeys(EVERY_FIELD, why),
    )


def is_opaque(dep: Deployment) -> bool:
    return dep.model.kind is SourceKind.NONE and all(f in dep.unknown for f in EVERY_FIELD)
