"""The audit's findings do not change when the collection is made faster: the report of the golden
world (tests/support/auditgolden.py) equals the one recorded before the work (timing fields aside)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.auditgolden import GOLDEN, run_golden_audit, seed_golden_world
from tests.support.motoserver import MotoServer


def test_audit_report_equals_the_golden_report(moto_env: MotoServer, tmp_path: Path) -> None:
    seed_golden_world()
    got = run_golden_audit(tmp_path / "reports")
    want = json.loads(GOLDEN.read_text())
    assert got["summary"] == want["summary"]
    assert got["findings"] == want["findings"]
    assert got == want
