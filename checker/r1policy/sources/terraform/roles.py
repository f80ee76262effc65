"""Execution roles a Terraform plan creates → state-v1 `iam_roles`-shaped records (R1-IAM-001 / 002).

A model's `execution_role_arn = aws_iam_role.x.arn` is known only after apply; the configuration names
the role, whose policies are in the same plan: the role's `inline_policy` blocks and
`managed_policy_arns`, `aws_iam_role_policy` resources and `aws_iam_role_policy_attachment`s that name the
role (their `policy_arn` an AWS managed policy, or an `aws_iam_policy` of the plan). A policy document or
policy ARN known only after apply goes under `errors`: the rules are `error`, never a guess. The role's
`permissions_boundary` (an ARN, or an `aws_iam_policy` of the plan) becomes `permissions_boundary`.
"""

from __future__ import annotations

from typing import Any

from r1policy.sources.cloudformation.values import Unknown
from r1policy.sources.terraform.plan import Plan, Resource

ROLE = "aws_iam_role"
_INLINE = "aws_iam_role_policy"
_ATTACHMENT = "aws_iam_role_policy_attachment"
_POLICY = "aws_iam_policy"


def model_role(plan: Plan, model: Resource) -> Resource | None:
    """The plan's `aws_iam_role` that a model's `execution_role_arn` refers to, if any."""
    roles = [plan.by_address[a] for a in model.references(("execution_role_arn",)) if a in plan.by_address]
    roles = [r for r in roles if r.type == ROLE]
    return roles[0] if len(roles) == 1 else None


def _names_role(res: Resource, role: Resource) -> bool:
    if role.address in res.references(("role",)):
        return True
    name = role.get("name")
    return name is not None and res.get("role") == name


def _document(res: Resource, path: tuple[str | int, ...], errors: dict[str, str]) -> Any:
    value = res.value(*path)
    if isinstance(value, Unknown) or value is None:
        errors.setdefault(res.address, f"the policy document of {res.address} is known only after apply")
        return {"Statement": []}
    return value


def _attachment(plan: Plan, res: Resource, errors: dict[str, str]) -> dict[str, Any] | None:
    arn = res.value("policy_arn")
    if isinstance(arn, str):
        return {"arn": arn}
    owners = [plan.by_address[a] for a in res.references(("policy_arn",)) if a in plan.by_address]
    owners = [p for p in owners if p.type == _POLICY]
    if len(owners) != 1:
        errors.setdefault(res.address, f"the policy_arn of {res.address} is known only after apply")
        return None
    return {"arn": f"${{{owners[0].address}.arn}}", "document": _document(owners[0], ("policy",), errors)}


def plan_role(plan: Plan, role: Resource) -> dict[str, Any]:
    errors: dict[str, str] = {}
    inline: dict[str, Any] = {}
    attached: list[dict[str, Any]] = []
    for i, block in enumerate(role.get("inline_policy") or []):
        if isinstance(block, dict) and block.get("name"):
            inline[str(block["name"])] = _document(role, ("inline_policy", i, "policy"), errors)
    managed = role.value("managed_policy_arns")
    if isinstance(managed, Unknown):
        errors.setdefault(
            role.address, f"the managed_policy_arns of {role.address} are known only after apply"
        )
    for arn in managed if isinstance(managed, list) else []:
        if isinstance(arn, str):
            attached.append({"arn": arn})
        else:
            errors.setdefault(
                role.address, f"a managed policy ARN of {role.address} is known only after apply"
            )
    for res in plan.resources:
        if res.type == _INLINE and _names_role(res, role):
            inline[str(res.get("name") or res.address)] = _document(res, ("policy",), errors)
        elif res.type == _ATTACHMENT and _names_role(res, role):
            found = _attachment(plan, res, errors)
            if found is not None:
                attached.append(found)
    record: dict[str, Any] = {"inline_policies": inline, "attached_policies": attached}
    boundary = _boundary(plan, role, errors)
    if boundary is not None:
        record["permissions_boundary"] = boundary
    if errors:
        record["errors"] = errors
    return record


def _boundary(plan: Plan, role: Resource, errors: dict[str, str]) -> dict[str, Any] | None:
    """`permissions_boundary`: an ARN, or an `aws_iam_policy` of the plan (with its document)."""
    value = role.value("permissions_boundary")
    if isinstance(value, str):
        return {"arn": value} if value else None
    owners = [plan.by_address[a] for a in role.references(("permissions_boundary",)) if a in plan.by_address]
    owners = [p for p in owners if p.type == _POLICY]
    if len(owners) == 1:
        return {"arn": f"${{{owners[0].address}.arn}}", "document": _document(owners[0], ("policy",), errors)}
    if isinstance(value, Unknown) or owners:
        errors.setdefault(
            "permissions_boundary", f"the permissions_boundary of {role.address} is known only after apply"
        )
    return None
