"""Run a Python snippet in a fresh interpreter, as the tests that need a process of their own do (a
fork from a process without threads, the end of the `r1policy` process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping


def run_snippet(
    code: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -c CODE ARGS` (CODE dedented), its output captured as text; never raises on its exit code."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=None if env is None else dict(env),
    )
