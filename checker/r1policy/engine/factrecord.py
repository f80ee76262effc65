"""The facts gathered for one deployment: the Cedar attributes, the template names, and which facts
could not be obtained (`unavailable`: the rules that need them report `error`) or do not exist for it
(`not_applicable`: those rules are skipped). Every fact gatherer in the engine writes into this record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from r1policy.core.model import Deployment


@dataclass
class DeploymentFacts:
    """One deployment's facts for Cedar: the attributes, and which are unavailable or not applicable."""

    deployment: Deployment
    attrs: dict[str, Any]
    unavailable: dict[str, str] = field(default_factory=dict)
    names: dict[str, Any] = field(default_factory=dict)
    # facts that do not exist for this deployment (no lock file): rules that require them are skipped
    not_applicable: dict[str, str] = field(default_factory=dict)
