"""r1policy: a policy-as-code gate for LLM deployments on AWS SageMaker."""

__version__ = "0.1.0"
