"""From a rule's raw verdict on one subject to a finding: its message and remediation (rendered from
the subject's names), its enforcement, and the waivers that accept or no longer accept it."""

from __future__ import annotations

import datetime as _dt
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from r1policy.core.findings import (
    Enforcement,
    Finding,
    Location,
    Remediation,
    Status,
    Subject,
    WaiverRef,
)
from r1policy.core.model import Deployment
from r1policy.engine.render import render_message, render_remediation
from r1policy.project.config import Config, Waiver
from r1policy.rules.metadata import RuleMeta

ADVISORY_WAIVED = "advisory_waived"  # R1-EP-008: every advisory is accepted by a waiver naming it


@dataclass(frozen=True)
class Notice:
    kind: str
    message: str
    location: Location | None = None


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class Judgement:
    """The raw verdict of one rule on one subject, before enforcement and waivers."""

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


def advisory(enforcement: Enforcement, judgement: Judgement) -> Enforcement:
    """A failure whose @reason starts with `warn_` never blocks (e.g. R1-HUB-005: the repo ships code
    that the deployment does not enable)."""
    if judgement.status is Status.FAIL and judgement.reason.startswith("warn_"):
        return Enforcement.WARN if enforcement is Enforcement.BLOCK else enforcement
    return enforcement


def _message(rule: RuleMeta, judgement: Judgement) -> str:
    status = judgement.status
    if status is Status.FAIL:
        return render_message(rule, judgement.reason, judgement.names)
    if status is Status.PASS and "pass" in rule.messages:
        # A rule that passes for more than one reason says which one holds (messages.pass).
        return "compliant: " + render_message(rule, "pass", judgement.names)
    if status is Status.PASS:
        return f"compliant: {rule.title[0].lower()}{rule.title[1:]}"
    return judgement.reason


def _remediation(rule: RuleMeta, judgement: Judgement) -> Remediation | None:
    if judgement.status is Status.FAIL:
        return render_remediation(rule, judgement.names)
    if judgement.status is Status.ERROR:
        return evaluable(judgement.reason)
    return None


def find_waiver(ctx: EmitContext, rule_id: str, subject: Subject) -> Waiver | None:
    candidates = [
        w
        for w in ctx.config.waivers
        if w.advisory is None  # an advisory waiver accepts one advisory (servingfacts), not the rule
        and fnmatch.fnmatchcase(rule_id, w.rule)
        and any(fnmatch.fnmatchcase(name, w.subject) for name in subject.names())
    ]
    if not candidates:
        return None
    # An unexpired waiver wins over an expired one; among equals, the latest expiry.
    return max(candidates, key=lambda w: (w.expires >= ctx.today, w.expires))


@dataclass
class _Waived:
    status: Status
    message: str
    remediation: Remediation | None
    waiver: WaiverRef | None = None
    expired: WaiverRef | None = None


def _waived(
    ctx: EmitContext, outcome: Outcome, rule: RuleMeta, judgement: Judgement, subject: Subject
) -> _Waived:
    """The status, message and remediation once waivers are applied (an expired one is a notice)."""
    done = _Waived(judgement.status, _message(rule, judgement), _remediation(rule, judgement))
    if done.status is Status.FAIL and judgement.reason == ADVISORY_WAIVED:
        accepted: Waiver = judgement.names["advisory_waiver"]
        done.waiver = WaiverRef(accepted.reason, accepted.owner, accepted.expires, accepted.ticket)
        done.status, done.remediation = Status.WAIVED, None
        return done
    if done.status not in (Status.FAIL, Status.ERROR):
        return done
    waiver = find_waiver(ctx, rule.id, subject)
    if waiver is None:
        return done
    ref = WaiverRef(waiver.reason, waiver.owner, waiver.expires, waiver.ticket)
    if waiver.expires >= ctx.today:
        done.waiver, done.status = ref, Status.WAIVED
        return done
    done.expired = ref
    outcome.notices.append(
        Notice(
            "expired-waiver",
            f"waiver for {rule.id} on {waiver.subject} (owner {waiver.owner}"
            + (f", {waiver.ticket}" if waiver.ticket else "")
            + f") expired on {waiver.expires.isoformat()} and waives nothing",
            Location(waiver.position.path, waiver.position.line, waiver.position.column),
        )
    )
    done.message += f" (waiver expired on {waiver.expires.isoformat()})"
    return done


def emit(
    ctx: EmitContext,
    outcome: Outcome,
    rule: RuleMeta,
    judgement: Judgement,
    subject: Subject,
    dep: Deployment | None,
    location: Location | None,
) -> None:
    """Add the finding of `judgement` (and the notice of an expired waiver) to `outcome`."""
    done = _waived(ctx, outcome, rule, judgement, subject)
    outcome.findings.append(
        Finding.create(
            rule_id=rule.id,
            title=rule.title,
            severity=ctx.config.severity_of(rule.id, rule.severity),
            status=done.status,
            enforcement=advisory(ctx.enforcement(rule), judgement),
            subject=subject,
            message=done.message,
            location=location,
            remediation=done.remediation,
            references=rule.references,
            waiver=done.waiver,
            expired_waiver=done.expired,
            deployment=dep.name if dep else None,
        )
    )
