"""r1policy.project.lockfile: deterministic round trip, schema errors with file:line, merge, diff."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conftest import SCHEMAS
from r1policy.core.errors import InputError
from r1policy.project.lockfile import (
    Lock,
    LockedFile,
    LockedSource,
    diff_locks,
    dumps,
    file_key,
    hub_key,
    load_lock,
    merge,
    s3_key,
    s3_key_from_uri,
    write_lock,
)

SHA_A = "6a6f4aa4197940add57724a7707d069478df56b1"
SHA_B = "0" * 40
H1 = "a" * 64
H2 = "b" * 64


def _lock() -> Lock:
    return Lock(
        sources={
            "s3://acme-llm-weights/r1/": LockedSource(
                files={"model.safetensors": LockedFile(size=10, sha256=H2, version_id="v1")}
            ),
            "hf://deepseek-ai/DeepSeek-R1": LockedSource(
                revision=SHA_A,
                repo_id="678dc6fff905d106be796d8a",
                files={"config.json": LockedFile(size=1, sha256=H1), "a.py": LockedFile(size=2, sha256=H2)},
            ),
        }
    )


def test_round_trip_is_deterministic_and_schema_valid(tmp_path: Path) -> None:
    path = tmp_path / "r1policy.lock"
    write_lock(path, _lock())
    text = path.read_text()
    assert text.endswith("}\n")
    data = json.loads(text)
    schema = json.loads((SCHEMAS / "lock-v1.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert list(data["sources"]) == sorted(data["sources"])
    assert list(data["sources"]["hf://deepseek-ai/DeepSeek-R1"]["files"]) == ["a.py", "config.json"]
    assert data["sources"]["hf://deepseek-ai/DeepSeek-R1"]["files"]["a.py"]["version_id"] is None
    loaded = load_lock(path)
    assert loaded == _lock()
    write_lock(path, loaded)
    assert path.read_text() == text
    assert not [p for p in tmp_path.iterdir() if p.name != "r1policy.lock"]  # no temp file left


def test_indent_and_key_order() -> None:
    text = dumps(Lock(sources={hub_key("org/m"): LockedSource(revision=SHA_B, repo_id="x")}))
    assert text == (
        "{\n"
        '  "kind": "r1policy-lock",\n'
        '  "schema_version": 1,\n'
        '  "sources": {\n'
        '    "hf://org/m": {\n'
        '      "files": {},\n'
        '      "repo_id": "x",\n'
        f'      "revision": "{SHA_B}"\n'
        "    }\n"
        "  }\n"
        "}\n"
    )


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('{"kind": "r1policy-lock", "schema_version": 3, "sources": {}}', 1, "schema_version 3"),
        ('{"kind": "something-else", "schema_version": 1}', 1, "not an r1policy lock file"),
        ("{\n", 2, "invalid YAML"),
        (
            '{"kind": "r1policy-lock", "schema_version": 1,\n "sources": {"hf://o/r": {"revision": "main",'
            ' "repo_id": null, "files": {}}}}',
            2,
            "revision",
        ),
        (
            '{"kind": "r1policy-lock", "schema_version": 1, "sources": {\n "hf://o/r": {"revision": null,'
            ' "repo_id": null,\n "files": {"x": {"size": 1, "sha256": "zz"}}}}}',
            3,
            "sha256",
        ),
        (
            '{"kind": "r1policy-lock", "schema_version": 1, "sources": {\n "hf://o/r": {"revision": null,'
            ' "repo_id": null,\n  "files": {}, "colour": 1}}}',
            3,
            "unknown field",
        ),
        (
            '{"kind": "r1policy-lock", "schema_version": 2, "sources": {\n "s3://bkt1/m/": {"revision": null,'
            ' "repo_id": null,\n "files": {"x": {"size": 1, "sha256": null}}}}}',
            3,
            "parts",
        ),
    ],
    ids=["version", "kind", "syntax", "branch_revision", "bad_sha256", "unknown_field", "no_digest"],
)
def test_bad_lock_names_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "r1policy.lock"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_lock(path)
    assert info.value.position.path == str(path)
    assert info.value.position.line == line
    assert fragment in info.value.message


def test_missing_lock_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read file"):
        load_lock(tmp_path / "absent.lock")


def test_merge_replaces_whole_sources() -> None:
    old = _lock()
    new = Lock(sources={"hf://deepseek-ai/DeepSeek-R1": LockedSource(revision=SHA_B, repo_id="y")})
    merged = merge(old, new)
    assert merged.sources["hf://deepseek-ai/DeepSeek-R1"] == LockedSource(revision=SHA_B, repo_id="y")
    assert merged.sources["s3://acme-llm-weights/r1/"] == old.sources["s3://acme-llm-weights/r1/"]


def test_diff_lines() -> None:
    old = _lock()
    hub = old.sources["hf://deepseek-ai/DeepSeek-R1"]
    changed = LockedSource(
        revision=SHA_B,
        repo_id=hub.repo_id,
        files={"config.json": LockedFile(size=1, sha256=H2), "b.py": LockedFile(size=3, sha256=H1)},
    )
    new = Lock(sources={"hf://deepseek-ai/DeepSeek-R1": changed, "hf://o/new": LockedSource(revision=SHA_A)})
    assert diff_locks(old, old) == []
    assert diff_locks(old, new) == [
        "~ hf://deepseek-ai/DeepSeek-R1",
        f"    revision: {SHA_A} -> {SHA_B}",
        "    - a.py (2 bytes, sha256 bbbbbbbbbbbb)",
        "    + b.py (3 bytes, sha256 aaaaaaaaaaaa)",
        "    ~ config.json: 1 bytes, sha256 aaaaaaaaaaaa -> 1 bytes, sha256 bbbbbbbbbbbb",
        "+ hf://o/new @ 6a6f4aa41979 (0 files)",
        "- s3://acme-llm-weights/r1/ @ none (1 files)",
    ]


def test_source_keys(tmp_path: Path) -> None:
    assert hub_key("deepseek-ai/DeepSeek-R1") == "hf://deepseek-ai/DeepSeek-R1"
    assert s3_key("b", "p/q") == "s3://b/p/q/"
    assert s3_key("b") == "s3://b/"
    assert s3_key_from_uri("s3://bucket/a/b/") == "s3://bucket/a/b/"
    assert s3_key_from_uri("s3://bucket") == "s3://bucket/"
    (tmp_path / "models" / "m").mkdir(parents=True)
    assert file_key(tmp_path / "models" / "m", tmp_path / "r1policy.lock") == "file:models/m"
