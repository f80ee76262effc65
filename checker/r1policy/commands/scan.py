"""`r1policy scan`."""

from __future__ import annotations

import argparse

from r1policy.errors import UsageError


def run_scan(args: argparse.Namespace) -> int:
    raise UsageError("`r1policy scan` is not implemented yet")
