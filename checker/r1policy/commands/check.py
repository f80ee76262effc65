"""`r1policy check`."""

from __future__ import annotations

import argparse
from pathlib import Path

from r1policy.config import load_config
from r1policy.engine.evaluate import Evaluator
from r1policy.engine.hubfacts import hub_context
from r1policy.output import pair_outputs, write_reports
from r1policy.report import Report
from r1policy.rules.registry import load_registry
from r1policy.sources.discover import discover
from r1policy.sources.state import load_state, sagemaker_errors, with_existing_endpoints


def run_check(args: argparse.Namespace) -> int:
    pairs = pair_outputs(args.format, args.output)
    config = load_config(args.config, Path.cwd())
    registry = load_registry(args.policies)
    state = load_state(args.state) if args.state else None
    inputs = discover(_recognised(args.paths) if args.skip_unrecognised else args.paths)
    if args.live:
        from r1policy.aws.live import live_state

        state = live_state(inputs.deployments)
    deployments = with_existing_endpoints(inputs.deployments, state)
    hub = hub_context(static=args.static, lock_file=args.lock, config_source=config.source, cwd=Path.cwd())
    evaluator = Evaluator(
        registry, config, state=state, static=args.static, file_buckets=inputs.buckets, hub=hub
    )
    outcome = evaluator.evaluate(deployments)
    report = Report(
        findings=outcome.findings, notices=outcome.notices, inputs=inputs.files, rules=registry.rules
    )
    from r1policy.engine.evaluate import Notice

    report.notices.extend(Notice("note", note) for note in inputs.notes)
    report.notices.extend(Notice("aws-unreadable", note) for note in sagemaker_errors(state))
    if not inputs.deployments:
        report.notices.append(Notice("nothing-to-check", "no deployment manifests found: nothing to judge"))
    if args.attest is not None:
        from r1policy.commands.attestation import write_attestation

        write_attestation(args.attest, report, deployments, inputs.files, hub.lock, config, registry)
    write_reports(report, pairs, show_passed=args.show_passed)
    if report.blocked and not args.exit_zero:
        return 1
    return 0


def _recognised(paths: list[Path]) -> list[Path]:
    """--skip-unrecognised: drop named files that hold no deployment manifest (folders stay)."""
    from r1policy.sources.discover import load_file

    return [p for p in paths if not p.is_file() or load_file(p, explicit=False) is not None]
