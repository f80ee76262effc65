"""Judging deployments: each rule's judgements of a deployment's facts turned into findings, with the
sort keys `Finding.sort_key` would give them, built from parts the findings of one deployment share.
Used by engine/evaluate.py, in this process and in a judging helper (engine/judgesplit.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from r1policy.core.findings import Finding, Location, Subject, SubjectType
from r1policy.core.model import Deployment, SourceKind
from r1policy.engine.cedarbatch import Verdicts
from r1policy.engine.emit import EmitContext, Emitter, Outcome, RulePlan
from r1policy.engine.factrecord import DeploymentFacts
from r1policy.engine.judge import Judge
from r1policy.rules.metadata import RuleMeta

if TYPE_CHECKING:
    from r1policy.engine.judgesplit import Judged


def endpoint_subject(dep: Deployment) -> Subject:
    ep = dep.endpoint
    assert ep is not None
    ident = ep.arn or f"sagemaker:{ep.region or 'unknown-region'}:{ep.resource}/{ep.name}"
    return Subject(SubjectType.ENDPOINT, ident, aliases=(dep.name, ep.name))


def subject_of(rule: RuleMeta, dep: Deployment) -> Subject:
    if rule.subject is SubjectType.ENDPOINT and dep.endpoint is not None:
        return endpoint_subject(dep)
    if rule.subject is SubjectType.MODEL:
        # A deployment whose model is unknown (its SageMaker model was deleted) keeps an identity of
        # its own, so that two such deployments are not one subject in reports and audit diffs.
        ident = dep.model.uri if dep.model.kind is not SourceKind.NONE else f"(unknown model of {dep.name})"
        return Subject(SubjectType.MODEL, ident, aliases=(dep.name,))
    aliases = (dep.endpoint.name,) if dep.endpoint is not None else ()
    return Subject(SubjectType.DEPLOYMENT, dep.name, aliases=aliases)


def fallback_subject(dep: Deployment) -> Subject:
    if dep.endpoint is not None:
        return endpoint_subject(dep)
    return Subject(SubjectType.DEPLOYMENT, dep.name)


SortKey = tuple[str, str, int, str, str, str]
_NO_VERDICTS: tuple[dict[str, list[str]], dict[str, str]] = ({}, {})


def _place(dep: Deployment, fields: tuple[str, ...], texts: dict[int, str]) -> tuple[Location | None, str]:
    """Where a rule reading `fields` points in `dep`, and that place as `Finding.sort_key` writes it."""
    location = dep.location_of(*fields)
    if location is None:
        return None, ""
    text = texts.get(id(location))
    if text is None:
        text = texts[id(location)] = str(location)
    return location, text


def sorted_findings(findings: list[Finding], keys: list[SortKey]) -> list[Finding]:
    """`findings` sorted as `sort(key=Finding.sort_key)` sorts them (stable), `keys[i]` being the sort
    key of `findings[i]`."""
    order = sorted(range(len(findings)), key=keys.__getitem__)
    return [findings[i] for i in order]


class Judging:
    """What judging each deployment needs, the same for every deployment of a run."""

    def __init__(self, judge: Judge, plans: list[RulePlan], verdicts: Verdicts) -> None:
        self.judge, self.plans, self.verdicts = judge, plans, verdicts

    def run(self, emitter: Emitter, facts: list[DeploymentFacts]) -> list[SortKey]:
        """Add the findings of `facts` to `emitter.outcome`; their sort keys."""
        judge, plans, verdicts = self.judge, self.plans, self.verdicts
        keys: list[SortKey] = []
        for item in facts:
            dep = item.deployment
            matched, errored = verdicts.get(("D", dep.name), _NO_VERDICTS)
            subjects: dict[SubjectType, tuple[Subject, str, str]] = {}  # one subject per kind
            places: dict[tuple[str, ...], tuple[Location | None, str]] = {}  # per set of fields read
            texts: dict[int, str] = {}  # id of a location of `dep` -> its text
            for plan in plans:
                rule = plan.rule
                held = subjects.get(rule.subject)
                if held is None:
                    subject = subject_of(rule, dep)
                    held = subjects[rule.subject] = (subject, subject.type.value, subject.id)
                place = places.get(rule.location_fields)
                if place is None:
                    place = places[rule.location_fields] = _place(dep, rule.location_fields, texts)
                for j in judge.deployment(plan, item, matched.get(rule.id), errored.get(rule.id)):
                    message = emitter.emit(plan, j, held[0], dep, place[0]).message
                    keys.append((held[1], held[2], plan.rank, rule.id, message, place[1]))
        return keys

    def alone(self, ctx: EmitContext, facts: list[DeploymentFacts]) -> Judged:
        """The findings, notices and sort keys of `facts` on their own (in the helper)."""
        from r1policy.engine.judgesplit import Judged

        emitter = Emitter(ctx, Outcome())
        keys = self.run(emitter, facts)
        return Judged(emitter.outcome.findings, emitter.outcome.notices, keys)
