"""What an execution role may do to the model data (R1-IAM-001) and how broad it is (R1-IAM-002).

A role record has the shape of a state-v1 `iam_roles` entry (schemas/state-v1.schema.json), whether it was
read live (`aws/iam.py`) or from a template (`sources/.../roles.py`): its inline policies by name, its
attached policies by ARN with their documents, and `errors` for what could not be read. An attached AWS
managed policy without a document (a role in a file) is looked up in policies/data/aws-managed-policies.json;
a policy that is neither there nor given is unknown, and the role cannot be judged. A permissions boundary
(`permissions_boundary`: its ARN and document, or an AWS managed policy of the table) limits the grants: an
action counts only if the boundary may allow it too (the same evaluator, conservative both ways); a boundary
that cannot be read or understood makes the role unjudgeable. SCPs are not read: they only ever take
permissions away, so ignoring them can only over-report, never hide, a writer.
"""

from __future__ import annotations

import functools
from dataclasses import field
from typing import TYPE_CHECKING, Any

from r1policy.core.lazyre import compile_on_use
from r1policy.core.record import frozen_record
from r1policy.core.resources import load_data
from r1policy.facts import iamactions

if TYPE_CHECKING:  # the policy evaluator is imported when a role is judged (cold start: no role, no import)
    from r1policy.facts.iampolicy import Grant, Scope, Statement

# SPEC 8.2, R1-IAM-002: managed policies too broad for an endpoint's execution role.
BROAD_MANAGED_POLICIES = ("AdministratorAccess", "AmazonSageMakerFullAccess", "AmazonS3FullAccess")
_AWS_MANAGED = compile_on_use(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)$")
_PARTITION = compile_on_use(r"^arn:(aws[a-z-]*):")


class RoleUnreadable(Exception):
    """The role or one of its policies could not be read or understood: the rules are `error`."""


@frozen_record
class RoleVerdict:
    """What an execution role's policies grant on model data: writes, deletes, decrypts, wildcards."""

    role: str
    writes: list[Grant] = field(default_factory=list)
    deletes: list[Grant] = field(default_factory=list)
    decrypts: list[Grant] = field(default_factory=list)
    wildcard_statements: list[str] = field(default_factory=list)
    broad_managed: list[str] = field(default_factory=list)

    @property
    def changes_data(self) -> bool:
        return bool(self.writes or self.deletes)


@functools.cache
def _managed_table() -> tuple[dict[str, Any], frozenset[str]]:
    data = load_data("aws-managed-policies.json")
    return data["documents"], frozenset(data["harmless"])


def default_names() -> dict[str, Any]:
    """Message names of R1-IAM-001 / R1-IAM-002 before a role is judged."""
    return {
        "role": "<EXECUTION_ROLE_ARN>",
        "role_name": "<EXECUTION_ROLE>",
        "role_changes": "",
        "wildcard_statements": "",
        "broad_managed_policies": "",
    }


def aws_managed_name(arn: str) -> str | None:
    m = _AWS_MANAGED.match(arn)
    return m.group(1) if m else None


def role_name(arn: str) -> str:
    """The role's name; `Role` for a template's `${Role.Arn}`."""
    if arn.startswith("${") and arn.endswith(".Arn}"):
        return arn[2:-5]
    return arn.rsplit("/", 1)[-1]


def _attached_document(policy: dict[str, Any], role: str) -> Any:
    arn = str(policy.get("arn", ""))
    if "document" in policy:
        return policy["document"]
    name = aws_managed_name(arn)
    if name is None:
        raise RoleUnreadable(f"the document of policy {arn} attached to role {role} is not known")
    documents, harmless = _managed_table()
    if name in documents:
        return documents[name]
    if name in harmless:
        return {"Statement": []}
    raise RoleUnreadable(
        f"AWS managed policy {name} attached to role {role} is not in r1policy's table "
        "(policies/data/aws-managed-policies.json): judge the live role with --live or --state"
    )


def statements_of(record: dict[str, Any], role: str) -> tuple[list[Statement], list[Statement], list[str]]:
    """(all statements, statements of the role's own and customer managed policies, AWS managed names)."""
    errors: dict[str, str] = record.get("errors") or {}
    if errors:
        what, why = sorted(errors.items())[0]
        raise RoleUnreadable(f"{what} of role {role} could not be read: {why}")
    from r1policy.facts.iampolicy import IamPolicyError, parse_policy

    every: list[Statement] = []
    own: list[Statement] = []
    managed: list[str] = []
    try:
        for name, document in sorted((record.get("inline_policies") or {}).items()):
            parsed = parse_policy(document, f"{name} (inline in {role_name(role)})")
            every += parsed
            own += parsed
        for policy in record.get("attached_policies") or []:
            arn = str(policy.get("arn", ""))
            parsed = parse_policy(_attached_document(policy, role), arn)
            every += parsed
            name = aws_managed_name(arn)
            if name is None:
                own += parsed
            else:
                managed.append(name)
    except IamPolicyError as exc:
        raise RoleUnreadable(f"a policy of role {role} is not a readable IAM policy: {exc}") from exc
    return every, own, managed


def model_data_scope(role: str, s3_uri: str) -> Scope:
    """Every object under the model's S3 prefix (or the one object a model.tar.gz URI names)."""
    from r1policy.facts.iampolicy import Scope

    partition = m.group(1) if (m := _PARTITION.match(role)) else "aws"
    return Scope(f"arn:{partition}:s3:::{s3_uri.removeprefix('s3://')}", prefix=True)


def judge_role(
    record: dict[str, Any], role: str, s3_uri: str | None, kms_key: str | None = None
) -> RoleVerdict:
    every, own, managed = statements_of(record, role)
    wildcard = [
        s.label
        for s in own
        if s.allow and (s.not_action or any(iamactions.is_wildcard_action(a) for a in s.actions))
    ]
    broad = [n for n in managed if n in BROAD_MANAGED_POLICIES]
    verdict = RoleVerdict(role, wildcard_statements=sorted(set(wildcard)), broad_managed=sorted(set(broad)))
    boundary = boundary_statements(record, role)
    if s3_uri:
        scope = model_data_scope(role, s3_uri)
        verdict.writes.extend(_bounded(every, boundary, iamactions.write_actions(), scope))
        verdict.deletes.extend(_bounded(every, boundary, iamactions.delete_actions(), scope))
    if kms_key:
        from r1policy.facts.iampolicy import Scope

        key = Scope(kms_key, prefix=False)
        verdict.decrypts.extend(_bounded(every, boundary, iamactions.decrypt_actions(), key))
    return verdict


def boundary_statements(record: dict[str, Any], role: str) -> list[Statement] | None:
    """The statements of the role's permissions boundary; None: the role has none."""
    from r1policy.facts.iampolicy import IamPolicyError, parse_policy

    boundary = record.get("permissions_boundary")
    if boundary is None:
        return None
    arn = str(boundary.get("arn", "")) if isinstance(boundary, dict) else ""
    try:
        document = _attached_document(boundary, role)
    except RoleUnreadable as exc:
        raise RoleUnreadable(f"the permissions boundary of role {role} cannot be read: {exc}") from exc
    try:
        return parse_policy(document, f"{arn} (permissions boundary)")
    except IamPolicyError as exc:
        raise RoleUnreadable(
            f"the permissions boundary of role {role} is not a readable IAM policy: {exc}"
        ) from exc


def _bounded(
    every: list[Statement], boundary: list[Statement] | None, actions: frozenset[str], scope: Scope
) -> list[Grant]:
    """The identity policies' grants that the boundary may also allow (conditional if either is)."""
    from r1policy.facts.iampolicy import Grant, may_allow

    grants = may_allow(every, actions, scope)
    if boundary is None:
        return grants
    allowed = {g.action: g for g in may_allow(boundary, frozenset(g.action for g in grants), scope)}
    return [
        Grant(g.action, g.conditional or allowed[g.action].conditional, g.statements)
        for g in grants
        if g.action in allowed
    ]


def describe(grants: list[Grant]) -> str:
    """`s3:PutObject, s3:DeleteObject through policy P; s3:PutObjectAcl (conditional) through Q`."""
    groups: dict[tuple[tuple[str, ...], bool], list[str]] = {}
    for g in grants:
        groups.setdefault((g.statements, g.conditional), []).append(iamactions.spelled(g.action))
    return "; ".join(
        ", ".join(actions) + (" (conditional)" if conditional else "") + " through " + ", ".join(via)
        for (via, conditional), actions in groups.items()
    )
