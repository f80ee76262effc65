"""A file name that is not UTF-8 (Python reads its bytes as lone surrogates) reaches the report as the
bytes it stands for, `\\xff`, never as a character no writer can encode: every format is written, and
`check` exits with its verdict instead of a traceback. `redact`, the one door every string of a Report
passes, makes each string printable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_redaction_everywhere import FIELDS, Secrets, _outputs, _report

from r1policy.core.findings import _may_hold_secret, redact

REPO = Path(__file__).resolve().parent.parent


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=24))
def test_a_name_read_with_surrogateescape_is_shown_as_pythons_backslashreplace_of_its_bytes(
    raw: bytes,
) -> None:
    """Differential: our printable form of a file name equals CPython's own `backslashreplace` decoding
    of the name's bytes (the form `os.fsdecode` gives is what our readers hold)."""
    name = raw.decode("utf-8", "surrogateescape")
    if _may_hold_secret(name):
        return  # redaction proper: tests/test_redaction_everywhere.py
    shown = redact(name)
    assert shown == raw.decode("utf-8", "backslashreplace")
    shown.encode("utf-8")  # no lone surrogate left


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=16))
def test_every_redacted_string_can_be_written_as_utf8(text: str) -> None:
    redact(text).encode("utf-8")


def test_every_format_writes_fields_holding_names_that_are_not_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCOUNT_ID", "111122223333")
    fields = Secrets("aws-key-id")
    fields.text = {name: f"{name}-\udcff-\ud83d.yaml" for name in FIELDS}
    report = _report(fields)
    seen = 0
    for name, text in _outputs(report, tmp_path):
        text.encode("utf-8")  # raises on a lone surrogate
        assert "\\xff" in text or "\\\\xff" in text, f"{name} lost the byte"
        seen += 1
    assert seen > 10
    document = json.loads(next(text for name, text in _outputs(report, tmp_path) if name == "json"))
    assert document["inputs"] == ["input-\\xff-\\ud83d.yaml"]
    assert document["findings"][0]["location"]["path"] == "location.path-\\xff-\\ud83d.yaml"


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_check_of_a_manifest_named_with_a_byte_that_is_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "deploy"
    folder.mkdir()
    shutil.copy(
        REPO / "examples" / "block" / "unsafe-bucket.yaml", os.fsdecode(bytes(folder) + b"/bad\xff.yaml")
    )
    shutil.copy(REPO / "examples" / "r1policy.yaml", tmp_path / "r1policy.yaml")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "r1policy",
            "check",
            "--static",
            "--format",
            "json",
            "--output",
            "r.json",
            "--format",
            "sarif",
            "--output",
            "r.sarif",
            "deploy",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # the manifest's findings block; no traceback (exit 1 too)
    assert "Traceback" not in done.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    paths = {f["location"]["path"] for f in report["findings"] if "location" in f}
    assert paths == {"deploy/bad\\xff.yaml"}
    assert report["inputs"] == ["deploy/bad\\xff.yaml"]
    sarif = json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"]
