"""One Cedar batch for every subject of a run, each deny reason mapped back to its rule."""

from __future__ import annotations

import json
import re
from typing import Any

from r1policy.core.errors import EngineError
from r1policy.rules.registry import RuleRegistry

_ERROR_POLICY = re.compile(r"policy `([^`]+)`")

# (key kind, Cedar entity type, action, entity id, attributes)
CedarSubject = tuple[str, str, str, str, dict[str, Any]]
# (key kind, entity id) -> ({rule id: [@reason ...]}, {rule id: Cedar error text})
Verdicts = dict[tuple[str, str], tuple[dict[str, list[str]], dict[str, str]]]


def run_batch(registry: RuleRegistry, context: dict[str, Any], subjects: list[CedarSubject]) -> Verdicts:
    """Ask Cedar once about every subject; a policy that matched is a failed rule."""
    import cedarpy

    if not subjects:
        return {}
    principal = {"type": "R1::Gate", "id": "r1policy"}
    # The same context for every request, as JSON once (cedarpy would encode the dict per request).
    context_json = json.dumps(context)
    entities: list[dict[str, Any]] = [{"uid": principal, "attrs": {}, "parents": []}]
    requests: list[dict[str, Any]] = []
    for _kind, etype, action, ident, attrs in subjects:
        uid = {"type": f"R1::{etype}", "id": ident}
        entities.append({"uid": uid, "attrs": attrs, "parents": []})
        requests.append(
            {
                "principal": principal,
                "action": {"type": "R1::Action", "id": action},
                "resource": uid,
                "context": context_json,
            }
        )
    try:
        results = cedarpy.is_authorized_batch(requests, registry.policy_set, entities, schema=registry.schema)
    except ValueError as exc:
        raise EngineError(f"Cedar refused the evaluation request: {exc}") from exc
    verdicts: Verdicts = {}
    policies = registry.policies
    for (kind, _etype, _action, ident, _attrs), result in zip(subjects, results, strict=True):
        matched: dict[str, list[str]] = {}
        errored: dict[str, str] = {}
        for pid in result.diagnostics.reasons:
            compiled = policies.get(pid)
            if compiled is not None:
                reasons = matched.setdefault(compiled.rule_id, [])
                if compiled.reason not in reasons:
                    reasons.append(compiled.reason)
        for text in result.diagnostics.errors:
            found = _ERROR_POLICY.search(text)
            compiled = policies.get(found.group(1)) if found else None
            if compiled is None:
                raise EngineError(f"Cedar reported an error for no known policy: {text}")
            errored[compiled.rule_id] = text
        verdicts[(kind, ident)] = (matched, errored)
    return verdicts
