"""r1policy.hub: the client's memo, response cache, offline mode and error translation, against the
loopback Hub server with the real huggingface_hub client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import hubfixtures as fx
from tests.support.hubserver import HubServer, RepoFixture, hub_server

from conftest import run_cli
from r1policy.hub.cache import HubCache
from r1policy.hub.client import HubClient
from r1policy.hub.errors import HubError, HubErrorKind
from r1policy.hub.record import RepoRecord


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    extra = RepoFixture(
        "acme-ai/cross-repo",
        files={"config.json": b'{"auto_map": {"AutoModel": "other-org/shared-code--modeling.Model"}}'},
        sha="2" * 40,
    )
    with hub_server([*fx.all_fixtures(), extra], fx.ORGS) as server:
        yield server


def _client(hub: HubServer, cache: Path, **kwargs: object) -> HubClient:
    hub.reset_counts()
    return HubClient(
        endpoint=hub.endpoint, cache=HubCache(cache), timeout=0.3, retries=2, backoff=0.01, **kwargs
    )  # type: ignore[arg-type]


def test_memo_and_commit_keyed_cache(hub: HubServer, tmp_path: Path) -> None:
    client = _client(hub, tmp_path, offline=False)
    for _ in range(3):
        assert client.lookup(fx.DISTILL, "main").record.sha == fx.DISTILL_SHA
    assert client.lookup(fx.DISTILL, fx.DISTILL_SHA).record.sha == fx.DISTILL_SHA  # memo of the resolved sha
    assert hub.count("model_info") == 1
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert files == [f"hub/models/{fx.DISTILL}/{fx.DISTILL_SHA}.json"]  # by commit; the branch is not cached
    # a new run: the full SHA comes from the cache, the branch asks again
    client = _client(hub, tmp_path, offline=False)
    client.lookup(fx.DISTILL, fx.DISTILL_SHA)
    assert hub.count() == 0
    client.lookup(fx.DISTILL, "main")
    assert hub.count("model_info") == 1


def test_offline_uses_only_the_cache(hub: HubServer, tmp_path: Path) -> None:
    _client(hub, tmp_path, offline=False).lookup(fx.R1, fx.R1_SHA)
    client = _client(hub, tmp_path, offline=True)
    record = client.lookup(fx.R1, fx.R1_SHA).record
    assert record.remote_code().python_files == ("configuration_deepseek.py", "modeling_deepseek.py")
    for revision in ("main", fx.DISTILL_SHA):
        with pytest.raises(HubError) as info:
            client.lookup(fx.R1, revision)
        assert info.value.kind is HubErrorKind.OFFLINE_MISS
    assert hub.count() == 0


def test_unreadable_cache_entry_is_a_miss(hub: HubServer, tmp_path: Path) -> None:
    _client(hub, tmp_path, offline=False).lookup(fx.DISTILL, fx.DISTILL_SHA)
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text("{not json")
    client = _client(hub, tmp_path, offline=False)
    assert client.lookup(fx.DISTILL, fx.DISTILL_SHA).record.sha == fx.DISTILL_SHA
    assert hub.count("model_info") == 1
    assert HubCache(tmp_path).get_record("../../etc", fx.DISTILL_SHA) is None


@pytest.mark.parametrize(
    ("repo", "revision", "kind"),
    [
        ("nobody/nothing", None, HubErrorKind.REPO_NOT_FOUND),
        (fx.DISTILL, "no-such-branch", HubErrorKind.REVISION_NOT_FOUND),
        (fx.DISABLED, None, HubErrorKind.DISABLED),
        (fx.BROKEN, None, HubErrorKind.SERVER_ERROR),
        (fx.SLOW, None, HubErrorKind.TIMEOUT),
    ],
)
def test_library_errors_are_translated(
    hub: HubServer, tmp_path: Path, repo: str, revision: str | None, kind: HubErrorKind
) -> None:
    client = _client(hub, tmp_path, offline=False)
    with pytest.raises(HubError) as info:
        client.lookup(repo, revision)
    assert info.value.kind is kind
    with pytest.raises(HubError):  # the failure is memoised too: one request sequence per run
        client.lookup(repo, revision)
    expected = 3 if kind in (HubErrorKind.SERVER_ERROR, HubErrorKind.TIMEOUT) else 1
    assert hub.count("model_info") == expected


def test_gated_without_access_and_organisations(hub: HubServer, tmp_path: Path) -> None:
    client = _client(hub, tmp_path, offline=False)
    found = client.lookup(fx.GATED, None)
    assert (found.record.gated, found.access) == ("manual", False)
    with pytest.raises(HubError) as info:
        client.file_digest(fx.GATED, found.record.sha, found.record.files[0])
    assert info.value.kind is HubErrorKind.GATED
    assert client.org_verified("deepseek-ai") is True
    assert client.org_verified("acme-ai") is False
    assert client.org_verified("some-user") is False  # 404: not an organisation
    assert _client(hub, tmp_path, offline=True).org_verified("deepseek-ai") is True  # cached for offline


def test_cross_repo_auto_map_is_detected(hub: HubServer, tmp_path: Path) -> None:
    record: RepoRecord = _client(hub, tmp_path, offline=False).lookup("acme-ai/cross-repo", None).record
    code = record.remote_code()
    assert code.other_repos == ("other-org/shared-code",)
    assert code.auto_map == ("config.json: AutoModel -> other-org/shared-code--modeling.Model",)


def test_check_with_a_missing_lock_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("check", tmp_path, "--static", "--lock", tmp_path / "absent.lock")
    assert result.code == 2
    assert "absent.lock" in result.stderr
