"""Judging one rule on one subject: does it apply, are the facts it needs known, then Cedar's verdict.
What depends on the rule alone (its facts, its reach, its enforcement) is decided once per run in its
`RulePlan`; the reasons of the common skips are worded once per run."""

from __future__ import annotations

from typing import Any

from r1policy.core.findings import Enforcement, Status
from r1policy.core.model import FIELD_MODEL, Deployment, SourceKind
from r1policy.engine.emit import Judgement, RulePlan
from r1policy.engine.factrecord import DeploymentFacts

NO_ENDPOINT = "does not apply: no SageMaker endpoint in this deployment"
# Read once: a member read from its enum class costs a lookup each time (one per judgement).
_SKIPPED, _ERROR, _FAIL, _PASS = Status.SKIPPED, Status.ERROR, Status.FAIL, Status.PASS
_OFF = Enforcement.OFF


def _is_live_fact(fact: str, dep: Deployment | None) -> bool:
    if fact.startswith(("bucket.", "hub.", "iam.")) or fact == "lock.revision":
        return True
    return fact == "model.parameters" and dep is not None and dep.model.kind is SourceKind.HUB


class Judge:
    """The raw verdicts of a run (`static`: facts of live state are skipped, not errors)."""

    def __init__(self, *, static: bool, config_source: str) -> None:
        self.static = static
        self.off_reason = f"turned off in the configuration ({config_source})"
        self._other_source: dict[tuple[str, SourceKind], str] = {}
        self._other_platform: dict[str, str] = {}
        self._reasons: dict[str, str] = {}

    def deployment(
        self, plan: RulePlan, item: DeploymentFacts, matched: list[str] | None, errored: str | None
    ) -> list[Judgement]:
        dep = item.deployment
        rule = plan.rule
        kind = dep.model.kind
        if kind not in rule.sources and FIELD_MODEL not in dep.unknown:
            return [Judgement(_SKIPPED, self._source_skip(plan, kind), item.names)]
        if plan.endpoint_rule and dep.platform != "sagemaker":
            why = self._other_platform.get(dep.platform)
            if why is None:
                why = self._other_platform[dep.platform] = (
                    f"does not apply: a SageMaker endpoint rule, and this deployment runs on {dep.platform}"
                )
            return [Judgement(_SKIPPED, why, item.names)]
        if rule.needs_endpoint and dep.endpoint is None:
            return [Judgement(_SKIPPED, NO_ENDPOINT, item.names)]
        not_applicable = item.not_applicable
        if not_applicable and not not_applicable.keys().isdisjoint(rule.requires):
            for fact in plan.requires:  # the first in sorted order
                if fact in not_applicable:
                    why = self._once("does not apply: " + not_applicable[fact])
                    return [Judgement(_SKIPPED, why, item.names)]
        return self.judge(plan, item.unavailable, dep, item.names, matched, errored)

    def _once(self, why: str) -> str:
        """One string object for each reason worded: the thousands of findings that give the same
        reason share it (a helper's pickle holds it once; a report encodes it once)."""
        return self._reasons.setdefault(why, why)

    def _source_skip(self, plan: RulePlan, kind: SourceKind) -> str:
        key = (plan.rule.id, kind)
        why = self._other_source.get(key)
        if why is None:
            kinds = ", ".join(sorted(s.value for s in plan.rule.sources))
            why = self._other_source[key] = (
                f"does not apply: the model comes from {kind.value} (rule covers {kinds})"
            )
        return why

    def judge(
        self,
        plan: RulePlan,
        unavailable: dict[str, str],
        dep: Deployment | None,
        names: dict[str, Any],
        matched: list[str] | None,
        errored: str | None,
        *,
        settled: frozenset[str] = frozenset(),
    ) -> list[Judgement]:
        if plan.enforcement is _OFF:
            return [Judgement(_SKIPPED, self.off_reason, names)]
        # Facts the rule requires, and fields it reads whose value a template leaves unknown.
        missing = None
        if unavailable and not unavailable.keys().isdisjoint(plan.checked_set):
            missing = [f for f in plan.checked if f in unavailable]
        if missing:
            if self.static and all(_is_live_fact(f, dep) and f not in settled for f in missing):
                why = "--static: this rule needs live state (" + ", ".join(missing) + ")"
                return [Judgement(_SKIPPED, self._once(why), names)]
            reasons = sorted({unavailable[f] for f in missing})
            return [Judgement(_ERROR, self._once("could not be evaluated: " + "; ".join(reasons)), names)]
        if matched:
            return [Judgement(_FAIL, reason, names) for reason in matched]
        if errored:
            return [Judgement(_ERROR, f"could not be evaluated: the policy failed: {errored}", names)]
        return [Judgement(_PASS, "", names)]
