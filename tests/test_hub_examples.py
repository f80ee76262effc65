"""examples/hub (what `make demo` checks offline from examples/hub-cache) and the recorded cache itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.hubfixtures import write_example_cache

from conftest import EXAMPLES, finding_set, run_cli

MODEL = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@6a6f4aa4197940add57724a7707d069478df56b1"


def test_example_cache_is_what_the_generator_writes(tmp_path: Path) -> None:
    write_example_cache(tmp_path)
    generated = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.json")}
    committed = {
        p.relative_to(EXAMPLES / "hub-cache"): p.read_text() for p in (EXAMPLES / "hub-cache").rglob("*.json")
    }
    assert generated == committed


def test_hub_example_is_decided_offline_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(EXAMPLES / "hub-cache"))  # HF_HUB_OFFLINE=1 (autouse)
    result = run_cli(
        "check",
        EXAMPLES / "hub",
        "--config",
        EXAMPLES / "r1policy.yaml",
        "--state",
        EXAMPLES / "state.json",
        "--format",
        "json",
        "--show-passed",
    )
    assert result.code == 0
    data = result.json
    assert finding_set(data, "fail", "error") == {
        ("R1-HUB-006", "fail", MODEL),
        # a TGI DLC on PyTorch 2.4, past its end of patch: a warning
        ("R1-EP-009", "fail", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/r1-distill-llama-8b-hub"),
    }
    passed = {f["rule_id"] for f in data["findings"] if f["status"] == "pass"}
    assert {"R1-HUB-001", "R1-HUB-002", "R1-HUB-004", "R1-HUB-005", "R1-EP-002"} <= passed
