"""Deploys DeepSeek-R1-Distill-Qwen-32B from SageMaker JumpStart without pinning its model version."""

from sagemaker.jumpstart.model import JumpStartModel

MODEL_ID = "deepseek-llm-r1-distill-qwen-32b"

model = JumpStartModel(model_id=MODEL_ID, role="arn:aws:iam::111122223333:role/sagemaker-r1")
predictor = model.deploy(
    accept_eula=True,
    instance_type="ml.g6e.12xlarge",
    endpoint_name="r1-distill-qwen-32b-js",
)
