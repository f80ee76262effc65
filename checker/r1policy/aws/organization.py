"""`audit --organization`: the organization's member accounts, and one account's collection as a task.

The management (or delegated-administrator) credentials only list the organization's accounts
(``organizations:ListAccounts``). Each member account, the management account included, is audited
through the read-only role assumed in it (``--role-name``, ``--external-id``): the credentials of
the caller never read a member account's resources directly.

``audit_account(task)`` is one task of an executor (threads or a Dask worker): it takes and returns
plain, picklable values, opens its own boto3 session (the worker's default credential chain) to
assume the role, resolves ``--regions all`` in that account (``account:ListRegions``, else EC2
``DescribeRegions``) and runs the ordinary per-account collection (``r1policy.aws.collect``). A
failure of the account as a whole (role refused, throttled past retries, regions unreadable) is
returned as the task's ``error``, never raised: the other accounts go on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from r1policy.aws.errors import CALL_ERRORS, CollectorError, classify

ALL_REGIONS = "all"
SESSION_NAME = "r1policy-audit"
ENABLED = ("ENABLED", "ENABLED_BY_DEFAULT")


@dataclass(frozen=True)
class Member:
    """One account of the organization as ListAccounts returns it."""

    account_id: str
    name: str
    status: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE


@dataclass(frozen=True)
class AccountTask:
    account_id: str
    name: str
    role_arn: str
    external_id: str | None
    regions: tuple[str, ...] | None  # None: every region enabled in the account
    default_region: str


@dataclass
class AccountResult:
    account_id: str
    name: str
    regions: tuple[str, ...]
    state: dict[str, Any] | None  # the account's state-v1 document; None when the account failed
    error: str | None = None
    seconds: float = 0.0


class AccountUnavailable(Exception):
    """The account as a whole could not be audited (its reason is reported, the run goes on)."""


def list_members(organizations: Any) -> list[Member]:
    """Every account of the organization (paginated). A failure here fails the run (exit 2):
    without the list there is nothing to audit, and auditing less than asked would pass silently."""
    members: list[Member] = []
    try:
        for page in organizations.get_paginator("list_accounts").paginate():
            for item in page.get("Accounts", []):
                status = str(item.get("State") or item.get("Status") or "UNKNOWN").upper()
                members.append(Member(str(item["Id"]), str(item.get("Name") or ""), status))
    except CALL_ERRORS as exc:
        raise CollectorError(
            f"cannot list the organization's accounts (organizations:ListAccounts): {classify(exc)}; "
            "run with the management account's or a delegated administrator's credentials"
        ) from exc
    return sorted(members, key=lambda m: m.account_id)


def role_arn(partition: str, account_id: str, role_name: str) -> str:
    name = role_name.strip("/")
    return f"arn:{partition}:iam::{account_id}:role/{name}"


def assume(task: AccountTask) -> Any:
    """The member account's session through its auditor role (AccountUnavailable when refused)."""
    from r1policy.aws.session import AccountSession, _new_session, identify

    base = _new_session(region_name=task.default_region)
    kwargs: dict[str, str] = {"RoleArn": task.role_arn, "RoleSessionName": SESSION_NAME}
    if task.external_id:
        kwargs["ExternalId"] = task.external_id
    caller = AccountSession(base, "organization caller", task.default_region)
    try:
        creds = caller.client("sts").assume_role(**kwargs)["Credentials"]
    except botocore.exceptions.NoCredentialsError as exc:
        raise AccountUnavailable(f"no AWS credentials to assume {task.role_arn} with") from exc
    except CALL_ERRORS as exc:
        raise AccountUnavailable(f"cannot assume role {task.role_arn}: {classify(exc)}") from exc
    session = _new_session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=task.default_region,
    )
    try:
        account = identify(AccountSession(session, f"role {task.role_arn}", task.default_region))
    except CollectorError as exc:
        raise AccountUnavailable(str(exc)) from exc
    if account.account_id != task.account_id:
        raise AccountUnavailable(
            f"role {task.role_arn} answered as account {account.account_id}, not {task.account_id}"
        )
    return account


def enabled_regions(account: Any) -> tuple[str, ...]:
    """The regions enabled for the account: account:ListRegions, else EC2 DescribeRegions (which
    lists only the enabled ones). Both failing makes the account unavailable."""
    try:
        names: list[str] = []
        paginator = account.client("account").get_paginator("list_regions")
        for page in paginator.paginate(RegionOptStatusContains=list(ENABLED)):
            names.extend(str(r["RegionName"]) for r in page.get("Regions", []))
        return tuple(sorted(set(names)))
    except CALL_ERRORS as first:
        listing = f"account:ListRegions: {classify(first)}"
    try:
        found = account.client("ec2").describe_regions(AllRegions=False)["Regions"]
    except CALL_ERRORS as exc:
        raise AccountUnavailable(
            f"cannot list the regions enabled for {account.account_id} ({listing}; "
            f"ec2:DescribeRegions: {classify(exc)})"
        ) from exc
    return tuple(sorted({str(r["RegionName"]) for r in found}))


def failed_state(task: AccountTask, why: str) -> dict[str, Any]:
    """The state entry of an account that could not be audited: every region asked for (or ``all``)
    unreadable, so that the audit reports `error` for it."""
    entry = {"models": [], "endpoint_configs": [], "endpoints": [], "errors": {"region": why}}
    return {region: dict(entry) for region in task.regions or (ALL_REGIONS,)}


def audit_account(task: AccountTask) -> AccountResult:
    """One account of the organization, as a task (plain values in and out, see the module docstring)."""
    from r1policy.aws.collect import collect_state

    started = time.monotonic()
    try:
        account = assume(task)
        regions = task.regions or enabled_regions(account)
        state = collect_state([account], regions=regions, sagemaker=True)
    except (AccountUnavailable, CollectorError) as exc:
        why = f"account {task.account_id} ({task.name or 'unnamed'}) could not be audited: {exc}"
        return AccountResult(
            task.account_id, task.name, task.regions or (), None, why, time.monotonic() - started
        )
    return AccountResult(task.account_id, task.name, tuple(regions), state, None, time.monotonic() - started)
