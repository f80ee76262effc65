"""`r1policy bom TARGET… [--lock FILE] [--output FILE]`: the CycloneDX 1.6 AI bill of materials of the
deployments under TARGET, with the gate's decision — `check` with `--format cyclonedx` as its only output.

Exit 0 when the BOM is written (the decision is a property inside it), 2 when it could not be.
"""

from __future__ import annotations

import argparse


def run_bom(args: argparse.Namespace) -> int:
    from r1policy.commands.check import run_check

    check_args = argparse.Namespace(
        paths=args.targets,
        config=args.config,
        policies=args.policies,
        format=["cyclonedx"],
        output=[args.output] if args.output is not None else [],
        state=args.state,
        static=args.static,
        live=False,
        lock=args.lock,
        skip_unrecognised=False,
        include=[],
        exclude=[],
        tf_var_file=[],
        compliance=[],
        attest=None,
        exit_zero=True,
        show_passed=False,
        no_color=True,
        quiet=True,
    )
    return run_check(check_args)
