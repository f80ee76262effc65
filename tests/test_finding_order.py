"""The report lists findings in one order for one input, run after run.

One rule can give one subject several findings: R1-EP-002 fails an 8B bfloat16 model on an
ml.g4dn.xlarge twice (the weights do not fit its 16 GiB, and a T4 has no bfloat16), one per Cedar
policy that decided. Cedar returns the deciding policies as a set in no fixed order, so the order of
such findings must come from the findings themselves, not from the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


def _manifest_two_ep002_failures(tmp_path: Path) -> Path:
    base: dict[str, Any] = yaml.safe_load((ROOT / "policies" / "cases-base.yaml").read_text())
    doc = base if base.get("kind") == "ModelDeployment" else base["manifest"]
    doc["spec"]["model"].update(parameters=8.03e9, dtype="bfloat16")
    doc["spec"]["endpoint"]["instance_type"] = "ml.g4dn.xlarge"
    path = tmp_path / "ep002_fail_twice.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_two_findings_of_one_rule_for_one_subject_keep_their_order(tmp_path: Path) -> None:
    manifest = _manifest_two_ep002_failures(tmp_path)
    runs = []
    for _ in range(12):  # Cedar's set order changes between evaluations within one process too
        result = run_cli("check", "--static", "--format", "json", manifest)
        assert result.code == 1, result.stderr
        runs.append(json.loads(result.stdout)["findings"])
    ep002 = [f["message"] for f in runs[0] if f["rule_id"] == "R1-EP-002" and f["status"] == "fail"]
    assert len(ep002) == 2, ep002  # the two failures this test is about
    assert ep002 == sorted(ep002)
    assert all(run == runs[0] for run in runs[1:])
