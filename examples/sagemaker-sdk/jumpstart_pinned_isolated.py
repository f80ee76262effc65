"""Deploys DeepSeek-R1-Distill-Llama-8B from SageMaker JumpStart, pinned, isolated, in a VPC."""

import sagemaker
from sagemaker.jumpstart.model import JumpStartModel

KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NETWORK = {"Subnets": ["subnet-0a1b2c3d", "subnet-0e1f2a3b"], "SecurityGroupIds": ["sg-0c2d3e4f"]}
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)


def main() -> None:
    model = JumpStartModel(
        model_id="deepseek-llm-r1-distill-llama-8b",
        model_version="2.0.7",
        image_uri=IMAGE,
        enable_network_isolation=True,
        vpc_config=NETWORK,
        role=sagemaker.get_execution_role(),
    )
    model.deploy(
        instance_type="ml.g5.2xlarge",
        initial_instance_count=1,
        endpoint_name="r1-distill-llama-8b-js",
        kms_key=KMS_KEY,
    )


if __name__ == "__main__":
    main()
