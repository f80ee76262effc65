"""The detection bar, end to end through `r1policy scan`: every malicious and unscannable sample of the
shared picklescan corpus blocks, no benign sample gets a finding other than R1-ART-002; and a canary
proves that no payload runs while scanning."""

from __future__ import annotations

import csv
import os
import pickle
import shutil
import tarfile
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SHARED, run_cli

CORPUS = SHARED / "corpora" / "picklescan"
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "LABELS.tsv").is_file(), reason="the shared picklescan corpus (../shared/corpora) is absent"
)


def _labels() -> dict[str, str]:
    with (CORPUS / "LABELS.tsv").open(newline="") as handle:
        return {row["path"]: row["label"] for row in csv.DictReader(handle, delimiter="\t")}


def _blocking_by_file(data: dict[str, Any], root: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for f in data["findings"]:
        if f["status"] in ("fail", "error"):
            top = f["subject"]["id"].split("!/")[0]
            out[os.path.relpath(top, root)].add(f["rule_id"])
    return out


@needs_corpus
def test_detection_bar_over_the_whole_corpus() -> None:
    result = run_cli("scan", CORPUS, "--format", "json")
    assert result.code == 1
    found = _blocking_by_file(result.json, str(CORPUS))
    labels = _labels()
    missed = sorted(p for p, label in labels.items() if label != "benign" and not found.get(p))
    noisy = {
        p: sorted(found[p] - {"R1-ART-002"})
        for p, label in labels.items()
        if label == "benign" and found.get(p, set()) - {"R1-ART-002"}
    }
    assert missed == []
    assert noisy == {}
    # The files next to the samples (README, licence, labels) are text and judged clean.
    assert {p for p in found if p not in labels} == set()
    assert "scanned 112 files" in result.stderr


@needs_corpus
def test_unsafe_pickle_names_the_global_and_offset() -> None:
    result = run_cli("scan", CORPUS / "data" / "malicious0.pkl", "--format", "json")
    messages = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-001"]
    assert len(messages) == 1
    assert "builtins.eval at byte 123" in messages[0]


class _Payload:
    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.canary}",))


def test_canary_no_payload_runs(tmp_path: Path) -> None:
    canary = tmp_path / "canary-created"
    folder = tmp_path / "payloads"
    folder.mkdir()
    data = pickle.dumps(_Payload(canary), protocol=2)  # dumps only serialises; nothing runs
    (folder / "model.bin").write_bytes(data)
    (folder / "weights.safetensors").write_bytes(pickle.dumps(_Payload(canary), protocol=4))
    with zipfile.ZipFile(folder / "model.pt", "w") as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/version", "3\n")
    with tarfile.open(folder / "model.tar.gz", "w:gz") as archive:
        archive.add(folder / "model.pt", "nested/model.pt")
    if CORPUS.is_dir():
        shutil.copytree(CORPUS / "data", folder / "corpus")
    result = run_cli("scan", folder, "--format", "json")
    assert result.code == 1
    assert not canary.exists()
    blocked = {
        f["subject"]["id"]
        for f in result.json["findings"]
        if f["rule_id"] == "R1-ART-001" and f["status"] == "fail"
    }
    assert {
        f"{folder}/model.bin",
        f"{folder}/weights.safetensors",
        f"{folder}/model.pt!/archive/data.pkl",
        f"{folder}/model.tar.gz!/nested/model.pt!/archive/data.pkl",
    } <= blocked
