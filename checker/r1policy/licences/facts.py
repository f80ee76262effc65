"""The `licence` record of a Deployment (R1-LIC-001, R1-LIC-002) and the names its messages render.

Facts (rules' `requires`): `licences.config` is not applicable when the configuration has no
`licences` section (the rules are `skipped`, with that reason); `licence.lineage` is unavailable when
the lineage could not be established (the rules are `error`); `hub.lineage` when only the Hub was
missing under --static (the rules are `skipped` under --static, like the other Hub rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from r1policy.core.model import Deployment, ModelSource, SourceKind
from r1policy.licences import NOT_CONFIGURED as NOT_CONFIGURED  # re-exported
from r1policy.licences.lineage import LineageError, Node, Resolver
from r1policy.licences.table import LineageTable, load_table
from r1policy.project.lockfile import Lock, s3_key_from_uri

if TYPE_CHECKING:
    from r1policy.hub.source import HubSource


@dataclass(frozen=True)
class LicenceOutcome:
    """What was established about one deployment's model (also what `bom` writes)."""

    node: Node | None
    problem: str = ""
    disagreements: tuple[str, ...] = ()
    needs_hub: bool = False  # the problem is only that --static did not consult the Hub


def resolve_deployment(
    dep: Deployment, hub: HubSource | None, lock: Lock | None, table: LineageTable | None = None
) -> LicenceOutcome | None:
    """The lineage of the deployment's model (None: the model is not a Hub or S3 model)."""
    model = dep.model
    resolver = Resolver(table or load_table(), hub)
    try:
        if model.kind is SourceKind.HUB and model.repo:
            node = resolver.resolve(model.repo, model.revision)
        elif model.kind is SourceKind.S3 and model.s3_uri:
            node = _s3(resolver, model, lock)
        else:
            return None
    except LineageError as exc:
        return LicenceOutcome(None, exc.message, tuple(resolver.disagreements), exc.needs_hub)
    return LicenceOutcome(node, "", tuple(resolver.disagreements))


def _s3(resolver: Resolver, model: ModelSource, lock: Lock | None) -> Node:
    """An S3 model's lineage: the Hub origin recorded for its source in r1policy.lock, else what the
    native manifest declares (`spec.model.license`, `spec.model.base_models`)."""
    uri = model.s3_uri or ""
    key = s3_key_from_uri(uri)
    locked = None
    if lock is not None:
        locked = lock.get(key) or next(
            (
                src
                for other, src in lock.sources.items()
                if other.startswith("s3://") and key.startswith(other)
            ),
            None,
        )
    if (locked is None or locked.origin is None) and model.license is not None:
        parents = tuple(resolver.resolve_base(repo, uri) for repo in model.base_models)
        return Node(uri, model.license, "manifest", "spec.model.license", "", parents)
    if locked is None or locked.origin is None:
        where = "r1policy.lock has no source for it" if locked is None else "its lock entry has no `origin`"
        raise LineageError(
            f"the lineage of {uri} is unknown: {where} (record the Hub repository and commit it was "
            "copied from as `origin` in r1policy.lock, or state spec.model.license and "
            "spec.model.base_models)"
        )
    return resolver.resolve(locked.origin.repo, locked.origin.commit)


def obligations_text(licences: list[str], table: LineageTable) -> str:
    parts = []
    for lic in licences:
        row = table.licences.get(lic)
        if row is None:
            parts.append(f"{lic}: not in r1policy's obligations table: read the licence")
        elif row.obligations:
            parts.append(f"{lic}: " + "; ".join(row.obligations))
    return " | ".join(parts)


def licence_rows(
    deployments: list[Deployment], outcomes: dict[str, LicenceOutcome | None], statuses: dict[str, str]
) -> list[dict[str, str]]:
    """The audit report's Licences table: per deployment whose lineage was asked for, the model, its
    effective licences (or why they are unknown), their obligations and R1-LIC-001's decision."""
    table = load_table()
    rows = []
    for dep in sorted(deployments, key=lambda d: d.name):
        if dep.name not in outcomes:
            continue
        outcome = outcomes[dep.name]
        node = outcome.node if outcome is not None else None
        effective = sorted(node.effective()) if node is not None else []
        rows.append(
            {
                "deployment": dep.name,
                "model": dep.model.uri,
                "licences": ", ".join(effective)
                if node is not None
                else f"unknown: {outcome.problem if outcome else 'not a Hub or S3 model'}",
                "lineage": node.chain() if node is not None else "",
                "obligations": obligations_text(effective, table),
                "decision": statuses.get(dep.name, "not judged"),
            }
        )
    return rows
