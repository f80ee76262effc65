"""The artifact rules (R1-ART-001..003, 005..010) in the registry: their own cases, templates that
render with a scanned file's names, and the Cedar schema's Artifact entity."""

from __future__ import annotations

import pytest

from r1policy.artifacts.model import FileFacts
from r1policy.artifacts.verdict import artifact_input
from r1policy.commands.policytest import load_base, load_cases, run_case
from r1policy.core.findings import Status, SubjectType
from r1policy.engine.render import render_message, render_remediation, validate_templates
from r1policy.rules.registry import load_registry

REGISTRY = load_registry()
ARTIFACT_RULES = sorted(
    {*(f"R1-ART-00{i}" for i in (1, 2, 3, 5, 6, 7, 8, 9)), "R1-ART-010", "R1-ART-011", "R1-ART-012"}
)
CASES = [c for rule_id in ARTIFACT_RULES for c in load_cases(REGISTRY.rule(rule_id))]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule_id}:{c.name}" for c in CASES])
def test_artifact_rule_case(case) -> None:  # type: ignore[no-untyped-def]
    result = run_case(REGISTRY, case, load_base())
    assert result.ok, result.detail


@pytest.mark.parametrize("rule_id", ARTIFACT_RULES)
def test_rule_is_an_artifact_rule_with_pass_and_fail_cases(rule_id: str) -> None:
    rule = REGISTRY.rule(rule_id)
    assert rule.subject is SubjectType.ARTIFACT and REGISTRY.judges_artifacts(rule_id)
    expected = {c.expect for c in load_cases(rule)}
    assert {Status.PASS, Status.FAIL} <= expected


@pytest.mark.parametrize("rule_id", ARTIFACT_RULES)
def test_templates_render_with_a_scanned_files_names(rule_id: str) -> None:
    names = artifact_input(FileFacts("model.tar.gz!/code/inference.py")).names
    assert validate_templates(REGISTRY.rule(rule_id), names) == []


def test_digest_mismatch_message_and_remediation_render_for_a_file() -> None:
    facts = FileFacts("model/config.json", digest_problems=["r1policy.lock says sha256 aa, the file has bb"])
    names = artifact_input(facts, lock_key="file:model").names
    rule = REGISTRY.rule("R1-ART-004")
    message = render_message(rule, "artifact_digest", names)
    assert (
        message == "model/config.json does not have the bytes it must have: "
        "r1policy.lock says sha256 aa, the file has bb."
    )
    assert render_remediation(rule, names).steps


def test_deployment_rules_do_not_judge_artifacts() -> None:
    judged = {r for r in REGISTRY.rules if REGISTRY.judges_artifacts(r)}
    assert judged == {*ARTIFACT_RULES, "R1-ART-004"}


def test_unreadable_artifact_is_error_for_every_artifact_rule() -> None:
    from r1policy.engine.evaluate import Evaluator
    from r1policy.engine.hubfacts import HubContext
    from r1policy.project.config import Config

    facts = FileFacts(
        "s3://b/m/model.safetensors", unreadable="AccessDenied reading s3://b/m/model.safetensors"
    )
    evaluator = Evaluator(REGISTRY, Config(), state=None, static=False, hub=HubContext(source=None))
    outcome = evaluator.evaluate_artifacts([artifact_input(facts)])
    assert {(f.rule_id, f.status) for f in outcome.findings} == {
        (r, Status.ERROR) for r in [*ARTIFACT_RULES, "R1-ART-004"] if r not in ("R1-ART-011", "R1-ART-012")
    } | {("R1-ART-011", Status.SKIPPED), ("R1-ART-012", Status.SKIPPED)}  # neither is configured
    assert all(f.blocks for f in outcome.findings if f.status is Status.ERROR)
