"""Licence facts for Cedar (R1-LIC-001, R1-LIC-002): a deployment's resolved lineage
(`r1policy.licences`) judged against the configuration's `licences` lists, written into its facts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from r1policy.engine.factrecord import DeploymentFacts
from r1policy.licences import NOT_CONFIGURED

if TYPE_CHECKING:
    from r1policy.licences.facts import LicenceOutcome
    from r1policy.project.config import Config


def default_names() -> dict[str, Any]:
    return {
        "licence_chain": "",
        "licences_effective": "",
        "licences_not_allowed": "",
        "licences_denied": "",
        "licence_declared": "",
        "licences_undeclared": "",
        "licence_disagreement": "",
        "licence_obligations": "",
        "licences_allowed": "",
    }


def apply_licences(item: DeploymentFacts, config: Config, outcome: LicenceOutcome | None) -> None:
    if config.licences is None:
        item.not_applicable["licences.config"] = NOT_CONFIGURED
        return
    if outcome is None:
        return
    if outcome.node is None:
        if outcome.needs_hub:
            item.unavailable["hub.lineage"] = outcome.problem
        else:
            item.unavailable["licence.lineage"] = outcome.problem
        return
    from r1policy.licences.facts import obligations_text  # with `licences` configured only
    from r1policy.licences.table import load_table

    table = load_table()
    node = outcome.node
    allowed, denied = set(config.licences.allowed), set(config.licences.denied)
    known = set(table.licences) | allowed | denied
    unknown = sorted(f"{n.repo} ({n.licence})" for n in node.nodes() if n.licence not in known)
    if unknown:
        item.unavailable["licence.lineage"] = (
            "licence not in r1policy's obligations table nor named in licences.allowed / denied: "
            + ", ".join(unknown)
        )
        return
    effective = sorted(node.effective())
    not_allowed = [lic for lic in effective if lic not in allowed]
    hit = [lic for lic in effective if lic in denied]
    undeclared = sorted(node.imposed() - {node.licence})
    item.attrs["licence"] = {
        "effective": effective,
        "not_allowed_count": len(not_allowed),
        "denied_count": len(hit),
        "undeclared_count": len(undeclared),
        "card_disagrees": bool(outcome.disagreements),
    }
    item.names.update(
        licence_chain=node.chain(),
        licences_effective=", ".join(effective),
        licences_not_allowed=", ".join(not_allowed),
        licences_denied=", ".join(hit),
        licence_declared=node.licence,
        licences_undeclared=", ".join(undeclared),
        licence_disagreement="; ".join(outcome.disagreements),
        licence_obligations=obligations_text(effective, table),
        licences_allowed=", ".join(config.licences.allowed) or "none",
    )
