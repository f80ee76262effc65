"""`r1policy compliance list`: the shipped framework catalogues and the config's custom ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from r1policy.core.errors import UsageError
from r1policy.project.config import load_config
from r1policy.rules.catalogue import run_catalogues
from r1policy.rules.registry import load_registry


def run_compliance(args: argparse.Namespace) -> int:
    if args.compliance_command != "list":
        raise UsageError("compliance: choose list")
    config = load_config(args.config, Path.cwd())
    registry = load_registry(args.policies)
    catalogues = run_catalogues(config.compliance, registry.rules)
    out = sys.stdout
    out.write(f"{'ID':<16} {'ORIGIN':<8} {'CONTROLS':>8}  {'VERSION':<12} SOURCE\n")
    for catalogue in catalogues.values():
        origin = "custom" if catalogue.custom else "shipped"
        count = len(catalogue.controls)
        out.write(
            f"{catalogue.id:<16} {origin:<8} {count:>8}  {catalogue.version:<12} {catalogue.sources[0]}\n"
        )
    out.write(f"{len(catalogues)} frameworks\n")
    return 0
