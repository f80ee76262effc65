"""Command-line options shared by `snapshot` and `audit`: --regions, --profiles, --role-arns.

No boto3 at import time (the CLI builds its parser for every command)."""

from __future__ import annotations

import argparse
import os
import re
from typing import TYPE_CHECKING

from r1policy.core.errors import UsageError

if TYPE_CHECKING:
    from r1policy.aws.session import AccountSession

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def add_account_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--regions",
        type=_csv,
        default=None,
        metavar="R1,R2",
        help="regions to read (default: the configured region, AWS_REGION / AWS_DEFAULT_REGION / profile)",
    )
    accounts = p.add_mutually_exclusive_group()
    accounts.add_argument(
        "--profiles", type=_csv, default=None, metavar="P1,P2", help="AWS profiles, one per account"
    )
    accounts.add_argument(
        "--role-arns",
        type=_csv,
        default=None,
        metavar="ARN1,ARN2",
        help="read-only roles to assume (STS AssumeRole from the default credentials), one per account",
    )


def validate_account_options(args: argparse.Namespace) -> None:
    for region in args.regions or []:
        if not _REGION.match(region):
            raise UsageError(f"--regions: {region!r} is not an AWS region name (like us-east-1)")
    for arn in args.role_arns or []:
        if not _ROLE_ARN.match(arn):
            raise UsageError(
                f"--role-arns: {arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )


def accounts_from_args(args: argparse.Namespace) -> list[AccountSession]:
    """Open (and verify) one session per requested account; exit-2 errors on bad credentials."""
    from r1policy.aws.session import open_accounts

    validate_account_options(args)
    region = (args.regions or [None])[0]
    return open_accounts(profiles=args.profiles, role_arns=args.role_arns, region=region)


def regions_from_args(args: argparse.Namespace, accounts: list[AccountSession]) -> list[str]:
    if args.regions:
        return list(dict.fromkeys(args.regions))
    configured = os.environ.get("AWS_REGION") or (accounts[0].default_region if accounts else "us-east-1")
    return [configured]
