"""The collection's side-by-side reads (issue 23.3) and the test server's latency switch (issue 17's
benchmark): roles read as parallel tasks still read a policy that several roles attach once, give the
records a one-by-one read gives, and the moto server answers late when asked to."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from tests.support.motoserver import MotoServer

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
SHARED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::weights/*"}],
}


def _roles(count: int) -> list[str]:
    iam = boto3.client("iam")
    policy = iam.create_policy(PolicyName="shared-read", PolicyDocument=json.dumps(SHARED))["Policy"]["Arn"]
    arns = []
    for i in range(count):
        role = iam.create_role(RoleName=f"exec-{i}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
        iam.attach_role_policy(RoleName=f"exec-{i}", PolicyArn=policy)
        iam.put_role_policy(RoleName=f"exec-{i}", PolicyName="inline", PolicyDocument=json.dumps(SHARED))
        arns.append(role["Arn"])
    return arns


def test_roles_read_side_by_side_read_a_shared_policy_once(moto_env: MotoServer) -> None:
    from r1policy.aws.iam import RoleReader
    from r1policy.aws.pools import Pools
    from r1policy.aws.session import open_accounts

    arns = _roles(6)
    accounts = open_accounts(region="us-east-1")
    calls: list[tuple[str, str]] = []

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, str(params.get("RoleName") or params.get("PolicyArn"))))

    accounts[0].on_event("provide-client-params", count)  # the API parameters
    reader = RoleReader(accounts)
    with Pools() as pools:
        futures = reader.start(arns + arns[:2], pools)  # a role named twice is still read once
        parallel = {arn: future.result() for arn, future in futures.items()}
    assert sorted(parallel) == sorted(arns)
    assert len(calls) == len(set(calls))  # no read repeated: the shared policy's two reads happen once
    assert sum(1 for op, _ in calls if op == "GetPolicy") == 1
    assert reader.total_calls == len(calls) == 4 * 6 + 2
    assert parallel == RoleReader(accounts).read_all(arns)  # the same records as one by one


def test_moto_server_answers_late_when_asked(moto_env: MotoServer) -> None:
    s3 = boto3.client("s3")
    s3.list_buckets()
    try:
        moto_env.set_latency(300)
        started = time.perf_counter()
        s3.list_buckets()
        assert time.perf_counter() - started >= 0.3
    finally:
        moto_env.set_latency(0)
