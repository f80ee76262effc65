"""One Cedar batch for every subject of a run, each deny reason mapped back to its rule.

Subjects that the policy set cannot tell apart (engine/cedarshape.py: same entity type and action,
equal values at every attribute path a policy reads) are asked about once, and the answer is theirs
all. An answer holding an evaluation error is not shared (Cedar's error text names the entity): each
subject of that group is then asked about on its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from r1policy.core.errors import EngineError
from r1policy.core.lazyre import compile_on_use
from r1policy.engine.cedarshape import Shape, references, shape_of
from r1policy.rules.registry import RuleRegistry

_ERROR_POLICY = compile_on_use(r"policy `([^`]+)`")

# (key kind, Cedar entity type, action, entity id, attributes)
CedarSubject = tuple[str, str, str, str, dict[str, Any]]
# ({rule id: [@reason ...]}, {rule id: Cedar error text})
Verdict = tuple[dict[str, list[str]], dict[str, str]]
# (key kind, entity id) -> its verdict
Verdicts = dict[tuple[str, str], Verdict]


class Answers:
    """Cedar's answers by group of subjects (type, action, shape key), kept across the batches of one
    run: every batch given the same `Answers` must have the same policies, context and referenced
    entities (a run's known buckets). An answer holding an error is never kept (it names its entity)."""

    def __init__(self) -> None:
        self.shape: Shape | None = None
        self.known: dict[tuple[str, str, str], Verdict] = {}


def run_batch(
    registry: RuleRegistry,
    context: dict[str, Any],
    subjects: list[CedarSubject],
    answers: Answers | None = None,
) -> Verdicts:
    """Ask Cedar about every subject; a policy that matched is a failed rule. With `answers`, a group
    answered in an earlier batch is not asked about again."""
    if not subjects:
        return {}
    if answers is not None:
        shape = answers.shape = answers.shape or shape_of(registry.policy_trees)
    else:
        kinds = {(s[1], s[2]) for s in subjects}
        # A group needs two subjects of one type and action: without any, the policies are not analysed.
        shape = shape_of(registry.policy_trees) if len(kinds) < len(subjects) else None
    verdicts: Verdicts = {}
    known = answers.known if answers is not None else {}
    groups: list[tuple[tuple[str, str, str] | None, list[CedarSubject]]] = []
    for key, members in _groups(shape, subjects):
        verdict = known.get(key) if key is not None else None
        if verdict is None:
            groups.append((key, members))
            continue
        for kind, _etype, _action, ident, _attrs in members:
            verdicts[(kind, ident)] = verdict
    leaders = [members[0] for _key, members in groups]
    alone: list[CedarSubject] = []
    for (key, members), verdict in zip(
        groups, _ask(registry, context, leaders, _referenced(leaders, subjects)), strict=True
    ):
        if verdict[1] and len(members) > 1:
            alone.extend(members)
            continue
        if answers is not None and key is not None and not verdict[1]:
            known[key] = verdict
        for kind, _etype, _action, ident, _attrs in members:
            verdicts[(kind, ident)] = verdict
    for (kind, _etype, _action, ident, _attrs), verdict in zip(
        alone, _ask(registry, context, alone, _referenced(alone, subjects)), strict=True
    ):
        verdicts[(kind, ident)] = verdict
    return verdicts


def _groups(
    shape: Shape | None, subjects: list[CedarSubject]
) -> list[tuple[tuple[str, str, str] | None, list[CedarSubject]]]:
    """Subjects in groups Cedar decides alike, in first-seen order, with their key (one group each,
    without a key, without a shape)."""
    if shape is None:
        return [(None, [subject]) for subject in subjects]
    groups: dict[tuple[str, str, str], list[CedarSubject]] = {}
    for subject in subjects:
        _kind, etype, action, _ident, attrs = subject
        groups.setdefault((etype, action, shape.key(attrs)), []).append(subject)
    return list(groups.items())


def _referenced(asked: list[CedarSubject], subjects: list[CedarSubject]) -> list[CedarSubject]:
    """The subjects not asked about that an asked one refers to: their entities must be in the store."""
    wanted = {ref for s in asked for ref in references(s[4])} - {(f"R1::{s[1]}", s[3]) for s in asked}
    if not wanted:
        return []
    found: dict[tuple[str, str], CedarSubject] = {}
    for subject in subjects:
        found.setdefault((f"R1::{subject[1]}", subject[3]), subject)
    return [found[ref] for ref in sorted(wanted) if ref in found]


def _ask(
    registry: RuleRegistry,
    context: dict[str, Any],
    subjects: list[CedarSubject],
    also: Sequence[CedarSubject] = (),
) -> list[Verdict]:
    """One request per subject in `subjects`; `also` are entities the store needs besides them."""
    import cedarpy

    if not subjects:
        return []
    principal = {"type": "R1::Gate", "id": "r1policy"}
    # The same context for every request, as JSON once (cedarpy would encode the dict per request).
    context_json = json.dumps(context)
    entities: list[dict[str, Any]] = [{"uid": principal, "attrs": {}, "parents": []}]
    entities += [{"uid": {"type": f"R1::{s[1]}", "id": s[3]}, "attrs": s[4], "parents": []} for s in also]
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
    return [_verdict(registry, result) for result in results]


def _verdict(registry: RuleRegistry, result: Any) -> Verdict:
    policies = registry.policies
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
    return matched, errored
