"""A small AWS world for the audit demo and the audit tests, created through boto3 against a moto server
(`AWS_ENDPOINT_URL`): compliant and non-compliant buckets and SageMaker endpoints.

What the audit must find in it (account 123456789012, us-east-1):

* bucket `acme-llm-weights`: compliant (SSE-KMS with a customer-managed key, Block Public Access on,
  TLS-only policy, versioning, access logging into `acme-access-logs`, object writes recorded by the
  multi-region trail `acme-data-events`).
* bucket `acme-scratch`: non-compliant (SSE-S3 only, public-read bucket policy, no versioning, no logging,
  no CloudTrail data events, not an approved bucket).
* endpoint `r1-distill-llama-8b`: compliant (model from `acme-llm-weights`, network isolation, VPC, pinned
  AWS DLC image, ml.g5.2xlarge, KMS-encrypted volume and data capture).
* endpoint `r1-scratch`: non-compliant (weights from `acme-scratch`, image `:latest` from a foreign
  registry, no isolation, no VPC, an unapproved instance type too small for the model, data capture
  without KMS).
* execution role `sagemaker-execution` (every model runs as it): reads the model data of both buckets and
  writes nothing (R1-IAM-001, R1-IAM-002 pass).
* endpoint `r1-orphan`: its model was deleted after the endpoint was created: every rule that needs a
  model fact is `error`.

`seed(world=...)` can also apply a "fixed" variant (the scratch endpoint repaired) so that a second audit
shows resolved findings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

# The repository root is on sys.path (run_demo_audit.py, pytest), so the policy documents come from
# the same place the collector tests take them.
from tests.support.awsworld import public_read_policy, tls_deny_policy

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
DLC_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
    "huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
GOOD_BUCKET, BAD_BUCKET, LOG_BUCKET = "acme-llm-weights", "acme-scratch", "acme-access-logs"
LLAMA_8B = "deepseek-r1-distill-llama-8b/"

CONFIG = Path(__file__).resolve().with_name("r1policy.yaml")  # the demo organisation's configuration


def _pab(on: bool) -> dict[str, bool]:
    return dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), on
    )


def _tls_only(bucket: str) -> str:
    return json.dumps(tls_deny_policy(bucket))


def _public_read(bucket: str) -> str:
    return json.dumps(public_read_policy(bucket))


def _model(sm: Any, name: str, bucket: str, prefix: str, *, image: str, isolated: bool, vpc: bool) -> None:
    args: dict[str, Any] = {
        "ModelName": name,
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": image,
            "Environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
            "ModelDataSource": {
                "S3DataSource": {
                    "S3Uri": f"s3://{bucket}/{prefix}",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            },
        },
        "EnableNetworkIsolation": isolated,
    }
    if vpc:
        args["VpcConfig"] = {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0c2d3e4f"]}
    sm.create_model(**args)


def _endpoint(sm: Any, name: str, model: str, instance: str, kms_key: str | None) -> None:
    config: dict[str, Any] = {
        "EndpointConfigName": f"{name}-config",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": instance,
                "InitialInstanceCount": 1,
            }
        ],
    }
    # Every endpoint captures data (moto 5.2.5 reports an empty DataCaptureConfig when none was set,
    # which reads as enabled; a real one keeps the demo independent of that gap).
    config["DataCaptureConfig"] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 10,
        "DestinationS3Uri": f"s3://{GOOD_BUCKET}/capture/",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    if kms_key:
        config["KmsKeyId"] = kms_key
        config["DataCaptureConfig"]["KmsKeyId"] = kms_key
    sm.create_endpoint_config(**config)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def _record_writes(region: str, bucket: str) -> None:
    """A multi-region trail that records the bucket's object writes (S3 data events, R1-S3-010)."""
    trail = boto3.client("cloudtrail", region_name=region)
    trail.create_trail(Name="acme-data-events", S3BucketName=LOG_BUCKET, IsMultiRegionTrail=True)
    trail.start_logging(Name="acme-data-events")
    selector = {"ReadWriteType": "WriteOnly", "DataResources": [{"Type": "AWS::S3::Object", "Values": []}]}
    selector["DataResources"][0]["Values"] = [f"arn:aws:s3:::{bucket}/"]
    trail.put_event_selectors(TrailName="acme-data-events", EventSelectors=[selector])


def _execution_role() -> None:
    """The models' role (IAM is global: created once, whichever region is seeded first)."""
    iam = boto3.client("iam")
    name = ROLE.rsplit("/", 1)[1]
    if any(r["RoleName"] == name for r in iam.list_roles()["Roles"]):
        return
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
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [
                    f"arn:aws:s3:::{b}{tail}" for b in (GOOD_BUCKET, BAD_BUCKET) for tail in ("", "/*")
                ],
            }
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="read-model-data", PolicyDocument=json.dumps(read))


def seed(*, fixed: bool = False, region: str = REGION) -> dict[str, str]:
    """Create the world in an empty moto server; `fixed=True` repairs the scratch endpoint's model."""
    s3 = boto3.client("s3", region_name=region)
    kms = boto3.client("kms", region_name=region)
    sm = boto3.client("sagemaker", region_name=region)
    key = kms.create_key(Description="r1policy demo: model weights")["KeyMetadata"]["Arn"]
    _execution_role()

    for bucket in (LOG_BUCKET, GOOD_BUCKET, BAD_BUCKET):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_acl(Bucket=LOG_BUCKET, ACL="log-delivery-write")
    s3.put_object(Bucket=GOOD_BUCKET, Key=f"{LLAMA_8B}config.json", Body=b"{}")
    s3.put_bucket_encryption(
        Bucket=GOOD_BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(Bucket=GOOD_BUCKET, PublicAccessBlockConfiguration=_pab(True))
    s3.put_bucket_versioning(Bucket=GOOD_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_logging(
        Bucket=GOOD_BUCKET,
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": LOG_BUCKET, "TargetPrefix": f"{GOOD_BUCKET}/"}
        },
    )
    # Objects first: moto enforces a TLS-only policy over plain http.
    s3.put_bucket_policy(Bucket=GOOD_BUCKET, Policy=_tls_only(GOOD_BUCKET))
    _record_writes(region, GOOD_BUCKET)

    s3.put_object(Bucket=BAD_BUCKET, Key=f"{LLAMA_8B}config.json", Body=b"{}")
    s3.put_bucket_encryption(
        Bucket=BAD_BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(Bucket=BAD_BUCKET, PublicAccessBlockConfiguration=_pab(False))
    s3.put_bucket_policy(Bucket=BAD_BUCKET, Policy=_public_read(BAD_BUCKET))

    _model(sm, "r1-distill-llama-8b", GOOD_BUCKET, LLAMA_8B, image=DLC_IMAGE, isolated=True, vpc=True)
    _endpoint(sm, "r1-distill-llama-8b", "r1-distill-llama-8b", "ml.g5.2xlarge", key)

    if fixed:
        _model(sm, "r1-scratch", GOOD_BUCKET, LLAMA_8B, image=DLC_IMAGE, isolated=True, vpc=True)
        _endpoint(sm, "r1-scratch", "r1-scratch", "ml.g5.2xlarge", key)
    else:
        _model(
            sm,
            "r1-scratch",
            BAD_BUCKET,
            LLAMA_8B,
            image="docker.io/acme/tgi:latest",
            isolated=False,
            vpc=False,
        )
        _endpoint(sm, "r1-scratch", "r1-scratch", "ml.g4dn.xlarge", None)

    _model(sm, "r1-orphan", GOOD_BUCKET, LLAMA_8B, image=DLC_IMAGE, isolated=True, vpc=True)
    _endpoint(sm, "r1-orphan", "r1-orphan", "ml.g5.2xlarge", key)
    sm.delete_model(ModelName="r1-orphan")
    return {"kms_key": key}
