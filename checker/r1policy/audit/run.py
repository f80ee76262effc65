"""What an audit run looked at: scope, inventory per account and region, where each subject lives."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

RUN_ID_FORMAT = "%Y-%m-%dT%H%M%SZ"


def run_id_for(moment: _dt.datetime) -> str:
    """The report folder name: the run's UTC start, sortable and free of characters Windows refuses."""
    return moment.astimezone(_dt.UTC).strftime(RUN_ID_FORMAT)


def iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, order=True)
class Place:
    account: str
    region: str


@dataclass
class Inventory:
    """Resources enumerated in one account and region."""

    place: Place
    models: int = 0
    endpoint_configs: int = 0
    endpoints: int = 0
    buckets: int = 0


@dataclass(frozen=True)
class AuditProblem:
    """Something the audit found wrong with the inventory itself (a dangling reference, an unreadable
    region); the rules it affects are reported as `error` findings as well."""

    resource_id: str
    message: str
    place: Place | None = None


@dataclass
class AuditRun:
    run_id: str
    started_at: _dt.datetime
    finished_at: _dt.datetime
    source: str  # "live" | "state"
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    inventory: list[Inventory] = field(default_factory=list)
    deployments: dict[str, Place] = field(default_factory=dict)
    buckets: dict[str, Place] = field(default_factory=dict)
    problems: list[AuditProblem] = field(default_factory=list)
    state_file: str | None = None
    # the Licences table (r1policy.licences.facts.licence_rows), when `licences` is configured
    licences: list[dict[str, str]] = field(default_factory=list)
    # `audit --organization`: the caller's account, the role and each account's outcome (orgrun.merge_results)
    organization: dict[str, Any] | None = None
    # "Who can change the weights" per model bucket (r1policy.audit.weights.weights_access)
    weights_access: list[dict[str, Any]] = field(default_factory=list)
    role_reads: str = ""  # "5 execution role(s) read with 30 IAM call(s)"
