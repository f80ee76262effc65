"""Arguments of the commands that hand results on or verify them: `publish`, `verify-attestation`."""

from __future__ import annotations

import argparse
from pathlib import Path

from r1policy.commands.args.common import Parser, add_config_options


def add_verify_attestation(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "verify-attestation",
        help="verify an attestation written by `check --attest` (signature, statement, subjects)",
        description="Check the DSSE envelope's signature against attestation.trusted_keys, its in-toto "
        "Statement and predicate, and that each --subject file's SHA-256 is one of its subjects. "
        "Exit 0 valid, 1 invalid or not matching, 2 unreadable.",
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument(
        "--subject",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="a file that must be covered",
    )
    p.add_argument(
        "--trusted-key",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="a trusted public key (default: attestation.trusted_keys); repeatable",
    )
    add_config_options(p)


def add_publish(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("publish", help="deliver an audit report's findings elsewhere (Security Hub)")
    psub = p.add_subparsers(dest="publish_target", metavar="TARGET", parser_class=Parser)
    sh = psub.add_parser(
        "securityhub",
        help="import an audit report's findings into AWS Security Hub (BatchImportFindings)",
        description="Import the findings of an audit JSON report into each account's Security Hub as "
        "ASFF (stable ids: a re-run updates), archiving findings resolved since the previous import. "
        "Needs policies/iam/r1policy-publisher.json. Exit 0 all imported, 1 a finding not imported, "
        "2 bad input or credentials.",
    )
    sh.add_argument("report", type=Path, metavar="REPORT.json", help="an audit.json written by `audit`")
    sh.add_argument(
        "--role-name",
        metavar="NAME",
        help="assume arn:aws:iam::<account>:role/NAME for each account's findings (default: only the "
        "current account's findings are imported)",
    )
    sh.add_argument(
        "--region", metavar="R", help="import every finding into this region (default: each finding's own)"
    )
    sh.add_argument(
        "--policies",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra rule folders whose compliance metadata to attach; repeatable",
    )
