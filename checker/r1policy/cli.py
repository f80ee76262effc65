"""Command line: `r1policy check`, `r1policy policies list|show|test`."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from r1policy import __version__
from r1policy.errors import R1PolicyError, UsageError

EXIT_OK, EXIT_BLOCK, EXIT_TOOL = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="configuration file (default: ./r1policy.yaml, else [tool.r1policy] in ./pyproject.toml)",
    )
    p.add_argument(
        "--policies",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra Cedar policies (rule folders or annotated .cedar files); repeatable",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="r1policy",
        description="Policy-as-code gate for deploying DeepSeek-R1 and other LLMs on AWS SageMaker.",
        epilog="Exit codes: 0 nothing blocks, 1 a blocking finding, 2 the tool could not do its job.",
    )
    parser.add_argument("--version", action="version", version=f"r1policy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser(
        "check",
        help="evaluate deployment manifests against the policies",
        description="Evaluate deployment manifests (files or folders, recursively).",
    )
    check.add_argument("paths", nargs="*", type=Path, default=[Path()], metavar="PATH")
    _common(check)
    check.add_argument(
        "--format",
        action="append",
        default=[],
        metavar="FORMAT",
        help="table (default) or json; repeatable, paired in order with --output",
    )
    check.add_argument(
        "--output",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="write the matching --format here instead of stdout; repeatable",
    )
    mode = check.add_mutually_exclusive_group()
    mode.add_argument(
        "--state", type=Path, metavar="FILE", help="evaluate live-state rules against a snapshot"
    )
    mode.add_argument(
        "--static",
        action="store_true",
        help="only what the files decide; rules that need live state are skipped",
    )
    mode.add_argument("--live", action="store_true", help="read referenced resources from AWS (read-only)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when a finding blocks")
    check.add_argument("--show-passed", action="store_true", help="list passed rules too")

    pol = sub.add_parser("policies", help="list, show and test the rules")
    psub = pol.add_subparsers(dest="policies_command", metavar="SUBCOMMAND", parser_class=_Parser)
    plist = psub.add_parser("list", help="list built-in and custom rules")
    _common(plist)
    pshow = psub.add_parser("show", help="print one rule's documentation")
    pshow.add_argument("rule_id", metavar="ID")
    _common(pshow)
    ptest = psub.add_parser("test", help="run every rule's own pass/fail cases")
    _common(ptest)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args_list
    try:
        args = build_parser().parse_args(args_list)
        if args.command == "check":
            from r1policy.commands.check import run_check

            return run_check(args)
        if args.command == "policies":
            from r1policy.commands.policies import run_policies

            return run_policies(args)
        build_parser().print_help(sys.stderr)
        return EXIT_TOOL
    except R1PolicyError as exc:
        if debug:
            traceback.print_exc()
        print(f"r1policy: error: {exc}", file=sys.stderr)
        return EXIT_TOOL
    except KeyboardInterrupt:
        print("r1policy: interrupted", file=sys.stderr)
        return EXIT_TOOL
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_TOOL
