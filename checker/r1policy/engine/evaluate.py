"""Evaluate deployments and buckets: statuses decided before Cedar (applicability, missing facts),
then one Cedar batch for everything, each deny reason mapped back to its rule, then waivers."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from r1policy.core.findings import Enforcement, Finding, Location, Status, Subject, SubjectType
from r1policy.core.model import FIELD_S3_URI, Deployment, FileBucket, SourceKind
from r1policy.engine.bucketfacts import BucketFacts, bucket_facts
from r1policy.engine.cedarbatch import Answers, CedarSubject, Verdicts, run_batch
from r1policy.engine.deployfacts import cedar_context, deployment_facts
from r1policy.engine.emit import EmitContext, Emitter, Outcome, RulePlan
from r1policy.engine.emit import Judgement as _Judgement
from r1policy.engine.emit import Notice as Notice  # re-exported: reports and commands import it here
from r1policy.engine.factrecord import DeploymentFacts
from r1policy.engine.hubfacts import HubContext
from r1policy.engine.iamfacts import apply_iam
from r1policy.engine.judge import Judge
from r1policy.engine.judging import Judging, SortKey, fallback_subject, sorted_findings, subject_of
from r1policy.hub.source import HubSource
from r1policy.project.config import Config, check_waiver_rules
from r1policy.project.state import StateSnapshot
from r1policy.rules.metadata import RuleMeta
from r1policy.rules.registry import RuleRegistry

if TYPE_CHECKING:
    from r1policy.engine.judgesplit import Judged
    from r1policy.facts.advisories import Store

NETWORK_ISOLATION_RULE = "R1-EP-003"
VULNERABILITY_RULE = "R1-EP-008"
NO_STATE_HINT = (
    "bucket state is unknown: run with --state FILE (written by `r1policy snapshot`) or --live, "
    "or --static to skip rules that need live state"
)


@dataclass(frozen=True)
class ArtifactInput:
    """One scanned file or archive member (`r1policy scan`): the Cedar `Artifact` attributes, the names
    its messages render, and why it could not be read (then every artifact rule is an error)."""

    path: str
    attrs: dict[str, Any]
    names: dict[str, Any]
    unreadable: str | None = None
    location: str | None = None
    # facts a rule `requires` (artifact.*) that could not be obtained (-> error) or were not asked for
    unavailable: dict[str, str] = field(default_factory=dict)
    not_applicable: dict[str, str] = field(default_factory=dict)


def _default_hub() -> HubSource:
    from r1policy.hub.client import HubClient

    return HubClient()


class Evaluator:
    def __init__(
        self,
        registry: RuleRegistry,
        config: Config,
        *,
        state: StateSnapshot | None,
        static: bool,
        today: _dt.date | None = None,
        no_state_hint: str = NO_STATE_HINT,
        file_buckets: Mapping[str, FileBucket] | None = None,
        hub: HubContext | None = None,
    ) -> None:
        check_waiver_rules(config, registry.rules)  # a waiver for an unknown rule: exit 2
        self.registry = registry
        self.config = config
        self.state = state
        self.static = static
        self.today = today or _dt.datetime.now(_dt.UTC).date()
        self.no_state_hint = no_state_hint
        # Buckets defined in the checked files (CloudFormation, Terraform): judged from the files, even
        # with --static, and they win over the snapshot for the same name.
        self.file_buckets: Mapping[str, FileBucket] = file_buckets or {}
        self._settled_in_files: dict[str, frozenset[str]] = {}  # bucket -> facts --static may not skip
        # The Hub (not under --static) and the lock file: engine/hubfacts.py.
        self.hub = hub if hub is not None else HubContext(source=None if static else _default_hub())
        self._store: Store | None = None  # the advisory store (R1-EP-008), read on first use

    def enforcement(self, rule: RuleMeta) -> Enforcement:
        return self.config.enforcement_of(rule.id, rule.enforcement)

    def evaluate(self, deployments: list[Deployment]) -> Outcome:
        deployments = [self.hub.enrich(d) for d in deployments]
        buckets: dict[str, BucketFacts] = {}
        for dep in deployments:
            name = dep.model.bucket
            if name and name not in buckets:
                buckets[name] = self._bucket_facts(name)
        known = [b for b in buckets.values() if b.known]
        outcome = Outcome()
        emitter = Emitter(EmitContext(self.config, self.today), outcome)
        keys, facts, verdicts = self._deployment_findings(emitter, deployments, buckets, known)
        self._bucket_findings(emitter, self._bucket_refs(facts, deployments, buckets), buckets, verdicts)
        keys += [f.sort_key() for f in outcome.findings[len(keys) :]]
        outcome.findings = sorted_findings(outcome.findings, keys)
        return outcome

    def _facts(self, deployments: list[Deployment], buckets: dict[str, BucketFacts]) -> list[DeploymentFacts]:
        """Each deployment's facts: the same for a deployment whatever else the run holds."""
        facts = [deployment_facts(d, self.config, buckets.get(d.model.bucket or "")) for d in deployments]
        for item in facts:
            self.hub.apply(item, self.config)
            apply_iam(item, self.state)
        self._serving(facts)
        return facts

    def _facts_travel(self, deployments: list[Deployment]) -> bool:
        """Whether a helper may work out its deployments' facts itself: it would ask the Hub nothing.
        (Its answers stay in the helper: this process would ask again for the BOM's licence lineages,
        and for a repository both parts name.)"""
        if self.hub.source is None:
            return True
        return self.config.licences is None and all(d.model.kind is not SourceKind.HUB for d in deployments)

    def _judge(self) -> Judge:
        return Judge(static=self.static, config_source=self.config.source)

    def _deployment_findings(
        self,
        emitter: Emitter,
        deployments: list[Deployment],
        buckets: dict[str, BucketFacts],
        known: list[BucketFacts],
    ) -> tuple[list[SortKey], list[DeploymentFacts], Verdicts]:
        """Every deployment's findings, in order, and their `Finding.sort_key`s (built from parts that
        the findings of one deployment share instead of per finding); the facts worked out here (of
        every deployment, or of the head of the list when a helper worked out its part's) and Cedar's
        verdicts on them and on the known buckets. With many deployments, a forked helper judges the
        tail of the list (engine/judgesplit.py), from its facts on when they travel (`_facts_travel`)."""
        rules = [r for r in self.registry.rules.values() if not (r.on_bucket or r.on_artifact)]
        plans, judge = [emitter.plan(rule) for rule in rules], self._judge()
        if len(deployments) < 2:  # (one deployment: no need to import the split)
            facts = self._facts(deployments, buckets)
            verdicts = self._cedar(facts, known)
            return Judging(judge, plans, verdicts).run(emitter, facts), facts, verdicts
        if self._facts_travel(deployments):
            return self._judged_meeting(emitter, judge, plans, deployments, buckets, known)
        from r1policy.engine import judgesplit

        ctx = emitter.ctx
        facts = self._facts(deployments, buckets)
        verdicts = self._cedar(facts, known)
        judging = Judging(judge, plans, verdicts)
        helper = judgesplit.start(facts, lambda tail: judging.alone(ctx, tail))
        if helper is None:
            return judging.run(emitter, facts), facts, verdicts
        try:
            keys = judging.run(emitter, facts[: helper.start])
            done = helper.result()
        finally:
            helper.close()
        if done is None:  # the helper failed: its part is judged here (the same findings, or the same error)
            return keys + judging.run(emitter, facts[helper.start :]), facts, verdicts
        emitter.outcome.findings += done.findings
        emitter.outcome.notices += done.notices
        return keys + done.keys, facts, verdicts

    def _judged_meeting(
        self,
        emitter: Emitter,
        judge: Judge,
        plans: list[RulePlan],
        deployments: list[Deployment],
        buckets: dict[str, BucketFacts],
        known: list[BucketFacts],
    ) -> tuple[list[SortKey], list[DeploymentFacts], Verdicts]:
        """`_deployment_findings` when the facts travel: a helper takes chunks of the deployments from
        the back, this process from the front, until they meet (core/meeting.Meeting); each works out a
        chunk's facts, asks Cedar about the groups of subjects it has not asked about yet (the known
        buckets beside them), and judges it."""
        from r1policy.engine import judgesplit

        answers = Answers()

        def judged(chunk: list[Deployment]) -> tuple[list[DeploymentFacts], Judging]:
            facts = self._facts(chunk, buckets)
            return facts, Judging(judge, plans, self._cedar(facts, known, answers=answers))

        def alone(part: range) -> Judged:  # in the helper
            facts, judging = judged(deployments[part.start : part.stop])
            return judging.alone(emitter.ctx, facts)

        meeting = judgesplit.meet(len(deployments), alone)
        parts = [range(len(deployments))] if meeting is None else meeting.front()
        keys: list[SortKey] = []
        facts: list[DeploymentFacts] = []
        try:
            for part in parts:
                chunk, judging = judged(deployments[part.start : part.stop])
                keys += judging.run(emitter, chunk)
                facts += chunk
            done = judgesplit.merged(meeting.result()) if meeting is not None else None
        finally:
            if meeting is not None:
                meeting.close()
        if meeting is not None and done is None:  # the helper failed: its part is judged here
            chunk, judging = judged(deployments[meeting.start :])
            keys += judging.run(emitter, chunk)
            facts += chunk
        elif done is not None:
            emitter.outcome.findings += done.findings
            emitter.outcome.notices += done.notices
            keys += done.keys
        return keys, facts, self._cedar([], known, answers=answers)  # the buckets' answers, kept

    def _bucket_refs(
        self, facts: list[DeploymentFacts], deployments: list[Deployment], buckets: dict[str, BucketFacts]
    ) -> dict[str, DeploymentFacts]:
        """Per bucket, the facts of the first deployment that loads from it (bucket findings borrow its
        names and a location). `facts` are those of the first deployments; the facts of a later one
        are worked out here when a bucket is first named there."""
        refs: dict[str, DeploymentFacts] = {}
        for item in facts:
            refs.setdefault(item.deployment.model.bucket or "", item)
        later: dict[str, Deployment] = {}
        for dep in deployments[len(facts) :]:
            name = dep.model.bucket or ""
            if name in buckets and name not in refs:
                later.setdefault(name, dep)
        if later:
            refs.update(zip(later, self._facts(list(later.values()), buckets), strict=True))
        return refs

    def _bucket_findings(
        self,
        emitter: Emitter,
        bucket_refs: dict[str, DeploymentFacts],
        buckets: dict[str, BucketFacts],
        verdicts: Verdicts,
    ) -> None:
        judge = self._judge()
        # Bucket findings borrow names and a location from the first deployment that loads from the bucket.
        for bucket in buckets.values():
            ref = bucket_refs[bucket.name]
            matched, errored = verdicts.get(("B", bucket.name), ({}, {}))
            names = dict(ref.names)
            names.update(
                bucket=bucket.name,
                bucket_region=bucket.region or "<BUCKET_REGION>",
                encryption_algorithm=bucket.attrs["encryption_algorithm"],
                versioning=bucket.attrs["versioning"],
                untrusted_writers=", ".join(bucket.attrs["untrusted_writers"]),
                untrusted_key_users=", ".join(bucket.attrs["untrusted_key_users"]),
                bucket_kms_key=bucket.attrs["kms_key"] or "<KMS_KEY_ARN>",
            )
            subject = Subject(SubjectType.BUCKET, f"s3://{bucket.name}", aliases=(bucket.name,))
            for rule in self.registry.rules.values():
                if not rule.on_bucket:
                    continue
                settled = self._settled_in_files.get(bucket.name, frozenset())
                defined = self.file_buckets.get(bucket.name)
                if defined is not None:  # facts the files decide, one way or another: never skipped
                    settled |= defined.settled
                found, failed = matched.get(rule.id), errored.get(rule.id)
                plan = emitter.plan(rule)
                for j in judge.judge(plan, bucket.unavailable, None, names, found, failed, settled=settled):
                    where = self._bucket_location(bucket.name, rule) or ref.deployment.location_of(
                        FIELD_S3_URI
                    )
                    emitter.emit(plan, j, subject, None, where)

    def _serving(self, facts: list[DeploymentFacts]) -> None:
        """R1-EP-008 / R1-EP-009 facts: the image's serving stack against the advisory store."""
        from r1policy.engine.servingfacts import apply_serving

        if not facts:
            return
        store = self._advisories()
        scans = self.state.ecr_image_scans if self.state is not None else None
        rule = self.registry.rules.get(VULNERABILITY_RULE)
        for item in facts:
            dep = item.deployment
            subject = subject_of(rule, dep) if rule is not None else fallback_subject(dep)
            apply_serving(item, self.config, store, self.today, subject.names(), scans)

    def _advisories(self) -> Store:
        """The advisory store, read once per run."""
        if self._store is None:
            from r1policy.facts.advisories import load_store

            self._store = load_store()
        return self._store

    def evaluate_artifacts(self, artifacts: list[ArtifactInput]) -> Outcome:
        """Judge scanned artifacts with every rule that has a `load_artifact` policy."""
        rules = [r for r in self.registry.rules.values() if self.registry.judges_artifacts(r.id)]
        verdicts = self._cedar([], [], artifacts)
        outcome = Outcome()
        emitter = Emitter(EmitContext(self.config, self.today), outcome)
        judge = self._judge()
        for item in artifacts:
            matched, errored = verdicts.get(("A", item.path), ({}, {}))
            subject = Subject(SubjectType.ARTIFACT, item.path)
            location = Location(item.location) if item.location else None
            for rule in rules:
                found, failed = matched.get(rule.id), errored.get(rule.id)
                plan = emitter.plan(rule)
                absent = sorted(f for f in rule.requires if f in item.not_applicable)
                if absent:
                    why = "does not apply: " + item.not_applicable[absent[0]]
                    judgements = [_Judgement(Status.SKIPPED, why, item.names)]
                else:
                    judgements = judge.judge(plan, item.unavailable, None, item.names, found, failed)
                if item.unreadable:  # nothing about its content is known: every rule that applies errs
                    why = f"could not be evaluated: {item.unreadable}"
                    judgements = [
                        j if j.status is Status.SKIPPED else _Judgement(Status.ERROR, why, item.names)
                        for j in judgements
                    ]
                for j in judgements:
                    emitter.emit(plan, j, subject, None, location)
        outcome.findings.sort(key=Finding.sort_key)
        return outcome

    def _bucket_facts(self, name: str) -> BucketFacts:
        defined = self.file_buckets.get(name)
        if defined is None:
            return bucket_facts(name, self.state, self.config, no_state_hint=self.no_state_hint)
        known = self.state
        files = StateSnapshot(
            path=defined.origin.path if defined.origin else "(the checked files)",
            captured_at="",
            buckets={name: defined.record},
            accounts={**(known.accounts if known else {}), **defined.accounts},
            kms_keys={**(known.kms_keys if known else {}), **defined.kms_keys},
        )
        facts = bucket_facts(name, files, self.config, no_state_hint=self.no_state_hint)
        account_pab = "bucket.account_public_access_block"
        if account_pab in facts.unavailable and all(facts.attrs["bucket_public_access_block"].values()):
            del facts.unavailable[account_pab]  # all four on for the bucket: the account level cannot matter
        elif account_pab in facts.unavailable:
            # The files turn bucket-level Block Public Access off: not a question --static may skip.
            off = sorted(k for k, v in facts.attrs["bucket_public_access_block"].items() if not v)
            facts.unavailable[account_pab] = (
                f"the files turn Block Public Access off for bucket {name} ({', '.join(off)}), and whether "
                "the account-level setting covers it is not in the files: turn all four on for the bucket, "
                "or check with --state or --live"
            )
            self._settled_in_files[name] = frozenset({account_pab})
        return facts

    def _bucket_location(self, name: str, rule: RuleMeta) -> Location | None:
        defined = self.file_buckets.get(name)
        if defined is None:
            return None
        for fact in sorted(rule.requires):
            if fact in defined.locations:
                return defined.locations[fact]
        return defined.origin

    # -- Cedar -------------------------------------------------------------------------------
    def _cedar(
        self,
        facts: list[DeploymentFacts],
        buckets: list[BucketFacts],
        artifacts: list[ArtifactInput] | None = None,
        *,
        answers: Answers | None = None,
    ) -> Verdicts:
        required_ep = self.registry.rules.get(NETWORK_ISOLATION_RULE)
        context = cedar_context(
            self.config, required_ep is not None and self.enforcement(required_ep) is not Enforcement.OFF
        )
        subjects: list[CedarSubject] = [("B", "Bucket", "store_weights", b.name, b.attrs) for b in buckets]
        subjects += [("D", "Deployment", "deploy", f.deployment.name, f.attrs) for f in facts]
        subjects += [("A", "Artifact", "load_artifact", a.path, a.attrs) for a in artifacts or []]
        return run_batch(self.registry, context, subjects, answers)
