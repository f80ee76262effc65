"""A Hugging Face Hub-shaped HTTP server on loopback, for tests and benchmarks.

The real `huggingface_hub` client talks to it over HTTP (point `HF_ENDPOINT` at `.endpoint`). It serves
what r1policy (and `r1policy scan hf://...`) calls:

- `GET /api/models/{org}/{name}[/revision/{rev}]` (`?blobs=true&securityStatus=true`): model info with
  `_id`, `sha`, `gated`, `disabled`, `siblings[] {rfilename, size, blobId, lfs}`, `config`,
  `safetensors`, `securityRepoStatus`, `cardData` (when the fixture has a card).
- `GET /api/models/{org}/{name}/commits/{rev}[?p=N]`: the branch's commits, newest first, as the Hub
  answers `list_repo_commits` (`id`, `title`, `message`, `authors[] {user}`, `date`), `commits_page_size`
  per page with a `Link: <...?p=N+1>; rel="next"` header while more remain.
- `GET /api/organizations/{org}/overview`: `isVerified`, `plan`.
- `HEAD|GET /{org}/{name}/resolve/{rev}/{path}`: file bytes with the headers `hf_hub_download` needs
  (`ETag`, `X-Repo-Commit`, `Content-Length`; `X-Linked-Etag` / `X-Linked-Size` for LFS files).

Errors look like the Hub's: 404 with `X-Error-Code: RepoNotFound` / `RevisionNotFound` /
`EntryNotFound`, 403 `X-Error-Code: GatedRepo` for files of a gated repo without access, 403 with
`X-Error-Message: Access to this resource is disabled.` for a disabled repo (`gated_token`: the token
whose requests may download a gated repo's files). Per-repo behaviours:
`fail_first=N` (the first N metadata requests answer `fail_status`, default 429 with `Retry-After: 0`),
`always_status=500`, `delay=seconds` (every request of that repo waits first).

Usage:

    with hub_server([RepoFixture("org/name", files={"config.json": b"{}"})]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        ...
        assert hub.count("model_info", "org/name") == 1

Every request is counted (`hub.requests`: (method, kind, repo, revision, path) tuples).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Lfs:
    """An LFS file: bytes (served) or only declared metadata (served as metadata, 404 on download)."""

    content: bytes | None = None
    sha256: str | None = None
    size: int | None = None

    def digest(self) -> str:
        if self.sha256:
            return self.sha256
        assert self.content is not None
        return hashlib.sha256(self.content).hexdigest()

    def length(self) -> int:
        if self.size is not None:
            return self.size
        assert self.content is not None
        return len(self.content)


@dataclass
class RepoFixture:
    repo: str
    files: dict[str, bytes | Lfs] = field(default_factory=dict)
    sha: str = "1" * 40
    repo_id: str = "650000000000000000000001"
    refs: dict[str, str] = field(default_factory=dict)  # branch/tag -> commit ("main" -> sha by default)
    author: str | None = None
    gated: bool | str = False
    gated_access: bool = True
    gated_token: str | None = None  # a request with `Authorization: Bearer <this>` may download
    disabled: bool = False
    scans_done: bool = True
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (path, level)
    safetensors: dict[str, int] | None = None
    fail_first: int = 0
    fail_status: int = 429
    always_status: int | None = None
    delay: float = 0.0
    answer_id: str | None = None  # the `id` model_info answers (a renamed or redirected repository)
    card: dict[str, Any] | None = None  # the model card's metadata (`cardData`: license, base_model, ...)
    # branch -> [(commit id, ISO date)], newest first; default: each ref's commit alone, dated lastModified
    commits: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    commits_page_size: int = 50
    commits_status: int | None = None  # the commits endpoint alone answers this HTTP status
    commits_body: Any = None  # the commits endpoint answers this JSON instead (a malformed answer)
    commits_next: str | None = None  # the commits endpoint always links this URL as the next page

    def history(self, branch: str) -> list[tuple[str, str]] | None:
        if branch in self.commits:
            return self.commits[branch]
        sha = self.resolve(branch)
        return [(sha, "2025-01-20T00:00:00.000Z")] if sha is not None else None

    def resolve(self, revision: str | None) -> str | None:
        if revision is None or revision == self.sha:
            return self.sha
        refs = {"main": self.sha, **self.refs}
        return refs.get(revision)

    def info(self) -> dict[str, Any]:
        siblings = []
        for path, spec in sorted(self.files.items()):
            if isinstance(spec, Lfs):
                siblings.append(
                    {
                        "rfilename": path,
                        "size": spec.length(),
                        "blobId": hashlib.sha1(spec.digest().encode()).hexdigest(),
                        "lfs": {"sha256": spec.digest(), "size": spec.length(), "pointerSize": 134},
                    }
                )
            else:
                siblings.append({"rfilename": path, "size": len(spec), "blobId": git_blob_id(spec)})
        config = None
        raw = self.files.get("config.json")
        if isinstance(raw, bytes):
            with contextlib.suppress(ValueError, RecursionError):  # the Hub leaves out what it cannot parse
                config = json.loads(raw)
        data: dict[str, Any] = {
            "_id": self.repo_id,
            "id": self.answer_id or self.repo,
            "modelId": self.repo,
            "author": self.author or self.repo.split("/")[0],
            "sha": self.sha,
            "lastModified": "2025-01-20T00:00:00.000Z",
            "createdAt": "2025-01-20T00:00:00.000Z",
            "private": False,
            "gated": self.gated,
            "disabled": self.disabled,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "library_name": "transformers",
            "siblings": siblings,
            "securityRepoStatus": {
                "scansDone": self.scans_done,
                "filesWithIssues": [{"path": p, "level": lvl} for p, lvl in self.flagged],
            },
        }
        if config is not None:
            data["config"] = config
        if self.card is not None:
            data["cardData"] = self.card
        if self.safetensors is not None:
            data["safetensors"] = {"parameters": self.safetensors, "total": sum(self.safetensors.values())}
        return data


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class HubServer:
    def __init__(self, fixtures: Iterable[RepoFixture] = (), orgs: dict[str, bool] | None = None) -> None:
        self.repos: dict[str, RepoFixture] = {f.repo: f for f in fixtures}
        self.orgs: dict[str, bool] = dict(orgs or {})
        self.requests: list[tuple[str, str, str, str | None, str]] = []
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, fixture: RepoFixture) -> None:
        self.repos[fixture.repo] = fixture

    def count(self, kind: str | None = None, repo: str | None = None) -> int:
        with self._lock:
            return sum(
                1 for r in self.requests if (kind is None or r[1] == kind) and (repo is None or r[2] == repo)
            )

    def reset_counts(self) -> None:
        """Forget the requests seen and the failures already served (`fail_first` starts over)."""
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    def record(self, method: str, kind: str, repo: str, revision: str | None, path: str) -> None:
        with self._lock:
            self.requests.append((method, kind, repo, revision, path))

    def take_failure(self, fixture: RepoFixture) -> bool:
        with self._lock:
            used = self._failures.get(fixture.repo, 0)
            if used < fixture.fail_first:
                self._failures[fixture.repo] = used + 1
                return True
            return False

    def start(self) -> HubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def hub_server(
    fixtures: Iterable[RepoFixture] = (), orgs: dict[str, bool] | None = None
) -> Iterator[HubServer]:
    server = HubServer(fixtures, orgs).start()
    try:
        yield server
    finally:
        server.stop()


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._route(body=True)

    def do_HEAD(self) -> None:
        self._route(body=False)

    # -- routing -----------------------------------------------------------------------------
    def _route(self, *, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        method = "GET" if body else "HEAD"
        if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "commits":
            repo = f"{parts[2]}/{parts[3]}"
            self.hub.record(method, "commits", repo, parts[5], path)
            return self._commits(repo, parts[5], body=body)
        if len(parts) >= 4 and parts[:2] == ["api", "models"]:
            repo = f"{parts[2]}/{parts[3]}"
            revision = parts[5] if len(parts) >= 6 and parts[4] == "revision" else None
            self.hub.record(method, "model_info", repo, revision, path)
            return self._model_info(repo, revision, body=body)
        if len(parts) == 4 and parts[:2] == ["api", "organizations"] and parts[3] == "overview":
            self.hub.record(method, "org", parts[2], None, path)
            if parts[2] not in self.hub.orgs:
                return self._send(404, {"error": "Organization not found"}, body=body)
            verified = self.hub.orgs[parts[2]]
            overview = {
                "name": parts[2],
                "fullname": parts[2],
                "avatarUrl": "",
                "isVerified": verified,
                "plan": "team" if verified else "free",
                "numUsers": 3,
                "numModels": 1,
            }
            return self._send(200, overview, body=body)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = f"{parts[0]}/{parts[1]}"
            self.hub.record(method, "resolve", repo, parts[3], "/".join(parts[4:]))
            return self._resolve(repo, parts[3], "/".join(parts[4:]), body=body)
        self.hub.record(method, "other", "", None, path)
        return self._send(404, {"error": "not found"}, body=body)

    def _common(self, repo: str, *, body: bool) -> RepoFixture | None:
        fixture = self.hub.repos.get(repo)
        if fixture is None:
            self._send(
                404, {"error": "Repository not found"}, body=body, headers={"X-Error-Code": "RepoNotFound"}
            )
            return None
        if fixture.delay:
            time.sleep(fixture.delay)
        if fixture.always_status is not None:
            self._send(fixture.always_status, {"error": "Internal Error"}, body=body)
            return None
        if fixture.disabled:
            self._send(
                403,
                {"error": "Access to this resource is disabled."},
                body=body,
                headers={"X-Error-Message": "Access to this resource is disabled."},
            )
            return None
        return fixture

    def _model_info(self, repo: str, revision: str | None, *, body: bool) -> None:
        fixture = self._common(repo, body=body)
        if fixture is None:
            return
        if self.hub.take_failure(fixture):
            headers = {"Retry-After": "0"} if fixture.fail_status == 429 else {}
            return self._send(fixture.fail_status, {"error": "slow down"}, body=body, headers=headers)
        sha = fixture.resolve(revision)
        if sha is None:
            return self._send(
                404,
                {"error": f"Invalid rev id: {revision}"},
                body=body,
                headers={"X-Error-Code": "RevisionNotFound"},
            )
        return self._send(200, fixture.info(), body=body)

    def _commits(self, repo: str, branch: str, *, body: bool) -> None:
        fixture = self._common(repo, body=body)
        if fixture is None:
            return
        if self.hub.take_failure(fixture):
            headers = {"Retry-After": "0"} if fixture.fail_status == 429 else {}
            return self._send(fixture.fail_status, {"error": "slow down"}, body=body, headers=headers)
        if fixture.commits_status is not None:
            return self._send(fixture.commits_status, {"error": "Internal Error"}, body=body)
        if fixture.commits_body is not None or fixture.commits_next is not None:
            link = {"Link": f'<{fixture.commits_next}>; rel="next"'} if fixture.commits_next else {}
            return self._send(200, fixture.commits_body or [], body=body, headers=link)
        history = fixture.history(branch)
        if history is None:
            return self._send(
                404,
                {"error": f"Invalid rev id: {branch}"},
                body=body,
                headers={"X-Error-Code": "RevisionNotFound"},
            )
        query = parse_qs(urlsplit(self.path).query)
        page = int(query.get("p", ["0"])[0])
        size = fixture.commits_page_size
        items = [
            {
                "id": sha,
                "title": f"commit {sha[:7]}",
                "message": "",
                "authors": [{"user": "publisher"}],
                "date": date,
            }
            for sha, date in history[page * size : (page + 1) * size]
        ]
        headers = {}
        if (page + 1) * size < len(history):
            headers["Link"] = (
                f'<{self.hub.endpoint}/api/models/{repo}/commits/{branch}?p={page + 1}>; rel="next"'
            )
        return self._send(200, items, body=body, headers=headers)

    def _resolve(self, repo: str, revision: str, path: str, *, body: bool) -> None:
        fixture = self._common(repo, body=body)
        if fixture is None:
            return
        sha = fixture.resolve(revision)
        if sha is None:
            return self._send(
                404, {"error": "Revision not found"}, body=body, headers={"X-Error-Code": "RevisionNotFound"}
            )
        token = self.headers.get("Authorization", "")
        granted = fixture.gated_token is not None and token == f"Bearer {fixture.gated_token}"
        if fixture.gated and not fixture.gated_access and not granted:
            return self._send(
                403,
                {"error": "Access to model is restricted."},
                body=body,
                headers={"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to model is restricted."},
            )
        spec = fixture.files.get(path)
        headers = {"X-Repo-Commit": sha}
        if spec is None or (isinstance(spec, Lfs) and spec.content is None):
            headers["X-Error-Code"] = "EntryNotFound"
            return self._send(404, {"error": "Entry not found"}, body=body, headers=headers)
        if isinstance(spec, Lfs):
            assert spec.content is not None
            content = spec.content
            headers["ETag"] = f'"{spec.digest()}"'
            headers["X-Linked-Etag"] = f'"{spec.digest()}"'
            headers["X-Linked-Size"] = str(len(content))
        else:
            content = spec
            headers["ETag"] = f'"{git_blob_id(content)}"'
        return self._send_bytes(200, content, "application/octet-stream", body=body, headers=headers)

    # -- responses ---------------------------------------------------------------------------
    def _send(self, status: int, value: Any, *, body: bool, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(value).encode()
        self._send_bytes(status, data, "application/json", body=body, headers=headers)

    def _send_bytes(
        self, status: int, data: bytes, ctype: str, *, body: bool, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)
