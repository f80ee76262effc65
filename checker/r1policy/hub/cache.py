"""On-disk cache of Hub responses, keyed by repository and commit (commits are immutable).

Layout under the cache folder (`R1POLICY_CACHE_DIR`, else `$XDG_CACHE_HOME/r1policy`, else
`~/.cache/r1policy`): `hub/models/<org>/<name>/<40-hex commit>.json` holds a `RepoRecord`;
`hub/orgs/<org>.json` the last organisation overview and `hub/commits/<org>/<name>/<branch>.json` the last
commit history of a branch (R1-HUB-007), both used only offline (they change).
Branch and tag lookups are never cached. Writes are atomic; an unreadable entry counts as a miss.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from r1policy.core import jsonsafe
from r1policy.core.cachedir import default_cache_dir
from r1policy.hub.record import RepoRecord, is_full_sha

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
FORMAT_VERSION = 1


def _safe(segment: str) -> bool:
    return bool(_SEGMENT.match(segment)) and ".." not in segment


class HubCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_cache_dir()) / "hub"

    def _model_path(self, repo: str, sha: str) -> Path | None:
        parts = repo.split("/")
        if len(parts) != 2 or not all(_safe(p) for p in parts) or not is_full_sha(sha):
            return None
        return self.root / "models" / parts[0] / parts[1] / f"{sha}.json"

    def _org_path(self, org: str) -> Path | None:
        return self.root / "orgs" / f"{org}.json" if _safe(org) else None

    def get_record(self, repo: str, sha: str) -> RepoRecord | None:
        path = self._model_path(repo, sha)
        data = _read(path) if path else None
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            return None
        record = data.get("record")
        if not isinstance(record, dict) or record.get("sha") != sha or record.get("repo") != repo:
            return None
        try:
            return RepoRecord.from_json(record)
        except (KeyError, TypeError, ValueError):
            return None

    def put_record(self, record: RepoRecord) -> None:
        path = self._model_path(record.repo, record.sha)
        if path is not None:
            _write(path, {"format": FORMAT_VERSION, "record": record.to_json()})

    def _history_path(self, repo: str, branch: str) -> Path | None:
        parts = repo.split("/")
        if len(parts) != 2 or not all(_safe(p) for p in (*parts, branch)):
            return None
        return self.root / "commits" / parts[0] / parts[1] / f"{branch}.json"

    def get_history(self, repo: str, branch: str) -> list[Any] | None:
        """The cached commits (`[{"id", "date"}]`, newest first) of `branch`, or None."""
        path = self._history_path(repo, branch)
        data = _read(path) if path else None
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            return None
        if (
            data.get("repo") != repo
            or data.get("branch") != branch
            or not isinstance(data.get("commits"), list)
        ):
            return None
        return list(data["commits"])

    def put_history(self, history: dict[str, Any]) -> None:
        path = self._history_path(str(history["repo"]), str(history["branch"]))
        if path is not None:
            _write(path, {"format": FORMAT_VERSION, **history})

    def get_org(self, org: str) -> bool | None:
        path = self._org_path(org)
        data = _read(path) if path else None
        if isinstance(data, dict) and isinstance(data.get("isVerified"), bool):
            return bool(data["isVerified"])
        return None

    def put_org(self, org: str, verified: bool) -> None:
        path = self._org_path(org)
        if path is not None:
            _write(path, {"format": FORMAT_VERSION, "name": org, "isVerified": verified})


def _read(path: Path) -> Any:
    try:
        return jsonsafe.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write(path: Path, value: Any) -> None:
    """Best effort: a cache that cannot be written only costs a request next time."""
    text = json.dumps(value, indent=1, sort_keys=True) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
