"""`r1policy policies list | show ID | test`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from r1policy.core.errors import UsageError
from r1policy.project.config import load_config
from r1policy.rules.registry import load_registry


def run_policies(args: argparse.Namespace) -> int:
    registry = load_registry(args.policies)
    config = load_config(args.config, Path.cwd())
    out = sys.stdout
    if args.policies_command == "list":
        out.write(f"{'ID':<12} {'SEVERITY':<9} {'ENFORCE':<8} {'SUBJECT':<11} {'ORIGIN':<8} TITLE\n")
        for rule in registry.rules.values():
            enforcement = config.enforcement_of(rule.id, rule.enforcement)
            severity = config.severity_of(rule.id, rule.severity)
            origin = "built-in" if rule.builtin else "custom"
            columns = (rule.id, severity.value, enforcement.value, rule.subject.value, origin)
            out.write("{:<12} {:<9} {:<8} {:<11} {:<8} ".format(*columns) + rule.title + "\n")
        out.write(f"{len(registry.rules)} rules\n")
        return 0
    if args.policies_command == "show":
        shown = registry.rules.get(args.rule_id.upper())
        if shown is None:
            raise UsageError(f"no rule {args.rule_id!r} (see `r1policy policies list`)")
        from r1policy.ruledocs.markdown import rule_markdown

        out.write(rule_markdown(shown))
        return 0
    if args.policies_command == "test":
        from r1policy.commands.policytest import run_all

        results = run_all(registry)
        failed = [r for r in results if not r.ok]
        for r in results:
            mark = "ok  " if r.ok else "FAIL"
            out.write(f"{mark} {r.case.rule_id:<12} {r.case.name}" + ("" if r.ok else f": {r.detail}") + "\n")
        out.write(f"{len(results) - len(failed)} passed, {len(failed)} failed\n")
        return 1 if failed else 0
    raise UsageError("policies: choose one of list, show ID, test")
