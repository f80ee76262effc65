"""`r1policy scan` as a command: configuration (allow_pickle_weights, waivers, rule overrides), exit
codes, --show-passed, bad arguments, the summary line."""

from __future__ import annotations

import pickle
from pathlib import Path

import yaml
from tests.conftest import finding_set, run_cli
from tests.fixtures import make_artifacts as mk


def _pickle_folder(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "weights.bin").write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))


def test_pickle_weights_allowed_by_config(tmp_path: Path) -> None:
    _pickle_folder(tmp_path)
    blocked = run_cli("scan", "models", "--format", "json", cwd=tmp_path)
    assert blocked.code == 1
    assert finding_set(blocked.json, "fail", "error") == {("R1-ART-002", "fail", "models/weights.bin")}
    (tmp_path / "r1policy.yaml").write_text(yaml.safe_dump({"allow_pickle_weights": True}))
    allowed = run_cli("scan", "models", "--format", "json", cwd=tmp_path)
    assert allowed.code == 0 and finding_set(allowed.json, "fail", "error") == set()


def test_waiver_and_override_apply_to_artifact_subjects(tmp_path: Path) -> None:
    _pickle_folder(tmp_path)
    config = {
        "waivers": [
            {
                "rule": "R1-ART-002",
                "subject": "models/*.bin",
                "reason": "legacy checkpoint, conversion tracked",
                "owner": "ml-platform",
                "ticket": "SEC-9",
                "expires": "2099-12-31",
            }
        ]
    }
    (tmp_path / "r1policy.yaml").write_text(yaml.safe_dump(config))
    result = run_cli("scan", "models", "--format", "json", cwd=tmp_path)
    assert result.code == 0
    assert finding_set(result.json, "waived") == {("R1-ART-002", "waived", "models/weights.bin")}
    (tmp_path / "r1policy.yaml").write_text(
        yaml.safe_dump({"rules": {"R1-ART-002": {"enforcement": "warn"}}})
    )
    warned = run_cli("scan", "models", "--format", "json", cwd=tmp_path)
    assert warned.code == 0 and warned.json["summary"]["warnings"] == 1


def test_exit_zero_show_passed_and_summary_line(tmp_path: Path) -> None:
    _pickle_folder(tmp_path)
    result = run_cli("scan", "models", "--format", "json", "--exit-zero", "--show-passed", cwd=tmp_path)
    assert result.code == 0 and result.json["decision"] == "block"
    passed = finding_set(result.json, "pass")
    assert ("R1-ART-001", "pass", "models/weights.bin") in passed
    assert result.stderr.startswith("scanned 1 files (0 archive members), ")
    assert "; 0 unscannable" in result.stderr


def test_every_format_writes_a_file(tmp_path: Path) -> None:
    mk.zip_defects(tmp_path)
    formats = ["json", "sarif", "junit", "markdown", "github", "table"]
    args: list[str] = []
    for fmt in formats:
        args += ["--format", fmt, "--output", f"out.{fmt}"]
    result = run_cli("scan", "traversal.zip", *args, cwd=tmp_path)
    assert result.code == 1, result.stderr
    for fmt in formats:
        assert "traversal.zip" in (tmp_path / f"out.{fmt}").read_text()


def test_bad_targets_and_options_exit_2(tmp_path: Path) -> None:
    missing = run_cli("scan", "no-such-folder", cwd=tmp_path)
    assert missing.code == 2 and "no-such-folder: no such file or folder" in missing.stderr
    (tmp_path / "m.json").write_text("{}")
    no_lock = run_cli("scan", "m.json", "--lock", "absent.lock", cwd=tmp_path)
    assert no_lock.code == 2 and "absent.lock: no such file" in no_lock.stderr
    (tmp_path / "bad.lock").write_text('{"kind": "r1policy-lock", "schema_version": 7, "sources": {}}')
    bad_lock = run_cli("scan", "m.json", "--lock", "bad.lock", cwd=tmp_path)
    assert bad_lock.code == 2 and "bad.lock" in bad_lock.stderr
    assert run_cli("scan", "m.json", "--max-depth", "0", cwd=tmp_path).code == 2
    assert run_cli("scan", cwd=tmp_path).code == 2
