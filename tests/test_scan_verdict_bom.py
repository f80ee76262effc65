"""Issue 21: the verdict of `r1policy scan` travels with the bytes it judged — `scan --write-lock`
records it in the lock entry (`scan`: decision, blocking rules, r1policy version), a re-lock of the same
bytes keeps it, changed bytes drop it, and the BOM shows it as `r1policy:scan-verdict` on the model.

Every test here fails on the code before this change: the lock had no `scan` field (the schema refused
it) and the BOM no scan property."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from tests.conftest import run_cli, write_case

from r1policy import __version__
from r1policy.core.errors import InputError
from r1policy.project.lockfile import LockedFile, LockedSource, diff_locks, load_lock, merge

LLAMA8 = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
SHA = "6a6f4aa4197940add57724a7707d069478df56b1"
H1 = "a" * 64


def _scan_folder(tmp_path: Path, *, bad: bool) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    if bad:  # pickled weights: R1-ART-002 fails unless allow_pickle_weights
        (folder / "weights.bin").write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    return folder


def _lock_entry(tmp_path: Path) -> dict[str, Any]:
    data = json.loads((tmp_path / "r1policy.lock").read_text())
    assert list(data["sources"]) == ["file:models"]
    entry: dict[str, Any] = data["sources"]["file:models"]
    return entry


def test_scan_write_lock_records_allow_for_clean_files(tmp_path: Path) -> None:
    _scan_folder(tmp_path, bad=False)
    result = run_cli("scan", "models", "--write-lock", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.stderr
    entry = _lock_entry(tmp_path)
    assert entry["scan"] == {"decision": "allow", "blocking": [], "r1policy": __version__}
    assert load_lock(tmp_path / "r1policy.lock").sources["file:models"].scan is not None


def test_scan_write_lock_records_block_with_the_blocking_rules(tmp_path: Path) -> None:
    _scan_folder(tmp_path, bad=True)
    result = run_cli("scan", "models", "--write-lock", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert _lock_entry(tmp_path)["scan"] == {
        "decision": "block",
        "blocking": ["R1-ART-002"],
        "r1policy": __version__,
    }
    # Allowed by the config, the same bytes re-scanned: the verdict is replaced, and the diff says so.
    (tmp_path / "r1policy.yaml").write_text(yaml.safe_dump({"allow_pickle_weights": True}))
    again = run_cli("scan", "models", "--write-lock", "--format", "json", cwd=tmp_path)
    assert again.code == 0
    assert _lock_entry(tmp_path)["scan"]["decision"] == "allow"
    assert "scan: block (R1-ART-002) -> allow" in again.stderr


def test_relock_keeps_the_verdict_of_the_same_bytes_and_drops_it_for_others() -> None:
    from r1policy.project.lockfile import Lock, ScanRecord

    files = {"config.json": LockedFile(size=1, sha256=H1)}
    scanned = LockedSource(revision=SHA, files=files, scan=ScanRecord("allow", (), "0.1.0"))
    old = Lock(sources={f"hf://{LLAMA8}": scanned})
    same = merge(old, Lock(sources={f"hf://{LLAMA8}": LockedSource(revision=SHA, files=files)}))
    assert same.sources[f"hf://{LLAMA8}"].scan == scanned.scan
    assert diff_locks(old, same) == []
    other = {"config.json": LockedFile(size=1, sha256="b" * 64)}
    changed = merge(old, Lock(sources={f"hf://{LLAMA8}": LockedSource(revision=SHA, files=other)}))
    assert changed.sources[f"hf://{LLAMA8}"].scan is None
    assert "    scan: allow -> none" in diff_locks(old, changed)


MALFORMED: list[dict[str, Any]] = [
    {"decision": "maybe", "blocking": [], "r1policy": "0.1.0"},
    {"decision": "allow", "blocking": ["not-a-rule"], "r1policy": "0.1.0"},
    {"decision": "allow", "blocking": []},
    {"decision": "allow", "blocking": [], "r1policy": "0.1.0", "extra": 1},
]


def _write_lock_with(path: Path, scan: dict[str, Any]) -> None:
    lock = {
        "schema_version": 1,
        "kind": "r1policy-lock",
        "sources": {
            f"hf://{LLAMA8}": {
                "revision": SHA,
                "repo_id": None,
                "files": {"config.json": {"size": 1, "sha256": H1, "version_id": None}},
                "scan": scan,
            }
        },
    }
    path.write_text(json.dumps(lock, indent=1))


def test_scan_record_is_read_and_a_malformed_one_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "r1policy.lock"
    _write_lock_with(path, {"decision": "block", "blocking": ["R1-ART-001"], "r1policy": "0.1.0"})
    scan = load_lock(path).sources[f"hf://{LLAMA8}"].scan
    assert scan is not None and (scan.decision, scan.blocking) == ("block", ("R1-ART-001",))
    for bad in MALFORMED:
        _write_lock_with(path, bad)
        with pytest.raises(InputError) as caught:
            load_lock(path)
        assert caught.value.position.path == str(path)
        assert "scan" in caught.value.message


def _bom_of_s3_case(tmp_path: Path, scan: dict[str, Any] | None) -> dict[str, Any]:
    paths = write_case(tmp_path)
    uri = yaml.safe_load(paths["manifest"].read_text())["spec"]["model"]["s3"]["uri"]
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    key = f"s3://{bucket}/{prefix.strip('/')}/"
    body = b"{}"
    entry: dict[str, Any] = {
        "revision": None,
        "repo_id": None,
        "files": {"config.json": {"size": 2, "sha256": hashlib.sha256(body).hexdigest(), "version_id": "v1"}},
    }
    if scan is not None:
        entry["scan"] = scan
    lock = tmp_path / "r1policy.lock"
    lock.write_text(json.dumps({"schema_version": 1, "kind": "r1policy-lock", "sources": {key: entry}}))
    result = run_cli("bom", paths["manifest"], "--config", paths["config"], "--static", "--lock", lock)
    assert result.code == 0, result.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout) is None
    models = [c for c in json.loads(result.stdout)["components"] if c["type"] == "machine-learning-model"]
    assert len(models) == 1
    return {p["name"]: p["value"] for p in models[0].get("properties", [])}


def test_bom_carries_the_scan_verdict_of_the_locked_files(tmp_path: Path) -> None:
    scan = {"decision": "block", "blocking": ["R1-ART-001", "R1-ART-002"], "r1policy": "0.1.0"}
    props = _bom_of_s3_case(tmp_path, scan)
    assert (
        props["r1policy:scan-verdict"]
        == "block: R1-ART-001, R1-ART-002 (r1policy 0.1.0, on the 1 locked files)"
    )


def test_bom_says_when_the_lock_holds_no_scan_verdict(tmp_path: Path) -> None:
    props = _bom_of_s3_case(tmp_path, None)
    assert props["r1policy:scan-verdict"].startswith("not recorded")
