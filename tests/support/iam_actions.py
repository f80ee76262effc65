"""The IAM action each AWS API operation r1policy calls is authorised under, and how to tell the
operation from an HTTP request — independent of what the installed moto computes.

Source: AWS Service Authorization Reference (the "Actions defined by Amazon S3 / AWS KMS / Amazon
SageMaker / AWS Security Hub" tables; docs.aws.amazon.com/service-authorization/latest/reference/).
S3 is the service whose API operation names and IAM action names differ; for KMS, SageMaker, Security
Hub, STS and IAM they agree (Security Hub is REST-JSON: its operation is told from method and path).

``tests/support/motoserver.py`` applies :data:`IAM_ACTION` inside the moto server under IAM enforcement,
whatever action name the installed moto would have checked (moto 5.2.5 checks ``s3:ListBucket`` for
GetBucketEncryption; 5.2.6 checks the operation name ``s3:GetBucketEncryption``; AWS checks
``s3:GetEncryptionConfiguration``). ``tests/test_aws_iam.py`` proves, on the installed moto, that
every action of ``policies/iam/r1policy-auditor.json`` is enforced under its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

# (signing service, API operation) -> IAM action. Every operation the collectors, `lock` and `scan` call.
IAM_ACTION: Mapping[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketLocation"): "s3:GetBucketLocation",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketPolicy"): "s3:GetBucketPolicy",
    ("s3", "GetBucketPolicyStatus"): "s3:GetBucketPolicyStatus",
    ("s3", "GetBucketAcl"): "s3:GetBucketAcl",
    ("s3", "GetBucketOwnershipControls"): "s3:GetBucketOwnershipControls",
    ("s3", "GetBucketVersioning"): "s3:GetBucketVersioning",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "GetBucketLogging"): "s3:GetBucketLogging",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "GetObject"): "s3:GetObject",
    ("s3", "HeadObject"): "s3:GetObject",
    # S3 Control signs as service "s3"; its account-level Block Public Access read.
    ("s3", "s3control:GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("kms", "DescribeKey"): "kms:DescribeKey",
    ("kms", "GetKeyRotationStatus"): "kms:GetKeyRotationStatus",
    ("sagemaker", "ListModels"): "sagemaker:ListModels",
    ("sagemaker", "DescribeModel"): "sagemaker:DescribeModel",
    ("sagemaker", "ListEndpointConfigs"): "sagemaker:ListEndpointConfigs",
    ("sagemaker", "DescribeEndpointConfig"): "sagemaker:DescribeEndpointConfig",
    ("sagemaker", "ListEndpoints"): "sagemaker:ListEndpoints",
    ("sagemaker", "DescribeEndpoint"): "sagemaker:DescribeEndpoint",
    ("sagemaker", "ListInferenceComponents"): "sagemaker:ListInferenceComponents",
    ("sagemaker", "DescribeInferenceComponent"): "sagemaker:DescribeInferenceComponent",
    # execution roles (R1-IAM-001 / R1-IAM-002)
    ("iam", "GetRole"): "iam:GetRole",
    ("iam", "ListRolePolicies"): "iam:ListRolePolicies",
    ("iam", "GetRolePolicy"): "iam:GetRolePolicy",
    ("iam", "ListAttachedRolePolicies"): "iam:ListAttachedRolePolicies",
    ("iam", "GetPolicy"): "iam:GetPolicy",
    ("iam", "GetPolicyVersion"): "iam:GetPolicyVersion",
    # ECR scan findings of the serving images in the account's own registry (R1-EP-008)
    ("ecr", "DescribeImageScanFindings"): "ecr:DescribeImageScanFindings",
    # `publish securityhub` (policies/iam/r1policy-publisher.json)
    ("securityhub", "BatchImportFindings"): "securityhub:BatchImportFindings",
    ("securityhub", "GetFindings"): "securityhub:GetFindings",
    ("sts", "AssumeRole"): "sts:AssumeRole",
    ("sts", "GetCallerIdentity"): "sts:GetCallerIdentity",
}

# S3 bucket-level GET sub-resources (the query key that names the operation).
_S3_BUCKET_GET = {
    "location": "GetBucketLocation",
    "encryption": "GetBucketEncryption",
    "publicAccessBlock": "GetPublicAccessBlock",
    "policyStatus": "GetBucketPolicyStatus",
    "policy": "GetBucketPolicy",
    "acl": "GetBucketAcl",
    "ownershipControls": "GetBucketOwnershipControls",
    "versioning": "GetBucketVersioning",
    "object-lock": "GetObjectLockConfiguration",
    "logging": "GetBucketLogging",
    "versions": "ListObjectVersions",
}
_S3_CONTROL_PAB = "/v20180820/configuration/publicAccessBlock"
# Security Hub is a REST-JSON service: the method and path name the operation.
_SECURITYHUB = {("POST", "/findings/import"): "BatchImportFindings", ("POST", "/findings"): "GetFindings"}


def s3_operation(method: str, path: str) -> str | None:
    """The S3 (or S3 Control) read operation of a path-style request, or None when it is none of ours."""
    parts = urlsplit(path)
    query = parse_qs(parts.query, keep_blank_values=True)
    segments = [s for s in parts.path.split("/") if s]
    if parts.path.startswith(_S3_CONTROL_PAB):
        return "s3control:GetPublicAccessBlock" if method == "GET" else None
    if method not in ("GET", "HEAD"):
        return None
    if not segments:
        return "ListBuckets" if method == "GET" else None
    if len(segments) == 1:
        if method == "HEAD":
            return None
        for key, operation in _S3_BUCKET_GET.items():
            if key in query:
                return operation
        return "ListObjectsV2" if query.get("list-type") == ["2"] else None
    if any(key in query for key in ("acl", "tagging", "uploadId", "attributes")):
        return None
    return "HeadObject" if method == "HEAD" else "GetObject"


def operation(
    service: str, method: str, path: str, headers: Mapping[str, str], data: Mapping[str, object]
) -> str | None:
    """The API operation of one signed request, told from the request itself."""
    if service == "s3":
        return s3_operation(method, path)
    if service == "securityhub":
        return _SECURITYHUB.get((method, urlsplit(path).path.rstrip("/")))
    target = headers.get("X-Amz-Target") or headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    action = data.get("Action")
    return action if isinstance(action, str) else None


def iam_action(
    service: str, method: str, path: str, headers: Mapping[str, str], data: Mapping[str, object]
) -> str | None:
    """The IAM action AWS authorises this request under, when it is one of the operations we call."""
    op = operation(service, method, path, headers, data)
    return None if op is None else IAM_ACTION.get((service, op))
