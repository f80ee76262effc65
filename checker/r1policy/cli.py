"""Command line: `r1policy check|audit|scan|lock|snapshot|policies|compliance|verify-attestation|bom|
publish|advisories|report`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from r1policy import __version__
from r1policy.core import gcpause, inspectimport, yamlimport

# Before anything imports dataclasses: it imports `inspect` (and ast, dis, tokenize ...) only when it
# first uses it, which a cold check never does (core/inspectimport.py).
inspectimport.install()

from r1policy.commands.args import catalogue, deliver, inputs, judge  # noqa: E402
from r1policy.commands.args.common import Parser  # noqa: E402
from r1policy.core.errors import R1PolicyError  # noqa: E402

EXIT_OK, EXIT_BLOCK, EXIT_TOOL = 0, 1, 2


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; each command group's arguments live in `r1policy.commands.args`.
    With `only`, just that command's arguments: a run of one command does not build the other
    twenty-odd parsers (argparse looks up gettext translations for each; about 10 ms of a cold start)."""
    parser = Parser(
        prog="r1policy",
        description="Policy-as-code gate for deploying DeepSeek-R1 and other LLMs on AWS SageMaker.",
        epilog="Exit codes: 0 nothing blocks, 1 a blocking finding, 2 the tool could not do its job.",
    )
    parser.add_argument("--version", action="version", version=f"r1policy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, add in _command_parsers():
        if only is None or name == only:
            add(sub)
    return parser


def _command_parsers() -> list[tuple[str, Callable[[Any], None]]]:
    """(command, the function that adds its parser), in the order of `r1policy --help`."""

    def add_report(sub: Any) -> None:
        from r1policy.commands.report import add_report_parser

        add_report_parser(sub, Parser)

    return [
        ("check", judge.add_check),
        ("audit", judge.add_audit),
        ("scan", judge.add_scan),
        ("verify-attestation", deliver.add_verify_attestation),
        ("lock", inputs.add_lock),
        ("snapshot", inputs.add_snapshot),
        ("advisories", inputs.add_advisories),
        ("bom", judge.add_bom),
        ("publish", deliver.add_publish),
        ("report", add_report),
        ("compliance", catalogue.add_compliance),
        ("policies", catalogue.add_policies),
    ]


def _command_word(args: list[str]) -> str | None:
    """The command a command line runs (the first word that is not a top-level flag), when it is one
    r1policy knows; None otherwise (help, --version, a typo: the full parser answers)."""
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


# Commands that call gcpause.resume() themselves once their start-up (config, rule pack) is read.
RESUMES_GC_ITSELF = frozenset({"check"})
# command -> (module, function); each module is imported only when its command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("r1policy.commands.check", "run_check"),
    "policies": ("r1policy.commands.policies", "run_policies"),
    "compliance": ("r1policy.commands.compliance", "run_compliance"),
    "audit": ("r1policy.commands.audit", "run_audit"),
    "scan": ("r1policy.commands.scan", "run_scan"),
    "lock": ("r1policy.commands.lock", "run_lock"),
    "snapshot": ("r1policy.commands.snapshot", "run_snapshot"),
    "advisories": ("r1policy.commands.advisories", "run_advisories"),
    "bom": ("r1policy.commands.bom", "run_bom"),
    "verify-attestation": ("r1policy.commands.attestation", "run_verify_attestation"),
    "publish": ("r1policy.commands.publish", "run_publish"),
    "report": ("r1policy.commands.report", "run_report"),
}


def run() -> None:
    """The `r1policy` command (its console script, `python -m r1policy`): `main()`, then the process
    ends without freeing what the run built object by object (core/gcpause.end)."""
    gcpause.keep_to_end()
    code = main()
    gcpause.end(code)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> int:
    # Before anything imports yaml (`import r1policy.cli` does not): PyYAML's unused pure-Python
    # character check compiles on first use (core/yamlimport.py). Only the command line installs it,
    # so a program importing r1policy as a library keeps its import system untouched.
    yamlimport.install()
    # Start-up allocates objects that live until the end (core/gcpause.py); frozen in a process of its own.
    gcpause.pause(freeze=argv is None)
    try:
        return _main(argv)
    finally:
        gcpause.resume()
        gcpause.restore()


def _main(argv: list[str] | None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args_list
    try:
        args = build_parser(only=_command_word(args_list)).parse_args(args_list)
        target = COMMANDS.get(args.command or "")
        if target is not None:
            run: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(target[0]), target[1])
            if args.command not in RESUMES_GC_ITSELF:
                gcpause.resume()
            return run(args)
        build_parser().print_help(sys.stderr)
        return EXIT_TOOL
    except R1PolicyError as exc:
        if debug:
            import traceback  # only with --debug: it pulls in linecache and tokenize

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
