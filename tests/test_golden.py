"""Golden reports (tests/golden/): `check` and `scan` produce the same documents as when they were
recorded, so that work on speed (or structure) cannot change a finding, a message or a remediation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.golden.cases import CASES, Case, canonical, golden_path, parsed, run_case


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_report_equals_golden(case: Case, tmp_path: Path) -> None:
    expected = json.loads(golden_path(case).read_text())
    code, text = run_case(case, tmp_path)
    assert code == expected["exit"]
    assert canonical(case, parsed(case, text)) == canonical(case, expected["report"])
