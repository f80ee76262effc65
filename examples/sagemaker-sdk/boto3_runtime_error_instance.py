"""Creates the model, endpoint config and endpoint with boto3; the instance type is read at run time."""

import os

import boto3

sm = boto3.client("sagemaker", region_name="us-east-1")
NAME = "r1-distill-llama-8b-boto3"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)

sm.create_model(
    ModelName=NAME,
    ExecutionRoleArn="arn:aws:iam::111122223333:role/sagemaker-r1",
    PrimaryContainer={
        "Image": IMAGE,
        "ModelDataSource": {
            "S3DataSource": {
                "S3Uri": "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/",
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        },
        "Environment": {"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
    },
    EnableNetworkIsolation=True,
    VpcConfig={"Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0c2d3e4f"]},
)
sm.create_endpoint_config(
    EndpointConfigName=f"{NAME}-config",
    ProductionVariants=[
        {
            "VariantName": "AllTraffic",
            "ModelName": NAME,
            "InstanceType": os.environ["R1_INSTANCE_TYPE"],
            "InitialInstanceCount": 1,
        }
    ],
    KmsKeyId="arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
)
sm.create_endpoint(EndpointName=NAME, EndpointConfigName=f"{NAME}-config")
