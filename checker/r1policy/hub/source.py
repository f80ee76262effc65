"""What a consumer of Hub answers needs: a Hub (the live client, the cache, or a static table in policy
tests) that looks up a repository at a revision, says whether an organisation is verified and lists a
branch's commits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from r1policy.hub.client import Lookup
    from r1policy.hub.commits import BranchHistory


class HubSource(Protocol):
    def lookup(self, repo: str, revision: str | None) -> Lookup: ...

    def org_verified(self, org: str) -> bool: ...

    def branch_history(self, repo: str, branch: str) -> BranchHistory: ...
