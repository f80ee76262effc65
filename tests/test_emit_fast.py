"""Facts and findings of many deployments, built with per-run shortcuts (docs/check-speed.md, "Facts and
findings"): the findings come out in `Finding.sort_key` order, what depends on a rule alone is decided
once per rule, and advisories are matched once per serving version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import base_documents
from r1policy.commands.policytest import base_manifest, patch
from r1policy.core.findings import Finding, Status
from r1policy.engine.evaluate import Evaluator
from r1policy.engine.hubfacts import HubContext
from r1policy.engine.report import Report
from r1policy.facts import advisories
from r1policy.project.config import Config, load_config
from r1policy.project.state import load_state
from r1policy.rules.registry import load_registry
from r1policy.sources.discover import discover

INSTANCE_TYPES = ("ml.g5.2xlarge", "ml.g4dn.xlarge", "ml.m5.xlarge")
TODAY = dt.date(2026, 6, 1)


Written = tuple[Path, Path, Path]


def _write(tmp_path: Path, count: int, waivers: list[dict[str, Any]] | None = None) -> Written:
    """`count` deployments varied as bench/bench_check.py varies them, with the baseline state and config."""
    base = base_documents()
    folder = tmp_path / "manifests"
    folder.mkdir()
    for i in range(count):
        name = f"dep-{i:03d}"
        doc = patch(
            base_manifest(base, hub=i % 4 == 3),
            {"metadata": {"name": name}, "spec": {"endpoint": {"name": name}}},
        )
        doc["spec"]["endpoint"]["instance_type"] = INSTANCE_TYPES[i % len(INSTANCE_TYPES)]
        if i % 5 == 2:
            doc["spec"]["endpoint"]["network_isolation"] = False
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    config = tmp_path / "r1policy.yaml"
    config.write_text(yaml.safe_dump({**base["config"], "waivers": waivers or []}, sort_keys=False))
    state = tmp_path / "state.yaml"
    state.write_text(yaml.safe_dump(base["state"], sort_keys=False))
    return folder, config, state


def _evaluator(tmp_path: Path, config_path: Path, state_path: Path | None) -> Evaluator:
    config = load_config(config_path, tmp_path)
    state = load_state(state_path) if state_path else None
    return Evaluator(
        load_registry(), config, state=state, static=state is None, today=TODAY, hub=HubContext(source=None)
    )


WAIVERS = [
    {  # active, for one deployment's failing instance type
        "rule": "R1-EP-001",
        "subject": "dep-001",
        "reason": "capacity test",
        "owner": "ml-platform",
        "expires": "2030-01-01",
    },
    {  # expired: a notice, and the finding says so in its message (part of its sort key)
        "rule": "R1-EP-003",
        "subject": "dep-002",
        "reason": "old exception",
        "owner": "ml-platform",
        "expires": "2020-01-01",
        "ticket": "OPS-1",
    },
]


@pytest.mark.parametrize("with_state", [False, True], ids=["static", "state"])
def test_findings_come_out_in_sort_key_order(tmp_path: Path, with_state: bool) -> None:
    """The sort keys built from each deployment's shared parts order the findings exactly as
    `Finding.sort_key` does (a stable sort: equal keys keep the order in which they were made)."""
    folder, config, state = _write(tmp_path, 20, WAIVERS)
    inputs = discover([folder])
    evaluator = _evaluator(tmp_path, config, state if with_state else None)
    outcome = evaluator.evaluate(inputs.deployments)
    findings = outcome.findings
    assert findings == sorted(findings, key=Finding.sort_key)
    statuses = {f.status for f in findings}
    assert {Status.PASS, Status.FAIL, Status.SKIPPED, Status.WAIVED} <= statuses
    assert any("(waiver expired on 2020-01-01)" in f.message for f in findings)
    assert any(n.kind == "expired-waiver" for n in outcome.notices)
    # the same findings, in the same order, as a second evaluation with nothing cached in the evaluator
    again = _evaluator(tmp_path, config, state if with_state else None).evaluate(inputs.deployments)
    assert again.findings == findings
    Report(findings=findings, notices=outcome.notices, inputs=inputs.files, rules=evaluator.registry.rules)


def test_rule_level_decisions_are_made_once_per_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Severity (and enforcement, waivers, the facts a rule reads) are decided once per rule and run,
    not once per finding."""
    folder, config, _ = _write(tmp_path, 12)
    inputs = discover([folder])
    evaluator = _evaluator(tmp_path, config, None)
    calls = []
    original = Config.severity_of

    def counted(self: Config, rule_id: str, default: Any) -> Any:
        calls.append(rule_id)
        return original(self, rule_id, default)

    monkeypatch.setattr(Config, "severity_of", counted)
    outcome = evaluator.evaluate(inputs.deployments)
    assert len(outcome.findings) > 10 * len(evaluator.registry.rules) // 2
    assert len(calls) <= 2 * len(evaluator.registry.rules)


def test_advisories_are_matched_once_per_serving_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, config, _ = _write(tmp_path, 12)
    inputs = discover([folder])
    images = {d.image for d in inputs.deployments}
    assert len(images) == 1  # every deployment runs the baseline's serving image
    store = advisories.load_store()
    calls = []
    original = advisories.Advisory.affected

    def counted(self: advisories.Advisory, package: str, version: str) -> Any:
        calls.append((self.id, package, version))
        return original(self, package, version)

    monkeypatch.setattr(advisories.Advisory, "affected", counted)
    _evaluator(tmp_path, config, None).evaluate(inputs.deployments)
    assert 0 < len(calls) <= len(store.advisories)
