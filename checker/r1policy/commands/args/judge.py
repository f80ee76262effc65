"""Arguments of the commands that judge and report findings: `check`, `audit`, `scan`, `bom`."""

from __future__ import annotations

import argparse
from pathlib import Path

from r1policy.commands.args.common import (
    Parser,
    add_compliance_option,
    add_config_options,
    add_formats,
    add_result_options,
)


def add_check(sub: argparse._SubParsersAction[Parser]) -> None:
    check = sub.add_parser(
        "check",
        help="evaluate deployment manifests against the policies",
        description="Evaluate deployment manifests (files or folders, recursively).",
    )
    check.add_argument("paths", nargs="*", type=Path, default=[Path()], metavar="PATH")
    add_config_options(check)
    add_formats(check)
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
    add_result_options(check)
    add_compliance_option(check)
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
    _add_check_selection(check)
    check.add_argument(
        "--attest",
        type=Path,
        metavar="FILE",
        help="also write a signed in-toto attestation of the decision (DSSE envelope; attestation.* config)",
    )


def _add_check_selection(check: argparse.ArgumentParser) -> None:
    """Which files under the PATHs are read, and the Terraform variables they are read with."""
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


def add_audit(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "audit",
        help="audit live SageMaker deployments and their buckets; write a report",
        description="Enumerate live SageMaker models, endpoint configs and endpoints and their buckets, "
        "evaluate the policies and write reports/<UTC timestamp>/audit.{json,md,html}.",
    )
    from r1policy.aws.options import add_account_options
    from r1policy.aws.orgoptions import add_organization_options

    add_account_options(p)
    add_organization_options(p)
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
    add_config_options(p)
    add_formats(p)
    add_result_options(p)
    add_compliance_option(p)


def add_scan(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "scan",
        help="scan model artifacts without executing or unpickling them",
        description="Scan model artifacts: local files or folders, s3://bucket/prefix, hf://org/repo@rev, "
        "archives (nested). Formats are recognised by content; nothing is executed or unpickled.",
    )
    p.add_argument(
        "targets", nargs="+", metavar="TARGET", help="file, folder, s3://bucket/prefix or hf://org/repo@rev"
    )
    add_config_options(p)
    add_formats(p)
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
    add_result_options(p)
    _add_scan_limits(p)


def _add_scan_limits(p: argparse.ArgumentParser) -> None:
    """How deep and how large archives may be, and how many files are read at once."""
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
    p.add_argument(
        "--executor",
        default=None,
        metavar="local[N]|dask://HOST:PORT",
        help="where s3:// objects are hashed, one task per object (per range over 1 GiB): N threads "
        "here (default local[--workers]) or an existing Dask cluster (docs/s3-hashing.md)",
    )


def add_bom(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "bom",
        help="write the CycloneDX 1.6 AI bill of materials of the deployments under TARGET",
        description="Judge the deployment manifests under TARGET like `check` and write a CycloneDX 1.6 "
        "JSON BOM: one machine-learning-model component per model (pinned commit, purl, licences, "
        "lineage as pedigree.ancestors), its locked files with SHA-256, the serving image, the decision.",
    )
    p.add_argument("targets", nargs="+", type=Path, metavar="TARGET", help="manifest file or folder")
    add_config_options(p)
    p.add_argument(
        "--lock", type=Path, metavar="FILE", help="r1policy.lock (default: next to the config, else ./)"
    )
    p.add_argument("--output", type=Path, metavar="FILE", help="write the BOM here (default: stdout)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--state", type=Path, metavar="FILE", help="a state snapshot for the live-state rules")
    mode.add_argument("--static", action="store_true", help="do not consult the Hub or AWS")
