"""`r1policy lock`."""

from __future__ import annotations

import argparse

from r1policy.errors import UsageError


def run_lock(args: argparse.Namespace) -> int:
    raise UsageError("`r1policy lock` is not implemented yet")
