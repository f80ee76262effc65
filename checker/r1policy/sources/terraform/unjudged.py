"""What a Terraform plan holds but r1policy cannot judge: each is an `error` naming it, never skipped.

- a plan with `"complete": false`: Terraform will plan more resources after this apply;
- a resource that is only in `deferred_changes` (its planning waits for values known after apply);
- a plan with `"errored": true`: Terraform stopped planning part-way;
- a resource that deploys what another document describes (`aws_cloudformation_stack`,
  `aws_cloudcontrolapi_resource`, `aws_servicecatalog_provisioned_product`, ...);
- a managed resource of the aws or awscc provider whose type touches SageMaker, S3 or KMS and that
  r1policy does not read (an `aws_sagemaker_inference_component`, an `aws_s3_access_point`, an
  `aws_kms_key_policy`, ...): it may deploy a model, or open or re-key the model bucket. The types
  in `NO_VERDICT` are read and known not to change any rule's verdict (a lifecycle rule, a KMS alias).
"""

from __future__ import annotations

import re

from r1policy.core.errors import Position
from r1policy.core.findings import Location
from r1policy.core.model import Deployment
from r1policy.sources.opaque import opaque
from r1policy.sources.terraform.awscc import KINDS as AWSCC_KINDS
from r1policy.sources.terraform.plan import Plan

JUDGED = frozenset(
    {
        "aws_sagemaker_model",
        "aws_sagemaker_endpoint_configuration",
        "aws_sagemaker_endpoint",
        "aws_s3_bucket",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_object_lock_configuration",
        "aws_s3_bucket_acl",
        "aws_s3_account_public_access_block",
        "aws_kms_key",
        *AWSCC_KINDS,
    }
)
NO_VERDICT = frozenset(
    {
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_cors_configuration",
        "aws_s3_bucket_notification",
        "aws_s3_bucket_accelerate_configuration",
        "aws_s3_bucket_request_payment_configuration",
        "aws_s3_bucket_intelligent_tiering_configuration",
        "aws_s3_bucket_metric",
        "aws_s3_bucket_analytics_configuration",
        "aws_s3_bucket_inventory",
        "aws_kms_alias",
    }
)
RELEVANT = re.compile(r"^(aws|awscc)_(sagemaker|s3|s3control|s3outposts|s3tables|kms)_")
# Types that deploy what another document describes: a CloudFormation stack, a Cloud Control resource
# of any type (`type_name = "AWS::SageMaker::Endpoint"`), a Service Catalog product.
INDIRECT = frozenset(
    {
        "aws_cloudformation_stack",
        "aws_cloudformation_stack_set",
        "aws_cloudformation_stack_set_instance",
        "awscc_cloudformation_stack",
        "awscc_cloudformation_stack_set",
        "aws_cloudcontrolapi_resource",
        "aws_servicecatalog_provisioned_product",
    }
)


def unjudged(plan: Plan) -> list[Deployment]:
    """Errors for what a plan (or a module read from source) holds but r1policy does not judge."""
    out = _plan_document(plan) if hasattr(plan, "doc") else []
    for res in plan.resources:
        if res.type in JUDGED or res.type in NO_VERDICT:
            continue
        if not RELEVANT.match(res.type) and res.type not in INDIRECT:
            continue
        why = (
            f"{res.address}: r1policy does not read resource type {res.type}, which may deploy a model "
            "or change who can read or write the model data"
        )
        where = _at(plan, (*res.base[:2], "address")) if res.base else _location(res.position(()))
        out.append(opaque(res.address, where, why))
    return out


def _plan_document(plan: Plan) -> list[Deployment]:
    """A plan document's own signs that it does not show everything: errored, incomplete, deferred."""
    doc = plan.doc
    out: list[Deployment] = []
    if doc.value.get("errored") is True:
        why = "the plan errored (errored: true): Terraform stopped planning, so resources may be missing"
        out.append(opaque(f"{doc.path}#errored", _at(plan, ("errored",)), why))
    if doc.value.get("complete") is False:
        why = (
            "the plan is incomplete (complete: false): Terraform plans more resources after this apply, "
            "and what they deploy is not in this plan"
        )
        out.append(opaque(f"{doc.path}#incomplete", _at(plan, ("complete",)), why))
    planned = set(plan.by_address)
    deferred = doc.value.get("deferred_changes")
    for i, item in enumerate(deferred if isinstance(deferred, list) else []):
        change = item.get("resource_change") if isinstance(item, dict) else None
        address = str(change.get("address", "")) if isinstance(change, dict) else ""
        if not address or address in planned:
            continue
        reason = item.get("reason", "unknown") if isinstance(item, dict) else "unknown"
        why = (
            f"{address} is deferred ({reason}): Terraform plans it only after values known at apply, "
            "so what it deploys is not in this plan"
        )
        out.append(opaque(address, _at(plan, ("deferred_changes", i, "resource_change", "address")), why))
    return out


def _at(plan: Plan, path: tuple[str | int, ...]) -> Location:
    return _location(plan.doc.position(path, key=True))


def _location(pos: Position) -> Location:
    return Location(pos.path, pos.line, pos.column)
