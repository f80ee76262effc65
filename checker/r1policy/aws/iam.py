"""Execution roles (state-v1 `iam_roles` records) for R1-IAM-001 / R1-IAM-002, read once per run.

Per role: iam:GetRole, ListRolePolicies (+ GetRolePolicy per inline policy) and ListAttachedRolePolicies;
per attached policy ARN, once for all roles of the account that attach it: GetPolicy (its default version)
and GetPolicyVersion (also for the role's permissions boundary, named by GetRole). 500 endpoints that
share 5 roles cost the calls of 5 roles. A failed read leaves
the reason under the record's `errors`, and the rules are `error` for that role.
Roles are read side by side (``start``: one task per role in the account's IAM pool); a policy two
roles attach is still read once (the first reader reads it, the other waits for that read).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import Any

from r1policy.aws.errors import CALL_ERRORS, classify
from r1policy.aws.pools import Pools
from r1policy.aws.session import AccountSession

IAM_POOL = "iam"  # IAM is global: the role reads of an account run in one pool of their own

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$")


def role_arns(deployments: Iterable[Any]) -> set[str]:
    """Execution roles that deployments name by a full role ARN (templated or run-time roles are not read)."""
    return {d.execution_role for d in deployments if d.execution_role and _ROLE_ARN.match(d.execution_role)}


class RoleReader:
    """Reads roles through the audited accounts' sessions, caching roles and policies for the run."""

    def __init__(self, accounts: Sequence[AccountSession]) -> None:
        self.accounts = {a.account_id: a for a in accounts}
        self.calls: Counter[str] = Counter()
        self._policies: dict[tuple[str, str], Future[tuple[Any, str | None]]] = {}
        self._lock = threading.Lock()

    @property
    def total_calls(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def read_all(self, arns: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Every role, one after another (see ``start`` for the side-by-side reads)."""
        return {arn: self._read_role(arn) for arn in sorted(set(arns))}

    def start(self, arns: Iterable[str], pools: Pools) -> dict[str, Future[dict[str, Any]]]:
        """Start reading every role (each once) in its account's IAM pool; the futures by role ARN."""
        futures: dict[str, Future[dict[str, Any]]] = {}
        for arn in sorted(set(arns)):
            m = _ROLE_ARN.match(arn)
            account_id = m.group(1) if m else ""
            futures[arn] = pools.submit(account_id, IAM_POOL, self._read_role, arn)
        return futures

    def _call(self, account: AccountSession, operation: str, **kwargs: Any) -> Any:
        with self._lock:
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
        with self._lock:
            held = self._policies.get(key)
            if held is None:  # this thread reads it; another role attaching it waits for the result
                mine: Future[tuple[Any, str | None]] = Future()
                self._policies[key] = mine
        if held is not None:
            return held.result()
        try:
            version = self._call(account, "get_policy", PolicyArn=arn)["Policy"]["DefaultVersionId"]
            found = self._call(account, "get_policy_version", PolicyArn=arn, VersionId=version)
            mine.set_result((found["PolicyVersion"]["Document"], None))
        except CALL_ERRORS as exc:
            mine.set_result((None, classify(exc)))
        except BaseException as exc:  # not a call error: the waiting readers see the same failure
            mine.set_exception(exc)
            raise
        return mine.result()


class _PolicyUnreadable(Exception):
    pass
