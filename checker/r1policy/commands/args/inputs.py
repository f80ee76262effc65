"""Arguments of the commands that prepare what judging reads: `lock`, `snapshot`, `advisories`."""

from __future__ import annotations

import argparse
from pathlib import Path

from r1policy.commands.args.common import Parser, add_config_options


def add_lock(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "lock",
        help="write or update r1policy.lock (resolved commits and file digests)",
        description="Write or update r1policy.lock for hf://org/repo@rev and s3://bucket/prefix sources: "
        "the resolved commit (Hub) or object versions (S3) and the SHA-256 of every file.",
    )
    p.add_argument("targets", nargs="*", metavar="TARGET", help="hf://org/repo[@rev] or s3://bucket/prefix")
    p.add_argument(
        "--lock", type=Path, default=Path("r1policy.lock"), metavar="FILE", help="default: ./r1policy.lock"
    )
    p.add_argument(
        "--update",
        action="store_true",
        help="replace sources that are already locked with different content (the diff is printed)",
    )
    p.add_argument(
        "--origin",
        metavar="hf://ORG/REPO@COMMIT",
        help="record the Hub repository and commit the s3:// targets were copied from (their lineage for "
        "R1-LIC-001 and `bom`)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def add_snapshot(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "snapshot",
        help="capture the live AWS state the policies need into one JSON file",
        description="Capture live AWS state for offline `check --state` / `audit --state`: what the "
        "manifests under PATH reference, or (without PATH, or with --enumerate) every SageMaker model, "
        "endpoint config and endpoint in --regions and the buckets they load from. Read-only.",
    )
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="manifests whose references to read")
    add_config_options(p)
    p.add_argument("--output", type=Path, required=True, metavar="FILE", help="the state file to write")
    p.add_argument(
        "--enumerate",
        action="store_true",
        help="also enumerate all SageMaker resources in --regions (the default without PATH)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary line on stderr")
    from r1policy.aws.options import add_account_options

    add_account_options(p)


def add_advisories(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("advisories", help="the OSV advisory store that R1-EP-008 reads")
    asub = p.add_subparsers(dest="advisories_command", metavar="SUBCOMMAND", parser_class=Parser)
    imp = asub.add_parser(
        "import",
        help="add OSV advisories (JSON: one record or a list) to the local store",
        description="Validate OSV JSON files and add their advisories to the local store "
        "(R1POLICY_DATA_DIR/advisories, else the r1policy cache folder). Nothing is written unless every "
        "file is valid.",
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    asub.add_parser("list", help="list the advisories R1-EP-008 uses (built-in and imported)")
