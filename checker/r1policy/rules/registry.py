"""The explicit rule registry: built-in rules from policies/, custom ones from --policies.

Nothing registers itself on import. Each rule folder holds rule.yaml (metadata) and policy.cedar;
every policy is validated against the Cedar schema when loaded, and the whole set is parsed once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from r1policy.core import jsonsafe
from r1policy.core.cedarimport import import_cedarpy
from r1policy.core.errors import PolicyLoadError, Position
from r1policy.core.record import frozen_record
from r1policy.core.resources import policies_dir, schemas_dir
from r1policy.core.yamldoc import read_text
from r1policy.rules import packcache
from r1policy.rules.metadata import RuleMeta, annotation_metadata, load_metadata

CEDAR_SCHEMA = "r1policy.cedarschema"
# Compiled when a policy file is read (re caches it), not on a run that reads the pack from the cache.
_POLICY_START = r"(?:@[A-Za-z_]\w*\s*(?:\(\s*\"(?:[^\"\\]|\\.)*\"\s*\))?\s*)*\b(?:permit|forbid)\s*\("


@frozen_record
class CompiledPolicy:
    """One Cedar policy of the set: its id, its rule, the reason it gives, and where it is written."""

    policy_id: str
    rule_id: str
    reason: str
    path: str
    line: int


class RuleRegistry:
    """Rules by id, plus the one parsed Cedar policy set that implements them."""

    def __init__(self, schema_text: str) -> None:
        cedarpy = import_cedarpy()  # without its unused policy-tree module (cold start)
        self._cedarpy = cedarpy
        # cedarpy's compiled module: its identity keys the pack cache (policy JSON is its output)
        self.native_module: str = cedarpy._internal.__file__
        self.schema_text = schema_text
        try:
            self.schema = cedarpy.Schema.from_str(schema_text)
        except ValueError as exc:
            raise PolicyLoadError(
                Position(str(schemas_dir() / CEDAR_SCHEMA)), f"invalid Cedar schema: {exc}"
            ) from exc
        self.rules: dict[str, RuleMeta] = {}
        self.policies: dict[str, CompiledPolicy] = {}
        self._est: dict[str, Any] = {}
        # rule id -> the actions its policies constrain ("*" when a policy applies to every action)
        self.actions: dict[str, set[str]] = {}
        self._policy_set: Any = None
        self._policy_text: str | None = None  # the JSON `policy_set` parses, once made

    # -- loading -----------------------------------------------------------------------------
    def add_rule_folder(self, folder: Path, *, builtin: bool) -> None:
        meta = load_metadata(folder / "rule.yaml", builtin=builtin)
        self._add(meta, folder / "policy.cedar")

    def add_policy_file(self, path: Path) -> None:
        """A loose custom .cedar file: metadata comes from its annotations (@id, @title, @severity ...)."""
        text = read_text(path)
        est = self._parse(text, path)
        by_rule: dict[str, dict[str, str]] = {}
        for pid, policy in est.items():
            annotations = policy.get("annotations") or {}
            rule_id = annotations.get("id")
            if not rule_id:
                raise PolicyLoadError(
                    self._pos(path, text, pid), 'every policy needs an @id("RULE-ID") annotation'
                )
            by_rule.setdefault(rule_id, {}).update(annotations)
        for rule_id, annotations in by_rule.items():
            if not re.fullmatch(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+", rule_id):
                raise PolicyLoadError(Position(str(path)), f"rule id {rule_id!r} must look like ACME-S3-001")
            self._register(annotation_metadata(rule_id, annotations, path), path)
        self._add_policies(text, est, path)

    def _add(self, meta: RuleMeta, policy_path: Path) -> None:
        if not policy_path.is_file():
            raise PolicyLoadError(Position(str(policy_path)), f"rule {meta.id} has no policy.cedar")
        text = read_text(policy_path)
        est = self._parse(text, policy_path)
        for pid, policy in est.items():
            rule_id = (policy.get("annotations") or {}).get("id")
            if rule_id != meta.id:
                raise PolicyLoadError(
                    self._pos(policy_path, text, pid),
                    f"policy is annotated @id({rule_id!r}) but lives in the folder of {meta.id}",
                )
            reason = (policy.get("annotations") or {}).get("reason", "default")
            if reason not in meta.messages:
                raise PolicyLoadError(
                    self._pos(policy_path, text, pid),
                    f"@reason({reason!r}) has no entry in {meta.id}'s messages",
                )
        self._register(meta, policy_path)
        self._add_policies(text, est, policy_path)

    def _register(self, meta: RuleMeta, path: Path) -> None:
        if meta.id in self.rules:
            raise PolicyLoadError(Position(str(path)), f"rule {meta.id} is defined twice")
        self.rules[meta.id] = meta

    def _parse(self, text: str, path: Path) -> dict[str, Any]:
        cedarpy = self._cedarpy
        try:
            est = jsonsafe.loads(cedarpy.policies_to_json_str(text))
        except ValueError as exc:
            raise PolicyLoadError(Position(str(path)), f"invalid Cedar policy: {exc}") from exc
        if est.get("templates"):
            raise PolicyLoadError(Position(str(path)), "policy templates are not supported")
        static: dict[str, Any] = est.get("staticPolicies", {})
        if not static:
            raise PolicyLoadError(Position(str(path)), "file holds no Cedar policy")
        for pid, policy in static.items():
            if policy.get("effect") != "forbid":
                raise PolicyLoadError(
                    self._pos(path, text, pid), "rules are `forbid` policies: a match is a violation"
                )
        result = cedarpy.validate_policies(text, self.schema)
        if not result.validation_passed:
            first = result.errors[0]
            message = (
                first.error.replace(f"`{first.policy_id}`", "this policy") if first.policy_id else first.error
            )
            raise PolicyLoadError(
                self._pos(path, text, first.policy_id),
                f"policy does not validate against the Cedar schema: {message}",
            )
        return static

    def _add_policies(self, text: str, est: dict[str, Any], path: Path) -> None:
        for index, (pid, policy) in enumerate(est.items()):
            annotations = policy.get("annotations") or {}
            rule_id = annotations["id"]
            self.actions.setdefault(rule_id, set()).update(_actions(policy))
            new_id = f"{rule_id}#{index}"
            self._est[new_id] = policy
            self.policies[new_id] = CompiledPolicy(
                policy_id=new_id,
                rule_id=rule_id,
                reason=annotations.get("reason", "default"),
                path=str(path),
                line=self._pos(path, text, pid).line or 1,
            )
        self._policy_set, self._policy_text = None, None

    @staticmethod
    def _pos(path: Path, text: str, pid: str | None) -> Position:
        if not pid or not pid.startswith("policy"):
            return Position(str(path))
        try:
            index = int(pid[len("policy") :])
        except ValueError:
            return Position(str(path))
        code = _strip_comments(text)
        starts = [m.start() for m in re.finditer(_POLICY_START, code)]
        if index >= len(starts):
            return Position(str(path))
        return Position(str(path), code.count("\n", 0, starts[index]) + 1, 1)

    # -- the built-in pack cache (rules/packcache.py) ------------------------------------------
    def pack(self) -> dict[str, Any]:
        """What the loaded rules and policies are, as JSON for the pack cache."""
        return {
            "rules": [packcache.meta_to_json(meta) for meta in self.rules.values()],
            "policies": [
                {
                    "id": p.policy_id,
                    "rule_id": p.rule_id,
                    "reason": p.reason,
                    "path": p.path,
                    "line": p.line,
                }
                for p in self.policies.values()
            ],
            # the policies' ESTs as the text `policy_set` hands Cedar: a hit neither re-serialises them
            "policy_set": self._policy_set_text(),
            "actions": {rule_id: sorted(actions) for rule_id, actions in self.actions.items()},
        }

    def unpack(self, payload: dict[str, Any], rule_ids: list[str]) -> bool:
        """Load a cached pack into this empty registry; False (nothing loaded) unless it holds exactly
        the rules `rule_ids`, each with its policies, in a shape that rebuilds."""
        try:
            rules = {meta.id: meta for meta in map(packcache.meta_from_json, payload["rules"])}
            text = payload["policy_set"]
            est = _policy_set_document(text)
            policies: dict[str, CompiledPolicy] = {}
            for item in payload["policies"]:
                compiled = CompiledPolicy(
                    item["id"], item["rule_id"], item["reason"], item["path"], int(item["line"])
                )
                if compiled.rule_id not in rules or not isinstance(est.get(compiled.policy_id), dict):
                    return False
                policies[compiled.policy_id] = compiled
            actions = {str(k): set(map(str, v)) for k, v in payload["actions"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
        if list(rules) != rule_ids or {p.rule_id for p in policies.values()} != set(rules):
            return False
        if list(est) != list(policies):  # the same policies, in the same order
            return False
        self.rules, self.policies, self._est, self.actions = rules, policies, est, actions
        self._policy_set, self._policy_text = None, text
        return True

    # -- use ---------------------------------------------------------------------------------
    @property
    def policy_set(self) -> Any:
        if self._policy_set is None:
            self._policy_set = self._cedarpy.PolicySet.from_json_str(self._policy_set_text())
        return self._policy_set

    def _policy_set_text(self) -> str:
        """The policy set as Cedar's JSON (the pack cache's text when the pack came from it)."""
        if self._policy_text is None:
            document = {"staticPolicies": self._est, "templates": {}, "templateLinks": []}
            self._policy_text = json.dumps(document)
        return self._policy_text

    @property
    def policy_trees(self) -> tuple[dict[str, Any], ...]:
        """Every policy of the set in Cedar's JSON form (EST), as the set is built from them."""
        return tuple(self._est.values())

    def rule(self, rule_id: str) -> RuleMeta:
        return self.rules[rule_id]

    def judges_artifacts(self, rule_id: str) -> bool:
        """The rule judges scanned files: its subject is an artifact or a policy applies to load_artifact."""
        actions = self.actions.get(rule_id, set())
        return self.rules[rule_id].on_artifact or "load_artifact" in actions


def _policy_set_document(text: Any) -> dict[str, Any]:
    """The policies (id -> EST) of a cached policy-set text; ValueError/TypeError when it is not one."""
    if not isinstance(text, str):
        raise TypeError("policy_set is not text")
    document = jsonsafe.loads_written(text)  # proven by the cache file's digest
    if not isinstance(document, dict) or set(document) != {"staticPolicies", "templates", "templateLinks"}:
        raise ValueError("not a policy set")
    if document["templates"] != {} or document["templateLinks"] != []:
        raise ValueError("a policy set with templates")
    est = document["staticPolicies"]
    if not isinstance(est, dict):
        raise ValueError("no static policies")
    return est


def _actions(policy: dict[str, Any]) -> set[str]:
    """The action ids a policy's scope names (its EST `action` constraint)."""
    scope = policy.get("action") or {}
    if scope.get("op") == "==":
        return {str(scope.get("entity", {}).get("id"))}
    if scope.get("op") == "in":
        entities = scope.get("entities") or [scope.get("entity") or {}]
        return {str(e.get("id")) for e in entities}
    return {"*"}


def _strip_comments(text: str) -> str:
    """Blank out // comments (keeping line structure), leaving string literals intact."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def load_registry(extra: list[Path] | None = None) -> RuleRegistry:
    schema_path = schemas_dir() / CEDAR_SCHEMA
    registry = RuleRegistry(read_text(schema_path))
    _load_builtin(registry, schema_path)
    for directory in extra or []:
        if not directory.is_dir():
            raise PolicyLoadError(Position(str(directory)), "--policies expects a directory")
        for item in sorted(directory.rglob("*")):
            if item.name == "rule.yaml":
                registry.add_rule_folder(item.parent, builtin=False)
            elif item.suffix == ".cedar" and not (item.parent / "rule.yaml").is_file():
                registry.add_policy_file(item)
    return registry


def _load_builtin(registry: RuleRegistry, schema_path: Path) -> None:
    """The built-in rules of policies/: from the pack cache when it proves to match, else from their
    folders (and the cache rewritten)."""
    root = policies_dir()
    folders = sorted(p for p in root.iterdir() if (p / "rule.yaml").is_file())
    inputs = [
        schema_path,
        schemas_dir() / "rule-metadata.schema.json",
        schemas_dir() / "compliance-catalogue.schema.json",
        *sorted((root / "compliance").glob("*.yaml")),
        *(f / name for f in folders for name in ("rule.yaml", "policy.cedar")),
    ]
    try:
        key: str | None = packcache.pack_key(inputs, Path(registry.native_module))
    except OSError:
        key = None  # an input that cannot be read: the load below names it
    if key is not None:
        payload = packcache.read_pack(key)
        if payload is not None and registry.unpack(payload, [f.name for f in folders]):
            return
    for folder in folders:
        registry.add_rule_folder(folder, builtin=True)
    if key is not None:
        packcache.write_pack(key, registry.pack())
