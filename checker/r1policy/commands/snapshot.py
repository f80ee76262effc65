"""`r1policy snapshot`."""

from __future__ import annotations

import argparse

from r1policy.errors import UsageError


def run_snapshot(args: argparse.Namespace) -> int:
    raise UsageError("`r1policy snapshot` is not implemented yet")
