"""R1-LIC-001 / R1-LIC-002 through `check`: the real huggingface_hub client against tests/support/hubserver.py

Each case asserts the exact licence findings (rule, status) and, where it matters, the message; online
runs count Hub requests (at most one per model in the chain), and the offline rerun answers from the
commit-keyed cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.hubserver import HubServer, RepoFixture, hub_server

from conftest import EXAMPLES, check_case, run_cli, write_case
from r1policy.project.lockfile import Origin, load_lock

R1 = "deepseek-ai/DeepSeek-R1"
QWEN32 = "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"
LLAMA8 = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
LLAMA70 = "deepseek-ai/DeepSeek-R1-Distill-Llama-70B"
FT = "acme-ai/r1-llama-8b-support-ft"
CYCLE_A, CYCLE_B = "acme-ai/cycle-a", "acme-ai/cycle-b"
DEEP = [f"acme-ai/deep-{i}" for i in range(11)]


def _sha(n: int) -> str:
    return f"{n:040x}"


def _fx(repo: str, n: int, card: dict[str, Any]) -> RepoFixture:
    return RepoFixture(repo, files={"config.json": b"{}"}, sha=_sha(n), card=card)


FIXTURES = [
    _fx(R1, 1, {"license": "mit", "library_name": "transformers"}),
    _fx(QWEN32, 2, {"license": "mit", "library_name": "transformers"}),
    _fx(LLAMA8, 3, {"license": "mit", "library_name": "transformers"}),
    _fx(LLAMA70, 4, {"license": "mit", "library_name": "transformers"}),
    _fx(FT, 5, {"license": "other", "base_model": LLAMA8}),
    _fx(CYCLE_A, 6, {"license": "mit", "base_model": [CYCLE_B]}),
    _fx(CYCLE_B, 7, {"license": "mit", "base_model": CYCLE_A, "base_model_relation": "merge"}),
    *(
        _fx(
            repo,
            10 + i,
            {"license": "apache-2.0", **({"base_model": DEEP[i + 1]} if i + 1 < len(DEEP) else {})},
        )
        for i, repo in enumerate(DEEP)
    ),
]
# Malformed or unknown cards: each is an `error` of both rules, naming what the card says.
BAD_CARDS: dict[str, tuple[dict[str, Any], str]] = {
    "acme-ai/bad-no-licence": ({"base_model": LLAMA8}, "its model card has no license"),
    "acme-ai/bad-unknown": ({"license": "unknown"}, "license: unknown"),
    "acme-ai/bad-two-licences": ({"license": ["mit", "apache-2.0"]}, "license: ['mit', 'apache-2.0']"),
    "acme-ai/bad-licence-object": ({"license": {"id": "mit"}}, "license: {'id': 'mit'}"),
    "acme-ai/bad-base-number": ({"license": "mit", "base_model": 5}, "names base_model '5'"),
    "acme-ai/bad-base-url": (
        {"license": "mit", "base_model": "https://huggingface.co/x/y"},
        "names base_model 'https://huggingface.co/x/y'",
    ),
    "acme-ai/bad-relation": (
        {"license": "mit", "base_model": LLAMA8, "base_model_relation": "distill"},
        "base_model_relation 'distill'",
    ),
    "acme-ai/bad-base-missing": ({"license": "mit", "base_model": "acme-ai/nowhere"}, "acme-ai/nowhere"),
    "acme-ai/bad-unlisted-licence": (
        {"license": "cc-by-nc-4.0"},
        "acme-ai/bad-unlisted-licence (CC-BY-NC-4.0)",
    ),
}
FIXTURES += [_fx(repo, 100 + i, card) for i, (repo, (card, _)) in enumerate(BAD_CARDS.items())]
SHAS = {f.repo: f.sha for f in FIXTURES}
TRUST = ["deepseek-ai", "acme-ai"]


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    with hub_server(FIXTURES) as server:
        yield server


@pytest.fixture
def online(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("R1POLICY_HUB_RETRIES", "0")
    hub.reset_counts()
    return hub


def _check(tmp_path: Path, repo: str, licences: dict[str, Any] | None) -> dict[str, Any]:
    manifest = {"spec": {"model": {"hub": {"repo": repo, "revision": SHAS[repo]}}}}
    config: dict[str, Any] = {"trusted_publishers": TRUST}
    if licences is not None:
        config["licences"] = licences
    paths = write_case(tmp_path, manifest=manifest, config=config, hub=True)
    data: dict[str, Any] = check_case(paths, "--show-passed").json
    return data


def _lic(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (f["rule_id"], f["status"]): f["message"]
        for f in data["findings"]
        if f["rule_id"].startswith("R1-LIC")
    }


MIT_APACHE = {"allowed": ["MIT", "Apache-2.0"]}


def test_r1_mit_passes(tmp_path: Path, online: HubServer) -> None:
    found = _lic(_check(tmp_path, R1, {"allowed": ["MIT"]}))
    assert set(found) == {("R1-LIC-001", "pass"), ("R1-LIC-002", "pass")}


def test_distill_qwen_32b_passes_with_mit_and_apache_and_warns_undeclared(
    tmp_path: Path, online: HubServer
) -> None:
    found = _lic(_check(tmp_path, QWEN32, MIT_APACHE))
    assert set(found) == {("R1-LIC-001", "pass"), ("R1-LIC-002", "fail")}
    assert "declares MIT, but its lineage also imposes Apache-2.0" in found[("R1-LIC-002", "fail")]


def test_distill_llama_70b_fails_without_llama33_and_names_the_chain(
    tmp_path: Path, online: HubServer
) -> None:
    found = _lic(_check(tmp_path, LLAMA70, MIT_APACHE))
    assert set(found) == {("R1-LIC-001", "fail"), ("R1-LIC-002", "fail")}
    message = found[("R1-LIC-001", "fail")]
    assert f"{LLAMA70} (MIT card) ← meta-llama/Llama-3.3-70B-Instruct (llama3.3)" in message
    assert "Built with Llama" in message and "700 million monthly active users" in message
    # the table answers for the base: one request, for the deployed model only
    assert online.count("model_info") == 1


def test_licence_on_denied_fails(tmp_path: Path, online: HubServer) -> None:
    found = _lic(_check(tmp_path, LLAMA8, {"allowed": ["MIT"], "denied": ["llama3.1"]}))
    assert set(found) == {("R1-LIC-001", "fail"), ("R1-LIC-002", "fail")}


def test_finetune_of_distill_with_other_and_no_name_is_error(tmp_path: Path, online: HubServer) -> None:
    found = _lic(_check(tmp_path, FT, {"allowed": ["MIT", "llama3.1"]}))
    assert set(found) == {("R1-LIC-001", "error"), ("R1-LIC-002", "error")}
    assert "license: other without a license_name" in found[("R1-LIC-001", "error")]


def test_base_model_cycle_is_error(tmp_path: Path, online: HubServer) -> None:
    found = _lic(_check(tmp_path, CYCLE_A, {"allowed": ["MIT"]}))
    assert set(found) == {("R1-LIC-001", "error"), ("R1-LIC-002", "error")}
    assert (
        "base_model cycle: acme-ai/cycle-a ← acme-ai/cycle-b ← acme-ai/cycle-a"
        in found[("R1-LIC-001", "error")]
    )
    assert online.count("model_info", CYCLE_A) == 1 and online.count("model_info", CYCLE_B) == 1


def test_chain_past_the_depth_bound_is_error(tmp_path: Path, online: HubServer) -> None:
    found = _lic(_check(tmp_path, DEEP[0], {"allowed": ["Apache-2.0"]}))
    assert set(found) == {("R1-LIC-001", "error"), ("R1-LIC-002", "error")}
    assert "deeper than 8 models" in found[("R1-LIC-001", "error")]


def test_not_configured_is_skipped_and_asks_nothing_more(tmp_path: Path, online: HubServer) -> None:
    found = _lic(_check(tmp_path, LLAMA70, None))
    assert set(found) == {("R1-LIC-001", "skipped"), ("R1-LIC-002", "skipped")}


def test_offline_rerun_answers_from_the_cache(
    tmp_path: Path, online: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _lic(_check(tmp_path, FT, {"allowed": ["MIT", "llama3.1", "other:acme"]}))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    online.reset_counts()
    second = _lic(_check(tmp_path, FT, {"allowed": ["MIT", "llama3.1", "other:acme"]}))
    assert first == second and online.count() == 0


def test_s3_model_lineage_comes_from_the_lock_origin(tmp_path: Path, online: HubServer) -> None:
    paths = write_case(tmp_path, config={"licences": {"allowed": ["MIT"]}})
    key = "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"
    lock = {
        "revision": None,
        "repo_id": None,
        "files": {},
        "origin": {"repo": LLAMA8, "commit": SHAS[LLAMA8]},
    }
    value = {"schema_version": 1, "kind": "r1policy-lock", "sources": {key: lock}}
    (tmp_path / "r1policy.lock").write_text(json.dumps(value))
    found = _lic(check_case(paths).json)
    assert set(found) == {("R1-LIC-001", "fail"), ("R1-LIC-002", "fail")}
    assert f"{LLAMA8} (MIT card) ← meta-llama/Llama-3.1-8B (llama3.1)" in found[("R1-LIC-001", "fail")]


def test_s3_model_without_origin_is_error(tmp_path: Path) -> None:
    paths = write_case(tmp_path, config={"licences": {"allowed": ["MIT"]}})
    found = _lic(check_case(paths).json)
    assert set(found) == {("R1-LIC-001", "error"), ("R1-LIC-002", "error")}


@pytest.mark.parametrize("bad", ["MIT-ish", "llama9", "other:", "GPL 3"])
def test_config_licence_id_neither_spdx_nor_hub_exits_2(tmp_path: Path, bad: str) -> None:
    paths = write_case(tmp_path, config={"licences": {"allowed": ["MIT", bad]}})
    result = run_cli("check", paths["manifest"], "--config", paths["config"], "--static")
    assert result.code == 2
    assert f"licences.allowed[1]: {bad!r} is neither an SPDX licence id" in result.stderr
    assert str(paths["config"]) in result.stderr


def test_s3_model_lineage_from_the_manifest(tmp_path: Path, online: HubServer) -> None:
    model = {"license": "apache-2.0", "base_models": [QWEN32]}
    paths = write_case(tmp_path, manifest={"spec": {"model": model}}, config={"licences": MIT_APACHE})
    found = _lic(check_case(paths, "--show-passed").json)
    assert set(found) == {("R1-LIC-001", "pass"), ("R1-LIC-002", "fail")}
    assert (
        "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/ (Apache-2.0 declared) ← "
        f"{QWEN32} (MIT) ← Qwen/Qwen2.5-32B (Apache-2.0)" in found[("R1-LIC-002", "fail")]
    )


@pytest.mark.parametrize(
    ("model", "wanted"),
    [
        ({"license": "MIT-ish"}, "spec.model.license: 'MIT-ish' is neither"),
        ({"hub": {"repo": R1, "revision": SHAS[R1]}, "s3": None, "license": "MIT"}, "applies to S3 models"),
    ],
)
def test_manifest_lineage_bad_input_exits_2(tmp_path: Path, model: dict[str, Any], wanted: str) -> None:
    paths = write_case(tmp_path, manifest={"spec": {"model": model}})
    result = run_cli("check", paths["manifest"], "--config", paths["config"], "--static")
    assert result.code == 2, result.stdout
    assert wanted in result.stderr and str(paths["manifest"]) in result.stderr


def test_demo_licence_decision_offline_from_the_example_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `make demo` prints: R1-LIC-001 blocks the Llama-based distill under examples/licences."""
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(EXAMPLES / "hub-cache"))  # HF_HUB_OFFLINE=1 (autouse)
    result = run_cli(
        "check", EXAMPLES / "hub", "--config", EXAMPLES / "licences" / "r1policy.yaml",
        "--state", EXAMPLES / "state.json", "--format", "json",
    )  # fmt: skip
    assert result.code == 1
    found = _lic(result.json)
    assert set(found) == {("R1-LIC-001", "fail"), ("R1-LIC-002", "fail")}
    assert f"{LLAMA8} (MIT card) ← meta-llama/Llama-3.1-8B (llama3.1)" in found[("R1-LIC-001", "fail")]


def test_relocking_keeps_a_recorded_origin() -> None:
    from r1policy.project.lockfile import Lock, LockedFile, LockedSource, Origin, diff_locks, dumps, merge

    key = "s3://acme-llm-weights/deepseek-r1-distill-llama-8b/"
    origin = Origin(LLAMA8, SHAS[LLAMA8])
    old = Lock({key: LockedSource(files={"a": LockedFile(1, "0" * 64)}, origin=origin)})
    new = Lock({key: LockedSource(files={"a": LockedFile(2, "1" * 64)})})
    merged = merge(old, new)
    assert merged.sources[key].origin == origin and merged.sources[key].files["a"].size == 2
    assert '"origin": {\n        "commit": "' in dumps(merged)
    moved = Lock({key: LockedSource(files={"a": LockedFile(1, "0" * 64)}, origin=Origin(R1, SHAS[R1]))})
    assert f"    origin: {LLAMA8}@{SHAS[LLAMA8][:12]} -> {R1}@{SHAS[R1][:12]}" in diff_locks(old, moved)


@pytest.mark.parametrize("repo", sorted(BAD_CARDS))
def test_malformed_or_unknown_card_is_error(tmp_path: Path, online: HubServer, repo: str) -> None:
    found = _lic(_check(tmp_path, repo, {"allowed": ["MIT", "llama3.1"]}))
    assert set(found) == {("R1-LIC-001", "error"), ("R1-LIC-002", "error")}
    assert BAD_CARDS[repo][1] in found[("R1-LIC-001", "error")]


def test_lock_origin_option_records_and_keeps_the_hub_origin(moto_env: Any, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acme-llm-weights")
    s3.put_object(Bucket="acme-llm-weights", Key="distill/config.json", Body=b"{}")
    lock = tmp_path / "r1policy.lock"
    origin = f"hf://{LLAMA8}@{SHAS[LLAMA8]}"
    result = run_cli("lock", "s3://acme-llm-weights/distill", "--lock", lock, "--origin", origin)
    assert result.code == 0, result.stderr
    key = "s3://acme-llm-weights/distill/"
    assert load_lock(lock).sources[key].origin == Origin(LLAMA8, SHAS[LLAMA8])
    # re-locking the same bytes without --origin keeps it and changes nothing
    result = run_cli("lock", "s3://acme-llm-weights/distill", "--lock", lock)
    assert result.code == 0 and "up to date" in result.stdout
    assert load_lock(lock).sources[key].origin == Origin(LLAMA8, SHAS[LLAMA8])


@pytest.mark.parametrize(
    ("target", "origin", "wanted"),
    [
        (
            "s3://acme-llm-weights/distill",
            f"hf://{LLAMA8}@main",
            "expected hf://org/repo@<40-hex commit SHA>",
        ),
        (
            "s3://acme-llm-weights/distill",
            f"{LLAMA8}@{'a' * 40}",
            "expected hf://org/repo@<40-hex commit SHA>",
        ),
        (f"hf://{LLAMA8}@{'a' * 40}", f"hf://{LLAMA8}@{'a' * 40}", "name an s3:// TARGET"),
    ],
)
def test_lock_origin_bad_input_exits_2(
    moto_env: Any, tmp_path: Path, target: str, origin: str, wanted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    boto3.client("s3").create_bucket(Bucket="acme-llm-weights")
    boto3.client("s3").put_object(Bucket="acme-llm-weights", Key="distill/config.json", Body=b"{}")
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(tmp_path / "cache"))
    lock = tmp_path / "r1policy.lock"
    result = run_cli("lock", target, "--lock", lock, "--origin", origin)
    assert result.code == 2
    assert wanted in result.stderr and not lock.exists()
