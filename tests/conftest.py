"""Shared test helpers: run the CLI in-process, and validate every JSON report against its schema."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from r1policy.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCHEMAS = ROOT / "schemas"
SHARED = ROOT.parent / "shared"

pytest_plugins = ["tests.support.fixtures"]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        data = json.loads(self.stdout)
        validate_report(data)
        return data


def validate_report(data: Any) -> None:
    schema = json.loads((SCHEMAS / "report-v1.schema.json").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(data)


@contextlib.contextmanager
def _cwd(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_cli(*args: str | Path, cwd: Path | None = None) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with _cwd(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    result = Result(code, out.getvalue(), err.getvalue())
    if "--format" in args and "json" in args and "--output" not in args and code in (0, 1):
        validate_report(json.loads(result.stdout))
    return result


def finding_set(data: dict[str, Any], *statuses: str) -> set[tuple[str, str, str]]:
    """(rule_id, status, subject id) for findings with the given statuses (all when none given)."""
    return {
        (f["rule_id"], f["status"], f["subject"]["id"])
        for f in data["findings"]
        if not statuses or f["status"] in statuses
    }


# Rules judged from the serving image alone (its advisories and support period; tests/test_serving_
# vulnerabilities.py). Tests of how a deployment is read compare the other rules' findings exactly.
IMAGE_VULNERABILITY_RULES = frozenset({"R1-EP-008", "R1-EP-009"})


def reading_findings(data: dict[str, Any], *statuses: str) -> set[tuple[str, str, str]]:
    """finding_set without the image-vulnerability rules."""
    return {f for f in finding_set(data, *statuses) if f[0] not in IMAGE_VULNERABILITY_RULES}


@pytest.fixture
def cli() -> Any:
    return run_cli


@pytest.fixture(autouse=True)
def _hub_offline(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches huggingface.co: the Hub is offline with an empty response cache, unless a test
    starts tests/support/hubserver.py and points HF_ENDPOINT at it (tests/test_hub_*.py)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(tmp_path_factory.mktemp("r1policy-cache")))
    # the derived-data cache (core/derivedcache.py) starts empty for each test too
    monkeypatch.setenv("R1POLICY_DERIVED_CACHE_DIR", str(tmp_path_factory.mktemp("r1policy-derived")))
    monkeypatch.delenv("HF_TOKEN", raising=False)


def base_documents() -> dict[str, Any]:
    """The compliant baseline (policies/cases-base.yaml): manifest, hub_model, state, config."""
    from r1policy.commands.policytest import load_base

    return load_base()


def write_case(
    tmp_path: Path,
    *,
    name: str = "case",
    manifest: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    hub: bool = False,
) -> dict[str, Path]:
    """Write a patched baseline manifest, the baseline state and a config into tmp_path."""
    import yaml

    from r1policy.commands.policytest import base_manifest, patch

    base = base_documents()
    doc = patch(
        base_manifest(base, hub=hub), {"metadata": {"name": name}, "spec": {"endpoint": {"name": name}}}
    )
    doc = patch(doc, manifest or {})
    paths = {
        "manifest": tmp_path / f"{name}.yaml",
        "state": tmp_path / "state.json",
        "config": tmp_path / "r1policy.yaml",
    }
    paths["manifest"].write_text(yaml.safe_dump(doc, sort_keys=False))
    paths["state"].write_text(json.dumps(base["state"]))
    paths["config"].write_text(yaml.safe_dump(patch(base["config"], config or {}), sort_keys=False))
    return paths


def check_case(paths: dict[str, Path], *extra: str | Path) -> Result:
    """`r1policy check` of a written case with its state and config, as JSON."""
    return run_cli(
        "check",
        paths["manifest"],
        "--state",
        paths["state"],
        "--config",
        paths["config"],
        "--format",
        "json",
        *extra,
    )
