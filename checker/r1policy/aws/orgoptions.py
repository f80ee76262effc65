"""Command-line options of `audit --organization` and `--executor` (no boto3 at import time)."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from r1policy.core.errors import UsageError

if TYPE_CHECKING:
    from r1policy.aws.orgrun import OrgRequest

DEFAULT_ROLE = "r1policy-auditor"
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_NAME = re.compile(r"^(/[\w+=,.@-]+)*/?[\w+=,.@-]{1,64}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def add_organization_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("organization")
    g.add_argument(
        "--organization",
        action="store_true",
        help="audit every active account of the AWS Organization through --role-name "
        "(the caller's credentials only list the accounts and assume the role)",
    )
    g.add_argument(
        "--role-name",
        default=None,
        metavar="NAME",
        help=f"the read-only role to assume in each account (default: {DEFAULT_ROLE})",
    )
    g.add_argument(
        "--external-id", default=None, metavar="ID", help="the ExternalId the role's trust requires"
    )
    g.add_argument("--accounts", type=_csv, default=None, metavar="ID1,ID2", help="audit only these accounts")
    g.add_argument(
        "--exclude-accounts", type=_csv, default=None, metavar="ID1,ID2", help="do not audit these accounts"
    )
    g.add_argument(
        "--executor",
        default="local",
        metavar="local[N]|dask://HOST:PORT",
        help="where the account tasks run: N threads here (default local[8]) or an existing Dask cluster",
    )


def _check_ids(option: str, ids: list[str] | None) -> tuple[str, ...]:
    for value in ids or []:
        if not _ACCOUNT.match(value):
            raise UsageError(f"{option}: {value!r} is not a 12-digit AWS account id")
    return tuple(dict.fromkeys(ids or []))


def check_without_organization(args: argparse.Namespace) -> None:
    """The organization options are refused (exit 2) when --organization is not given."""
    for name in ("role_name", "external_id", "accounts", "exclude_accounts"):
        if getattr(args, name, None):
            raise UsageError(f"--{name.replace('_', '-')} applies to --organization only")
    if "all" in (args.regions or []):
        raise UsageError("--regions all applies to --organization only: name the regions")
    from r1policy.aws.executors import parse_executor

    if parse_executor(getattr(args, "executor", "local")).kind != "local":
        raise UsageError("--executor dask:// applies to --organization only")


def request_from_args(args: argparse.Namespace) -> OrgRequest:
    """The organization request from the parsed options (exit 2 on anything malformed)."""
    from r1policy.aws.executors import parse_executor
    from r1policy.aws.options import validate_account_options
    from r1policy.aws.orgrun import OrgRequest

    if args.profiles or args.role_arns:
        raise UsageError("--organization assumes --role-name in each account: drop --profiles/--role-arns")
    role = args.role_name or DEFAULT_ROLE
    if not _ROLE_NAME.match(role):
        raise UsageError(f"--role-name: {role!r} is not an IAM role name (with an optional /path/)")
    if args.external_id is not None and not _EXTERNAL_ID.match(args.external_id):
        raise UsageError("--external-id: 2 to 1224 characters of letters, digits and +=,.@:/-_")
    regions = list(dict.fromkeys(args.regions or []))
    if "all" in regions and len(regions) > 1:
        raise UsageError("--regions all cannot be combined with region names")
    # None: every region enabled in each account; (): the configured region
    chosen: tuple[str, ...] | None = None if regions == ["all"] else tuple(regions)
    if chosen:
        validate_account_options(args)
    return OrgRequest(
        role_name=role,
        external_id=args.external_id,
        accounts=_check_ids("--accounts", args.accounts),
        exclude=_check_ids("--exclude-accounts", args.exclude_accounts),
        regions=chosen,
        executor=parse_executor(args.executor),
    )
