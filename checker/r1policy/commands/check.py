"""`r1policy check`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from r1policy.core import gcpause
from r1policy.engine.evaluate import Evaluator, Notice
from r1policy.engine.hubfacts import hub_context
from r1policy.engine.report import Report
from r1policy.formats import Format
from r1policy.formats.output import pair_outputs, refuse_inputs_as_outputs, write_reports
from r1policy.project.config import load_config
from r1policy.project.state import load_state, sagemaker_errors, with_existing_endpoints
from r1policy.rules.registry import load_registry
from r1policy.sources.discover import discover
from r1policy.sources.inputreport import unreadable_findings
from r1policy.sources.walk import WalkOptions

if TYPE_CHECKING:
    from r1policy.core.errors import Position
    from r1policy.rules.catalogue import Catalogue

# Imported (with its --tf-var-file state) only when a run gives --tf-var-file or a .tf input is read.
_TF_SOURCE = "r1policy.sources.terraform.source"


def run_check(args: argparse.Namespace) -> int:
    pairs = pair_outputs(args.format, args.output)
    config = load_config(args.config, Path.cwd())
    registry = load_registry(args.policies)
    gcpause.resume()  # start-up is over: what follows scales with the inputs
    gcpause.bulk()
    frameworks = _frameworks(args.compliance, config.compliance, registry.rules)
    state = load_state(args.state) if args.state else None
    if args.tf_var_file or _TF_SOURCE in sys.modules:  # else nothing to set or reset (cold start)
        from r1policy.sources.terraform.source import set_var_files  # no parser: hcl2 loads with a .tf file

        set_var_files(args.tf_var_file)
    options = WalkOptions(include=tuple(args.include or ()), exclude=tuple(args.exclude or ()))
    inputs = discover(_recognised(args.paths) if args.skip_unrecognised else args.paths, options)
    hub = hub_context(static=args.static, lock_file=args.lock, config_source=config.source, cwd=Path.cwd())
    refuse_inputs_as_outputs(
        pairs,
        [("input", p) for p in args.paths if p.is_file()]
        + [("input", f) for f in inputs.files]
        + [("config file", config.source), ("state file", args.state), ("lock file", hub.lock_path)],
        inputs.real_paths,
    )
    if args.live:
        from r1policy.aws.live import live_state

        state = live_state(inputs.deployments)
    deployments = with_existing_endpoints(inputs.deployments, state)
    evaluator = Evaluator(
        registry, config, state=state, static=args.static, file_buckets=inputs.buckets, hub=hub
    )
    outcome = evaluator.evaluate(deployments)
    report = Report(
        findings=outcome.findings + unreadable_findings(inputs.unreadable),
        notices=outcome.notices,
        inputs=inputs.files,
        rules=registry.rules,
        skipped=inputs.skipped,
    )
    if any(fmt is Format.CYCLONEDX for fmt, _ in pairs):
        from r1policy.engine.bom import bom_models

        report.models = bom_models(deployments, hub, report.findings)
    report.notices.extend(Notice("note", note) for note in inputs.notes)
    if frameworks:
        from r1policy.compliance.section import compliance_section

        report.compliance = compliance_section(report.findings, registry.rules, frameworks)
    report.notices.extend(Notice("aws-unreadable", note) for note in sagemaker_errors(state))
    if not inputs.deployments and not inputs.unreadable:
        report.notices.append(Notice("nothing-to-check", "no deployment manifests found: nothing to judge"))
    if args.attest is not None:
        from r1policy.commands.attestation import write_attestation

        write_attestation(args.attest, report, deployments, inputs.files, hub.lock, config, registry)
    write_reports(report, pairs, show_passed=args.show_passed, no_color=args.no_color)
    gcpause.keep(report, inputs, deployments, outcome, evaluator)  # freed by the process's end
    if report.blocked and not args.exit_zero:
        return 1
    return 0


def _frameworks(
    requested: list[str] | None, custom: tuple[tuple[Path, Position], ...], rules: Iterable[str]
) -> list[Catalogue]:
    """The catalogues --compliance names. The config's own catalogues are checked on every run (bad
    input is exit 2 with or without --compliance); the shipped ones are read only when needed."""
    if not requested and not custom:
        return []
    from r1policy.rules.catalogue import run_catalogues, select

    return select(requested or [], run_catalogues(custom, rules))


def _recognised(paths: list[Path]) -> list[Path]:
    """--skip-unrecognised: drop named files that hold no deployment manifest (folders stay); a file of
    a deployment format no reader understands stays (it is reported as an error)."""
    from r1policy.sources.discover import is_candidate

    return [p for p in paths if not p.is_file() or is_candidate(p)]
