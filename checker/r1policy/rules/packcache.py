"""The built-in rule pack in the derived-data cache (`core/derivedcache.py`), so that a cold
`r1policy check` does not parse 43 rule.yaml files (YAML with positions, schema validation) and 43
Cedar policies (parse, schema validation, policy positions) on every run.

The pack (`rules.json` in the derived-data folder) is keyed by the content of every input of the load:
the Cedar schema, the rule-metadata schema, the compliance catalogues (which a rule's `compliance:` is
checked against), each rule folder's rule.yaml and policy.cedar, the source of the modules that read,
validate, convert and cache them, and the size and modification time of cedarpy's native module (the
policy JSON is its output). A payload is used only when it rebuilds into exactly the folders' rules with
their policies (`RuleRegistry.unpack`); anything else is a miss: the pack is loaded from the rule folders
as before and the cache rewritten. Custom rule folders (`--policies`) are never cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1policy.core import derivedcache
from r1policy.core.findings import Enforcement, Severity, SubjectType
from r1policy.core.model import SourceKind
from r1policy.rules.metadata import RemediationTemplate, RuleMeta

KIND = "rules"
# the code that turns those inputs into the pack (paths inside the r1policy package)
_CODE = (
    "rules/registry.py",
    "rules/metadata.py",
    "rules/packcache.py",
    "rules/catalogue.py",
    "core/yamldoc.py",
    "core/validation.py",
    "core/findings.py",
    "core/model.py",
    "core/derivedcache.py",
)


def pack_key(inputs: list[Path], native: Path) -> str:
    """The digest of everything the loaded pack depends on; OSError when a file cannot be read."""
    package = Path(__file__).resolve().parent.parent
    stat = native.stat()
    extra = [str(native), stat.st_size, stat.st_mtime_ns]
    return derivedcache.input_key(KIND, [*inputs, *(package / name for name in _CODE)], extra)


def cache_path() -> Path | None:
    return derivedcache.cache_path(KIND)


def read_pack(key: str) -> dict[str, Any] | None:
    """The cached payload built under `key`, or None (a miss)."""
    data = derivedcache.read(KIND, key)
    return data if isinstance(data, dict) else None


def write_pack(key: str, payload: dict[str, Any]) -> None:
    derivedcache.write(KIND, key, payload)


def meta_to_json(meta: RuleMeta) -> dict[str, Any]:
    rem = meta.remediation
    return {
        "id": meta.id,
        "title": meta.title,
        "severity": meta.severity.value,
        "enforcement": meta.enforcement.value,
        "subject": meta.subject.value,
        "rationale": meta.rationale,
        "messages": meta.messages,
        "remediation": {
            "summary": rem.summary,
            "steps": list(rem.steps),
            "cli": rem.cli,
            "terraform": rem.terraform,
            "cloudformation": rem.cloudformation,
        },
        "references": list(meta.references),
        "sources": sorted(s.value for s in meta.sources),
        "needs_endpoint": meta.needs_endpoint,
        "requires": sorted(meta.requires),
        "location_fields": list(meta.location_fields),
        "details": meta.details,
        "equivalents": {k: list(v) for k, v in meta.equivalents.items()},
        "folder": meta.folder,
        "builtin": meta.builtin,
        "compliance": {k: list(v) for k, v in meta.compliance.items()},
    }


def meta_from_json(value: dict[str, Any]) -> RuleMeta:
    """Rebuild a RuleMeta; a payload of another shape raises KeyError, TypeError or ValueError."""
    rem = value["remediation"]
    return RuleMeta(
        id=_str(value["id"]),
        title=_str(value["title"]),
        severity=Severity(value["severity"]),
        enforcement=Enforcement(value["enforcement"]),
        subject=SubjectType(value["subject"]),
        rationale=_str(value["rationale"]),
        messages={_str(k): _str(v) for k, v in value["messages"].items()},
        remediation=RemediationTemplate(
            summary=_str(rem["summary"]),
            steps=tuple(_str(s) for s in rem["steps"]),
            cli=_opt(rem["cli"]),
            terraform=_opt(rem["terraform"]),
            cloudformation=_opt(rem["cloudformation"]),
        ),
        references=tuple(_str(r) for r in value["references"]),
        sources=frozenset(SourceKind(s) for s in value["sources"]),
        needs_endpoint=_bool(value["needs_endpoint"]),
        requires=frozenset(_str(r) for r in value["requires"]),
        location_fields=tuple(_str(f) for f in value["location_fields"]),
        details=_opt(value["details"]),
        equivalents={_str(k): tuple(_str(x) for x in v) for k, v in value["equivalents"].items()},
        folder=_opt(value["folder"]),
        builtin=_bool(value["builtin"]),
        compliance={_str(k): tuple(_str(x) for x in v) for k, v in value["compliance"].items()},
    )


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _opt(value: Any) -> str | None:
    return None if value is None else _str(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value
