"""The audit report's Licences table (audit.json `audit.licences`, audit.md, audit.html)."""

from __future__ import annotations

from pathlib import Path

from tests.test_audit_report import audit, endpoint_spec, latest_run, state_doc

LLAMA8 = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
SHA = "6a6f4aa4197940add57724a7707d069478df56b1"


def _state() -> dict[str, object]:
    state = state_doc(endpoint_spec("r1-s3"), endpoint_spec("r1-hub"))
    models = state["sagemaker"]["111122223333"]["us-east-1"]["models"]  # type: ignore[index]
    hub = next(m for m in models if m["ModelName"] == "r1-hub")
    del hub["PrimaryContainer"]["ModelDataSource"]
    hub["PrimaryContainer"]["Environment"] = {
        "HF_MODEL_ID": LLAMA8,
        "HF_MODEL_REVISION": SHA,
        "SM_NUM_GPUS": "1",
    }
    return state


def test_licences_table_per_deployment(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = audit(tmp_path, reports, _state(), config={"licences": {"allowed": ["MIT", "Apache-2.0"]}})
    assert result.code == 1, result.stderr
    doc, markdown, html = latest_run(reports)
    rows = {r["deployment"]: r for r in doc["audit"]["licences"]}
    assert set(rows) == {"r1-s3", "r1-hub"}
    hub = rows["r1-hub"]
    assert hub["licences"] == "MIT, llama3.1"
    assert hub["lineage"] == f"{LLAMA8} (MIT card) ← meta-llama/Llama-3.1-8B (llama3.1)"
    assert "Built with Llama" in hub["obligations"]
    assert hub["decision"] == "fail"
    assert rows["r1-s3"]["licences"].startswith("unknown: the lineage of s3://")
    assert rows["r1-s3"]["decision"] == "error"
    assert "## Licences" in markdown and "meta-llama/Llama-3.1-8B (llama3.1)" in markdown
    assert 'id="h-licences"' in html and "Built with Llama" in html


def test_no_licences_table_without_the_config(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    audit(tmp_path, reports, _state())
    doc, markdown, html = latest_run(reports)
    assert "licences" not in doc["audit"]
    assert "## Licences" not in markdown and 'id="h-licences"' not in html
