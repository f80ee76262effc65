"""Seed an AWS world on the moto server through boto3 (real HTTP): buckets with every fact the S3
rules read, KMS keys, account-level Block Public Access, SageMaker models/configs/endpoints.

Used by the collector tests, the benchmark and the demo. Every ``Bucket``/``Endpoint`` field
defaults to the compliant choice; a test changes only what it is about.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3

ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
PAB_ON = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def tls_deny_policy(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def public_read_policy(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


@dataclass
class Bucket:
    name: str
    region: str = "us-east-1"
    encryption: str | None = "kms"  # "kms" (customer key), "aws-kms" (alias/aws/s3), "AES256", None
    kms_key: str | None = None  # filled by seed_bucket when encryption == "kms" and none given
    block_public_access: bool = True
    policy: Any = "tls"  # "tls", "public", a dict, a raw string (sent verbatim), or None
    public_acl: bool = False
    versioning: bool = True
    object_lock: bool = False
    logging: bool = True
    data_events: bool = True  # a logging multi-region trail records the bucket's object writes (R1-S3-010)


@dataclass
class Endpoint:
    name: str
    bucket: str
    region: str = "us-east-1"
    instance_type: str = "ml.g5.2xlarge"
    network_isolation: bool = True
    vpc: bool = True
    kms_key: str | None = "auto"  # "auto": a new customer key; None: no volume key
    model_exists: bool = True  # False: the model is deleted after the endpoint is created
    image: str = IMAGE
    extra: dict[str, Any] = field(default_factory=dict)
    # The execution role (created once per name): "read" gets a scoped read-only inline policy and an
    # attached customer managed policy; "s3-star" an inline s3:* on the model bucket (R1-IAM-001/002 fail).
    role: str = "sagemaker-execution"
    role_access: str = "read"


class World:
    """boto3 clients for one account, created on demand per service and region."""

    def __init__(self, session: boto3.Session | None = None) -> None:
        from r1policy.aws.session import install_s3control_fix

        self.session = session or boto3.Session()
        install_s3control_fix(self.session)
        self._clients: dict[tuple[str, str], Any] = {}
        self._keys: dict[str, str] = {}
        self._log_buckets: set[str] = set()
        self._recorded: list[str] = []  # buckets whose writes the world's trail records
        self._roles: dict[str, str] = {}
        self._role_lock = threading.Lock()  # endpoints are seeded from threads (bench/)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region)
        return self._clients[key]

    def account_id(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    def customer_key(self, region: str = "us-east-1", *, rotation: bool = True) -> str:
        kms = self.client("kms", region)
        arn = str(kms.create_key(Description="r1policy test key")["KeyMetadata"]["Arn"])
        if rotation:
            kms.enable_key_rotation(KeyId=arn)
        return arn

    def shared_key(self, region: str = "us-east-1") -> str:
        if region not in self._keys:
            self._keys[region] = self.customer_key(region)
        return self._keys[region]

    def log_bucket(self, region: str = "us-east-1") -> str:
        """The account's access-log target bucket in that region (created once, log-delivery may write)."""
        name = f"r1-access-logs-{region}"
        if name not in self._log_buckets:
            s3 = self.client("s3", region)
            kwargs: dict[str, Any] = {"Bucket": name}
            if region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            s3.create_bucket(**kwargs)
            s3.put_bucket_acl(Bucket=name, ACL="log-delivery-write")
            self._log_buckets.add(name)
        return name

    TRAIL = "r1-data-events"

    def record_writes(self, bucket: str) -> None:
        """Add the bucket to the WriteOnly S3 data events of the account's multi-region trail (created
        and started once, in us-east-1, logging to the us-east-1 access-log bucket)."""
        trail = self.client("cloudtrail")
        if not self._recorded:
            trail.create_trail(Name=self.TRAIL, S3BucketName=self.log_bucket(), IsMultiRegionTrail=True)
            trail.start_logging(Name=self.TRAIL)
        self._recorded.append(bucket)
        values = [f"arn:aws:s3:::{name}/" for name in self._recorded]
        trail.put_event_selectors(
            TrailName=self.TRAIL,
            EventSelectors=[
                {
                    "ReadWriteType": "WriteOnly",
                    "IncludeManagementEvents": True,
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": values}],
                }
            ],
        )

    def account_block_public_access(self, on: bool = True) -> None:
        control = self.client("s3control")
        config = PAB_ON if on else dict.fromkeys(PAB_ON, False)
        control.put_public_access_block(AccountId=self.account_id(), PublicAccessBlockConfiguration=config)

    def seed_bucket(self, spec: Bucket) -> Bucket:
        s3 = self.client("s3", spec.region)
        kwargs: dict[str, Any] = {"Bucket": spec.name}
        if spec.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": spec.region}
        if spec.object_lock:
            kwargs["ObjectLockEnabledForBucket"] = True
        s3.create_bucket(**kwargs)
        if spec.encryption is not None:
            default: dict[str, Any] = {"SSEAlgorithm": "AES256" if spec.encryption == "AES256" else "aws:kms"}
            if spec.encryption == "kms":
                spec.kms_key = spec.kms_key or self.shared_key(spec.region)
                default["KMSMasterKeyID"] = spec.kms_key
            elif spec.encryption == "aws-kms":
                default["KMSMasterKeyID"] = "alias/aws/s3"
            s3.put_bucket_encryption(
                Bucket=spec.name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": default,
                            "BucketKeyEnabled": spec.encryption == "kms",
                        }
                    ]
                },
            )
        if spec.block_public_access:
            s3.put_public_access_block(Bucket=spec.name, PublicAccessBlockConfiguration=PAB_ON)
        if spec.public_acl:
            s3.put_bucket_acl(Bucket=spec.name, ACL="public-read")
        if spec.versioning:
            s3.put_bucket_versioning(Bucket=spec.name, VersioningConfiguration={"Status": "Enabled"})
        if spec.logging:
            s3.put_bucket_logging(
                Bucket=spec.name,
                BucketLoggingStatus={
                    "LoggingEnabled": {
                        "TargetBucket": self.log_bucket(spec.region),
                        "TargetPrefix": f"{spec.name}/",
                    }
                },
            )
        if spec.data_events:
            self.record_writes(spec.name)
        policy = spec.policy
        if policy == "tls":
            policy = tls_deny_policy(spec.name)
        elif policy == "public":
            policy = public_read_policy(spec.name)
        if policy is not None:
            s3.put_bucket_policy(
                Bucket=spec.name, Policy=policy if isinstance(policy, str) else json.dumps(policy)
            )
        return spec

    def execution_role(self, name: str, bucket: str, access: str = "read") -> str:
        """A SageMaker execution role (created on first use) whose policies grant `access` on `bucket`."""
        with self._role_lock:
            if name not in self._roles:
                self._roles[name] = self._create_role(name, bucket, access)
            return self._roles[name]

    def _create_role(self, name: str, bucket: str, access: str) -> str:
        iam = self.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
        objects = f"arn:aws:s3:::{bucket}/*"
        if access == "s3-star":
            inline = {"Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", objects]}
        else:
            inline = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}
        document = {"Version": "2012-10-17", "Statement": [inline]}
        iam.put_role_policy(RoleName=name, PolicyName="model-data", PolicyDocument=json.dumps(document))
        listing = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"}
            ],
        }
        policy = iam.create_policy(PolicyName=f"{name}-list", PolicyDocument=json.dumps(listing))
        iam.attach_role_policy(RoleName=name, PolicyArn=policy["Policy"]["Arn"])
        return arn

    def seed_endpoint(self, spec: Endpoint) -> Endpoint:
        sm = self.client("sagemaker", spec.region)
        model: dict[str, Any] = {
            "ModelName": spec.name,
            "ExecutionRoleArn": self.execution_role(spec.role, spec.bucket, spec.role_access),
            "PrimaryContainer": {
                "Image": spec.image,
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": f"s3://{spec.bucket}/deepseek-r1-distill-llama-8b/",
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                },
                "Environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
            },
            "EnableNetworkIsolation": spec.network_isolation,
        }
        if spec.vpc:
            model["VpcConfig"] = {"SecurityGroupIds": ["sg-0c2d"], "Subnets": ["subnet-0a1b"]}
        sm.create_model(**model)
        config: dict[str, Any] = {
            "EndpointConfigName": spec.name,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": spec.name,
                    "InstanceType": spec.instance_type,
                    "InitialInstanceCount": 1,
                }
            ],
        }
        if spec.kms_key == "auto":
            spec.kms_key = self.shared_key(spec.region)
        if spec.kms_key:
            config["KmsKeyId"] = spec.kms_key
        config.update(spec.extra)
        sm.create_endpoint_config(**config)
        sm.create_endpoint(EndpointName=spec.name, EndpointConfigName=spec.name)
        if not spec.model_exists:
            sm.delete_model(ModelName=spec.name)
        return spec
