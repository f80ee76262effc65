"""Command line: `r1policy check|audit|scan|lock|snapshot|policies|compliance|verify-attestation|bom|
publish|advisories`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from r1policy import __version__
from r1policy.core.errors import R1PolicyError, UsageError

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
    _add_formats(check)
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
    _add_result_options(check)
    _add_compliance_option(check)
    check.add_argument(
        "--lock",
        type=Path,
        metavar="FILE",
        help="r1policy.lock to verify against (R1-ART-004; default: next to the config, else ./)",
    )
    check.add_argument(
        "--skip-unrecognised",
        action="store_true",
        help="named files that are not deployment manifests are skipped instead of being an error "
        "(for pre-commit, which passes every changed YAML/JSON file)",
    )
    check.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="also read matching files inside folders skipped by default (.git, node_modules, virtual "
        "environments, ...); matched against the path relative to PATH or the name; repeatable",
    )
    check.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="do not read matching files or folders (listed as skipped in the report); wins over "
        "--include; repeatable",
    )
    check.add_argument(
        "--tf-var-file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="Terraform variable file for .tf source folders (repeatable; after terraform.tfvars and "
        "*.auto.tfvars, later files win)",
    )

    check.add_argument(
        "--attest",
        type=Path,
        metavar="FILE",
        help="also write a signed in-toto attestation of the decision (DSSE envelope; attestation.* config)",
    )

    _add_audit(sub)
    _add_scan(sub)
    _add_verify_attestation(sub)
    _add_lock(sub)
    _add_snapshot(sub)
    _add_advisories(sub)
    _add_bom(sub)
    _add_publish(sub)
    comp = sub.add_parser("compliance", help="compliance framework catalogues (shipped and custom)")
    csub = comp.add_subparsers(dest="compliance_command", metavar="SUBCOMMAND", parser_class=_Parser)
    clist = csub.add_parser("list", help="list the shipped framework catalogues and the config's custom ones")
    _common(clist)
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


def _add_formats(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        action="append",
        default=[],
        metavar="FORMAT",
        help="output format: table (default), json, sarif, github, junit, markdown, cyclonedx (the AI "
        "bill of materials; check only), asff (AWS Security Finding Format) or ocsf (OCSF events; the "
        "`ocsf` extra); repeatable, "
        "paired in order with --output",
    )
    p.add_argument(
        "--output",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="write the matching --format here instead of stdout; repeatable",
    )


def _add_result_options(p: argparse.ArgumentParser) -> None:
    """Options of every command that reports findings (check, audit, scan)."""
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when a finding blocks")
    p.add_argument("--show-passed", action="store_true", help="list passed rules too")
    p.add_argument(
        "--no-color", action="store_true", help="no colour in the table output (also: NO_COLOR set)"
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or summary lines on stderr (findings only)"
    )


def _add_compliance_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--compliance",
        action="append",
        default=[],
        metavar="FRAMEWORK",
        help="add a compliance section for this framework (see `r1policy compliance list`); repeatable",
    )


# Each command's options live in its own function below, so that the commands grow independently.


def _add_audit(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "audit",
        help="audit live SageMaker deployments and their buckets; write a report",
        description="Enumerate live SageMaker models, endpoint configs and endpoints and their buckets, "
        "evaluate the policies and write reports/<UTC timestamp>/audit.{json,md,html}.",
    )
    from r1policy.aws.options import add_account_options

    add_account_options(p)
    p.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="where each run writes its <UTC timestamp>/ folder (default: reports/)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="the previous audit JSON to diff against (default: the latest audit.json in --report-dir)",
    )
    p.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="audit a snapshot (written by `r1policy snapshot`) offline instead of live AWS",
    )
    _common(p)
    _add_formats(p)
    _add_result_options(p)
    _add_compliance_option(p)


def _add_scan(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "scan",
        help="scan model artifacts without executing or unpickling them",
        description="Scan model artifacts: local files or folders, s3://bucket/prefix, hf://org/repo@rev, "
        "archives (nested). Formats are recognised by content; nothing is executed or unpickled.",
    )
    p.add_argument(
        "targets", nargs="+", metavar="TARGET", help="file, folder, s3://bucket/prefix or hf://org/repo@rev"
    )
    _common(p)
    _add_formats(p)
    p.add_argument(
        "--lock",
        type=Path,
        metavar="FILE",
        help="verify SHA-256 digests against this lock file (default: ./r1policy.lock when it exists)",
    )
    p.add_argument(
        "--write-lock",
        action="store_true",
        help="record the scanned files' sizes and SHA-256 digests in the lock file (merged)",
    )
    p.add_argument(
        "--signature",
        type=Path,
        metavar="FILE",
        help="the OpenSSF model signature to verify (R1-ART-011; default: model.sig at the model root)",
    )
    _add_result_options(p)
    p.add_argument(
        "--max-depth", type=int, default=None, metavar="N", help="archive nesting limit (default 4)"
    )
    p.add_argument(
        "--max-ratio",
        type=int,
        default=None,
        metavar="N",
        help="refuse archive members expanding more than N:1 past 64 MiB (default 200)",
    )
    p.add_argument(
        "--max-expanded-bytes",
        type=int,
        default=None,
        metavar="BYTES",
        help="refuse an archive whose members expand past BYTES in total (default 4 TiB)",
    )
    p.add_argument(
        "--workers", type=int, default=None, metavar="N", help="files scanned in parallel (default: cores)"
    )


def _add_verify_attestation(sub: argparse._SubParsersAction[_Parser]) -> None:
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
    _common(p)


def _add_lock(sub: argparse._SubParsersAction[_Parser]) -> None:
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


def _add_snapshot(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "snapshot",
        help="capture the live AWS state the policies need into one JSON file",
        description="Capture live AWS state for offline `check --state` / `audit --state`: what the "
        "manifests under PATH reference, or (without PATH, or with --enumerate) every SageMaker model, "
        "endpoint config and endpoint in --regions and the buckets they load from. Read-only.",
    )
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="manifests whose references to read")
    _common(p)
    p.add_argument("--output", type=Path, required=True, metavar="FILE", help="the state file to write")
    p.add_argument(
        "--enumerate",
        action="store_true",
        help="also enumerate all SageMaker resources in --regions (the default without PATH)",
    )
    from r1policy.aws.options import add_account_options

    add_account_options(p)


def _add_advisories(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("advisories", help="the OSV advisory store that R1-EP-008 reads")
    asub = p.add_subparsers(dest="advisories_command", metavar="SUBCOMMAND", parser_class=_Parser)
    imp = asub.add_parser(
        "import",
        help="add OSV advisories (JSON: one record or a list) to the local store",
        description="Validate OSV JSON files and add their advisories to the local store "
        "(R1POLICY_DATA_DIR/advisories, else the r1policy cache folder). Nothing is written unless every "
        "file is valid.",
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    asub.add_parser("list", help="list the advisories R1-EP-008 uses (built-in and imported)")


def _add_bom(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "bom",
        help="write the CycloneDX 1.6 AI bill of materials of the deployments under TARGET",
        description="Judge the deployment manifests under TARGET like `check` and write a CycloneDX 1.6 "
        "JSON BOM: one machine-learning-model component per model (pinned commit, purl, licences, "
        "lineage as pedigree.ancestors), its locked files with SHA-256, the serving image, the decision.",
    )
    p.add_argument("targets", nargs="+", type=Path, metavar="TARGET", help="manifest file or folder")
    _common(p)
    p.add_argument(
        "--lock", type=Path, metavar="FILE", help="r1policy.lock (default: next to the config, else ./)"
    )
    p.add_argument("--output", type=Path, metavar="FILE", help="write the BOM here (default: stdout)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--state", type=Path, metavar="FILE", help="a state snapshot for the live-state rules")
    mode.add_argument("--static", action="store_true", help="do not consult the Hub or AWS")


def _add_publish(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("publish", help="deliver an audit report's findings elsewhere (Security Hub)")
    psub = p.add_subparsers(dest="publish_target", metavar="TARGET", parser_class=_Parser)
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
}


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args_list
    try:
        args = build_parser().parse_args(args_list)
        target = COMMANDS.get(args.command or "")
        if target is not None:
            run: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(target[0]), target[1])
            return run(args)
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
