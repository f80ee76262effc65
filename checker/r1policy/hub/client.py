"""The Hub client: `huggingface_hub.HfApi` with retries, a per-run memo and an on-disk cache.

- `HF_ENDPOINT` and `HF_TOKEN` are read when the client is built (the library reads them at import).
- `HF_HUB_OFFLINE=1`: no request is made; a lookup is answered from the cache or raises
  `HubError(OFFLINE_MISS)` (the rules that need it report `error`).
- One metadata request per (repository, revision) per run; a full-SHA lookup is answered from the disk
  cache first, so a warm-cache run makes no request. Branch and tag lookups always ask the Hub (their
  answer is then cached under the commit they resolve to).
- 429, 5xx, timeouts and network errors are retried with exponential backoff (Retry-After honoured),
  at most `R1POLICY_HUB_RETRIES` times (default 3), waiting at most 30 s between tries;
  `R1POLICY_HUB_TIMEOUT` (seconds, default 10) bounds each request.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from r1policy.hub.cache import HubCache
from r1policy.hub.commits import BranchHistory, read_history
from r1policy.hub.errors import HubError, HubErrorKind, retry_after
from r1policy.hub.record import (
    CODE_CONFIG_FILES,
    HubFile,
    RepoRecord,
    card_subset,
    flagged_from_security,
    gated_text,
    is_full_sha,
)

T = TypeVar("T")
K = TypeVar("K")
DEFAULT_ENDPOINT = "https://huggingface.co"
MAX_SMALL_FILE_BYTES = 10 * 1024 * 1024
MAX_BACKOFF_SECONDS = 30.0
_RETRYABLE = frozenset(
    {HubErrorKind.RATE_LIMITED, HubErrorKind.SERVER_ERROR, HubErrorKind.TIMEOUT, HubErrorKind.NETWORK}
)
_TRUE = {"1", "true", "yes", "on"}


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Lookup:
    """A repository at one commit, and whether this run may download its files (gated repos)."""

    record: RepoRecord
    requested: str | None  # the revision as written (branch, tag, SHA or None)
    access: bool | None  # None: unknown (offline, files never downloaded)


class HubClient:
    def __init__(
        self,
        *,
        endpoint: str | None = None,
        token: str | None = None,
        cache: HubCache | None = None,
        offline: bool | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
    ) -> None:
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self.token = token if token is not None else (os.environ.get("HF_TOKEN") or None)
        self.cache = cache if cache is not None else HubCache()
        self.offline = offline_mode() if offline is None else offline
        self.timeout = timeout if timeout is not None else _env_float("R1POLICY_HUB_TIMEOUT", 10.0)
        self.retries = retries if retries is not None else int(_env_float("R1POLICY_HUB_RETRIES", 3))
        self.backoff = backoff if backoff is not None else _env_float("R1POLICY_HUB_BACKOFF", 1.0)
        self._memo: dict[tuple[str, str | None], Lookup | HubError] = {}
        self._orgs: dict[str, bool | HubError] = {}
        self._histories: dict[tuple[str, str], BranchHistory | HubError] = {}
        self._api: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.requests = 0  # Hub calls made by this client (metadata, organisation, file downloads)

    # -- the library ---------------------------------------------------------------------------
    def api(self) -> Any:
        if self._api is None:
            import httpx2
            from huggingface_hub import HfApi, constants, get_session
            from huggingface_hub.utils.tqdm import disable_progress_bars

            disable_progress_bars()
            # The library reads HF_HUB_OFFLINE once, at import; r1policy reads it when the client is
            # built and never calls the library offline, so the library follows this client's reading.
            constants.HF_HUB_OFFLINE = self.offline
            # Calls without a timeout parameter (organisation overview, downloads) use the session's.
            get_session().timeout = httpx2.Timeout(self.timeout)
            self._api = HfApi(endpoint=self.endpoint, token=self.token or None)
        return self._api

    def call(self, what: str, fn: Callable[[], T]) -> T:
        if self.offline:
            raise HubError(HubErrorKind.OFFLINE_MISS, f"{what}: not in the cache and HF_HUB_OFFLINE is set")
        attempt = 0
        while True:
            self.requests += 1
            try:
                return fn()
            except HubError as exc:
                error, wait = exc, None
            except _library_errors() as exc:
                error, wait = translate(exc, what, self.endpoint), retry_after(exc)
            if error.kind not in _RETRYABLE or attempt >= self.retries:
                if error.kind in _RETRYABLE and attempt:
                    raise HubError(error.kind, f"{error.message} (gave up after {attempt + 1} attempts)")
                raise error
            delay = wait if wait is not None else self.backoff * (2**attempt)
            time.sleep(min(max(delay, 0.0), MAX_BACKOFF_SECONDS))
            attempt += 1

    # -- repositories ----------------------------------------------------------------------------
    def lookup(self, repo: str, revision: str | None) -> Lookup:
        """The repository at `revision` (None: the default branch); raises HubError."""
        key = (repo, revision)
        found = self._memo.get(key)
        if found is None:
            try:
                found = self._lookup(repo, revision)
            except HubError as exc:
                found = exc
            self._memo[key] = found
            if isinstance(found, Lookup):
                self._memo.setdefault((repo, found.record.sha), found)
        if isinstance(found, HubError):
            raise found
        return found

    def _lookup(self, repo: str, revision: str | None) -> Lookup:
        where = f"{repo}@{revision}" if revision else repo
        if is_full_sha(revision):
            assert revision is not None
            cached = self.cache.get_record(repo, revision)
            if cached is not None:
                return Lookup(cached, revision, self._access_from_cache(cached))
        elif self.offline:
            raise HubError(
                HubErrorKind.OFFLINE_MISS,
                f"Hub metadata for {where} cannot come from the offline cache: only full commit SHAs are "
                "cached (branches and tags move)",
            )
        if self.offline:
            raise HubError(
                HubErrorKind.OFFLINE_MISS,
                f"Hub metadata for {where} is not in the cache ({self.cache.root}) and HF_HUB_OFFLINE is set",
            )
        info = self.call(
            f"Hub metadata for {where}",
            lambda: self.api().model_info(
                repo, revision=revision, files_metadata=True, securityStatus=True, timeout=self.timeout
            ),
        )
        record = record_from_info(repo, info)
        check_answer(repo, revision, getattr(info, "id", None), record.sha)
        record, access = self._with_code_files(record)
        self.cache.put_record(record)
        return Lookup(record, revision, access)

    @staticmethod
    def _access_from_cache(record: RepoRecord) -> bool | None:
        wanted = [name for name in CODE_CONFIG_FILES if record.file(name) is not None]
        if all(name in record.contents for name in wanted):
            return True
        return None if record.gated != "false" else True

    def _with_code_files(self, record: RepoRecord) -> tuple[RepoRecord, bool | None]:
        """Download the files that can name code; a refused download is a gated repo without access.
        A gated repository without such files: access is unknown (None), never assumed."""
        contents = dict(record.contents)
        for name in CODE_CONFIG_FILES:
            hub_file = record.file(name)
            if hub_file is None or name in contents:
                continue
            try:
                data, _ = self._download(record.repo, record.sha, hub_file)
            except HubError as exc:
                if exc.kind is HubErrorKind.GATED:
                    return record, False
                raise
            contents[name] = data.decode("utf-8", errors="replace")
        downloaded = any(name in contents for name in CODE_CONFIG_FILES)
        return replace(record, contents=contents), (True if downloaded or record.gated == "false" else None)

    # -- files ---------------------------------------------------------------------------------
    def file_digest(self, repo: str, sha: str, hub_file: HubFile) -> tuple[str, int]:
        """SHA-256 and size of a small non-LFS file, downloaded (at most MAX_SMALL_FILE_BYTES)."""
        data, size = self._download(repo, sha, hub_file)
        return hashlib.sha256(data).hexdigest(), size

    def _download(self, repo: str, sha: str, hub_file: HubFile) -> tuple[bytes, int]:
        where = f"hf://{repo}@{sha}/{hub_file.path}"
        if hub_file.size is not None and hub_file.size > MAX_SMALL_FILE_BYTES:
            raise HubError(
                HubErrorKind.TOO_LARGE,
                f"{where}: {hub_file.size:,} bytes without LFS metadata, over the "
                f"{MAX_SMALL_FILE_BYTES:,}-byte limit for downloading and hashing",
            )
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="r1policy-hub-")
        cache_dir = self._tmp.name
        path = self.call(
            where,
            lambda: self.api().hf_hub_download(
                repo, hub_file.path, revision=sha, cache_dir=cache_dir, etag_timeout=self.timeout
            ),
        )
        local = Path(path)
        size = local.stat().st_size
        if size > MAX_SMALL_FILE_BYTES:
            raise HubError(HubErrorKind.TOO_LARGE, f"{where}: {size:,} bytes, over the download limit")
        data = local.read_bytes()
        local.unlink(missing_ok=True)
        return data, size

    # -- organisations ---------------------------------------------------------------------------
    def org_verified(self, org: str) -> bool:
        """Whether `org` is a verified organisation (False for users and unknown names)."""
        return _memoised(self._orgs, org, lambda: self._org_verified(org))

    def _org_verified(self, org: str) -> bool:
        if self.offline:
            cached = self.cache.get_org(org)
            if cached is None:
                raise HubError(
                    HubErrorKind.OFFLINE_MISS,
                    f"the organisation overview of {org} is not in the cache and HF_HUB_OFFLINE is set",
                )
            return cached
        try:
            overview = self.call(
                f"organisation overview of {org}", lambda: self.api().get_organization_overview(org)
            )
        except HubError as exc:
            if exc.kind is HubErrorKind.REPO_NOT_FOUND or "404" in exc.message:
                return False
            raise
        verified = bool(getattr(overview, "is_verified", False))
        self.cache.put_org(org, verified)
        return verified

    def branch_history(self, repo: str, branch: str) -> BranchHistory:
        """The commits of `branch`, newest first (`r1policy.hub.commits`); raises HubError."""
        return _memoised(self._histories, (repo, branch), lambda: read_history(self, repo, branch))

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def check_answer(repo: str, revision: str | None, answered_repo: Any, answered_sha: str) -> None:
    """The Hub must answer what was asked: the same repository id (not a renamed or redirected one)
    and, for a 40-hex revision, that very commit (a branch or tag named like a SHA resolves elsewhere)."""
    where = f"{repo}@{revision}" if revision else repo
    if answered_repo != repo:
        raise HubError(
            HubErrorKind.ANSWER_MISMATCH,
            f"Hub metadata for {where}: the Hub answered for repository {answered_repo!r}, not {repo!r} "
            "(renamed, redirected or spelt differently): write the repository id exactly as the Hub does",
        )
    if is_full_sha(revision) and answered_sha != revision:
        raise HubError(
            HubErrorKind.ANSWER_MISMATCH,
            f"Hub metadata for {where}: the Hub resolved {revision} to commit {answered_sha}: a branch "
            "or tag is named like a commit SHA, so this revision is not a pin",
        )


def record_from_info(repo: str, info: Any) -> RepoRecord:
    sha = getattr(info, "sha", None)
    if not is_full_sha(sha):
        raise HubError(HubErrorKind.BAD_RESPONSE, f"the Hub returned no commit SHA for {repo}")
    files = []
    for sibling in getattr(info, "siblings", None) or []:
        lfs = getattr(sibling, "lfs", None)
        files.append(
            HubFile(
                path=str(sibling.rfilename),
                size=(lfs.size if lfs is not None else None) or getattr(sibling, "size", None),
                blob_id=getattr(sibling, "blob_id", None),
                lfs_sha256=lfs.sha256 if lfs is not None else None,
            )
        )
    safetensors = getattr(info, "safetensors", None)
    scans_done, flagged = flagged_from_security(getattr(info, "security_repo_status", None))
    config = getattr(info, "config", None)
    card_data: Any = getattr(info, "card_data", None)
    card = card_data.to_dict() if card_data is not None and hasattr(card_data, "to_dict") else card_data
    return RepoRecord(
        repo=repo,
        sha=str(sha),
        repo_id=getattr(info, "_id", None),
        author=getattr(info, "author", None),
        gated=gated_text(getattr(info, "gated", None)),
        disabled=bool(getattr(info, "disabled", False)),
        files=tuple(sorted(files, key=lambda f: f.path)),
        safetensors_parameters=dict(safetensors.parameters) if safetensors is not None else None,
        safetensors_total=int(safetensors.total) if safetensors is not None else None,
        scans_done=scans_done,
        flagged=flagged,
        config=config if isinstance(config, dict) else None,
        card=card_subset(card),
    )


def _library_errors() -> tuple[type[BaseException], ...]:
    import httpx2
    from huggingface_hub import errors as hf

    return (
        hf.HfHubHTTPError,
        hf.OfflineModeIsEnabled,
        hf.LocalEntryNotFoundError,
        httpx2.HTTPError,
        OSError,
        ValueError,  # also a JSON answer with a number past CPython's 4,300-digit limit
        KeyError,
        TypeError,
        RecursionError,  # a JSON answer nested too deeply for the library's decoder
    )


def translate(exc: BaseException, what: str, endpoint: str) -> HubError:
    """Map a huggingface_hub / httpx2 exception to a HubError."""
    import httpx2
    from huggingface_hub import errors as hf

    cause: BaseException | None = exc
    # hf_hub_download wraps the failed metadata request in LocalEntryNotFoundError.
    while isinstance(cause, hf.LocalEntryNotFoundError) and cause.__cause__ is not None:
        cause = cause.__cause__
    assert cause is not None
    if isinstance(cause, hf.GatedRepoError):
        return HubError(HubErrorKind.GATED, f"{what}: the repository is gated and this token has no access")
    if isinstance(cause, hf.DisabledRepoError):
        return HubError(HubErrorKind.DISABLED, f"{what}: the repository is disabled on the Hub")
    if isinstance(cause, hf.RevisionNotFoundError):
        return HubError(HubErrorKind.REVISION_NOT_FOUND, f"{what}: the revision does not exist")
    if isinstance(cause, hf.RepositoryNotFoundError):
        return HubError(
            HubErrorKind.REPO_NOT_FOUND, f"{what}: the repository does not exist (or is private to others)"
        )
    if isinstance(cause, hf.OfflineModeIsEnabled):
        return HubError(HubErrorKind.OFFLINE_MISS, f"{what}: HF_HUB_OFFLINE is set")
    if isinstance(cause, hf.HfHubHTTPError):
        status = cause.response.status_code if cause.response is not None else 0
        if status == 429:
            return HubError(HubErrorKind.RATE_LIMITED, f"{what}: rate-limited by {endpoint} (HTTP 429)")
        if status in (401, 403):
            return HubError(HubErrorKind.GATED, f"{what}: access refused (HTTP {status})")
        if status >= 500:
            return HubError(HubErrorKind.SERVER_ERROR, f"{what}: {endpoint} answered HTTP {status}")
        return HubError(HubErrorKind.BAD_RESPONSE, f"{what}: {endpoint} answered HTTP {status}")
    if isinstance(cause, httpx2.TimeoutException):
        return HubError(HubErrorKind.TIMEOUT, f"{what}: {endpoint} did not answer in time")
    if isinstance(cause, httpx2.TransportError | OSError):
        return HubError(HubErrorKind.NETWORK, f"{what}: cannot reach {endpoint}: {cause}")
    if isinstance(cause, ValueError | KeyError | TypeError | RecursionError):
        return HubError(HubErrorKind.BAD_RESPONSE, f"{what}: unexpected answer from {endpoint}: {cause}")
    raise exc


def _memoised(store: dict[K, T | HubError], key: K, fn: Callable[[], T]) -> T:
    """One answer (or failure) per key per client."""
    found = store.get(key)
    if found is None:
        try:
            found = fn()
        except HubError as exc:
            found = exc
        store[key] = found
    if isinstance(found, HubError):
        raise found
    return found
