"""`r1policy publish securityhub REPORT.json [--role-name NAME] [--region R]`: import an audit
report's findings into AWS Security Hub (BatchImportFindings). A separate command with its own
least-privilege policy (`policies/iam/r1policy-publisher.json`), so that `audit` stays read-only.
Exit 0 all imported, 1 a finding not imported (each one listed), 2 bad input or no credentials."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from r1policy.core.errors import UsageError

_ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,64}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def _check_args(args: argparse.Namespace) -> None:
    if args.publish_target != "securityhub":
        raise UsageError("r1policy publish: name a target (securityhub)")
    if args.role_name is not None and not _ROLE_NAME.match(args.role_name):
        raise UsageError(f"--role-name: {args.role_name!r} is not an IAM role name")
    if args.region is not None and not _REGION.match(args.region):
        raise UsageError(f"--region: {args.region!r} is not an AWS region name (like us-east-1)")


def run_publish(args: argparse.Namespace) -> int:
    from r1policy.audit.history import load_report
    from r1policy.aws.errors import CollectorError, CredentialsError
    from r1policy.aws.session import AccountSession, assumed_account, default_account
    from r1policy.formats.asff import Place
    from r1policy.rules.registry import load_registry
    from r1policy.securityhub.publish import prepare, publish

    _check_args(args)
    path: Path = args.report
    report = load_report(path)  # exit 2 when unreadable or not a valid report
    registry = load_registry(args.policies)
    controls = {rule_id: meta.compliance for rule_id, meta in registry.rules.items()}
    base = default_account(args.region)
    fallback = Place(base.account_id, args.region or base.default_region)
    prepared = prepare(report.document, path, controls, fallback=fallback, import_region=args.region)
    accounts = sorted({account for account, _ in prepared.groups} | set(prepared.scope_accounts))
    sessions: dict[str, AccountSession] = {}
    unavailable: dict[str, str] = {}
    for account in accounts:
        if args.role_name:
            arn = f"arn:aws:iam::{account}:role/{args.role_name}"
            try:
                sessions[account] = assumed_account(base, arn, args.region)
            except (CredentialsError, CollectorError) as exc:
                unavailable[account] = str(exc)
        elif account == base.account_id:
            sessions[account] = base
        else:
            unavailable[account] = (
                f"account {account} is not the current account ({base.account_id}): pass --role-name "
                "to import with a publisher role in each account"
            )
    outcome = publish(prepared, sessions, unavailable)
    print(
        f"r1policy publish securityhub: {outcome.imported} imported, {outcome.archived} archived, "
        f"{len(outcome.failed)} not imported; {outcome.calls} Security Hub calls, "
        f"{outcome.retries} throttled retries"
    )
    if not outcome.failed:
        return 0
    print(f"r1policy: error: {len(outcome.failed)} finding(s) not imported:", file=sys.stderr)
    for finding_id, reason in outcome.failed:
        record = prepared.records.get(finding_id)
        what = f" ({record['rule_id']} {record['subject']['id']})" if record else ""
        print(f"  {finding_id}{what}: {reason}", file=sys.stderr)
    return 1
