"""From a rule's raw verdict on one subject to a finding: its message and remediation (rendered from
the subject's names), its enforcement, and the waivers that accept or no longer accept it."""

from __future__ import annotations

import datetime as _dt
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from r1policy.core.findings import (
    Enforcement,
    Finding,
    Location,
    Remediation,
    Severity,
    Status,
    Subject,
    SubjectType,
    WaiverRef,
)
from r1policy.core.model import FIELD_IMAGE, Deployment
from r1policy.engine.render import render_message, render_remediation
from r1policy.project.config import Config, Waiver
from r1policy.rules.metadata import RuleMeta

ADVISORY_WAIVED = "advisory_waived"  # R1-EP-008: every advisory is accepted by a waiver naming it
# Read once: a member read from its enum class costs a lookup each time (several per finding).
_PASS, _FAIL, _ERROR = Status.PASS, Status.FAIL, Status.ERROR


@dataclass(frozen=True)
class Notice:
    """Something a run says besides its findings (an expired waiver, an input it read oddly)."""

    kind: str
    message: str
    location: Location | None = None


@dataclass
class Outcome:
    """The findings and notices an evaluation produced."""

    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class Judgement(NamedTuple):
    """The raw verdict of one rule on one subject, before enforcement and waivers (a tuple: tens of
    thousands are made per run)."""

    status: Status
    reason: str  # @reason key for fail, or the explanation for skipped/error
    names: dict[str, Any]


@dataclass(frozen=True)
class EmitContext:
    """What turning verdicts into findings needs from the run."""

    config: Config
    today: _dt.date

    def enforcement(self, rule: RuleMeta) -> Enforcement:
        return self.config.enforcement_of(rule.id, rule.enforcement)


def evaluable(reason: str) -> Remediation:
    """What to do about an `error`: provide the facts the rule needs (the fix itself comes after)."""
    what = reason.removeprefix("could not be evaluated: ")
    return Remediation(
        summary="Make the rule evaluable: it blocks until the facts it needs can be read.",
        steps=(
            f"Provide what is missing: {what}.",
            "Re-run `r1policy check`; the rule then passes or fails.",
        ),
    )


def _find_waiver(rule_waivers: Sequence[Waiver], subject: Subject, today: _dt.date) -> Waiver | None:
    """Among the waivers of the rule (an advisory waiver accepts one advisory, in servingfacts, not the
    rule), those naming the subject: an unexpired one wins over an expired one; among equals, the latest
    expiry."""
    names = subject.names()
    candidates = [w for w in rule_waivers if any(fnmatch.fnmatchcase(name, w.subject) for name in names)]
    if not candidates:
        return None
    return max(candidates, key=lambda w: (w.expires >= today, w.expires))


@dataclass(frozen=True)
class RulePlan:
    """What every finding of one rule shares in a run, decided once per run instead of per finding."""

    rule: RuleMeta
    severity: Severity
    enforcement: Enforcement
    warn: Enforcement  # the enforcement of a `warn_` failure (R1-HUB-005: it never blocks)
    waivers: tuple[Waiver, ...]  # the configured waivers whose rule pattern matches this rule
    pass_message: str | None  # None: the rule words its pass per subject (messages.pass)
    rank: int  # the severity's rank, for sorting
    requires: tuple[str, ...]  # the facts the rule requires, sorted
    checked: tuple[str, ...]  # those and the fields it reads (a template may leave them unknown), sorted
    checked_set: frozenset[str]  # the same, for a quick test that none is unknown
    endpoint_rule: bool  # applies to SageMaker endpoints only


def plan_rule(ctx: EmitContext, rule: RuleMeta) -> RulePlan:
    enforcement, title = ctx.enforcement(rule), rule.title
    severity = ctx.config.severity_of(rule.id, rule.severity)
    # A rule that reads only the serving container (its image) applies wherever the container runs.
    container_only = bool(rule.location_fields) and set(rule.location_fields) <= {FIELD_IMAGE}
    waivers = tuple(
        w for w in ctx.config.waivers if w.advisory is None and fnmatch.fnmatchcase(rule.id, w.rule)
    )
    return RulePlan(
        rule=rule,
        severity=severity,
        enforcement=enforcement,
        warn=Enforcement.WARN if enforcement is Enforcement.BLOCK else enforcement,
        waivers=waivers,
        # A rule that passes for more than one reason says which one holds (messages.pass).
        pass_message=None if "pass" in rule.messages else f"compliant: {title[0].lower()}{title[1:]}",
        rank=severity.rank,
        requires=tuple(sorted(rule.requires)),
        checked=tuple(sorted(rule.requires.union(rule.location_fields))),
        checked_set=rule.requires.union(rule.location_fields),
        endpoint_rule=rule.needs_endpoint or (rule.subject is SubjectType.ENDPOINT and not container_only),
    )


@dataclass
class _Waived:
    """A finding's status, message and remediation once waivers are applied."""

    status: Status
    message: str
    remediation: Remediation | None
    waiver: WaiverRef | None = None
    expired: WaiverRef | None = None


class Emitter:
    """Turns judgements into findings (and notices of expired waivers) in `outcome`."""

    def __init__(self, ctx: EmitContext, outcome: Outcome) -> None:
        self.ctx = ctx
        self.outcome = outcome
        self._plans: dict[str, RulePlan] = {}
        self._evaluable: dict[str, Remediation] = {}  # one per distinct error reason

    def plan(self, rule: RuleMeta) -> RulePlan:
        plan = self._plans.get(rule.id)
        if plan is None or plan.rule is not rule:
            plan = self._plans[rule.id] = plan_rule(self.ctx, rule)
        return plan

    def emit(
        self,
        plan: RulePlan,
        judgement: Judgement,
        subject: Subject,
        dep: Deployment | None,
        location: Location | None,
    ) -> Finding:
        """Add the finding of `judgement` (and the notice of an expired waiver) to the outcome."""
        status, reason, names = judgement
        rule = plan.rule
        remediation: Remediation | None = None
        enforcement = plan.enforcement
        if status is _PASS:
            message = plan.pass_message or "compliant: " + render_message(rule, "pass", names)
        elif status is _FAIL:
            message = render_message(rule, reason, names)
            remediation = render_remediation(rule, names)
            if reason.startswith("warn_"):
                enforcement = plan.warn
        else:
            message = reason
            if status is _ERROR:
                remediation = self._evaluable.get(reason)
                if remediation is None:
                    remediation = self._evaluable[reason] = evaluable(reason)
        waiver = expired = None
        if (status is _FAIL or status is _ERROR) and (plan.waivers or reason == ADVISORY_WAIVED):
            done = self._waived(plan, judgement, subject, _Waived(status, message, remediation))
            status, message, remediation = done.status, done.message, done.remediation
            waiver, expired = done.waiver, done.expired
        finding = Finding.create(
            rule_id=rule.id,
            title=rule.title,
            severity=plan.severity,
            status=status,
            enforcement=enforcement,
            subject=subject,
            message=message,
            location=location,
            remediation=remediation,
            references=rule.references,
            waiver=waiver,
            expired_waiver=expired,
            deployment=dep.name if dep else None,
        )
        self.outcome.findings.append(finding)
        return finding

    def _waived(self, plan: RulePlan, judgement: Judgement, subject: Subject, done: _Waived) -> _Waived:
        """The status, message and remediation once waivers are applied (an expired one is a notice)."""
        if done.status is Status.FAIL and judgement.reason == ADVISORY_WAIVED:
            accepted: Waiver = judgement.names["advisory_waiver"]
            done.waiver = WaiverRef(accepted.reason, accepted.owner, accepted.expires, accepted.ticket)
            done.status, done.remediation = Status.WAIVED, None
            return done
        today = self.ctx.today
        waiver = _find_waiver(plan.waivers, subject, today)
        if waiver is None:
            return done
        ref = WaiverRef(waiver.reason, waiver.owner, waiver.expires, waiver.ticket)
        if waiver.expires >= today:
            done.waiver, done.status = ref, Status.WAIVED
            return done
        done.expired = ref
        self.outcome.notices.append(
            Notice(
                "expired-waiver",
                f"waiver for {plan.rule.id} on {waiver.subject} (owner {waiver.owner}"
                + (f", {waiver.ticket}" if waiver.ticket else "")
                + f") expired on {waiver.expires.isoformat()} and waives nothing",
                Location(waiver.position.path, waiver.position.line, waiver.position.column),
            )
        )
        done.message += f" (waiver expired on {waiver.expires.isoformat()})"
        return done
