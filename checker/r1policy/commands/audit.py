"""`r1policy audit`."""

from __future__ import annotations

import argparse

from r1policy.errors import UsageError


def run_audit(args: argparse.Namespace) -> int:
    raise UsageError("`r1policy audit` is not implemented yet")
