"""IAM identity-policy documents: read strictly, then ask "may these policies allow action A on R?".

Reading: a document must be JSON (or an already parsed object) with a `Statement`; each statement has
`Effect` Allow or Deny, exactly one of `Action` / `NotAction` and of `Resource` / `NotResource`, no
`Principal` (an identity policy has none), and a `Condition` whose operators IAM knows. Anything else is
an `IamPolicyError` naming the policy and the field, never a statement skipped as harmless.

Deciding, conservatively for a prohibition ("the role must not be able to write the weights"):
- an Allow counts when its actions (or everything outside its NotAction) include the action and its
  resources (or what its NotResource leaves) may overlap the scope; an Allow with a condition still
  counts (marked conditional: r1policy cannot tell whether the request context will meet it);
- a Deny subtracts only when it has no condition, covers the action, and covers the whole scope (every
  object under the prefix); a conditional or partial Deny may not apply, so it subtracts nothing;
- resource patterns use `*` and `?` (case-sensitive); a policy variable (`${aws:username}`) may stand for
  anything in an Allow and makes a Deny cover nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from r1policy.core import jsonsafe
from r1policy.facts import iamactions

_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
# IAM's condition operators (IAM User Guide, "Condition operators"); ForAllValues: / ForAnyValue: and
# ...IfExists are qualifiers of these.
_OPERATOR_NAMES = (
    "StringEquals StringNotEquals StringEqualsIgnoreCase StringNotEqualsIgnoreCase StringLike StringNotLike",
    "NumericEquals NumericNotEquals NumericLessThan NumericLessThanEquals NumericGreaterThan",
    "NumericGreaterThanEquals DateEquals DateNotEquals DateLessThan DateLessThanEquals DateGreaterThan",
    "DateGreaterThanEquals Bool BinaryEquals IpAddress NotIpAddress",
    "ArnEquals ArnLike ArnNotEquals ArnNotLike",
)
_BASE_OPERATORS = {op.lower() for line in _OPERATOR_NAMES for op in line.split(" ")}
_VARIABLE = re.compile(r"\$\{[^}]*\}")


class IamPolicyError(ValueError):
    """A policy document that is not JSON, not an IAM identity policy, or uses an unknown operator."""

    def __init__(self, policy: str, field: str, problem: str) -> None:
        super().__init__(f"policy {policy}, {field}: {problem}")
        self.policy = policy
        self.field = field


@dataclass(frozen=True)
class Statement:
    policy: str  # the policy's name, for messages
    sid: str
    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditional: bool

    @property
    def label(self) -> str:
        return f"{self.policy}" + (f" ({self.sid})" if self.sid else "")


@dataclass(frozen=True)
class Scope:
    """The resources a question is about: every ARN starting with `arn` (prefix) or exactly `arn`."""

    arn: str
    prefix: bool


def parse_policy(document: Any, policy: str) -> list[Statement]:
    if isinstance(document, str):
        try:
            document = jsonsafe.loads(document)
        except json.JSONDecodeError as exc:
            raise IamPolicyError(
                policy, "document", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc
    if not isinstance(document, dict):
        raise IamPolicyError(policy, "document", "not a JSON object")
    if "Statement" not in document:
        raise IamPolicyError(policy, "Statement", "missing: not an IAM policy document")
    unknown = sorted(set(document) - {"Version", "Id", "Statement"})
    if unknown:
        raise IamPolicyError(policy, unknown[0], "not a field of an IAM policy document")
    if document.get("Version", "2012-10-17") not in ("2012-10-17", "2008-10-17"):
        raise IamPolicyError(policy, "Version", f"{document.get('Version')!r} is not an IAM policy version")
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    return [_statement(item, policy, f"Statement[{i}]") for i, item in enumerate(items)]


def _strings(value: Any, policy: str, field: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        raise IamPolicyError(policy, field, "must be a string or a non-empty list of strings")
    return tuple(items)


def _statement(item: Any, policy: str, where: str) -> Statement:
    if not isinstance(item, dict):
        raise IamPolicyError(policy, where, "a statement must be an object")
    for key in ("Principal", "NotPrincipal"):
        if key in item:
            raise IamPolicyError(policy, f"{where}.{key}", "an identity policy has no principal")
    unknown = sorted(set(item) - _STATEMENT_KEYS)
    if unknown:
        raise IamPolicyError(policy, f"{where}.{unknown[0]}", "not a field of an IAM policy statement")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise IamPolicyError(policy, f"{where}.Effect", f"{effect!r} is neither Allow nor Deny")
    pairs = []
    for positive, negative in (("Action", "NotAction"), ("Resource", "NotResource")):
        if (positive in item) == (negative in item):
            raise IamPolicyError(policy, f"{where}.{positive}", f"exactly one of {positive} / {negative}")
        key = positive if positive in item else negative
        pairs.append((_strings(item[key], policy, f"{where}.{key}"), key == negative))
    condition = item.get("Condition")
    _check_condition(condition, policy, f"{where}.Condition")
    sid = item.get("Sid", "")
    return Statement(
        policy=policy,
        sid=sid if isinstance(sid, str) else str(sid),
        allow=effect == "Allow",
        actions=pairs[0][0],
        not_action=pairs[0][1],
        resources=pairs[1][0],
        not_resource=pairs[1][1],
        conditional=bool(condition),
    )


def _check_condition(condition: Any, policy: str, where: str) -> None:
    if condition is None:
        return
    if not isinstance(condition, dict):
        raise IamPolicyError(policy, where, "must be an object of operators")
    for operator, block in condition.items():
        if not known_operator(str(operator)):
            raise IamPolicyError(policy, f"{where}.{operator}", "unknown condition operator")
        if not isinstance(block, dict):
            raise IamPolicyError(policy, f"{where}.{operator}", "must be an object of condition keys")


def known_operator(operator: str) -> bool:
    name = operator.lower()
    for qualifier in ("forallvalues:", "foranyvalue:"):
        name = name.removeprefix(qualifier)
    if name == "null":
        return True
    return name.removesuffix("ifexists") in _BASE_OPERATORS


# -- deciding -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grant:
    """An action the policies may allow on the scope, and the statements that allow it."""

    action: str
    conditional: bool  # every allowing statement has a condition r1policy cannot decide
    statements: tuple[str, ...]


def may_allow(statements: list[Statement], actions: frozenset[str], scope: Scope) -> list[Grant]:
    grants: list[Grant] = []
    for action in sorted(actions):
        allowing = [s for s in statements if s.allow and _names(s, action) and _touches(s, scope)]
        if not allowing:
            continue
        if any(
            not s.allow and not s.conditional and _names(s, action) and _covers(s, scope) for s in statements
        ):
            continue
        grants.append(
            Grant(
                action=action,
                conditional=all(s.conditional for s in allowing),
                statements=tuple(dict.fromkeys(s.label for s in allowing)),
            )
        )
    return grants


def _names(statement: Statement, action: str) -> bool:
    hit = any(iamactions.matches(p, action) for p in statement.actions)
    return hit != statement.not_action


def _touches(statement: Statement, scope: Scope) -> bool:
    """An Allow's resources may include some resource of the scope."""
    if statement.not_resource:
        return not any(_glob_covers(p, scope) for p in statement.resources)
    return any(_glob_overlaps(p, scope) for p in statement.resources)


def _covers(statement: Statement, scope: Scope) -> bool:
    """A Deny's resources include every resource of the scope."""
    if statement.not_resource:
        return not any(_glob_overlaps(p, scope) for p in statement.resources)
    return any(_glob_covers(p, scope) for p in statement.resources)


def _tokens(pattern: str) -> list[str]:
    return list(_VARIABLE.sub("*", pattern))


def _closure(tokens: list[str], states: set[int]) -> set[int]:
    todo = list(states)
    seen = set(states)
    while todo:
        i = todo.pop()
        if i < len(tokens) and tokens[i] == "*" and i + 1 not in seen:
            seen.add(i + 1)
            todo.append(i + 1)
    return seen


def _after(tokens: list[str], text: str) -> set[int]:
    """The pattern positions reachable after matching `text` (an NFA over `*` and `?`)."""
    states = _closure(tokens, {0})
    for char in text:
        step: set[int] = set()
        for i in states:
            if i < len(tokens) and tokens[i] == "*":
                step.add(i)
            elif i < len(tokens) and tokens[i] in ("?", char):
                step.add(i + 1)
        states = _closure(tokens, step)
        if not states:
            break
    return states


def _glob_overlaps(pattern: str, scope: Scope) -> bool:
    tokens = _tokens(pattern)
    states = _after(tokens, scope.arn)
    return bool(states) if scope.prefix else len(tokens) in states


def _glob_covers(pattern: str, scope: Scope) -> bool:
    if _VARIABLE.search(pattern):
        return False  # what the variable stands for is the caller's: not every resource
    tokens = _tokens(pattern)
    states = _after(tokens, scope.arn)
    if not scope.prefix:
        return len(tokens) in states
    return any(all(t == "*" for t in tokens[i:]) for i in states)
