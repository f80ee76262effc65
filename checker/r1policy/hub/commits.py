"""A branch's commit history from the Hub (`HfApi.list_repo_commits`), for R1-HUB-007.

- One listing (one request per page, following `Link: rel="next"`) per (repository, branch) per client.
- Online, the answer is always asked (a branch moves) and then stored in the response cache
  (`hub/commits/<org>/<name>/<branch>.json`) for offline use only, like organisation overviews.
- `HF_HUB_OFFLINE=1`: the cached history or `HubError(OFFLINE_MISS)`.
- Commits come newest first (the Hub's order); each has its 40-hex id and its date (timezone-aware).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from r1policy.hub.cache import HubCache
from r1policy.hub.errors import HubError, HubErrorKind
from r1policy.hub.record import is_full_sha

T = TypeVar("T")


class HubClient(Protocol):
    """What of `r1policy.hub.client.HubClient` the listing uses (no import: the client imports this)."""

    offline: bool
    cache: HubCache
    endpoint: str
    token: str | None
    timeout: float

    def call(self, what: str, fn: Callable[[], T]) -> T: ...

    def api(self) -> Any: ...


MAX_PAGES = 200  # the Hub pages commits 50 at a time: 10,000 commits


@dataclass(frozen=True)
class Commit:
    id: str
    date: _dt.datetime

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "date": self.date.isoformat()}


@dataclass(frozen=True)
class BranchHistory:
    repo: str
    branch: str
    commits: tuple[Commit, ...]  # newest first; never empty

    @property
    def head(self) -> Commit:
        return self.commits[0]

    def position(self, sha: str) -> int | None:
        """How many commits `sha` is behind the head (0: it is the head); None: not on the branch."""
        for index, commit in enumerate(self.commits):
            if commit.id == sha:
                return index
        return None

    def to_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "branch": self.branch, "commits": [c.to_json() for c in self.commits]}


def history_from_json(repo: str, branch: str, items: Any) -> BranchHistory:
    """`items`: a list of `{"id", "date"}` (cache, rule cases). Raises HubError(BAD_RESPONSE)."""
    where = f"commit history of {repo}@{branch}"
    if not isinstance(items, list) or not items:
        raise HubError(HubErrorKind.BAD_RESPONSE, f"{where}: no commits")
    commits = []
    for item in items:
        ident = item.get("id") if isinstance(item, dict) else None
        date = item.get("date") if isinstance(item, dict) else None
        commits.append(_commit(where, ident, _parse_date(where, date)))
    return BranchHistory(repo, branch, tuple(commits))


def _parse_date(where: str, value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HubError(HubErrorKind.BAD_RESPONSE, f"{where}: commit date {value!r} is not a date") from None


def _commit(where: str, ident: Any, date: _dt.datetime | None) -> Commit:
    if not isinstance(ident, str) or not is_full_sha(ident):
        raise HubError(HubErrorKind.BAD_RESPONSE, f"{where}: commit id {ident!r} is not a 40-hex SHA")
    if date is None:
        raise HubError(HubErrorKind.BAD_RESPONSE, f"{where}: commit {ident} has no date")
    if date.tzinfo is None:
        date = date.replace(tzinfo=_dt.UTC)
    return Commit(ident, date)


def read_history(client: HubClient, repo: str, branch: str) -> BranchHistory:
    """The branch's history through the client (its retries, offline mode and cache); raises HubError."""
    where = f"commit history of {repo}@{branch}"
    if client.offline:
        cached = client.cache.get_history(repo, branch)
        if cached is None:
            raise HubError(
                HubErrorKind.OFFLINE_MISS,
                f"{where} is not in the cache ({client.cache.root}) and HF_HUB_OFFLINE is set",
            )
        return history_from_json(repo, branch, cached)
    items = client.call(where, lambda: _fetch(client, repo, branch))
    history = history_from_json(repo, branch, items)
    client.cache.put_history(history.to_json())
    return history


def _fetch(client: HubClient, repo: str, branch: str) -> list[Any]:
    """Every page of `GET /api/models/{repo}/commits/{branch}`, as `HfApi.list_repo_commits` reads it
    (a JSON list per page, the next page in `Link: <url>; rel="next"`), but one request per page with the
    library's session and error mapping and without the library's own 5xx retry loop (`paginate` retries
    five times with up to 8 s waits), so that R1POLICY_HUB_RETRIES / _TIMEOUT bound it like every Hub call.
    A next page on another host, or more than MAX_PAGES pages, is a bad answer."""
    from urllib.parse import quote

    from huggingface_hub import get_session, hf_raise_for_status
    from huggingface_hub.utils._headers import build_hf_headers

    client.api()  # configures the library (offline flag, session timeout)
    headers = build_hf_headers(token=client.token or None)
    url: str | None = f"{client.endpoint}/api/models/{repo}/commits/{quote(branch, safe='')}"
    items: list[Any] = []
    for _ in range(MAX_PAGES):
        assert url is not None
        response = get_session().get(url, headers=headers, timeout=client.timeout)
        hf_raise_for_status(response)
        page = response.json()
        if not isinstance(page, list):
            raise HubError(
                HubErrorKind.BAD_RESPONSE, f"commit history of {repo}@{branch}: not a list of commits"
            )
        items.extend(page)
        url = response.links.get("next", {}).get("url")
        if url is None:
            return items
        if not url.startswith(f"{client.endpoint}/"):
            raise HubError(
                HubErrorKind.BAD_RESPONSE,
                f"commit history of {repo}@{branch}: the next page is on another host ({url})",
            )
    raise HubError(
        HubErrorKind.BAD_RESPONSE,
        f"commit history of {repo}@{branch}: more than {MAX_PAGES} pages of commits",
    )
