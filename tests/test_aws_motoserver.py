"""The moto launcher: real HTTP, moto's SageMaker gaps patched, state reset between tests, S3 Control fix."""

from __future__ import annotations

import boto3
from tests.support.motoserver import MotoServer

from r1policy.aws.session import install_s3control_fix

ROLE = "arn:aws:iam::123456789012:role/sagemaker"


def test_sagemaker_gaps_are_patched(moto_env: MotoServer) -> None:
    sm = boto3.client("sagemaker")
    sm.create_model(
        ModelName="isolated",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:3.0.1"},
        EnableNetworkIsolation=True,
    )
    model = sm.describe_model(ModelName="isolated")
    assert model["EnableNetworkIsolation"] is True
    assert "VpcConfig" not in model
    sm.create_endpoint_config(
        EndpointConfigName="ic",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "isolated", "InstanceType": t, "InitialInstanceCount": 1}
            for t in ("ml.g5.2xlarge", "ml.p5e.48xlarge", "ml.inf2.xlarge", "ml.trn1.32xlarge")
        ],
        ExecutionRoleArn=ROLE,
        EnableNetworkIsolation=True,
        VpcConfig={"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
    )
    config = sm.describe_endpoint_config(EndpointConfigName="ic")
    assert config["ExecutionRoleArn"] == ROLE
    assert config["EnableNetworkIsolation"] is True
    assert config["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}


def test_state_is_reset_between_tests(moto_env: MotoServer) -> None:
    assert boto3.client("sagemaker").list_models()["Models"] == []
    assert boto3.client("s3").list_buckets()["Buckets"] == []


def test_s3control_reaches_the_custom_endpoint(moto_env: MotoServer) -> None:
    session = boto3.Session()
    install_s3control_fix(session)
    control = session.client("s3control")
    pab = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    control.put_public_access_block(AccountId="123456789012", PublicAccessBlockConfiguration=pab)
    got = control.get_public_access_block(AccountId="123456789012")
    assert got["PublicAccessBlockConfiguration"] == pab
