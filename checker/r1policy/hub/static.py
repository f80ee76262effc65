"""A Hub answered from a description instead of HTTP: rule cases (`policies test`) use it.

The description is plain data (see `policies/cases-base.yaml`, key `hub`):
`{"repos": {"<org/name>": {<RepoRecord JSON: sha, _id, gated, disabled, files, safetensors, scans_done,
flagged, config, contents>, "refs": {"main": "<sha>"}, "access": true, "error": "<HubErrorKind>",
"commits": {"<branch>": [{"id": "<sha>", "date": "<ISO 8601>"}, ...] (newest first) or "<HubErrorKind>"}}},
"orgs": {"<org>": <isVerified>}}`.
"""

from __future__ import annotations

from typing import Any

from r1policy.hub.client import Lookup, check_answer
from r1policy.hub.commits import BranchHistory, history_from_json
from r1policy.hub.errors import HubError, HubErrorKind
from r1policy.hub.record import RepoRecord


class StaticHub:
    def __init__(self, description: dict[str, Any] | None) -> None:
        description = description or {}
        self.repos: dict[str, dict[str, Any]] = dict(description.get("repos") or {})
        self.orgs: dict[str, bool | str] = dict(description.get("orgs") or {})

    def lookup(self, repo: str, revision: str | None) -> Lookup:
        entry = self.repos.get(repo)
        where = f"{repo}@{revision}" if revision else repo
        if entry is None:
            raise HubError(
                HubErrorKind.REPO_NOT_FOUND, f"Hub metadata for {where}: the repository does not exist"
            )
        if entry.get("error"):
            kind = HubErrorKind(entry["error"])
            raise HubError(kind, f"Hub metadata for {where}: {kind.value.replace('_', ' ')}")
        sha = str(entry["sha"])
        refs = {"main": sha, **(entry.get("refs") or {})}
        if revision is not None and revision != sha and revision not in refs:
            raise HubError(
                HubErrorKind.REVISION_NOT_FOUND, f"Hub metadata for {where}: the revision does not exist"
            )
        resolved = sha if revision in (None, sha) else str(refs[revision])
        check_answer(repo, revision, entry.get("id", repo), resolved)
        record = RepoRecord.from_json({**entry, "repo": repo, "sha": resolved})
        return Lookup(record, revision, entry.get("access", True))

    def org_verified(self, org: str) -> bool:
        value = self.orgs.get(org, False)
        if isinstance(value, str):  # a failed request: the HubErrorKind
            kind = HubErrorKind(value)
            raise HubError(kind, f"organisation overview of {org}: {kind.value.replace('_', ' ')}")
        return bool(value)

    def branch_history(self, repo: str, branch: str) -> BranchHistory:
        """The entry's `commits[branch]`; without one, the branch is its resolved commit alone."""
        entry = self.repos.get(repo) or {}
        where = f"commit history of {repo}@{branch}"
        commits = (entry.get("commits") or {}).get(branch)
        if isinstance(commits, str):  # a failed request: the HubErrorKind
            kind = HubErrorKind(commits)
            raise HubError(kind, f"{where}: {kind.value.replace('_', ' ')}")
        if commits is None:
            refs = {"main": entry.get("sha"), **(entry.get("refs") or {})}
            if refs.get(branch) is None:
                raise HubError(HubErrorKind.REVISION_NOT_FOUND, f"{where}: the branch does not exist")
            commits = [{"id": refs[branch], "date": "2025-01-20T00:00:00+00:00"}]
        return history_from_json(repo, branch, commits)
