"""`r1policy check`."""

from __future__ import annotations

import argparse
from pathlib import Path

from r1policy.config import load_config
from r1policy.engine.evaluate import Evaluator
from r1policy.errors import UsageError
from r1policy.output import pair_outputs, write_reports
from r1policy.report import Report
from r1policy.rules.registry import load_registry
from r1policy.sources.discover import discover
from r1policy.sources.state import load_state


def run_check(args: argparse.Namespace) -> int:
    if args.live:
        raise UsageError(
            "--live needs the AWS collectors, which this version does not have yet: "
            "use --state FILE (a snapshot) or --static"
        )
    pairs = pair_outputs(args.format, args.output)
    config = load_config(args.config, Path.cwd())
    registry = load_registry(args.policies)
    state = load_state(args.state) if args.state else None
    inputs = discover(args.paths)
    evaluator = Evaluator(registry, config, state=state, static=args.static)
    outcome = evaluator.evaluate(inputs.deployments)
    report = Report(findings=outcome.findings, notices=outcome.notices, inputs=inputs.files)
    if not inputs.deployments:
        from r1policy.engine.evaluate import Notice

        report.notices.append(Notice("nothing-to-check", "no deployment manifests found: nothing to judge"))
    write_reports(report, pairs, show_passed=args.show_passed)
    if report.blocked and not args.exit_zero:
        return 1
    return 0
