"""Execution-role facts for R1-IAM-001 (who can change the model data) and R1-IAM-002 (broad roles).

The role comes from the deployment (CreateModel `ExecutionRoleArn`, a manifest's
`spec.model.execution_role`); its policies from the state snapshot's `iam_roles` (`--live`, `--state`).
A role that is named but not readable is `error`; a native manifest that names no role leaves the rules
nothing to judge (skipped, saying so); any other input without a role is `error`.
"""

from __future__ import annotations

from typing import Any

from r1policy.core.model import FIELD_MODEL, FIELD_ROLE
from r1policy.engine.factrecord import DeploymentFacts
from r1policy.facts.iamrole import RoleUnreadable, default_names, describe, judge_role, role_name
from r1policy.project.state import StateSnapshot

ROLE_FACT = "iam.role"
NO_ROLE_STATE = (
    "the policies of execution role {role} are not known: run with --live, or with --state FILE written by "
    "`r1policy snapshot`, or --static to skip rules that need live state"
)


def _from_state(role: str, state: StateSnapshot | None) -> dict[str, Any] | None:
    """The snapshot's record of the role; a template's `arn:${AWS::Partition}:iam::${AWS::AccountId}:role/N`
    is the snapshot's only role named N."""
    roles = state.iam_roles if state is not None else {}
    if role in roles or "${" not in role or "${" in role_name(role):
        return roles.get(role)
    named = [arn for arn in roles if role_name(arn) == role_name(role)]
    return roles[named[0]] if len(named) == 1 else None


def apply_iam(item: DeploymentFacts, state: StateSnapshot | None) -> None:
    dep = item.deployment
    item.names.update(default_names())
    role = dep.execution_role
    if not role:
        if FIELD_MODEL in dep.unknown:  # the model itself could not be read (deleted, undescribable)
            item.unavailable[ROLE_FACT] = (
                f"the model is unknown, and with it its execution role: {dep.unknown[FIELD_MODEL]}"
            )
        elif dep.input_kind == "r1policy/v1":
            item.not_applicable[ROLE_FACT] = (
                "the manifest names no execution role (spec.model.execution_role)"
            )
        else:
            item.unavailable[ROLE_FACT] = (
                f"the {dep.input_kind} input names no ExecutionRoleArn for the model"
            )
        return
    item.names.update(role=role, role_name=role_name(role))
    record = dep.role_record or _from_state(role, state)
    if record is None and not role.startswith(("arn:", "${")):
        item.unavailable[ROLE_FACT] = (
            f"the execution role is not a role ARN but {role}, decided when the deployment runs: "
            "pass the role's ARN, or judge the deployed model (r1policy audit)"
        )
        return
    if record is None:
        item.unavailable[ROLE_FACT] = NO_ROLE_STATE.format(role=role)
        return
    try:
        verdict = judge_role(record, role, item.deployment.model.s3_uri)
    except RoleUnreadable as exc:
        item.unavailable[ROLE_FACT] = str(exc)
        if dep.role_record is not None:  # the files define the role: not a question --static may skip
            item.unavailable[FIELD_ROLE] = str(exc)
        return
    item.attrs["role"] = {
        "arn": role,
        "model_data_writes": [g.action for g in verdict.writes],
        "model_data_deletes": [g.action for g in verdict.deletes],
        "wildcard_statements": verdict.wildcard_statements,
        "broad_managed_policies": verdict.broad_managed,
    }
    item.names.update(
        role_changes=describe([*verdict.writes, *verdict.deletes]),
        wildcard_statements="; ".join(verdict.wildcard_statements),
        broad_managed_policies=", ".join(verdict.broad_managed),
    )
