"""The derived-data cache (core/derivedcache.py, issue 23 cold start) of the loaded built-in rule pack
(rules/packcache.py) and of the built-in advisory store: a hit rebuilds exactly the registry (the store)
that loading the rule folders (parsing the files) builds; a changed rule file, a corrupt, truncated or
altered cache file, a cache of another shape, or an unwritable cache folder is never trusted: the pack
is loaded from its folders."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from r1policy.core import derivedcache
from r1policy.core.errors import PolicyLoadError
from r1policy.core.resources import policies_dir
from r1policy.facts import advisories
from r1policy.rules import packcache, registry
from r1policy.rules.registry import RuleRegistry, load_registry


def _state(reg: RuleRegistry) -> tuple[object, ...]:
    """Everything loaded, in order: dict order is display order (compliance frameworks, messages)."""
    ordered = json.dumps(
        [[packcache.meta_to_json(m) for m in reg.rules.values()], reg._est, list(reg.policies)]
    )
    return (reg.rules, reg.policies, reg._est, reg.actions, ordered)


def _from_folders() -> RuleRegistry:
    """The pack as loading its folders builds it, without the cache."""
    reg = RuleRegistry(load_registry().schema_text)
    root = registry.policies_dir()
    for folder in sorted(p for p in root.iterdir() if (p / "rule.yaml").is_file()):
        reg.add_rule_folder(folder, builtin=True)
    return reg


def _no_folder_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: RuleRegistry, folder: Path, *, builtin: bool) -> None:
        raise AssertionError(f"loaded {folder} although the cache matched")

    monkeypatch.setattr(RuleRegistry, "add_rule_folder", refuse)


@pytest.fixture
def policies_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "policies"
    shutil.copytree(policies_dir(), root)
    monkeypatch.setattr(registry, "policies_dir", lambda: root)
    return root


def test_a_cache_hit_rebuilds_the_same_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not packcache.cache_path().exists()
    first = load_registry()  # a miss: loads the folders and writes the cache
    assert packcache.cache_path().is_file()
    expected = _state(_from_folders())
    assert _state(first) == expected
    _no_folder_loads(monkeypatch)
    second = load_registry()
    assert _state(second) == expected
    assert second.policy_set is not None  # the cached policies form a Cedar policy set


def test_a_changed_rule_file_is_never_served_from_the_cache(policies_copy: Path) -> None:
    load_registry()
    meta = policies_copy / "R1-EP-001" / "rule.yaml"
    meta.write_text(meta.read_text().replace("severity: high", "severity: low", 1))
    assert load_registry().rules["R1-EP-001"].severity.value == "low"
    (policies_copy / "R1-EP-001" / "policy.cedar").write_text("permit(principal, action, resource);\n")
    with pytest.raises(PolicyLoadError, match="forbid"):
        load_registry()


def test_a_new_or_removed_rule_folder_is_never_served_from_the_cache(policies_copy: Path) -> None:
    assert "R1-EP-001" in load_registry().rules
    shutil.rmtree(policies_copy / "R1-EP-001")
    assert "R1-EP-001" not in load_registry().rules


@pytest.mark.parametrize(
    "damage",
    [
        "garbage",
        "truncated",
        "empty",
        "altered payload",
        "other key",
        "payload of another shape",
        "rule missing",
        "not utf-8",
        "policy missing from the policy set",
        "policy set out of order",
        "policy set not text",
        "policy set with a template",
    ],
)
def test_a_damaged_cache_is_rebuilt_not_trusted(damage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    load_registry()
    path = packcache.cache_path()
    text = path.read_text()
    head, _, body = text.partition("\n")
    meta = json.loads(head)
    if damage == "garbage":
        path.write_text("{not json")
    elif damage == "truncated":
        path.write_text(text[: len(text) // 2])
    elif damage == "empty":
        path.write_text("")
    elif damage == "altered payload":
        path.write_text(head + "\n" + body.replace('"severity":"high"', '"severity":"low"', 1))
    elif damage == "other key":
        path.write_text(json.dumps({**meta, "key": "0" * 64}) + "\n" + body)
    elif damage == "not utf-8":
        path.write_bytes(b"\xff\xfe" + text.encode())
    else:
        payload = json.loads(body)
        policy_set = json.loads(payload["policy_set"]) if damage.startswith("policy") else {}
        static = policy_set.get("staticPolicies", {})
        if damage == "rule missing":
            payload["rules"] = payload["rules"][1:]
        elif damage == "policy missing from the policy set":
            static.pop(next(iter(static)))
            payload["policy_set"] = json.dumps(policy_set)
        elif damage == "policy set out of order":
            policy_set["staticPolicies"] = dict(reversed(static.items()))
            payload["policy_set"] = json.dumps(policy_set)
        elif damage == "policy set not text":
            payload["policy_set"] = policy_set
        elif damage == "policy set with a template":
            policy_set["templates"] = {"t0": next(iter(static.values()))}
            payload["policy_set"] = json.dumps(policy_set)
        else:
            payload["rules"][0]["severity"] = ["high"]
        new_body = json.dumps(payload)
        digest = hashlib.sha256(new_body.encode()).hexdigest()
        path.write_text(json.dumps({**meta, "digest": digest}) + "\n" + new_body)
    loaded = []
    original = RuleRegistry.add_rule_folder

    def counting(self: RuleRegistry, folder: Path, *, builtin: bool) -> None:
        loaded.append(folder.name)
        original(self, folder, builtin=builtin)

    monkeypatch.setattr(RuleRegistry, "add_rule_folder", counting)
    assert _state(load_registry()) == _state(_from_folders())
    assert len(loaded) >= 43  # the damaged cache was rebuilt from the folders
    assert packcache.read_pack(meta["key"]) is not None  # and rewritten whole


def test_an_unwritable_cache_folder_costs_speed_not_correctness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("R1POLICY_DERIVED_CACHE_DIR", str(blocker / "derived"))
    assert _state(load_registry()) == _state(_from_folders())
    assert blocker.read_text() == "a file where the cache folder would be"


def test_custom_rule_folders_load_beside_a_cached_pack(tmp_path: Path) -> None:
    load_registry()
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "stage.cedar").write_text(
        '@id("ACME-EP-001")\n@title("Production deployments declare an owner stage")\n'
        'forbid (principal, action == R1::Action::"deploy", resource is R1::Deployment)\n'
        'when { resource.stage == "prod" };\n'
    )
    reg = load_registry([custom])
    assert "ACME-EP-001" in reg.rules and "R1-EP-001" in reg.rules
    assert not packcache.read_pack("x")  # a key that matches nothing is a miss


# -- the built-in advisory store (facts/advisories.py) uses the same cache ------------------------------


def _parsed_store() -> tuple[str, tuple[object, ...]]:
    folder = policies_dir() / "data" / "advisories"
    date = json.loads((folder / "store.json").read_text())["store_date"]
    found = [
        adv
        for path in sorted(folder.glob("*.json"))
        if path.name != "store.json"
        for adv in advisories.parse_file(path)
    ]
    return date, tuple(found)


def test_the_builtin_advisory_store_from_the_cache_equals_the_parsed_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    advisories._builtin.cache_clear()
    first = advisories._builtin()  # a miss: parsed, validated, cached
    assert derivedcache.cache_path("advisories").is_file()
    assert first == _parsed_store() and len(first[1]) >= 1
    advisories._builtin.cache_clear()
    monkeypatch.setattr(advisories, "parse_file", lambda path: pytest.fail(f"parsed {path} on a cache hit"))
    assert advisories._builtin() == first
    advisories._builtin.cache_clear()


@pytest.mark.parametrize("damage", ["altered record", "payload of another shape", "garbage"])
def test_a_damaged_advisory_cache_is_rebuilt(damage: str) -> None:
    advisories._builtin.cache_clear()
    expected = advisories._builtin()
    path = derivedcache.cache_path("advisories")
    head, _, body = path.read_text().partition("\n")
    if damage == "garbage":
        path.write_text(head + "\n{")
    else:
        payload = json.loads(body)
        if damage == "altered record":
            payload["records"][0]["record"]["id"] = "GHSA-FORGED"  # digest no longer matches
            path.write_text(head + "\n" + json.dumps(payload))
        else:
            payload["records"] = [{"record": "not a record", "origin": 1}]
            new_body = json.dumps(payload)
            meta = {**json.loads(head), "digest": hashlib.sha256(new_body.encode()).hexdigest()}
            path.write_text(json.dumps(meta) + "\n" + new_body)
    advisories._builtin.cache_clear()
    assert advisories._builtin() == expected
    advisories._builtin.cache_clear()


def test_the_cache_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R1POLICY_DERIVED_CACHE", "off")
    assert _state(load_registry()) == _state(_from_folders())
    assert not packcache.cache_path().exists()  # nothing written
    monkeypatch.delenv("R1POLICY_DERIVED_CACHE")
    key_holder = load_registry()  # writes it
    assert packcache.cache_path().is_file() and key_holder.rules
    monkeypatch.setenv("R1POLICY_DERIVED_CACHE", "off")
    _counting = []
    original = RuleRegistry.add_rule_folder

    def counting(self: RuleRegistry, folder: Path, *, builtin: bool) -> None:
        _counting.append(folder.name)
        original(self, folder, builtin=builtin)

    monkeypatch.setattr(RuleRegistry, "add_rule_folder", counting)
    load_registry()
    assert len(_counting) >= 43  # a current cache file is not read either


def test_the_cache_is_not_written_into_a_recorded_hub_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R1POLICY_CACHE_DIR may be a committed folder of recorded Hub answers (examples/hub-cache)."""
    hub_cache = tmp_path / "hub-cache"
    hub_cache.mkdir()
    monkeypatch.setenv("R1POLICY_CACHE_DIR", str(hub_cache))
    monkeypatch.delenv("R1POLICY_DERIVED_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    load_registry()
    assert list(hub_cache.iterdir()) == []
    assert (tmp_path / "xdg" / "r1policy" / "derived" / "rules.json").is_file()


def test_no_home_directory_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("R1POLICY_DERIVED_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    monkeypatch.chdir(tmp_path)
    assert _state(load_registry()) == _state(_from_folders())
    assert list(tmp_path.iterdir()) == []
