"""A validated cache of the loaded built-in rule pack, so that a cold `r1policy check` does not parse 43
rule.yaml files (YAML with positions, schema validation) and 43 Cedar policies (parse, schema
validation, policy positions) on every run.

The cache is one JSON file in the user cache folder (`core/cachedir.py`): `rules/builtin.json`. It is
used only when it proves to have been built from exactly the inputs of this run:

- its `key` is the SHA-256 over the cache format, the r1policy and Python versions, the size and
  modification time of cedarpy's native module, and the path and full content of every input of the
  load: the Cedar schema, the rule-metadata schema, the compliance catalogues (which a rule's
  `compliance:` is checked against), each rule folder's rule.yaml and policy.cedar, and the source of
  the modules that read, validate, convert and cache them (so an edited checkout never meets a stale
  pack);
- its `digest` is the SHA-256 of its payload text, so a truncated or altered file is never read as a
  pack;
- the payload rebuilds into the same rules and policies, or the file counts as corrupt.

Anything else (no file, unreadable, not JSON, another key, a bad digest, a payload that does not
rebuild) is a miss: the pack is loaded from the rule folders as before and the file rewritten
atomically. A cache folder that cannot be written costs speed, never correctness. Custom rule folders
(`--policies`) are never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from r1policy import __version__
from r1policy.core.cachedir import default_cache_dir
from r1policy.core.findings import Enforcement, Severity, SubjectType
from r1policy.core.model import SourceKind
from r1policy.rules.metadata import RemediationTemplate, RuleMeta

FORMAT = 1
CACHE_FILE = Path("rules") / "builtin.json"
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
)


def pack_key(inputs: list[Path], native: Path) -> str:
    """The digest of everything the loaded pack depends on; a file that cannot be read is no key."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    stat = native.stat()
    header = [FORMAT, __version__, sys.version, str(native), stat.st_size, stat.st_mtime_ns]
    digest.update(json.dumps(header).encode())
    for path in [*inputs, *(package / name for name in _CODE)]:
        data = path.read_bytes()
        digest.update(f"\0{path}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def cache_path() -> Path:
    return default_cache_dir() / CACHE_FILE


def read_pack(key: str) -> dict[str, Any] | None:
    """The cached payload built under `key`, or None (a miss) for anything that does not prove it."""
    try:
        text = cache_path().read_text(encoding="utf-8")
        head, _, payload = text.partition("\n")
        meta = json.loads(head)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("key") != key:
        return None
    if meta.get("digest") != hashlib.sha256(payload.encode()).hexdigest():
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def write_pack(key: str, payload: dict[str, Any]) -> None:
    """Write the cache atomically; a folder that cannot be written leaves the run uncached."""
    import tempfile

    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    head = json.dumps({"key": key, "digest": hashlib.sha256(body.encode()).hexdigest()})
    target = cache_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".builtin.", suffix=".tmp", dir=target.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(head + "\n" + body)
        Path(tmp).replace(target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


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
