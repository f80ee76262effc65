"""Deploys DeepSeek-R1-Distill-Llama-8B from an approved S3 bucket with the LMI (DJL) container."""

from sagemaker import image_uris
from sagemaker.model import Model

REGION = "us-east-1"
BUCKET = "acme-llm-weights"
PREFIX = "deepseek-r1-distill-llama-8b"
KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

image = image_uris.retrieve(framework="djl-lmi", region=REGION, version="0.31.0")
lmi_env = {
    "OPTION_MODEL_ID": "/opt/ml/model",
    "OPTION_TENSOR_PARALLEL_DEGREE": "1",
    "OPTION_ROLLING_BATCH": "lmi-dist",
    "OPTION_TRUST_REMOTE_CODE": "false",
}

model = Model(
    image_uri=image,
    model_data={
        "S3DataSource": {
            "S3Uri": f"s3://{BUCKET}/{PREFIX}/",
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
    },
    env=lmi_env,
    role="arn:aws:iam::111122223333:role/sagemaker-r1",
    enable_network_isolation=True,
    vpc_config={"Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0c2d3e4f"]},
)
model.deploy(
    instance_type="ml.g5.2xlarge",
    initial_instance_count=1,
    endpoint_name="r1-distill-llama-8b-lmi",
    kms_key=KMS_KEY,
)
