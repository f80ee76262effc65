"""What a consumer of Hub answers needs: a Hub (the live client, the cache, or a static table in policy
tests) that looks up a repository at a revision and says whether an organisation is verified."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from r1policy.hub.client import Lookup


class HubSource(Protocol):
    def lookup(self, repo: str, revision: str | None) -> Lookup: ...

    def org_verified(self, org: str) -> bool: ...
