"""Hub and lock facts for Cedar: the `hub` and `lock_check` attributes of a Deployment.

Without `--static`, a Hub-sourced deployment's repository is looked up once per (repo, revision)
(`r1policy.hub`); the answer becomes the `hub` record (resolved commit, `_id`, gated / disabled state,
the Hub's security scan, remote code, publisher verification). A lock file (`r1policy.lock`) becomes
the `lock_check` record (R1-ART-004). What could not be obtained goes into `unavailable` (the rules
that need it report `error`, or `skipped` under --static); a fact that does not exist for this
deployment (no lock file) into `not_applicable` (the rules that need it are `skipped`).

Fact names used by rules' `requires`: `hub.repo` (the Hub answered for this repository),
`hub.gated` (gated status and access known), `hub.scan` (the Hub's security scan finished),
`hub.publisher` (organisation verification, only when `require_verified_publisher`), `lock` (a lock
file exists), `lock.revision` (the deployment's commit is known, to compare with the lock).

A Hub "safe" verdict only ever adds failures: nothing here removes a finding from `scan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from r1policy.core.model import Deployment, SourceKind
from r1policy.engine.revisionage import NOT_CONFIGURED as REVISION_AGE_OFF
from r1policy.engine.revisionage import apply_revision_age
from r1policy.engine.revisionage import default_names as revision_age_names
from r1policy.facts.capacity import known_model
from r1policy.hub.errors import HubError, HubErrorKind
from r1policy.hub.source import HubSource

if TYPE_CHECKING:
    from r1policy.engine.factrecord import DeploymentFacts
    from r1policy.hub.client import Lookup
    from r1policy.hub.record import RepoRecord
    from r1policy.licences.facts import LicenceOutcome
    from r1policy.project.config import Config
    from r1policy.project.lockfile import Lock, LockedSource

STATIC_REASON = "--static: the Hub is not consulted"
NO_LOCK = "no r1policy.lock next to the configuration or in the working directory (pass --lock FILE)"


@dataclass
class HubContext:
    """What the evaluator may consult: a Hub (None under --static) and a lock file (None: none found)."""

    source: HubSource | None
    lock: Lock | None = None
    lock_path: str | None = None
    # each deployment's licence lineage (R1-LIC-001 / R1-LIC-002, `check --format cyclonedx`), by name
    licences: dict[str, LicenceOutcome | None] = field(default_factory=dict)

    def _lookup(self, dep: Deployment) -> Lookup | HubError | None:
        model = dep.model
        if self.source is None or model.kind is not SourceKind.HUB or not model.repo:
            return None
        try:
            return self.source.lookup(model.repo, model.revision)
        except HubError as exc:
            return exc

    def enrich(self, dep: Deployment) -> Deployment:
        """Fill parameter count and dtype from the Hub's safetensors metadata when nothing else has them."""
        model = dep.model
        if model.kind is not SourceKind.HUB or (model.parameters and model.dtype):
            return dep
        known = known_model(model.repo, None)
        if known is not None and (model.parameters or known.parameters) and (model.dtype or known.dtype):
            return dep
        found = self._lookup(dep)
        if found is None or isinstance(found, HubError):
            return dep
        record = found.record
        parameters = model.parameters or (known.parameters if known else None) or record.parameters
        dtype = model.dtype or (known.dtype if known else None) or record.dtype
        return replace(dep, model=replace(model, parameters=parameters, dtype=dtype))

    def apply(self, item: DeploymentFacts, config: Config) -> None:
        dep = item.deployment
        model = dep.model
        if config.max_revision_age_days is None:  # R1-HUB-007 is off, whatever the model is
            item.not_applicable["revision_age.config"] = REVISION_AGE_OFF
        if model.kind is SourceKind.HUB and model.repo:
            found = self._lookup(dep)
            record = None
            if self.source is None:
                item.unavailable["hub.repo"] = STATIC_REASON
            elif isinstance(found, HubError):
                _hub_error(item, found)
            elif found is not None:
                record = _hub_record(item, found, self.lock)
            if self.source is not None and found is not None:
                _publisher(item, config, self.source)
            apply_revision_age(item, config, self.source, found)
            self._lock_hub(item, model.repo, model.revision, record)
        elif model.kind is SourceKind.S3 and model.s3_uri:
            self._lock_s3(item, model.s3_uri)
        if self.lock is None:
            item.not_applicable["lock"] = NO_LOCK
        self._licences(item, config)

    def _licences(self, item: DeploymentFacts, config: Config) -> None:
        """The lineage is resolved only when `licences` is configured (else the rules are skipped)."""
        from r1policy.engine.licencefacts import apply_licences

        outcome = None
        if config.licences is not None:
            from r1policy.licences.facts import resolve_deployment

            outcome = resolve_deployment(item.deployment, self.source, self.lock)
            self.licences[item.deployment.name] = outcome
        apply_licences(item, config, outcome)

    # -- the lock (R1-ART-004) -------------------------------------------------------------------
    def _lock_hub(
        self, item: DeploymentFacts, repo: str, revision: str | None, record: RepoRecord | None
    ) -> None:
        if self.lock is None:
            return
        from r1policy.hub.record import is_full_sha  # with a lock only
        from r1policy.project.lockfile import hub_key

        key = hub_key(repo)
        locked = self.lock.get(key)
        commit = (record.sha if record is not None else None) or (revision if is_full_sha(revision) else None)
        if locked is not None and commit is None:
            item.unavailable["lock.revision"] = (
                f"revision {revision or '(none)'} of {repo} could not be resolved to a commit "
                + ("(--static)" if self.source is None else "because the Hub did not answer")
            )
        mismatched = _mismatched_files(record, locked, commit)
        _set_lock(item, key, locked, commit or "", mismatched, self.lock_path)

    def _lock_s3(self, item: DeploymentFacts, uri: str) -> None:
        if self.lock is None:
            return
        from r1policy.project.lockfile import s3_key_from_uri  # with a lock only

        key = s3_key_from_uri(uri)
        locked = self.lock.get(key)
        if locked is None:  # a lock source that contains this object (s3://b/p/ for s3://b/p/model.tar.gz)
            for other, source in self.lock.sources.items():
                inside = key.rstrip("/")
                if (
                    other.startswith("s3://")
                    and inside.startswith(other)
                    and inside[len(other) :] in source.files
                ):
                    key, locked = other, source
                    break
        _set_lock(item, key, locked, "", (), self.lock_path)


def _set_lock(
    item: DeploymentFacts,
    key: str,
    locked: LockedSource | None,
    commit: str,
    mismatched: tuple[str, ...],
    lock_path: str | None,
) -> None:
    locked_revision = (locked.revision or "") if locked is not None else ""
    item.attrs["lock_check"] = {
        "key": key,
        "locked": locked is not None,
        "locked_revision": locked_revision,
        "revision": commit,
        "revision_matches": locked is not None and (not locked.revision or locked.revision == commit),
        "mismatched_files": list(mismatched),
        "mismatch_count": len(mismatched),
    }
    item.names.update(
        lock_key=key,
        lock_path=lock_path or "r1policy.lock",
        locked_revision=locked_revision,
        resolved_sha=item.names.get("resolved_sha") or commit,
        mismatched_files=", ".join(mismatched[:5])
        + (f" (+{len(mismatched) - 5} more)" if len(mismatched) > 5 else ""),
    )


def _mismatched_files(
    record: RepoRecord | None, locked: LockedSource | None, commit: str | None
) -> tuple[str, ...]:
    """Files whose size or LFS SHA-256 on the Hub (at the locked commit) differ from the lock."""
    if locked is None or record is None or commit is None or locked.revision != commit or not locked.files:
        return ()  # a lock without file entries pins the commit only
    out: list[str] = []
    hub_files = {f.path: f for f in record.files}
    for path in sorted(set(hub_files) | set(locked.files)):
        have, want = hub_files.get(path), locked.files.get(path)
        if (
            have is None
            or want is None
            or (have.size is not None and have.size != want.size)
            or (have.lfs_sha256 is not None and have.lfs_sha256 != want.sha256)
        ):
            out.append(path)
    return tuple(out)


# -- the Hub record ----------------------------------------------------------------------------
def _hub_error(item: DeploymentFacts, error: HubError) -> None:
    if error.kind is HubErrorKind.ANSWER_MISMATCH:
        # R1-HUB-001 fails on it (the revision is no pin); every rule that needs the Hub's facts errs,
        # since the answer is about something other than what the deployment loads.
        item.attrs["hub"] = _empty_hub(error.kind.value)
        item.unavailable["hub.repo"] = error.message
        item.names["hub_problem"] = error.message
    elif error.kind.definitive:
        item.attrs["hub"] = _empty_hub(error.kind.value)
        item.names["hub_problem"] = error.message
    else:
        item.unavailable["hub.repo"] = error.message
        item.names["hub_problem"] = error.message


def _empty_hub(status: str) -> dict[str, Any]:
    return {
        "status": status,
        "resolved_sha": "",
        "repo_id": "",
        "gated": "unknown",
        "access_approved": False,
        "scans_done": False,
        "flagged_files": [],
        "flagged_count": 0,
        "ships_remote_code": False,
        "remote_code_repos": [],
    }


def _hub_record(item: DeploymentFacts, found: Lookup, lock: Lock | None) -> RepoRecord:
    record = found.record
    code = record.remote_code()
    hub = _empty_hub("ok")
    hub.update(
        resolved_sha=record.sha,
        repo_id=record.repo_id or "",
        gated=record.gated,
        access_approved=record.gated == "false" or bool(found.access),
        scans_done=bool(record.scans_done),
        flagged_files=[path for path, _ in record.flagged],
        flagged_count=len(record.flagged),
        ships_remote_code=code.ships_code,
        remote_code_repos=list(code.other_repos),
    )
    locked = None
    if lock is not None:
        from r1policy.project.lockfile import hub_key

        locked = lock.get(hub_key(record.repo))
    if locked is not None and locked.repo_id:
        hub["locked_repo_id"] = locked.repo_id
    item.attrs["hub"] = hub
    if record.gated == "unknown":
        item.unavailable["hub.gated"] = f"the Hub did not say whether {record.repo} is gated"
    elif record.gated != "false" and found.access is None:
        item.unavailable["hub.gated"] = (
            f"{record.repo} is gated ({record.gated}) and whether this token may download its files is "
            "unknown (no file was downloaded: offline, or no config file to try)"
        )
    if not record.scans_done and not record.flagged:
        item.unavailable["hub.scan"] = (
            f"the Hub's security scan of {record.repo}@{record.sha[:12]} has not finished (scansDone: "
            f"{'false' if record.scans_done is False else 'missing'}): the result is unknown, not clean"
        )
    item.names.update(
        resolved_sha=record.sha,
        hub_repo_id=record.repo_id or "",
        locked_repo_id=(locked.repo_id or "") if locked is not None else "",
        gated=record.gated,
        flagged_files=", ".join(f"{p} ({lvl})" for p, lvl in record.flagged),
        remote_code=", ".join([*code.auto_map, *code.python_files][:6]),
        remote_code_repos=", ".join(code.other_repos),
    )
    return record


def _publisher(item: DeploymentFacts, config: Config, source: HubSource) -> None:
    publisher = item.deployment.model.publisher
    if not config.require_verified_publisher or not publisher or publisher not in config.trusted_publishers:
        return
    try:
        verified = source.org_verified(publisher)
    except HubError as exc:
        item.unavailable["hub.publisher"] = f"could not verify organisation {publisher}: {exc.message}"
        return
    hub = item.attrs.setdefault("hub", _empty_hub("unknown"))
    hub["publisher_verified"] = verified


def default_names() -> dict[str, Any]:
    """Template names every deployment has (so that every rule's templates render)."""
    return {
        "resolved_sha": "",
        "hub_problem": "",
        "hub_repo_id": "",
        "locked_repo_id": "",
        "gated": "",
        "flagged_files": "",
        "remote_code": "",
        "remote_code_repos": "",
        "lock_key": "",
        "lock_path": "r1policy.lock",
        "locked_revision": "",
        "mismatched_files": "",
        **revision_age_names(),
    }


def hub_context(*, static: bool, lock_file: Path | None, config_source: str, cwd: Path) -> HubContext:
    """For `check`: the Hub unless --static, and the lock file (`--lock`, else r1policy.lock next to
    the configuration file, else in the working directory; none found: R1-ART-004 is skipped)."""
    from r1policy.project import DEFAULT_LOCK_NAME

    path = lock_file
    if path is None:
        config_dir = Path(config_source).parent if Path(config_source).is_file() else None
        candidates = [d / DEFAULT_LOCK_NAME for d in (config_dir, cwd) if d is not None]
        path = next((c for c in candidates if c.is_file()), None)
    lock = None
    if path is not None:
        from r1policy.project.lockfile import load_lock

        lock = load_lock(path)
    source: HubSource | None = None
    if not static:
        from r1policy.hub.client import HubClient

        source = HubClient()
    return HubContext(source=source, lock=lock, lock_path=str(path) if path is not None else None)
