"""Which resource an AWS read is about, from its request parameters (botocore's before-call hook):
the test that no read is repeated (tests/test_audit_calls.py) and the audit benchmark
(bench/bench_audit.py) count calls per (operation, identity) with it."""

from __future__ import annotations

from typing import Any

# Request parameters that name the resource a read is about.
IDENTITY = (
    "Bucket",
    "Key",
    "KeyId",
    "ModelName",
    "EndpointConfigName",
    "EndpointName",
    "InferenceComponentName",
    "AccountId",
    "RoleName",
    "PolicyArn",
    "Name",  # CloudTrail GetTrailStatus
    "TrailName",  # CloudTrail GetEventSelectors
)


def identity(params: dict[str, Any]) -> str:
    """ "Bucket=b,Key=k" for a read of one resource; "" for a listing."""
    return ",".join(f"{k}={params[k]}" for k in IDENTITY if k in params)
