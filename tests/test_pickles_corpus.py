"""The labelled picklescan corpus (../shared/corpora/picklescan, never loaded) and the canary.

Analysis level only: every non-zip sample goes through sniff + analyse; zips are opened read-only
with zipfile and their members fed to analyse. Zip-level refusals (encryption, CRC, name mismatch)
are the archive layer's (R1-ART-007) and are covered by the scanner's end-to-end test.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from tests.fixtures.make_pickles import CANARY, build_cases

from r1policy.artifacts.pickles import PickleAnalysis, PickleKind, analyse, sniff

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "picklescan"
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "LABELS.tsv").is_file(), reason=f"shared picklescan corpus not found at {CORPUS}"
)


def _labels() -> list[tuple[str, str]]:
    if not (CORPUS / "LABELS.tsv").is_file():
        return []
    with (CORPUS / "LABELS.tsv").open(newline="") as handle:
        return [(row["path"], row["label"]) for row in csv.DictReader(handle, delimiter="\t")]


LABELS = _labels()


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _analyse_file(path: Path) -> tuple[PickleKind | None, PickleAnalysis]:
    with path.open("rb") as handle:
        head = handle.read(65536)
    kind = sniff(head)
    with path.open("rb") as handle:  # not pickle-based: forced through the pickle path, must still fail
        return kind, analyse(handle, kind or PickleKind.PICKLE)


def _analyse_zip(path: Path) -> list[tuple[str, str, PickleAnalysis | None]]:
    """(member, status, analysis) per member; status: pickle, other (not pickle-based), refused."""
    out: list[tuple[str, str, PickleAnalysis | None]] = []
    with zipfile.ZipFile(path) as archive:
        torch_layout = any(n.endswith("/data.pkl") or n == "data.pkl" for n in archive.namelist())
        for info in archive.infolist():
            try:
                with archive.open(info) as member:
                    head = member.read(65536)
                kind = sniff(head)
                if kind is None:
                    out.append((info.filename, "other", None))
                    continue
                if kind is PickleKind.PICKLE and torch_layout:
                    kind = PickleKind.TORCH_ZIP
                with archive.open(info) as member:
                    out.append((info.filename, "pickle", analyse(member, kind)))
            except (RuntimeError, NotImplementedError, zipfile.BadZipFile):
                out.append((info.filename, "refused", None))  # encrypted, unsupported flag, CRC, names
    return out


@needs_corpus
@pytest.mark.parametrize(("rel", "label"), LABELS, ids=[rel for rel, _ in LABELS])
def test_corpus_sample(rel: str, label: str) -> None:
    path = CORPUS / rel
    if _is_zip(path):
        members = _analyse_zip(path)
        analysed = [(name, a) for name, _, a in members if a is not None]
        refused = [name for name, status, _ in members if status == "refused"]
        if label == "benign":
            assert analysed and all(a.problems == () for _, a in analysed), members
        elif analysed and not refused:
            assert any(a.problems for _, a in analysed), members
        else:
            pytest.skip(f"{rel}: the zip itself is refused; the archive layer's end-to-end test covers it")
        return
    kind, result = _analyse_file(path)
    if label == "benign":
        assert kind is not None
        assert result.problems == (), [str(p) for p in result.problems]
    else:
        # not pickle-based (kind None: the scanner reports an unknown format) or a problem found
        assert kind is None or result.problems, f"{rel} analysed clean"
        assert result.problems, f"{rel}: forced through the pickle path it must still fail"


@needs_corpus
def test_corpus_detection_counts() -> None:
    flagged = {"malicious": 0, "unscannable": 0, "benign": 0}
    for rel, label in LABELS:
        path = CORPUS / rel
        if _is_zip(path):
            members = _analyse_zip(path)
            bad = any(status == "refused" or (a is not None and a.problems) for _, status, a in members)
        else:
            kind, result = _analyse_file(path)
            bad = kind is None or bool(result.problems)
        flagged[label] += bad
    totals = {label: sum(1 for _, lab in LABELS if lab == label) for label in flagged}
    assert flagged["malicious"] == totals["malicious"]
    assert flagged["unscannable"] == totals["unscannable"]
    assert flagged["benign"] == 0


def test_canary_never_runs() -> None:
    """Analyse every fixture and every corpus sample; a payload that ran would create CANARY."""
    CANARY.unlink(missing_ok=True)
    canaries = [c for c in build_cases() if c.bypass == "canary" or str(CANARY) in c.data.decode("latin1")]
    assert len(canaries) >= 3  # os.system('touch CANARY'), builtins.open(CANARY, 'w'), and more
    for case in build_cases():
        result = analyse(io.BytesIO(case.data), PickleKind(case.kind))
        sniff(case.data[:65536])
        if case in canaries:
            assert result.problems
    for rel, _ in LABELS:
        path = CORPUS / rel
        if _is_zip(path):
            _analyse_zip(path)
        else:
            _analyse_file(path)
    assert not CANARY.exists(), "a pickle payload was executed during analysis"
