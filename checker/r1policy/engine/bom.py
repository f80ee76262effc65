"""What the AI bill of materials describes for one judged model (no CycloneDX import here: a `check`
that does not ask for the BOM never loads the library)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from r1policy.core.model import Deployment, SourceKind
from r1policy.project.lockfile import Lock, LockedSource, hub_key, s3_key_from_uri

if TYPE_CHECKING:
    from r1policy.core.findings import Finding
    from r1policy.engine.hubfacts import HubContext
    from r1policy.licences.facts import LicenceOutcome


@dataclass(frozen=True)
class BomModel:
    deployment: Deployment
    lock_key: str | None
    locked: LockedSource | None
    licence: LicenceOutcome | None
    architecture: str | None = None
    commit: str | None = None  # the pinned commit (Hub, or the lock's Hub origin of an S3 copy)
    repo: str | None = None  # the Hub repository (the deployed one, or the S3 copy's origin)
    findings: tuple[tuple[str, str], ...] = field(default=())  # (rule id, status) of fail / error


def bom_models(deployments: list[Deployment], hub: HubContext, findings: list[Finding]) -> list[BomModel]:
    """One entry per deployment whose model is known (Hub or S3), from the lock and the run's Hub."""
    from r1policy.hub.errors import HubError
    from r1policy.licences.facts import resolve_deployment

    out = []
    for dep in deployments:
        model = dep.model
        if model.kind not in (SourceKind.HUB, SourceKind.S3):
            continue
        key, locked = _locked(dep, hub.lock)
        outcome = hub.licences.get(dep.name) or resolve_deployment(dep, hub.source, hub.lock)
        repo, commit = model.repo, model.revision
        if model.kind is SourceKind.S3 and locked is not None and locked.origin is not None:
            repo, commit = locked.origin.repo, locked.origin.commit
        architecture = None
        if hub.source is not None and repo:
            try:
                record = hub.source.lookup(repo, commit).record
                commit = record.sha
                architectures = (record.config or {}).get("architectures")
                if isinstance(architectures, list) and architectures:
                    architecture = ", ".join(str(a) for a in architectures)
            except HubError:
                pass  # the BOM states what is known; the Hub rules report the failure
        statuses = tuple(
            (f.rule_id, f.status.value)
            for f in findings
            if f.deployment == dep.name and f.status.value in ("fail", "error")
        )
        out.append(BomModel(dep, key, locked, outcome, architecture, commit, repo, statuses))
    return out


def _locked(dep: Deployment, lock: Lock | None) -> tuple[str | None, LockedSource | None]:
    model = dep.model
    if model.kind is SourceKind.HUB and model.repo:
        key = hub_key(model.repo)
    elif model.kind is SourceKind.S3 and model.s3_uri:
        key = s3_key_from_uri(model.s3_uri)
    else:
        return None, None
    return key, (lock.get(key) if lock is not None else None)
