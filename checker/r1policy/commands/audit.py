"""`r1policy audit`: enumerate live SageMaker models, endpoint configs and endpoints (or read them from
a snapshot with --state), follow each model to its bucket, evaluate the whole rule pack, and write
`<report dir>/<UTC timestamp>/audit.{json,md,html}` with the diff against the baseline."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from r1policy.audit.progress import Progress
from r1policy.audit.publish import publish
from r1policy.audit.run import AuditRun, run_id_for
from r1policy.audit.world import world_from_state
from r1policy.compliance.section import compliance_section
from r1policy.core.errors import UsageError
from r1policy.engine.evaluate import Evaluator, Notice
from r1policy.engine.report import Report
from r1policy.formats.output import pair_outputs, write_reports
from r1policy.project.config import load_config
from r1policy.rules.catalogue import run_catalogues, select

if TYPE_CHECKING:
    from r1policy.core.findings import Finding
    from r1policy.core.model import Deployment
from r1policy.project.state import StateSnapshot, from_value, load_state
from r1policy.rules.registry import load_registry

LIVE_SOURCE = "live AWS state"
AUDIT_HINT = "the bucket could not be read by the audit; check the auditor's permissions (s3:Get*)"


def _live_state(args: argparse.Namespace, progress: Progress) -> tuple[StateSnapshot, list[str]]:
    from r1policy.aws.collect import collect_state
    from r1policy.aws.options import accounts_from_args, regions_from_args

    accounts = accounts_from_args(args)
    regions = regions_from_args(args, accounts)
    doc = collect_state(accounts, regions=regions, sagemaker=True, progress=progress)
    return from_value(doc, LIVE_SOURCE), regions


def run_audit(args: argparse.Namespace) -> int:
    started = _dt.datetime.now(_dt.UTC)
    pairs = pair_outputs(args.format, args.output)
    config = load_config(args.config, Path.cwd())
    registry = load_registry(args.policies)
    frameworks = select(args.compliance, run_catalogues(config.compliance, registry.rules))
    baseline = args.baseline
    if baseline is not None and not baseline.is_file():
        raise UsageError(f"--baseline {baseline}: no such file")
    with Progress(enabled=False if args.quiet else None) as progress:
        if args.state is not None:
            if args.profiles or args.role_arns:
                raise UsageError("--state audits a snapshot: --profiles and --role-arns do not apply")
            from r1policy.aws.options import validate_account_options

            validate_account_options(args)
            state = load_state(args.state)
            regions: list[str] = list(args.regions or [])
        else:
            state, regions = _live_state(args, progress)
        world = world_from_state(state, regions)
        progress.note(f"evaluating {len(world.deployments)} deployment(s)")
        evaluator = Evaluator(
            registry, config, state=state, static=False, today=started.date(), no_state_hint=AUDIT_HINT
        )
        outcome = evaluator.evaluate(world.deployments)
    report = Report(findings=outcome.findings, notices=outcome.notices, command="audit", rules=registry.rules)
    if args.state is not None:
        report.inputs.append(str(args.state))
    if frameworks:
        report.compliance = compliance_section(report.findings, registry.rules, frameworks)
    if not world.deployments:
        report.notices.append(
            Notice("nothing-to-audit", "no SageMaker models, endpoint configs or endpoints were found")
        )
    run = AuditRun(
        run_id=run_id_for(started),
        started_at=started,
        finished_at=_dt.datetime.now(_dt.UTC),
        source="state" if args.state is not None else "live",
        regions=world.regions,
        accounts=world.accounts,
        inventory=world.inventory,
        deployments=world.places,
        buckets=world.buckets,
        problems=world.problems,
        state_file=str(args.state) if args.state is not None else None,
        licences=_licence_rows(world.deployments, evaluator, outcome.findings),
    )
    report.places = {f"deployment:{name}": (p.account, p.region) for name, p in run.deployments.items()} | {
        f"bucket:{name}": (p.account, p.region) for name, p in run.buckets.items()
    }
    published = publish(
        report, run, report_dir=args.report_dir, baseline_path=baseline, show_passed=args.show_passed
    )
    write_reports(report, pairs, show_passed=args.show_passed, no_color=args.no_color)
    diff = published.diff
    against = f"run {published.baseline.run_id}" if published.baseline else "no baseline (first audit)"
    print(
        f"r1policy audit: {len(diff.new)} new, {len(diff.resolved)} resolved, {len(diff.persisting)} "
        f"persisting against {against}; report: {published.html}",
        file=sys.stderr,
    )
    if report.blocked and not args.exit_zero:
        return 1
    return 0


def _licence_rows(
    deployments: list[Deployment], evaluator: Evaluator, findings: list[Finding]
) -> list[dict[str, str]]:
    from r1policy.licences.facts import licence_rows

    statuses = {f.deployment: f.status.value for f in findings if f.rule_id == "R1-LIC-001" and f.deployment}
    return licence_rows(deployments, evaluator.hub.licences, statuses)
