"""Fine-tunes a distilled DeepSeek-R1 model with a SageMaker training job; it deploys nothing."""

import sagemaker
from sagemaker.huggingface import HuggingFace

role = sagemaker.get_execution_role()
hyperparameters = {"model_id": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "epochs": 1, "lr": 2e-5}

estimator = HuggingFace(
    entry_point="train.py",
    source_dir="scripts",
    instance_type="ml.g5.2xlarge",
    instance_count=1,
    role=role,
    transformers_version="4.36",
    pytorch_version="2.1",
    py_version="py310",
    hyperparameters=hyperparameters,
)
estimator.fit({"train": "s3://acme-llm-weights/datasets/reasoning/"})
