"""Update-management facts for Cedar (R1-HUB-007): the `revision_age` attribute of a Deployment.

Is the pinned Hub commit still on the reviewed branch's history, and how far behind the branch's head?
The reviewed branch is `main` (REVIEWED_BRANCH): manifests name one `revision` only, and a deployment
that passes R1-HUB-001 names a commit, not the branch it was reviewed on; `r1policy lock` and
`huggingface_hub` both default to `main`. The history comes from `HubSource.branch_history` (one request
per repository and branch per run). Fact names for rules' `requires`: `revision_age.config`
(`max_revision_age_days` is set and the revision is a full commit SHA; otherwise the rule is skipped) and
`hub.history` (the branch's commits could be listed; otherwise `error`, `skipped` under --static).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from r1policy.hub.errors import HubError

if TYPE_CHECKING:
    from r1policy.engine.factrecord import DeploymentFacts
    from r1policy.hub.client import Lookup
    from r1policy.hub.commits import BranchHistory
    from r1policy.hub.source import HubSource
    from r1policy.project.config import Config

REVIEWED_BRANCH = "main"
NOT_CONFIGURED = "max_revision_age_days is not set in the configuration"
DAY_SECONDS = 86400


def default_names() -> dict[str, Any]:
    return {
        "reviewed_branch": REVIEWED_BRANCH,
        "head_sha": "",
        "head_date": "",
        "pinned_date": "",
        "behind_commits": 0,
        "behind_days": "",
        "max_revision_age_days": "",
    }


def apply_revision_age(
    item: DeploymentFacts, config: Config, source: HubSource | None, found: Lookup | HubError | None
) -> None:
    model = item.deployment.model
    if config.max_revision_age_days is None:
        item.not_applicable["revision_age.config"] = NOT_CONFIGURED
        return
    item.names["max_revision_age_days"] = config.max_revision_age_days
    from r1policy.hub.record import is_full_sha  # only when the rule is configured (cold start)

    if not is_full_sha(model.revision):
        item.not_applicable["revision_age.config"] = (
            f"revision {model.revision or '(none)'} is not a commit pin: it follows its branch's head "
            "(R1-HUB-001 judges the pin)"
        )
        return
    if source is None or model.repo is None:
        return  # --static: `hub.repo` is unavailable already
    if isinstance(found, HubError) or found is None:
        why = found.message if found is not None else "no answer"
        item.unavailable["hub.history"] = f"the Hub did not describe {model.repo}: {why}"
        return
    try:
        history = source.branch_history(model.repo, REVIEWED_BRANCH)
    except HubError as exc:
        item.unavailable["hub.history"] = exc.message
        return
    _judge(item, history, found.record.sha, config.max_revision_age_days)


def _judge(item: DeploymentFacts, history: BranchHistory, sha: str, max_days: int) -> None:
    head = history.head
    behind = history.position(sha)
    facts: dict[str, Any] = {
        "branch": history.branch,
        "on_branch": behind is not None,
        "behind_commits": behind or 0,
        "behind_seconds": 0,
        "limit_seconds": max_days * DAY_SECONDS,
    }
    item.names.update(reviewed_branch=history.branch, head_sha=head.id, head_date=_day(head.date))
    if behind is not None:
        pinned = history.commits[behind]
        seconds = int((head.date - pinned.date).total_seconds())
        facts["behind_seconds"] = seconds
        item.names.update(
            pinned_date=_day(pinned.date), behind_commits=behind, behind_days=f"{seconds / DAY_SECONDS:.1f}"
        )
    item.attrs["revision_age"] = facts


def _day(value: Any) -> str:
    return str(value.isoformat(timespec="seconds")).replace("+00:00", "Z")
