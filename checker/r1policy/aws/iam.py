"""Execution roles (state-v1 `iam_roles` records) for R1-IAM-001 / R1-IAM-002, read once per run.

Per role: iam:GetRole, ListRolePolicies (+ GetRolePolicy per inline policy) and ListAttachedRolePolicies;
per attached policy ARN, once for all roles of the account that attach it: GetPolicy (its default version)
and GetPolicyVersion (also for the role's permissions boundary, named by GetRole). 500 endpoints that
share 5 roles cost the calls of 5 roles. A failed read leaves
the reason under the record's `errors`, and the rules are `error` for that role.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from r1policy.aws.errors import CALL_ERRORS, classify
from r1policy.aws.session import AccountSession

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$")


def role_arns(deployments: Iterable[Any]) -> set[str]:
    """Execution roles that deployments name by a full role ARN (templated or run-time roles are not read)."""
    return {d.execution_role for d in deployments if d.execution_role and _ROLE_ARN.match(d.execution_role)}


class RoleReader:
    """Reads roles through the audited accounts' sessions, caching roles and policies for the run."""

    def __init__(self, accounts: Sequence[AccountSession]) -> None:
        self.accounts = {a.account_id: a for a in accounts}
        self.calls: Counter[str] = Counter()
        self._roles: dict[str, dict[str, Any]] = {}
        self._policies: dict[tuple[str, str], tuple[Any, str | None]] = {}
        self._lock = threading.Lock()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def read_all(self, arns: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {arn: self.role(arn) for arn in sorted(set(arns))}

    def role(self, arn: str) -> dict[str, Any]:
        with self._lock:
            if arn not in self._roles:
                self._roles[arn] = self._read_role(arn)
            return self._roles[arn]

    def _call(self, account: AccountSession, operation: str, **kwargs: Any) -> Any:
        self.calls[operation] += 1
        return getattr(account.client("iam"), operation)(**kwargs)

    def _read_role(self, arn: str) -> dict[str, Any]:
        m = _ROLE_ARN.match(arn)
        if m is None:
            return {"errors": {"role": f"{arn} is not an IAM role ARN"}}
        account_id, name = m.groups()
        record: dict[str, Any] = {"account_id": account_id}
        account = self.accounts.get(account_id)
        if account is None:
            record["errors"] = {
                "role": f"account {account_id} of the role is not one of the audited accounts"
            }
            return record
        try:
            found = self._call(account, "get_role", RoleName=name)["Role"]
            record["inline_policies"] = self._inline(account, name)
            record["attached_policies"] = self._attached(account, name)
        except CALL_ERRORS as exc:
            record["errors"] = {"role": classify(exc)}
            return record
        except _PolicyUnreadable as exc:
            arn, why = exc.args
            record["errors"] = {"attached_policies": f"policy {arn}: {why}"}
            return record
        boundary = (found.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary:  # the role's permissions boundary: its default version, read like an attached policy
            document, error = self._policy(account, str(boundary))
            record["permissions_boundary"] = {"arn": str(boundary)}
            if error is not None:
                record["errors"] = {"permissions_boundary": f"policy {boundary}: {error}"}
            else:
                record["permissions_boundary"]["document"] = document
        return record

    def _inline(self, account: AccountSession, name: str) -> dict[str, Any]:
        names: list[str] = []
        marker: dict[str, str] = {}
        while True:
            page = self._call(account, "list_role_policies", RoleName=name, **marker)
            names += page.get("PolicyNames", [])
            if not page.get("IsTruncated"):
                break
            marker = {"Marker": page["Marker"]}
        return {
            policy: self._call(account, "get_role_policy", RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in names
        }

    def _attached(self, account: AccountSession, name: str) -> list[dict[str, Any]]:
        arns: list[str] = []
        marker: dict[str, str] = {}
        while True:
            page = self._call(account, "list_attached_role_policies", RoleName=name, **marker)
            arns += [p["PolicyArn"] for p in page.get("AttachedPolicies", [])]
            if not page.get("IsTruncated"):
                break
            marker = {"Marker": page["Marker"]}
        attached = []
        for arn in arns:
            document, error = self._policy(account, arn)
            if error is not None:
                raise _PolicyUnreadable(arn, error)
            attached.append({"arn": arn, "document": document})
        return attached

    def _policy(self, account: AccountSession, arn: str) -> tuple[Any, str | None]:
        key = (account.account_id, arn)
        if key not in self._policies:
            try:
                version = self._call(account, "get_policy", PolicyArn=arn)["Policy"]["DefaultVersionId"]
                found = self._call(account, "get_policy_version", PolicyArn=arn, VersionId=version)
                self._policies[key] = (found["PolicyVersion"]["Document"], None)
            except CALL_ERRORS as exc:
                self._policies[key] = (None, classify(exc))
        return self._policies[key]


class _PolicyUnreadable(Exception):
    pass
