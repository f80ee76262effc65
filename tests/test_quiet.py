"""--quiet: findings only, no progress or summary line on stderr."""

from __future__ import annotations

from conftest import EXAMPLES, run_cli


def test_scan_prints_its_summary_line_unless_quiet() -> None:
    loud = run_cli("scan", EXAMPLES / "allow")
    quiet = run_cli("scan", EXAMPLES / "allow", "--quiet")
    assert loud.code == quiet.code == 0
    assert loud.stderr.startswith("scanned 2 files")
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout
