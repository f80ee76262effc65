"""An AWS Organization in the moto server: member accounts (Organizations CreateAccount), each with the
read-only auditor role trusting the management account, seeded through OrganizationAccountAccessRole.

    org = Organization.create(names=["team-a", "team-b"])       # management = moto's default account
    member = org.members[0]                                    # Member: .account_id, .name, .world
    member.world.seed_bucket(Bucket("a-models"))               # a tests.support.awsworld.World
    org.add_auditor_role(member, external_id="abc")            # create() does it (see without_auditor)

Used by tests and by ``bench/bench_org.py`` (which puts the repository root on ``sys.path``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from tests.support.awsworld import World

ROOT = Path(__file__).resolve().parents[2]
AUDITOR_POLICY = ROOT / "policies" / "iam" / "r1policy-auditor.json"
ORG_ROLE = "OrganizationAccountAccessRole"


def trust_policy(account: str, external_id: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


class MemberWorld(World):
    """A member account's World: bucket names are global, so its access-log buckets carry its id."""

    def __init__(self, session: boto3.Session, account_id: str) -> None:
        super().__init__(session)
        self.member_id = account_id

    def log_bucket(self, region: str = "us-east-1") -> str:
        name = f"r1-access-logs-{self.member_id}-{region}"
        if name not in self._log_buckets:
            s3 = self.client("s3", region)
            kwargs: dict[str, Any] = {"Bucket": name}
            if region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            s3.create_bucket(**kwargs)
            s3.put_bucket_acl(Bucket=name, ACL="log-delivery-write")
            self._log_buckets.add(name)
        return name


@dataclass
class Member:
    account_id: str
    name: str
    world: World


@dataclass
class Organization:
    management: str
    members: list[Member] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        names: Sequence[str],
        *,
        role_name: str = "r1policy-auditor",
        external_id: str | None = None,
        auditor: bool = True,
        without_auditor: Sequence[str] = (),
    ) -> Organization:
        org_client = boto3.client("organizations", region_name="us-east-1")
        org_client.create_organization(FeatureSet="ALL")
        management = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
        org = cls(str(management))
        for name in names:
            status = org_client.create_account(Email=f"{name}@example.com", AccountName=name)
            account_id = str(status["CreateAccountStatus"]["AccountId"])
            member = Member(account_id, name, MemberWorld(org.session_in(account_id, ORG_ROLE), account_id))
            org.members.append(member)
            if auditor and name not in without_auditor:
                org.add_auditor_role(member, role_name=role_name, external_id=external_id)
        return org

    def session_in(self, account_id: str, role: str, external_id: str | None = None) -> boto3.Session:
        kwargs: dict[str, str] = {
            "RoleArn": f"arn:aws:iam::{account_id}:role/{role}",
            "RoleSessionName": "seed",
        }
        if external_id:
            kwargs["ExternalId"] = external_id
        creds = boto3.client("sts", region_name="us-east-1").assume_role(**kwargs)["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name="us-east-1",
        )

    def add_auditor_role(
        self, member: Member, *, role_name: str = "r1policy-auditor", external_id: str | None = None
    ) -> None:
        iam = member.world.client("iam")
        iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(self.management, external_id)),
        )
        iam.put_role_policy(
            RoleName=role_name, PolicyName="r1policy-auditor", PolicyDocument=AUDITOR_POLICY.read_text()
        )

    def close(self, member: Member) -> None:
        boto3.client("organizations", region_name="us-east-1").close_account(AccountId=member.account_id)
