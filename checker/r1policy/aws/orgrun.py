"""The organization audit's driver: list the members, run one task per account on the executor, and
merge the accounts' state documents into one (the input of the ordinary audit evaluation), with the
`organization` block of the report (each account's outcome).

The merged document does not depend on the executor or on the order tasks finish: accounts are merged
in account-id order, and a bucket or key read by two accounts keeps the record of its owner.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from r1policy import __version__
from r1policy.aws import crossaccount
from r1policy.aws.executors import ExecutorSpec, run_tasks
from r1policy.aws.organization import (
    ALL_REGIONS,
    AccountResult,
    AccountTask,
    Member,
    audit_account,
    failed_state,
    list_members,
    role_arn,
)
from r1policy.core.errors import UsageError

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class OrgRequest:
    role_name: str
    external_id: str | None = None
    accounts: tuple[str, ...] = ()  # only these (empty: every active account)
    exclude: tuple[str, ...] = ()
    regions: tuple[str, ...] | None = ()  # None: every region enabled in each account; (): the caller's
    executor: ExecutorSpec = field(default_factory=lambda: ExecutorSpec("local"))
    default_region: str | None = None


@dataclass
class OrgOutcome:
    state: dict[str, Any]
    regions: tuple[str, ...]
    organization: dict[str, Any]


def select_members(members: Sequence[Member], request: OrgRequest) -> tuple[list[Member], list[Member]]:
    """(active members to audit, members skipped because they are not active), after the filters."""
    known = {m.account_id for m in members}
    for option, ids in (("--accounts", request.accounts), ("--exclude-accounts", request.exclude)):
        unknown = sorted(set(ids) - known)
        if unknown:
            raise UsageError(f"{option}: {', '.join(unknown)} not in the organization's account list")
    wanted = [
        m
        for m in members
        if (not request.accounts or m.account_id in request.accounts) and m.account_id not in request.exclude
    ]
    return [m for m in wanted if m.status == "ACTIVE"], [m for m in wanted if m.status != "ACTIVE"]


def _tasks(members: Iterable[Member], request: OrgRequest, partition: str, region: str) -> list[AccountTask]:
    return [
        AccountTask(
            account_id=m.account_id,
            name=m.name,
            role_arn=role_arn(partition, m.account_id, request.role_name),
            external_id=request.external_id,
            regions=request.regions,
            default_region=region,
        )
        for m in members
    ]


def _keep(into: dict[str, Any], name: str, record: Mapping[str, Any]) -> None:
    """A bucket (or key) seen by two accounts keeps the record read with its owner's credentials."""
    held = into.get(name)
    if held is None or ("account_id" in (held.get("errors") or {}) and "account_id" in record):
        into[name] = dict(record)


def _status(result: AccountResult) -> str:
    if result.state is None:
        return "failed"
    regions = (result.state.get("sagemaker") or {}).get(result.account_id, {})
    return "incomplete" if any(entry.get("errors") for entry in regions.values()) else "audited"


def merge_results(
    results: Iterable[AccountResult], tasks: Sequence[AccountTask], skipped: Sequence[Member]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One state-v1 document and the per-account rows of the report's `organization` block."""
    by_id = {t.account_id: t for t in tasks}
    doc: dict[str, Any] = {"accounts": {}, "buckets": {}, "kms_keys": {}, "sagemaker": {}}
    rows: list[dict[str, Any]] = []
    for result in sorted(results, key=lambda r: r.account_id):
        row: dict[str, Any] = {"account": result.account_id, "name": result.name, "status": _status(result)}
        row["regions"] = list(result.regions)
        if result.state is None:
            why = result.error or "the account could not be audited"
            doc["sagemaker"][result.account_id] = failed_state(by_id[result.account_id], why)
            row["message"] = why
        else:
            doc["accounts"].update(result.state.get("accounts") or {})
            for section in ("buckets", "kms_keys", "model_files", "iam_roles"):
                for name, record in (result.state.get(section) or {}).items():
                    _keep(doc.setdefault(section, {}), name, record)
            for stat, count in (result.state.get("statistics") or {}).items():
                totals = doc.setdefault("statistics", {})
                totals[stat] = totals.get(stat, 0) + count
            doc["sagemaker"].update(result.state.get("sagemaker") or {})
        rows.append(row)
    for member in skipped:
        rows.append(
            {
                "account": member.account_id,
                "name": member.name,
                "status": "skipped",
                "regions": [],
                "message": f"account status {member.status}: not audited",
            }
        )
    rows.sort(key=lambda r: r["account"])
    for section in ("accounts", "buckets", "kms_keys", "sagemaker", "model_files", "iam_roles"):
        if section in doc:
            doc[section] = dict(sorted(doc[section].items()))
    return doc, rows


def audit_organization(request: OrgRequest, progress: Progress | None = None) -> OrgOutcome:
    """List the organization, audit each selected account as a task, merge (see the module docstring)."""
    from r1policy.aws.session import default_account

    caller = default_account(request.default_region)
    members = list_members(caller.client("organizations"))
    chosen, skipped = select_members(members, request)
    if not chosen:
        raise UsageError(
            f"no active account to audit: the organization of {caller.account_id} lists {len(members)} "
            "account(s), none active after --accounts / --exclude-accounts"
        )
    partition = caller.arn.split(":")[1] if caller.arn.count(":") >= 2 else "aws"
    if request.regions == ():
        request = replace(request, regions=(caller.default_region,))
    tasks = _tasks(chosen, request, partition, caller.default_region)
    results: list[AccountResult] = []
    for done, result in enumerate(run_tasks(request.executor, audit_account, tasks), start=1):
        results.append(result)
        if progress is not None:
            progress("accounts", done, len(tasks))
    merged, rows = merge_results(results, tasks, skipped)
    audited = {r.account_id for r in results if r.state is not None}
    crossaccount.resolve(merged, [t for t in tasks if t.account_id in audited])
    for section in ("accounts", "buckets", "kms_keys"):
        merged[section] = dict(sorted((merged.get(section) or {}).items()))
    regions = sorted({r for result in results for r in result.regions} - {ALL_REGIONS})
    state = {
        "schema_version": 1,
        "kind": "r1policy-state",
        "captured_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": f"r1policy {__version__}: organization of {caller.account_id}, {len(tasks)} account(s)",
        **merged,
    }
    organization = {
        "management_account": caller.account_id,
        "role_name": request.role_name,
        "accounts": rows,
    }
    return OrgOutcome(state, tuple(request.regions or regions), organization)
