"""Each rule's own pass/fail cases (policies/<RULE>/cases.yaml), run by `policies test` and pytest."""

from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Finding, Status
from r1policy.core.resources import policies_dir
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import Document, load_yaml_documents, read_text
from r1policy.engine.evaluate import Evaluator
from r1policy.project import state as state_mod
from r1policy.project.config import from_document
from r1policy.rules.metadata import RuleMeta
from r1policy.rules.registry import RuleRegistry
from r1policy.sources.native import load_native

CASES_FILE = "cases.yaml"
# In a patch, `null` deletes a key; this value sets it to an explicit null instead.
EXPLICIT_NULL = "<null>"
BASE_FILE = "cases-base.yaml"
_DELETE = object()


@dataclass(frozen=True)
class Case:
    rule_id: str
    name: str
    expect: Status
    spec: dict[str, Any]
    path: str


@dataclass(frozen=True)
class CaseResult:
    case: Case
    ok: bool
    detail: str
    findings: tuple[Finding, ...]


def _load_yaml(path: Path) -> Any:
    docs = list(load_yaml_documents(read_text(path), str(path)))
    return docs[0].value if docs else None


def load_base() -> dict[str, Any]:
    value = _load_yaml(policies_dir() / BASE_FILE)
    assert isinstance(value, dict)
    return value


def load_cases(rule: RuleMeta) -> list[Case]:
    if rule.folder is None:
        return []
    path = Path(rule.folder) / CASES_FILE
    if not path.is_file():
        return []
    raw = _load_yaml(path) or []
    if not isinstance(raw, list):
        raise InputError(Position(str(path), 1, 1), "cases.yaml holds a list of cases")
    cases = []
    for item in raw:
        if not isinstance(item, dict) or "name" not in item or "expect" not in item:
            raise InputError(Position(str(path)), "each case needs `name` and `expect`")
        cases.append(Case(rule.id, str(item["name"]), Status(item["expect"]), item, str(path)))
    return cases


def patch(base: Any, change: Any) -> Any:
    """Deep-merge `change` onto `base`: mappings merge, None deletes a key, "<null>" sets an explicit
    null, anything else replaces."""
    if change == EXPLICIT_NULL:
        return None
    if isinstance(base, dict) and isinstance(change, dict):
        out = dict(base)
        for key, value in change.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = patch(out.get(key), value)
        return out
    return copy.deepcopy(change)


def base_manifest(base: dict[str, Any], *, hub: bool) -> dict[str, Any]:
    """A copy of the baseline manifest; with `hub`, the model comes from the Hub instead of S3."""
    manifest: dict[str, Any] = copy.deepcopy(base["manifest"])
    if hub:
        manifest["spec"]["model"] = copy.deepcopy(base["hub_model"])
        manifest["spec"]["container"]["env"].pop("HF_MODEL_ID", None)
    return manifest


def run_case(registry: RuleRegistry, case: Case, base: dict[str, Any]) -> CaseResult:
    spec = case.spec
    if "artifact" in spec or registry.rule(case.rule_id).on_artifact:
        return _run_artifact_case(registry, case, base)
    manifest = patch(base_manifest(base, hub=spec.get("base") == "hub"), spec.get("manifest") or {})
    where = f"{case.path}#{case.name}"
    deployment = load_native(Document(path=where, value=manifest))
    state = None
    if "state" not in spec or spec["state"] is not None:
        state_value = patch(base["state"], spec.get("state") or {})
        state_doc = Document(path=where, value=state_value)
        validate_document(state_doc, state_mod.SCHEMA)
        state = state_mod.from_value(state_value, where)
    config = from_document(Document(path=where, value=patch(base["config"], spec.get("config") or {})))
    static = bool(spec.get("static", False))
    evaluator = Evaluator(
        registry, config, state=state, static=static, today=_dt.date(2026, 6, 1), hub=_case_hub(spec, base)
    )
    findings = tuple(f for f in evaluator.evaluate([deployment]).findings if f.rule_id == case.rule_id)
    return _verdict(case, findings)


def _case_hub(spec: dict[str, Any], base: dict[str, Any]) -> Any:
    """The Hub a case sees: base `hub` patched by the case's `hub` (never the network; none with
    `static`), and the case's `lock` (an r1policy.lock value) if it has one."""
    from r1policy.engine.hubfacts import HubContext
    from r1policy.hub.static import StaticHub
    from r1policy.project.lockfile import from_value as lock_from_value

    source = None if spec.get("static") else StaticHub(patch(base.get("hub") or {}, spec.get("hub") or {}))
    lock = None
    if spec.get("lock"):
        value = {"schema_version": 1, "kind": "r1policy-lock", **spec["lock"]}
        validate_document(Document(path=f"{spec.get('name')}.lock", value=value), "lock-v1.schema.json")
        lock = lock_from_value(value)
    return HubContext(source=source, lock=lock, lock_path="r1policy.lock" if lock else None)


def _run_artifact_case(registry: RuleRegistry, case: Case, base: dict[str, Any]) -> CaseResult:
    """A case with `artifact:` (FileFacts fields: format, unsafe_imports, secrets, ...) judges one
    scanned file instead of a deployment."""
    from r1policy.artifacts.verdict import artifact_input, facts_from_case
    from r1policy.engine.hubfacts import HubContext

    spec = case.spec
    where = f"{case.path}#{case.name}"
    config = from_document(Document(path=where, value=patch(base["config"], spec.get("config") or {})))
    try:
        facts = facts_from_case(spec.get("artifact") or {})
    except TypeError as exc:
        raise InputError(Position(case.path), f"case {case.name}: bad artifact facts: {exc}") from None
    evaluator = Evaluator(
        registry, config, state=None, static=False, today=_dt.date(2026, 6, 1), hub=HubContext(source=None)
    )
    outcome = evaluator.evaluate_artifacts([artifact_input(facts)])
    return _verdict(case, tuple(f for f in outcome.findings if f.rule_id == case.rule_id))


def _verdict(case: Case, findings: tuple[Finding, ...]) -> CaseResult:
    spec = case.spec
    statuses = {f.status for f in findings}
    if not findings:
        return CaseResult(case, False, "the rule produced no finding", findings)
    if statuses != {case.expect}:
        got = ", ".join(f"{f.status.value}: {f.message}" for f in findings)
        return CaseResult(case, False, f"expected {case.expect.value}, got {got}", findings)
    wanted = spec.get("message")
    if wanted and not any(str(wanted) in f.message for f in findings):
        return CaseResult(
            case, False, f"no message contains {wanted!r}: {[f.message for f in findings]}", findings
        )
    return CaseResult(case, True, "ok", findings)


def run_all(registry: RuleRegistry) -> list[CaseResult]:
    base = load_base()
    results = []
    for rule in registry.rules.values():
        cases = load_cases(rule)
        if rule.builtin and not cases:
            dummy = Case(rule.id, "(no cases)", Status.PASS, {}, rule.folder or "")
            results.append(CaseResult(dummy, False, "rule has no cases.yaml", ()))
        for case in cases:
            results.append(run_case(registry, case, base))
    return results
