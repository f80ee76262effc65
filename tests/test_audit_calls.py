"""The audit's API calls on a moto world, counted with botocore's before-call hook: no read is repeated
for the same resource in a run, and the calls per resource stay within their budget (issue 23.3)."""

from __future__ import annotations

import collections
import threading
from typing import Any

from tests.support.auditgolden import REGIONS, seed_golden_world
from tests.support.callcount import identity
from tests.support.motoserver import MotoServer

SAGEMAKER_PER_ENDPOINT = 6  # issue 23.3's target: List* pages + Describe* of the endpoint's resources
S3_PER_BUCKET = 10  # location + 8 facts + policy status when a policy exists
S3_PER_MODEL_PREFIX = 2  # config.json and model.safetensors.index.json
KMS_PER_KEY = 3  # DescribeKey + GetKeyPolicy (R1-S3-011) + GetKeyRotationStatus
# GetRole, ListRolePolicies, ListAttachedRolePolicies + GetRolePolicy per inline policy + GetPolicy and
# GetPolicyVersion per attached policy: the test world's roles have one of each (R1-IAM-001/002)
IAM_PER_ROLE = 6


class Calls:
    def __init__(self) -> None:
        self.by_resource: collections.Counter[tuple[str, str]] = collections.Counter()
        self.by_service: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        ident = identity(params)
        with self._lock:
            self.by_service[model.service_model.service_name] += 1
            self.by_resource[(model.name, ident)] += 1


def test_no_read_is_repeated_and_calls_stay_within_budget(moto_env: MotoServer) -> None:
    from r1policy.aws.collect import collect_state
    from r1policy.aws.session import open_accounts

    seed_golden_world()
    accounts = open_accounts(region=REGIONS[0])
    calls = Calls()
    for account in accounts:
        account.on_event("before-call", calls)
    doc = collect_state(accounts, regions=list(REGIONS), sagemaker=True)

    repeated = {what: n for what, n in calls.by_resource.items() if n > 1 and what[1]}
    assert repeated == {}
    inventories = [r for regions in doc["sagemaker"].values() for r in regions.values()]
    endpoints = sum(len(r["endpoints"]) for r in inventories)
    assert endpoints == 11
    assert calls.by_service["sagemaker"] <= SAGEMAKER_PER_ENDPOINT * endpoints
    buckets, prefixes = len(doc["buckets"]), len(doc.get("model_files", {}))
    assert calls.by_service["s3"] <= S3_PER_BUCKET * buckets + S3_PER_MODEL_PREFIX * prefixes + len(accounts)
    assert calls.by_service["kms"] <= KMS_PER_KEY * len(doc["kms_keys"])
    roles = doc["statistics"]["iam_roles"]
    assert calls.by_service["iam"] == doc["statistics"]["iam_calls"] <= IAM_PER_ROLE * roles
    # CloudTrail (R1-S3-010): DescribeTrails once per (owning account, region), then per trail its status
    # and event selectors, once however many regions list it
    trails = {t["arn"] for b in doc["buckets"].values() for t in b.get("trails", []) if "arn" in t}
    assert calls.by_service["cloudtrail"] <= len(accounts) * len(REGIONS) + 2 * len(trails)
    # the one account-wide listing per account: ListBuckets, and S3 Control's account Block Public Access
    assert calls.by_resource[("ListBuckets", "")] == len(accounts)
