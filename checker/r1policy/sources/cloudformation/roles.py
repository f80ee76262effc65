"""Execution roles defined in a CloudFormation template → state-v1 `iam_roles`-shaped records.

A model's `ExecutionRoleArn: !GetAtt Role.Arn` names an `AWS::IAM::Role` of the same template; its
policies are the role's `Policies` (inline), `ManagedPolicyArns` (AWS managed policies by ARN, looked up
in policies/data/aws-managed-policies.json, or an `AWS::IAM::ManagedPolicy` of the template), and the
`AWS::IAM::Policy` / `AWS::IAM::RolePolicy` / `AWS::IAM::ManagedPolicy` resources that attach to it. What
the template leaves undecided in a statement's Effect or actions, or in a policy ARN, goes under `errors`
(the rules are `error`); an undecided resource keeps its `${...}` text, which the evaluator reads as
possibly anything for an Allow and as covering nothing for a Deny. `PermissionsBoundary` becomes the
record's `permissions_boundary` (an ARN, or a managed policy of the template with its document).
"""

from __future__ import annotations

import re
from typing import Any

from r1policy.sources.cloudformation.resolve import Template
from r1policy.sources.cloudformation.values import NOVALUE, Unknown, iter_unknowns

ROLE = "AWS::IAM::Role"
_POLICY_KINDS = ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy")
_ROLE_ARN = re.compile(r"^\$\{([A-Za-z0-9]+)\.Arn\}$")
_DECISIVE = ("Effect", "Action", "NotAction")


def role_logical(template: Template, execution_role: str) -> str | None:
    """The logical id of the template's role that `${Role.Arn}` names, if any."""
    m = _ROLE_ARN.match(execution_role)
    if m and m.group(1) in template.resources and template.type_of(m.group(1)) == ROLE:
        return m.group(1)
    return None


def _names(value: Any, logical: str) -> bool:
    """Whether a resolved `Roles` list / `RoleName` value names the role `logical`."""
    items = value if isinstance(value, list) else [value]
    return any(isinstance(v, Unknown) and logical in v.refs for v in items)


def _plain(value: Any, where: str, errors: dict[str, str]) -> Any:
    """A resolved policy document with undecided values as their `${...}` text; undecided effects and
    actions recorded in `errors`."""
    if isinstance(value, dict):
        for key in _DECISIVE:
            for unknown in iter_unknowns(value.get(key)):
                errors.setdefault(where, f"{key} is not decided by the template: {unknown.why}")
        return {k: _plain(v, where, errors) for k, v in value.items() if v is not NOVALUE}
    if isinstance(value, list):
        return [_plain(v, where, errors) for v in value if v is not NOVALUE]
    if isinstance(value, Unknown):
        return value.display
    return value


def template_role(template: Template, logical: str, live: set[str]) -> dict[str, Any]:
    base = ("Resources", logical, "Properties")
    props = template.resolve(template.properties(logical), base)
    record: dict[str, Any] = {"inline_policies": {}, "attached_policies": []}
    errors: dict[str, str] = {}
    if not isinstance(props, dict):
        return {"errors": {"role": f"the Properties of {logical} are not decided by the template"}}
    for i, policy in enumerate(props.get("Policies") or []):
        name = str(policy.get("PolicyName", f"Policies[{i}]")) if isinstance(policy, dict) else str(i)
        document = policy.get("PolicyDocument") if isinstance(policy, dict) else policy
        record["inline_policies"][name] = _plain(document, f"{logical}.Policies[{i}]", errors)
    managed = {
        lg: template.resolve(template.properties(lg), ("Resources", lg, "Properties"))
        for lg in live
        if template.type_of(lg) in _POLICY_KINDS
    }
    for arn in props.get("ManagedPolicyArns") or []:
        owner = (
            next((r for r in sorted(arn.refs) if r in managed), None) if isinstance(arn, Unknown) else None
        )
        if owner is not None:
            continue  # an AWS::IAM::ManagedPolicy of this template: attached below
        if isinstance(arn, Unknown):
            errors.setdefault("attached_policies", f"managed policy {arn.display}: {arn.why}")
            continue
        record["attached_policies"].append({"arn": str(arn)})
    for other, policy in sorted(managed.items()):
        kind = template.type_of(other)
        if not isinstance(policy, dict):
            continue
        attached = _names(policy.get("Roles"), logical) or _names(policy.get("RoleName"), logical)
        attached = attached or any(
            isinstance(a, Unknown) and other in a.refs for a in props.get("ManagedPolicyArns") or []
        )
        if not attached:
            continue
        document = _plain(policy.get("PolicyDocument"), other, errors)
        if kind == "AWS::IAM::ManagedPolicy":
            record["attached_policies"].append({"arn": f"${{{other}}}", "document": document})
        else:
            record["inline_policies"][str(policy.get("PolicyName", other))] = document
    boundary = _boundary(props.get("PermissionsBoundary"), managed, errors)
    if boundary is not None:
        record["permissions_boundary"] = boundary
    if errors:
        record["errors"] = errors
    return record


def _boundary(value: Any, managed: dict[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
    """`PermissionsBoundary`: an ARN (an AWS managed policy of r1policy's table; any other is unknown to
    the file), or an `AWS::IAM::ManagedPolicy` of the template with its document."""
    if value is None or value is NOVALUE:
        return None
    if not isinstance(value, Unknown):
        return {"arn": str(value)}
    owner = next((r for r in sorted(value.refs) if r in managed), None)
    policy = managed.get(owner) if owner is not None else None
    if owner is None or not isinstance(policy, dict):
        errors.setdefault("permissions_boundary", f"permissions boundary {value.display}: {value.why}")
        return None
    return {"arn": f"${{{owner}}}", "document": _plain(policy.get("PolicyDocument"), owner, errors)}
